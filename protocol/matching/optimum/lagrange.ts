/**
 * A tighter upper bound for orders of several GPUs (tests and benchmarks only, never used by the engine; written
 * here, no package): the Lagrangian relaxation of "each order is served at most once", with every offer solving
 * its own exact 0/1 knapsack. docs/matching.md §10.
 *
 * The problem (§6): choose for each order o at most one candidate offer f, with Σ g_o over the orders on f ≤ F_f,
 * maximising Σ_f [Σ_{o on f} g_o·base(o, f) + H_f(t_f)], where t_f is the number of GPUs f gives out and
 * H_f(t) = w_availability·Σ_{k<t} a_f(k).
 *
 * Relaxation: drop "at most one offer per order" and charge each order a price u_o ≥ 0 per offer that takes it:
 *
 *     L(u) = Σ_o u_o + Σ_f K_f(u),   K_f(u) = max over subsets S of f's candidate orders with Σ_{o∈S} g_o ≤ F_f of
 *                                              Σ_{o∈S} (g_o·base(o, f) − u_o) + H_f(Σ_{o∈S} g_o).
 *
 * Proof that L(u) ≥ OPT for every u ≥ 0: take an optimal assignment and let S_f be the orders it puts on f. Each
 * S_f fits f, so K_f(u) ≥ Σ_{o∈S_f} (g_o·base(o, f) − u_o) + H_f(t_f). Summing over f, Σ_f K_f(u) ≥ OPT −
 * Σ_o u_o·c_o, where c_o ∈ {0, 1} is how many offers serve o in that assignment; since u_o ≥ 0 and c_o ≤ 1,
 * Σ_o u_o·c_o ≤ Σ_o u_o, hence L(u) ≥ OPT. ∎
 *
 * Why it is tighter than the flow relaxation (§10): each K_f packs whole orders (an order of 4 cannot take the
 * last 3 free GPUs of an offer, nor 2 GPUs here and 2 there), and with u = the flow LP's order duals L(u) is at
 * most the flow bound (the LP's own Lagrangian at its optimal duals equals the LP's value, and an integral
 * knapsack is at most its fractional one). We start from those duals (read off the flow's node potentials) and
 * lower L by projected subgradient steps; every L(u) computed is a valid bound, the smallest is returned.
 *
 * Exactness: u is kept integral, so every L(u) is an exact integer sum of integers below 2^53 (values ≤ 1.4·10^13
 * per pair, §12; the test and bench instances sum to far less than 2^53).
 */
import { BPS } from "../../market/types.js";
import type { Candidates, PreparedBatch } from "../prepare.js";
import { unitHeadroom } from "../score.js";
import { solveFlow } from "./flow.js";
import { flowProblemOf } from "./reference.js";

export interface LagrangeOptions {
  /** Subgradient steps after the start (default 300). */
  iterations?: number;
  /**
   * A known achievable objective (e.g. the engine's), used only to size the steps (Polyak's rule); it does not
   * affect validity. Default: 97 % of the flow bound.
   */
  target?: number;
}

export interface LagrangeBound {
  /** The smallest L(u) found: an upper bound of the optimum. */
  value: number;
  /** The flow relaxation's bound, for comparison (L at the start is at most about this). */
  flow: number;
  /** L at the starting multipliers (the flow's duals). */
  start: number;
  iterations: number;
}

/** Orders grouped by offer (transpose of the candidate lists), open orders only. */
interface ByOffer {
  start: Int32Array;
  order: Int32Array;
  /** g_o·base(o, f) of the pair. */
  value: Float64Array;
}

function byOffer(b: PreparedBatch, cand: Candidates): ByOffer {
  const m = b.orders.length;
  const n = b.offers.length;
  const count = new Int32Array(n + 1);
  for (let oi = 0; oi < m; oi++) {
    if (b.orderState[oi] !== 0) continue;
    for (let e = cand.start[oi]!; e < cand.start[oi + 1]!; e++) count[cand.offer[e]! + 1]!++;
  }
  for (let f = 0; f < n; f++) count[f + 1]! += count[f]!;
  const start = Int32Array.from(count);
  const fill = Int32Array.from(count);
  const order = new Int32Array(start[n]!);
  const value = new Float64Array(start[n]!);
  for (let oi = 0; oi < m; oi++) {
    if (b.orderState[oi] !== 0) continue;
    for (let e = cand.start[oi]!; e < cand.start[oi + 1]!; e++) {
      const f = cand.offer[e]!;
      const at = fill[f]!++;
      order[at] = oi;
      value[at] = b.orderGpus[oi]! * cand.base[e]!;
    }
  }
  return { start, order, value };
}

