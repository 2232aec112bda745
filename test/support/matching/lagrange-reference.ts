/**
 * The Lagrangian bound of protocol/matching/optimum/lagrange.ts (docs/matching.md §10) computed a second time for
 * the tests: each offer's knapsack K_f(u) by enumerating every subset of its candidate orders (bit masks, so only
 * for tiny batches) instead of a table, the headroom summed GPU by GPU from §5.5, the same start (the flow LP's order
 * duals), the same projected subgradient steps (Polyak's rule, step halved after 10 steps without a lower L, stop
 * when the subgradient vanishes on the feasible directions).
 *
 * Ties: a knapsack may have several best subsets; which one is taken changes the next step, not the validity. The
 * rule here (the one the table in lagrange.ts implements): per total of GPUs t, the best value, among equal values
 * the subset without the latest order (index order) — the smallest bit mask; then the smallest t whose value plus
 * headroom is largest and above 0 (none: the empty set). An order whose value minus u_o plus the most headroom its
 * GPUs could add (w·10 000 each) is ≤ 0 never enters (it cannot raise a knapsack).
 */
import { BPS } from "../../../protocol/market/types.js";
import { solveFlow } from "../../../protocol/matching/optimum/flow.js";
import { flowProblemOf } from "../../../protocol/matching/optimum/reference.js";
import type { Candidates, PreparedBatch } from "../../../protocol/matching/prepare.js";

export interface RefLagrange {
  value: number;
  flow: number;
  start: number;
  iterations: number;
}

export function referenceLagrange(b: PreparedBatch, cand: Candidates, options: { iterations?: number; target?: number } = {}): RefLagrange {
  const m = b.orders.length;
  const n = b.offers.length;
  const open = (o: number): boolean => b.orderState[o] === 0;
  const g = (o: number): number => b.orderGpus[o]!;
  const problem = flowProblemOf(b, cand);
  const sol = solveFlow(problem);
  const target = options.target ?? Math.floor(0.97 * sol.value);
  const iterations = options.iterations ?? 300;
  const T = m + n;
  const u = Array.from({ length: m }, (_, o) =>
    open(o) ? Math.max(0, Math.round((problem.valueCap + problem.slotCap - (sol.potential[T]! - sol.potential[o]!)) * g(o))) : 0,
  );
  const w = b.weightAvailability;
  /** H_f(t) = w · Σ_{k<t} ⌊(F − k)·10 000 / C⌋. */
  const H = (f: number, t: number): number => {
    let s = 0;
    for (let k = 0; k < t; k++) s += w * Math.floor(((b.offerFree[f]! - k) * BPS) / b.offerTotal[f]!);
    return s;
  };
  // Per offer its candidate pairs of open orders, order index ascending: [order, g·base].
  const items: [number, number][][] = Array.from({ length: n }, () => []);
  for (let o = 0; o < m; o++) {
    if (!open(o)) continue;
    for (let e = cand.start[o]!; e < cand.start[o + 1]!; e++) items[cand.offer[e]!]!.push([o, g(o) * cand.base[e]!]);
  }

  const chosen = new Array<number>(m).fill(0);
  const L = (): number => {
    chosen.fill(0);
    let total = u.reduce((s, x) => s + x, 0);
    for (let f = 0; f < n; f++) {
      const F = b.offerFree[f]!;
      const list = items[f]!.filter(([o, v]) => v - u[o]! + g(o) * w * BPS > 0);
      // Best per total t: [value, mask], masks ascending so the first of equal values is the smallest mask.
      const best = new Map<number, [number, number]>();
      for (let mask = 1; mask < 1 << list.length; mask++) {
        let t = 0;
        let v = 0;
        for (let i = 0; i < list.length; i++) {
          if ((mask & (1 << i)) === 0) continue;
          const [o, value] = list[i]!;
          t += g(o);
          v += value - u[o]!;
        }
        if (t > F) continue;
        const was = best.get(t);
        if (was === undefined || v > was[0]) best.set(t, [v, mask]);
      }
      let top = 0;
      let mask = 0;
      for (let t = 1; t <= F; t++) {
        const at = best.get(t);
        if (at === undefined) continue;
        if (at[0] + H(f, t) > top) {
          top = at[0] + H(f, t);
          mask = at[1];
        }
      }
      total += top;
      for (let i = 0; i < list.length; i++) if ((mask & (1 << i)) !== 0) chosen[list[i]![0]]!++;
    }
    return total;
  };

  const start = L();
  let best = start;
  let last = start;
  let theta = 1;
  let since = 0;
  let done = 0;
  for (let it = 0; it < iterations; it++) {
    // The subgradient 1 − chosen(o), open orders only; a direction that would push u_o below 0 does not count.
    const s = u.map((_, o) => (open(o) ? 1 - chosen[o]! : 0));
    const norm = s.reduce((acc, x, o) => (open(o) && !(x > 0 && u[o] === 0) ? acc + x * x : acc), 0);
    if (norm === 0) break;
    const step = (theta * Math.max(last - target, 0.001 * last)) / norm;
    for (let o = 0; o < m; o++) if (open(o)) u[o] = Math.max(0, Math.round(u[o]! - step * s[o]!));
    last = L();
    done++;
    // The step halves after 10 evaluations in a row that did not beat the best.
    since = last < best ? 0 : since + 1;
    best = Math.min(best, last);
    if (since === 10) [theta, since] = [theta / 2, 0];
  }
  return { value: Math.min(best, sol.value), flow: sol.value, start, iterations: done };
}
