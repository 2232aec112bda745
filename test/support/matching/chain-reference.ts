/**
 * The chain phase of docs/matching.md §7.6 written a second time, straight from the rule, for the tests: plain
 * arrays, every gain a bigint, every tie read from the versionIds and orderIds themselves, the headroom summed GPU
 * by GPU from §5.5 (a(k) = ⌊(F − k)·10 000 / C⌋). Slow and small on purpose; tests compare protocol/matching/
 * chains.ts with it, assignment for assignment, on hand-made candidate lists full of ties.
 */
import type { Candidates, PreparedBatch } from "../../../protocol/matching/prepare.js";
import { referenceBatch } from "./reference-batch.js";

export const REF_DEPTH = 8;
export const REF_ARCS = 24;
export const REF_ROUNDS = 6;
export const REF_STOP_SHIFT = 12n;

interface Label {
  gain: bigint;
  order: number;
  pair: number;
  prev: number; // offer the order leaves (layer > 0: the label one layer up; layer 0: the origin or -1)
}

interface Terminal {
  gain: bigint;
  layer: number;
  offer: number;
  drop: number; // -1: room
  close: number; // -1: evict (or room)
}

export interface RefResult {
  pair: number[];
  taken: number[];
  applied: number;
  /** Chains applied per round, and each round's exact gain. */
  rounds: { applied: number; gain: bigint }[];
  /** Each order's arcs (offer indices), best first. */
  arcs: number[][];
  /** Applied chains by how they end, and by how they start (a served order moving: its origin). */
  kinds: { room: number; evict: number; close: number; fromServed: number };
}

