/**
 * The phases of docs/matching.md §6–§7.5 before the chains written a second time, straight from the rules, for the
 * tests: the objective (§6), global greedy with and without offer prices (§7.1, §7.3), the prices (§7.2), repair
 * (§7.4: insert, relocate, displace, make room), improve and swap (§7.5). Plain arrays, every value a bigint, every
 * tie read from the orderIds and versionIds themselves, an order's candidate pairs put in candidate order (model,
 * region, price, versionId) from the offers' own fields, and the headroom summed GPU by GPU from §5.5
 * (a(k) = ⌊(F − k)·10 000 / C⌋). Slow and small on purpose: tests compare protocol/matching/engine.ts with it on
 * small markets full of ties. It reads from the engine only the batch's inputs and the candidate pairs (which
 * offers an order may use, and the pair's base score).
 */
import type { Candidates, PreparedBatch } from "../../../protocol/matching/prepare.js";

export const REF_REPAIR_PASSES = 4;
export const REF_SWAP_TRIES = 8;

const FREE_CAP = 65_536n;
const BPS = 10_000n;

/** An assignment: per order the candidate pair it holds (-1 = none), and per offer the GPUs taken. */
export interface RefState {
  pair: number[];
  taken: number[];
}

/** The batch as the rules see it. */
export class RefMarket {
  readonly m: number;
  readonly n: number;
  readonly g: number[];
  readonly orderId: bigint[];
  readonly versionId: bigint[];
  readonly F: number[];
  readonly C: number[];
  /** Each order's candidate pairs in candidate order: model asc, region asc, price asc, versionId asc (§4). */
  readonly list: number[][];
  private readonly w: bigint;
  /** Σ_{k<t} a(k) by t, per (F, C): offers alike share one list. */
  private readonly prefix = new Map<string, bigint[]>();

  constructor(
    readonly b: PreparedBatch,
    readonly cand: Candidates,
  ) {
    this.m = b.orders.length;
    this.n = b.offers.length;
    this.g = b.orders.map((o) => o.gpuCount);
    this.orderId = b.orders.map((o) => o.orderId);
    this.versionId = b.offers.map((v) => v.versionId);
    this.C = b.offers.map((v) => v.gpuCount);
    this.F = b.offers.map((v) => {
      const free = BigInt(v.gpuCount) - BigInt(v.gpusLeased);
      return Number(free < 0n ? 0n : free > FREE_CAP ? FREE_CAP : free);
    });
    this.w = BigInt(b.weightAvailability);
    const zoneOf = new Map(b.providers.map((p) => [p.provider.toLowerCase(), p.zone]));
    const key = (f: number): bigint[] => {
      const v = b.offers[f]!;
      return [BigInt(v.modelId), BigInt(zoneOf.get(v.provider.toLowerCase())! >> 8), v.pricePerGpuHour, v.versionId];
    };
    this.list = [];
    for (let o = 0; o < this.m; o++) {
      const es: number[] = [];
      for (let e = cand.start[o]!; e < cand.start[o + 1]!; e++) es.push(e);
      es.sort((p, q) => cmpKeys(key(cand.offer[p]!), key(cand.offer[q]!)));
      this.list.push(es);
    }
  }

  offerOf(e: number): number {
    return this.cand.offer[e]!;
  }
  base(e: number): bigint {
    return BigInt(this.cand.base[e]!);
  }
  /** w_availability · Σ_{k<t} a_f(k). */
  headroom(f: number, t: number): bigint {
    if (this.w === 0n) return 0n;
    const F = this.F[f]!;
    const C = this.C[f]!;
    let sums = this.prefix.get(`${F}/${C}`);
    if (!sums) this.prefix.set(`${F}/${C}`, (sums = [0n]));
    for (let k = sums.length - 1; k < t; k++) sums.push(sums[k]! + (BigInt(F - k) * BPS) / BigInt(C));
    return this.w * sums[t]!;
  }
  /** The headroom change of offer f when its taken GPUs go from `from` to `to`. */
  hd(f: number, from: number, to: number): bigint {
    return this.headroom(f, to) - this.headroom(f, from);
  }
  /** V(o, f, t) of §6 for pair e of order o. */
  value(o: number, e: number, t: number): bigint {
    const f = this.offerOf(e);
    return BigInt(this.g[o]!) * this.base(e) + this.hd(f, t, t + this.g[o]!);
  }
  takenOf(pair: ArrayLike<number>): number[] {
    const taken = new Array<number>(this.n).fill(0);
    for (let o = 0; o < this.m; o++) if (pair[o]! >= 0) taken[this.offerOf(pair[o]!)]! += this.g[o]!;
    return taken;
  }
}

