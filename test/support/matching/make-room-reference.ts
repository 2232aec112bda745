/**
 * Make room by ejection (docs/matching.md §7.7) written a second time, straight from the rule, for the tests: plain
 * arrays, every value a bigint, the headroom summed GPU by GPU from §5.5 (a(k) = ⌊(F − k)·10 000 / C⌋), occupants and
 * exits recomputed from the assignment each time they are needed (no memo), the cover table a full 2-D table whose
 * entries remember the GPUs-freed count they came from. Slow and small on purpose; tests compare
 * protocol/matching/make-room.ts with it, plan for plan, on hand-made candidate lists full of ties.
 */
import type { Candidates, PreparedBatch } from "../../../protocol/matching/prepare.js";
import { referenceBatch } from "./reference-batch.js";
import { REF_ARCS } from "./chain-reference.js";

export const REF_MAKE_ROOM_PASSES = 2;
export const REF_MAKE_ROOM_DP_CELLS = 65_536;

/** One step of a plan: an order and the pair it goes to (-1: unmatched). */
export type Step = [order: number, pair: number];

export interface MakeRoomRefResult {
  pair: number[];
  taken: number[];
  applied: number;
  /** The plans applied, in order, each with its exact change of the objective and the pass (0, 1) it ran in. */
  plans: { steps: Step[]; delta: bigint; pass: number }[];
  /** How often each kind of thing happened, so that a test can check its cases reach every rule. */
  seen: {
    /** Applied plans: an occupant moving to an offer with room, leaving unmatched, ejecting another order. */
    move: number;
    unmatched: number;
    eject: number;
    /** An ejected order moving on to an offer with room, or leaving unmatched. */
    ejectedMoves: number;
    ejectedLeaves: number;
    /** Plans refused: an order twice, an offer over its free GPUs, an exact change ≤ 0. */
    twice: number;
    over: number;
    notPositive: number;
    /** An order whose first tried plan was refused and a later one applied. */
    laterTry: number;
    /** Plans applied in the second pass; an order served straight into room (no occupant leaving). */
    secondPass: number;
    direct: number;
  };
}