export function lagrangeBound(b: PreparedBatch, cand: Candidates, options: LagrangeOptions = {}): LagrangeBound {
  const m = b.orders.length;
  const n = b.offers.length;
  const iterations = options.iterations ?? 300;
  const problem = flowProblemOf(b, cand);
  const sol = solveFlow(problem);
  const target = options.target ?? Math.floor(0.97 * sol.value);

  // Starting multipliers: the order duals of the flow LP. A unit of order o reaches the sink at marginal cost
  // π_T − π_o, i.e. marginal value valueCap + slotCap − (π_T − π_o) per GPU (0 for an order left unmatched).
  const u = new Float64Array(m);
  const T = m + n;
  const unitTop = problem.valueCap + problem.slotCap;
  for (let oi = 0; oi < m; oi++) {
    if (b.orderState[oi] !== 0) continue;
    const perGpu = unitTop - (sol.potential[T]! - sol.potential[oi]!);
    u[oi] = Math.max(0, Math.round(perGpu * b.orderGpus[oi]!));
  }

  const idx = byOffer(b, cand);
  const w = b.weightAvailability;
  // Headroom prefix sums per offer: H_f(t), t = 0‥F_f.
  const hStart = new Int32Array(n + 1);
  for (let f = 0; f < n; f++) hStart[f + 1] = hStart[f]! + b.offerFree[f]! + 1;
  const H = new Float64Array(hStart[n]!);
  for (let f = 0; f < n; f++) {
    let s = 0;
    for (let k = 0; k < b.offerFree[f]!; k++) {
      s += w * unitHeadroom(b.offerFree[f]!, b.offerTotal[f]!, k);
      H[hStart[f]! + k + 1] = s;
    }
  }
  let maxFree = 0;
  for (let f = 0; f < n; f++) maxFree = Math.max(maxFree, b.offerFree[f]!);
  const dp = new Float64Array(maxFree + 1);
  let keepSize = 0;
  for (let f = 0; f < n; f++) keepSize = Math.max(keepSize, (idx.start[f + 1]! - idx.start[f]!) * (b.offerFree[f]! + 1));
  const keep = new Uint8Array(keepSize);
  const taken = new Int32Array(m);
  // Largest headroom a GPU can add: an item whose profit plus this is ≤ 0 never helps a knapsack.
  const headroomCap = w * BPS;

  /** L(u), and taken[o] = how many offers' knapsacks chose o. */
  const evaluate = (): number => {
    taken.fill(0);
    let total = 0;
    for (let oi = 0; oi < m; oi++) total += u[oi]!;
    for (let f = 0; f < n; f++) {
      const F = b.offerFree[f]!;
      const lo = idx.start[f]!;
      const hi = idx.start[f + 1]!;
      if (F === 0 || lo === hi) continue;
      dp.fill(-Infinity, 0, F + 1);
      dp[0] = 0;
      const stride = F + 1;
      for (let j = lo; j < hi; j++) {
        const oi = idx.order[j]!;
        const g = b.orderGpus[oi]!;
        const profit = idx.value[j]! - u[oi]!;
        const row = (j - lo) * stride;
        keep.fill(0, row, row + stride);
        if (profit + g * headroomCap <= 0) continue;
        for (let t = F; t >= g; t--) {
          const prev = dp[t - g]!;
          if (prev === -Infinity) continue;
          const c = prev + profit;
          if (c > dp[t]!) {
            dp[t] = c;
            keep[row + t] = 1;
          }
        }
      }
      let best = 0;
      let bestT = 0;
      for (let t = 1; t <= F; t++) {
        const c = dp[t]! + H[hStart[f]! + t]!;
        if (c > best) {
          best = c;
          bestT = t;
        }
      }
      total += best;
      // Walk back the chosen items.
      let t = bestT;
      for (let j = hi - 1; j >= lo && t > 0; j--) {
        if (keep[(j - lo) * stride + t] === 1) {
          const oi = idx.order[j]!;
          taken[oi]!++;
          t -= b.orderGpus[oi]!;
        }
      }
    }
    return total;
  };

  const start = evaluate();
  let best = start;
  let theta = 1;
  let sinceBetter = 0;
  let done = 0;
  let lastValue = start;
  for (let it = 0; it < iterations; it++) {
    // Subgradient of L at u: 1 − taken[o]; projected onto u ≥ 0.
    let norm = 0;
    for (let oi = 0; oi < m; oi++) {
      if (b.orderState[oi] !== 0) continue;
      const s = 1 - taken[oi]!;
      if (s > 0 && u[oi] === 0) continue;
      norm += s * s;
    }
    if (norm === 0) break; // every order chosen exactly once (or free and unchosen): L(u) is attained, optimal
    const step = (theta * Math.max(lastValue - target, 0.001 * lastValue)) / norm;
    for (let oi = 0; oi < m; oi++) {
      if (b.orderState[oi] !== 0) continue;
      const s = 1 - taken[oi]!;
      u[oi] = Math.max(0, Math.round(u[oi]! - step * s));
    }
    lastValue = evaluate();
    done++;
    if (lastValue < best) {
      best = lastValue;
      sinceBetter = 0;
    } else if (++sinceBetter >= 10) {
      theta /= 2;
      sinceBetter = 0;
    }
  }
  // Both are valid bounds; the flow's is kept should the subgradient not get below it (it usually starts below).
  return { value: Math.min(best, sol.value), flow: sol.value, start, iterations: done };
}