export function referenceChainPhase(b: PreparedBatch, cand: Candidates, pair0: ArrayLike<number>, rounds: number = REF_ROUNDS): RefResult {
  const { n, m, g, orderId, versionId, F, offerOf, baseOf, hd, pair, taken, at, room } = referenceBatch(b, cand, pair0);

  // Arcs: an order's CHAIN_ARCS best candidate pairs by (base desc, versionId asc).
  const arcs: number[][] = [];
  for (let o = 0; o < m; o++) {
    const es: number[] = [];
    for (let e = cand.start[o]!; e < cand.start[o + 1]!; e++) es.push(e);
    es.sort((p, q) => (baseOf(p) !== baseOf(q) ? (baseOf(q) > baseOf(p) ? 1 : -1) : versionId[offerOf(p)]! < versionId[offerOf(q)]! ? -1 : 1));
    arcs.push(es.slice(0, REF_ARCS));
  }
  const hasCandidates = (o: number): boolean => cand.start[o + 1]! > cand.start[o]!;

  let changed = new Set<number>();
  let applied = 0;
  const perRound: { applied: number; gain: bigint }[] = [];
  const kinds = { room: 0, evict: 0, close: 0, fromServed: 0 };
  for (let round = 0; round < rounds; round++) {
    const occupants: number[][] = Array.from({ length: n }, () => []);
    for (let o = 0; o < m; o++) if (pair[o]! >= 0) occupants[at(o)]!.push(o); // orderId ascending
    const labels: Map<number, Label>[] = Array.from({ length: REF_DEPTH }, () => new Map());
    const best = new Array<bigint>(n).fill(0n);
    const terminals: Terminal[] = [];
    const write = (layer: number, f: number, label: Label): void => {
      if (label.gain <= best[f]!) return;
      best[f] = label.gain;
      labels[layer]!.set(f, label);
    };
    // Step 2: sources.
    for (let o = 0; o < m; o++) {
      if (!hasCandidates(o)) continue;
      if (round > 0) {
        const touched = (pair[o]! >= 0 && changed.has(at(o))) || arcs[o]!.some((e) => changed.has(offerOf(e)));
        if (!touched) continue;
      }
      const go = BigInt(g[o]!);
      if (pair[o]! < 0) {
        for (const e of arcs[o]!) write(0, offerOf(e), { gain: go * baseOf(e), order: o, pair: e, prev: -1 });
        continue;
      }
      const f0 = at(o);
      const leave = -go * baseOf(pair[o]!) + hd(f0, taken[f0]!, taken[f0]! - g[o]!);
      for (const e of arcs[o]!) {
        if (offerOf(e) === f0) continue;
        const gain = leave + go * baseOf(e);
        if (gain > 0n) write(0, offerOf(e), { gain, order: o, pair: e, prev: f0 });
      }
    }
    // The chain of a label: its offers (layer down to 0) and the origin.
    const chainOf = (layer: number, f: number): { offers: number[]; origin: number; first: number } => {
      const offers: number[] = [];
      let cur = f;
      let first = -1;
      for (let l = layer; l >= 0; l--) {
        const lab = labels[l]!.get(cur)!;
        offers.push(cur);
        first = lab.order;
        cur = lab.prev;
      }
      return { offers, origin: cur, first };
    };
    // Step 3: layers in turn, offers by versionId ascending.
    for (let layer = 0; layer < REF_DEPTH; layer++) {
      const fs = [...labels[layer]!.keys()].sort((p, q) => (versionId[p]! < versionId[q]! ? -1 : 1));
      for (const f of fs) {
        const lab = labels[layer]!.get(f)!;
        const sx = g[lab.order]!;
        const T = taken[f]!;
        if (room(f) >= sx) {
          const total = lab.gain + hd(f, T, T + sx);
          if (total > 0n) terminals.push({ gain: total, layer, offer: f, drop: -1, close: -1 });
          continue;
        }
        const { offers, origin, first } = chainOf(layer, f);
        for (const y of occupants[f]!) {
          const gy = g[y]!;
          if (gy + room(f) < sx) continue;
          const local = lab.gain - BigInt(gy) * baseOf(pair[y]!) + hd(f, T, T - gy + sx);
          if (local > 0n) terminals.push({ gain: local, layer, offer: f, drop: y, close: -1 });
          if (layer + 1 >= REF_DEPTH) continue;
          for (const e of arcs[y]!) {
            const f2 = offerOf(e);
            if (f2 === origin) {
              const To = taken[origin]!;
              const g0 = g[first]!;
              if (Number(F[origin]!) - To + g0 < gy) continue;
              const total = local + BigInt(gy) * baseOf(e) + hd(origin, To - g0, To - g0 + gy);
              if (total > 0n) terminals.push({ gain: total, layer, offer: f, drop: y, close: e });
              continue;
            }
            if (offers.includes(f2)) continue;
            const next = local + BigInt(gy) * baseOf(e);
            if (next > 0n) write(layer + 1, f2, { gain: next, order: y, pair: e, prev: f });
          }
        }
      }
    }
    if (terminals.length === 0) break;
    // Step 4: best first, each re-checked against the assignment as it is now.
    const key = (t: Terminal): bigint[] => [-t.gain, BigInt(t.layer), versionId[t.offer]!, t.drop < 0 ? -1n : orderId[t.drop]!, t.close < 0 ? 0n : 1n];
    terminals.sort((p, q) => {
      const a = key(p);
      const c = key(q);
      for (let i = 0; i < a.length; i++) if (a[i] !== c[i]) return a[i]! < c[i]! ? -1 : 1;
      return 0;
    });
    const nowChanged = new Set<number>();
    let appliedHere = 0;
    let gain = 0n;
    for (const t of terminals) {
      // The chain: steps (order, pair, from, to), layer 0 first.
      const steps: { order: number; pair: number; from: number; to: number }[] = [];
      let cur = t.offer;
      for (let l = t.layer; l >= 0; l--) {
        const lab = labels[l]!.get(cur)!;
        steps.unshift({ order: lab.order, pair: lab.pair, from: lab.prev, to: cur });
        cur = lab.prev;
      }
      const origin = cur;
      if (steps.some((s) => at(s.order) !== s.from)) continue;
      if (t.drop >= 0 && at(t.drop) !== t.offer) continue;
      const moves = steps.map((s) => ({ order: s.order, from: s.from, pair: s.pair }));
      if (t.drop >= 0) moves.push({ order: t.drop, from: t.offer, pair: t.close });
      let delta = 0n;
      const net = new Map<number, number>();
      for (const mv of moves) {
        const gm = g[mv.order]!;
        if (mv.from >= 0) {
          delta -= BigInt(gm) * baseOf(pair[mv.order]!);
          net.set(mv.from, (net.get(mv.from) ?? 0) - gm);
        }
        if (mv.pair >= 0) {
          delta += BigInt(gm) * baseOf(mv.pair);
          net.set(offerOf(mv.pair), (net.get(offerOf(mv.pair)) ?? 0) + gm);
        }
      }
      let fits = true;
      for (const [f, d] of net) {
        if (taken[f]! + d > Number(F[f]!)) fits = false;
        else delta += hd(f, taken[f]!, taken[f]! + d);
      }
      if (!fits || delta <= 0n) continue;
      for (const mv of moves) pair[mv.order] = mv.pair;
      for (const [f, d] of net) taken[f]! += d;
      for (const s of steps) {
        nowChanged.add(s.to);
        if (s.from >= 0) nowChanged.add(s.from);
      }
      if (origin >= 0) nowChanged.add(origin);
      appliedHere++;
      gain += delta;
      if (t.drop < 0) kinds.room++;
      else if (t.close < 0) kinds.evict++;
      else kinds.close++;
      if (origin >= 0) kinds.fromServed++;
    }
    applied += appliedHere;
    perRound.push({ applied: appliedHere, gain });
    if (appliedHere === 0) break;
    changed = nowChanged;
    let served = 0n;
    for (let o = 0; o < m; o++) if (pair[o]! >= 0) served += BigInt(g[o]!) * baseOf(pair[o]!);
    if (gain << REF_STOP_SHIFT < served) break;
  }
  return { pair, taken, applied, rounds: perRound, kinds, arcs: arcs.map((es) => es.map(offerOf)) };
}