/** `passes`: the number of passes at most (the rule's 2; a test runs 3 to see that its cases reach the limit). */
export function referenceMakeRoom(b: PreparedBatch, cand: Candidates, pair0: ArrayLike<number>, passes: number = REF_MAKE_ROOM_PASSES): MakeRoomRefResult {
  const { m, g, orderId, versionId, F, offerOf, baseOf, hd, pair, taken, at, room } = referenceBatch(b, cand, pair0);
  const occupants = (f: number): number[] => {
    const list: number[] = [];
    for (let o = 0; o < m; o++) if (at(o) === f) list.push(o); // order index ascending
    return list;
  };
  const V = (o: number, e: number): bigint => BigInt(g[o]!) * baseOf(e) + hd(offerOf(e), taken[offerOf(e)]!, taken[offerOf(e)]! + g[o]!);
  const candidatesOf = (o: number): number[] => {
    const es: number[] = [];
    for (let e = cand.start[o]!; e < cand.start[o + 1]!; e++) es.push(e);
    return es;
  };
  // Arcs: an order's 24 best candidate pairs by (base desc, versionId asc).
  const arcs = Array.from({ length: m }, (_, o) =>
    candidatesOf(o)
      .sort((p, q) => (baseOf(p) !== baseOf(q) ? (baseOf(q) > baseOf(p) ? 1 : -1) : versionId[offerOf(p)]! < versionId[offerOf(q)]! ? -1 : 1))
      .slice(0, REF_ARCS),
  );

  /** o's best candidate offer with room for it, none of `not` (largest value, ties candidate order); -1 and 0 if none. */
  const bestWithRoom = (o: number, not: number[]): { pair: number; value: bigint } => {
    let best = { pair: -1, value: 0n };
    for (const e of candidatesOf(o)) {
      if (not.includes(offerOf(e)) || room(offerOf(e)) < g[o]!) continue;
      const v = V(o, e);
      if (best.pair < 0 || v > best.value) best = { pair: e, value: v };
    }
    return best;
  };

  interface Exit {
    value: bigint;
    pair: number;
    eject: number;
    ejectPair: number;
  }
  /** Exit of served order y: the best by value of moving (or leaving) and ejecting, the first found keeping a tie. */
  const exitOf = (y: number): Exit => {
    const f = at(y);
    const gy = g[y]!;
    // Its best offer with room (even at value 0), or unmatched if it has none; an ejection must be worth more.
    const move = bestWithRoom(y, [f]);
    let best: Exit = { value: move.value, pair: move.pair, eject: -1, ejectPair: -1 };
    for (const e of arcs[y]!) {
      const f2 = offerOf(e);
      if (f2 === f || room(f2) >= gy) continue;
      const T2 = taken[f2]!;
      for (const z of occupants(f2)) {
        const gz = g[z]!;
        if (gz + room(f2) < gy) continue;
        const next = bestWithRoom(z, [f2, f]);
        const v = BigInt(gy) * baseOf(e) - BigInt(gz) * baseOf(pair[z]!) + hd(f2, T2, T2 - gz + gy) + next.value;
        if (v > best.value) best = { value: v, pair: e, eject: z, ejectPair: next.pair };
      }
    }
    return best;
  };

  /** The estimate of order o entering by pair e, and the occupants it makes leave (order index ascending). */
  const estimate = (o: number, e: number): { value: bigint; leaving: number[] } => {
    const f = offerOf(e);
    const T = taken[f]!;
    if (room(f) >= g[o]!) return { value: V(o, e), leaving: [] };
    const need = g[o]! - room(f);
    const occ = occupants(f);
    const k = occ.length;
    if ((k + 1) * (need + 1) > REF_MAKE_ROOM_DP_CELLS) return { value: 0n, leaving: [] };
    // table[i][q]: least total loss of a subset of the first i occupants freeing q GPUs (q = need: at least need);
    // from[i][q]: the q of row i − 1 it came from when occupant i − 1 is in that subset, else -1.
    const table: (bigint | null)[][] = [Array.from({ length: need + 1 }, (_, q) => (q === 0 ? 0n : null))];
    const from: number[][] = [new Array<number>(need + 1).fill(-1)];
    for (let i = 0; i < k; i++) {
      const y = occ[i]!;
      const loss = BigInt(g[y]!) * baseOf(pair[y]!) - exitOf(y).value;
      const row = [...table[i]!];
      const fromRow = new Array<number>(need + 1).fill(-1);
      for (let q = 0; q <= need; q++) {
        const v = table[i]![q]!;
        if (v === null) continue;
        const q2 = Math.min(need, q + g[y]!);
        if (row[q2] === null || v + loss < row[q2]!) {
          row[q2] = v + loss;
          fromRow[q2] = q;
        }
      }
      table.push(row);
      from.push(fromRow);
    }
    const lossAll = table[k]![need]!;
    if (lossAll === null) return { value: 0n, leaving: [] };
    const leaving: number[] = [];
    let freed = 0;
    for (let i = k, q = need; i > 0; i--) {
      if (from[i]![q]! < 0) continue;
      leaving.unshift(occ[i - 1]!);
      freed += g[occ[i - 1]!]!;
      q = from[i]![q]!;
    }
    return { value: BigInt(g[o]!) * baseOf(e) - lossAll + hd(f, T, T - freed + g[o]!), leaving };
  };

  const seen = { move: 0, unmatched: 0, eject: 0, ejectedMoves: 0, ejectedLeaves: 0, twice: 0, over: 0, notPositive: 0, laterTry: 0, secondPass: 0, direct: 0 };
  /** Applies the plan if no order is in it twice, every offer stays within its free GPUs and the change is > 0. */
  const apply = (steps: Step[]): bigint | null => {
    const orders = steps.map(([o]) => o);
    if (new Set(orders).size !== orders.length) {
      seen.twice++;
      return null;
    }
    let delta = 0n;
    const net = new Map<number, number>();
    for (const [o, to] of steps) {
      if (pair[o]! >= 0) {
        delta -= BigInt(g[o]!) * baseOf(pair[o]!);
        net.set(at(o), (net.get(at(o)) ?? 0) - g[o]!);
      }
      if (to >= 0) {
        delta += BigInt(g[o]!) * baseOf(to);
        net.set(offerOf(to), (net.get(offerOf(to)) ?? 0) + g[o]!);
      }
    }
    for (const [f, d] of net) {
      if (taken[f]! + d > Number(F[f]!)) {
        seen.over++;
        return null;
      }
      delta += hd(f, taken[f]!, taken[f]! + d);
    }
    if (delta <= 0n) {
      seen.notPositive++;
      return null;
    }
    for (const [o, to] of steps) pair[o] = to;
    for (const [f, d] of net) taken[f]! += d;
    return delta;
  };

  const plans: MakeRoomRefResult["plans"] = [];
  for (let pass = 0; pass < passes; pass++) {
    const queue: number[] = [];
    for (let o = 0; o < m; o++) if (pair[o]! < 0 && cand.start[o + 1]! > cand.start[o]!) queue.push(o);
    queue.sort((x, y) => g[y]! - g[x]! || (orderId[x]! < orderId[y]! ? -1 : 1));
    let appliedHere = 0;
    for (const o of queue) {
      const tries = arcs[o]!.map((e) => ({ e, est: estimate(o, e).value })).filter((t) => t.est > 0n);
      tries.sort((p, q) => (p.est !== q.est ? (q.est > p.est ? 1 : -1) : p.e - q.e));
      for (const [i, { e }] of tries.entries()) {
        const est = estimate(o, e);
        if (est.value <= 0n) continue;
        const steps: Step[] = [[o, e]];
        const exits = est.leaving.map((y) => [y, exitOf(y)] as const);
        for (const [y, x] of exits) {
          steps.push([y, x.pair]);
          if (x.eject >= 0) steps.push([x.eject, x.ejectPair]);
        }
        const delta = apply(steps);
        if (delta === null) continue;
        plans.push({ steps, delta, pass });
        appliedHere++;
        if (pass > 0) seen.secondPass++;
        if (i > 0) seen.laterTry++;
        if (exits.length === 0) seen.direct++;
        for (const [, x] of exits) {
          if (x.eject >= 0) {
            seen.eject++;
            if (x.ejectPair >= 0) seen.ejectedMoves++;
            else seen.ejectedLeaves++;
          } else if (x.pair >= 0) seen.move++;
          else seen.unmatched++;
        }
        break;
      }
    }
    if (appliedHere === 0) break;
  }
  return { pair, taken, applied: plans.length, plans, seen };
}