function cmpKeys(a: bigint[], b: bigint[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return 0;
}

/** §6: Σ_assigned g·base + Σ_offers w_availability·Σ_{k<taken[f]} a_f(k). */
export function refObjective(M: RefMarket, pair: ArrayLike<number>): bigint {
  let total = 0n;
  for (let o = 0; o < M.m; o++) if (pair[o]! >= 0) total += BigInt(M.g[o]!) * M.base(pair[o]!);
  const taken = M.takenOf(pair);
  for (let f = 0; f < M.n; f++) total += M.headroom(f, taken[f]!);
  return total;
}

/**
 * §7.1 (and §7.3 with `price`): repeatedly the feasible pair of largest V − g·price_f (ties: smaller orderId, then
 * smaller versionId) is assigned, until none is left. One full scan per step.
 */
export function refGreedy(M: RefMarket, price?: ArrayLike<number>): RefState {
  const pair = new Array<number>(M.m).fill(-1);
  const taken = new Array<number>(M.n).fill(0);
  for (;;) {
    let best = -1;
    let bestO = -1;
    let bestK = 0n;
    for (let o = 0; o < M.m; o++) {
      if (pair[o] !== -1) continue;
      for (const e of M.list[o]!) {
        const f = M.offerOf(e);
        if (M.F[f]! - taken[f]! < M.g[o]!) continue;
        const k = M.value(o, e, taken[f]!) - (price ? BigInt(M.g[o]!) * BigInt(price[f]!) : 0n);
        const tie = k === bestK && (M.orderId[o]! < M.orderId[bestO]! || (o === bestO && M.versionId[f]! < M.versionId[M.offerOf(best)]!));
        if (best < 0 || k > bestK || tie) {
          best = e;
          bestO = o;
          bestK = k;
        }
      }
    }
    if (best < 0) return { pair, taken };
    pair[bestO] = best;
    taken[M.offerOf(best)]! += M.g[bestO]!;
  }
}

/**
 * §7.2: per offer filled completely by `pair`, max(0, min over its occupants of base(o1, f) − alt(o1)), alt the
 * largest base of o1's other candidate offers with room for it (0 if none); 0 for every other offer.
 */
export function refPrices(M: RefMarket, pair: ArrayLike<number>): bigint[] {
  const taken = M.takenOf(pair);
  const price = new Array<bigint>(M.n).fill(0n);
  for (let f = 0; f < M.n; f++) {
    if (taken[f] !== M.F[f]) continue;
    let lowest: bigint | null = null;
    for (let o = 0; o < M.m; o++) {
      if (pair[o]! < 0 || M.offerOf(pair[o]!) !== f) continue;
      let alt = 0n;
      for (const e of M.list[o]!) {
        const f2 = M.offerOf(e);
        if (f2 !== f && M.F[f2]! - taken[f2]! >= M.g[o]! && M.base(e) > alt) alt = M.base(e);
      }
      const loss = M.base(pair[o]!) - alt;
      if (lowest === null || loss < lowest) lowest = loss;
    }
    if (lowest !== null && lowest > 0n) price[f] = lowest;
  }
  return price;
}

export interface RepairCounts {
  insert: number;
  relocate: number;
  displace: number;
  makeRoom: number;
  passes: number;
}

/**
 * §7.4: at most 4 passes; a pass takes the open orders that are unmatched and have candidates (gpuCount desc,
 * orderId asc) and applies, per order, the first move that raises the objective: on each candidate pair in
 * candidate order insert, else relocate an occupant, else displace one; if none, a second walk tries make room.
 * A pass that changes nothing ends the phase.
 */
export function refRepair(M: RefMarket, pair0: ArrayLike<number>): RefState & { counts: RepairCounts } {
  const pair = Array.from(pair0);
  const taken = M.takenOf(pair);
  const counts: RepairCounts = { insert: 0, relocate: 0, displace: 0, makeRoom: 0, passes: 0 };
  const at = (o: number): number => (pair[o]! >= 0 ? M.offerOf(pair[o]!) : -1);
  const room = (f: number): number => M.F[f]! - taken[f]!;
  const bySize = (x: number, y: number): number => M.g[x]! - M.g[y]! || (M.orderId[x]! < M.orderId[y]! ? -1 : 1);
  const occupants = (f: number): number[] => {
    const list: number[] = [];
    for (let o = 0; o < M.m; o++) if (at(o) === f) list.push(o);
    return list.sort(bySize);
  };
  /** An occupant's best other candidate offer with room for it now: largest value, ties smaller versionId. */
  const bestOther = (o1: number): { e: number; v: bigint } | null => {
    let best: { e: number; v: bigint } | null = null;
    for (const e of M.list[o1]!) {
      const f2 = M.offerOf(e);
      if (f2 === at(o1) || room(f2) < M.g[o1]!) continue;
      const v = M.value(o1, e, taken[f2]!);
      if (best === null || v > best.v || (v === best.v && M.versionId[f2]! < M.versionId[M.offerOf(best.e)]!)) best = { e, v };
    }
    return best;
  };
  const put = (o: number, e: number): void => {
    if (pair[o]! >= 0) taken[at(o)]! -= M.g[o]!;
    pair[o] = e;
    if (e >= 0) taken[M.offerOf(e)]! += M.g[o]!;
  };

  const singleMove = (o: number): boolean => {
    const g = M.g[o]!;
    for (const e of M.list[o]!) {
      const f = M.offerOf(e);
      const T = taken[f]!;
      if (room(f) >= g) {
        // Insert (the change g·base + headroom is ≥ 0; the rule applies it when it is > 0).
        if (M.value(o, e, T) > 0n) {
          put(o, e);
          counts.insert++;
          return true;
        }
        continue;
      }
      const need = g - room(f);
      const fits = occupants(f).filter((o1) => M.g[o1]! >= need);
      const local = (o1: number): bigint => BigInt(g) * M.base(e) - BigInt(M.g[o1]!) * M.base(pair[o1]!) + M.hd(f, T, T - M.g[o1]! + g);
      for (const o1 of fits) {
        const to = bestOther(o1);
        if (to !== null && local(o1) + to.v > 0n) {
          put(o1, to.e);
          put(o, e);
          counts.relocate++;
          return true;
        }
      }
      for (const o1 of fits) {
        if (local(o1) > 0n) {
          put(o1, -1);
          put(o, e);
          counts.displace++;
          return true;
        }
      }
    }
    return false;
  };

  const makeRoom = (o: number): boolean => {
    const g = M.g[o]!;
    for (const e of M.list[o]!) {
      const f = M.offerOf(e);
      const occ = occupants(f);
      if (occ.length < 2) continue;
      const T = taken[f]!;
      const dest = new Map<number, { e: number; v: bigint } | null>();
      const loss = new Map<number, bigint>();
      for (const o1 of occ) {
        const here = BigInt(M.g[o1]!) * M.base(pair[o1]!);
        const to = bestOther(o1);
        dest.set(o1, to);
        loss.set(o1, to === null ? here : here - to.v);
      }
      const order = [...occ].sort((x, y) => (loss.get(x)! !== loss.get(y)! ? (loss.get(x)! < loss.get(y)! ? -1 : 1) : bySize(x, y)));
      const need = g - room(f);
      let freed = 0;
      let change = BigInt(g) * M.base(e);
      const moves: { o1: number; e2: number }[] = [];
      const added = new Map<number, number>();
      for (const o1 of order) {
        if (freed >= need) break;
        const g1 = M.g[o1]!;
        change -= BigInt(g1) * M.base(pair[o1]!);
        const to = dest.get(o1)!;
        let e2 = -1;
        if (to !== null) {
          const f2 = M.offerOf(to.e);
          if (room(f2) - (added.get(f2) ?? 0) >= g1) {
            e2 = to.e;
            added.set(f2, (added.get(f2) ?? 0) + g1);
            change += BigInt(g1) * M.base(to.e);
          }
        }
        moves.push({ o1, e2 });
        freed += g1;
      }
      if (freed < need || moves.length < 2) continue;
      change += M.hd(f, T, T - freed + g);
      for (const [f2, add] of added) change += M.hd(f2, taken[f2]!, taken[f2]! + add);
      if (change <= 0n) continue;
      for (const mv of moves) put(mv.o1, mv.e2);
      put(o, e);
      counts.makeRoom++;
      return true;
    }
    return false;
  };

  for (let pass = 0; pass < REF_REPAIR_PASSES; pass++) {
    counts.passes++;
    const queue: number[] = [];
    for (let o = 0; o < M.m; o++) if (pair[o] === -1 && M.list[o]!.length > 0) queue.push(o);
    queue.sort((x, y) => M.g[y]! - M.g[x]! || (M.orderId[x]! < M.orderId[y]! ? -1 : 1));
    let changed = false;
    for (const o of queue) if (singleMove(o) || makeRoom(o)) changed = true;
    if (!changed) break;
  }
  return { pair, taken, counts };
}

/**
 * §7.5 improve: one pass over the matched orders, orderId ascending; each moves to the candidate offer with room
 * for it whose move raises the objective most (ties: smaller versionId), if any raises it.
 */
export function refImprove(M: RefMarket, pair0: ArrayLike<number>): RefState & { moves: number } {
  const pair = Array.from(pair0);
  const taken = M.takenOf(pair);
  let moves = 0;
  for (let o = 0; o < M.m; o++) {
    if (pair[o]! < 0) continue;
    const g = M.g[o]!;
    const f1 = M.offerOf(pair[o]!);
    const leave = -BigInt(g) * M.base(pair[o]!) + M.hd(f1, taken[f1]!, taken[f1]! - g);
    let best = -1;
    let bestGain = 0n;
    for (const e of M.list[o]!) {
      const f = M.offerOf(e);
      if (f === f1 || M.F[f]! - taken[f]! < g) continue;
      const gain = leave + M.value(o, e, taken[f]!);
      if (gain > bestGain || (gain === bestGain && best >= 0 && M.versionId[f]! < M.versionId[M.offerOf(best)]!)) {
        best = e;
        bestGain = gain;
      }
    }
    if (best < 0) continue;
    taken[f1]! -= g;
    taken[M.offerOf(best)]! += g;
    pair[o] = best;
    moves++;
  }
  return { pair, taken, moves };
}

/**
 * §7.5 swap: one pass over the matched orders, orderId ascending. o1 on f1 takes its up to 8 candidate offers with
 * a base above f1's, best first (base desc, versionId asc); on each, f2, the occupants o2 (orderId ascending) for
 * which f1 is a candidate and, if the sizes differ, both offers stay within their free GPUs; the first exchange
 * that raises the objective is applied, then the next order.
 */
export function refSwap(M: RefMarket, pair0: ArrayLike<number>): RefState & { swaps: number; unequal: number } {
  const pair = Array.from(pair0);
  const taken = M.takenOf(pair);
  let swaps = 0;
  let unequal = 0;
  const at = (o: number): number => (pair[o]! >= 0 ? M.offerOf(pair[o]!) : -1);
  for (let o1 = 0; o1 < M.m; o1++) {
    if (pair[o1]! < 0) continue;
    const f1 = at(o1);
    const g1 = M.g[o1]!;
    const b1 = M.base(pair[o1]!);
    const better = M.list[o1]!
      .filter((e) => M.base(e) > b1)
      .sort((p, q) => (M.base(p) !== M.base(q) ? (M.base(p) > M.base(q) ? -1 : 1) : M.versionId[M.offerOf(p)]! < M.versionId[M.offerOf(q)]! ? -1 : 1))
      .slice(0, REF_SWAP_TRIES);
    search: for (const e2 of better) {
      const f2 = M.offerOf(e2);
      const occupants = [...Array(M.m).keys()].filter((o) => at(o) === f2).sort((x, y) => (M.orderId[x]! < M.orderId[y]! ? -1 : 1));
      for (const o2 of occupants) {
        const g2 = M.g[o2]!;
        const e3 = M.list[o2]!.find((e) => M.offerOf(e) === f1);
        if (e3 === undefined) continue;
        if (g2 !== g1 && (taken[f1]! - g1 + g2 > M.F[f1]! || taken[f2]! - g2 + g1 > M.F[f2]!)) continue;
        let gain = BigInt(g1) * (M.base(e2) - b1) + BigInt(g2) * (M.base(e3) - M.base(pair[o2]!));
        gain += M.hd(f1, taken[f1]!, taken[f1]! - g1 + g2) + M.hd(f2, taken[f2]!, taken[f2]! - g2 + g1);
        if (gain <= 0n) continue;
        pair[o1] = e2;
        pair[o2] = e3;
        taken[f1]! += g2 - g1;
        taken[f2]! += g1 - g2;
        swaps++;
        if (g1 !== g2) unequal++;
        break search;
      }
    }
  }
  return { pair, taken, swaps, unequal };
}
