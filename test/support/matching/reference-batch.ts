/**
 * What the rule-by-rule references (chain-reference.ts, make-room-reference.ts) read off a batch, in the rules' own
 * terms: GPU counts and ids per order and offer, F and C per offer (docs/matching.md §5.5, F capped at 65 536), exact
 * bigint bases, the headroom summed GPU by GPU, and a starting assignment with its taken GPUs per offer.
 */
import type { Candidates, PreparedBatch } from "../../../protocol/matching/prepare.js";

const FREE_CAP = 65_536n;

export interface ReferenceBatch {
  n: number;
  m: number;
  g: number[];
  orderId: bigint[];
  versionId: bigint[];
  /** Free GPUs at R_b (capped) and total GPUs, per offer. */
  F: bigint[];
  C: bigint[];
  offerOf: (e: number) => number;
  baseOf: (e: number) => bigint;
  /** Headroom of the first t GPUs of offer f: w · Σ_{k<t} ⌊(F − k)·10 000 / C⌋. */
  headroom: (f: number, t: number) => bigint;
  /** Change of offer f's headroom when its taken GPUs go from `from` to `to`. */
  hd: (f: number, from: number, to: number) => bigint;
  /** The assignment (pair index per order, -1 = open), a copy of the one given, and GPUs taken per offer under it. */
  pair: number[];
  taken: number[];
  /** The offer order o is on (-1: open), and the GPUs offer f has left. */
  at: (o: number) => number;
  room: (f: number) => number;
}

export function referenceBatch(b: PreparedBatch, cand: Candidates, pair0: ArrayLike<number>): ReferenceBatch {
  const n = b.offers.length;
  const m = b.orders.length;
  const g = b.orders.map((o) => o.gpuCount);
  const C = b.offers.map((v) => BigInt(v.gpuCount));
  const F = b.offers.map((v) => {
    const free = BigInt(v.gpuCount) - BigInt(v.gpusLeased);
    return free < 0n ? 0n : free > FREE_CAP ? FREE_CAP : free;
  });
  const wAvail = BigInt(b.weightAvailability);
  const offerOf = (e: number): number => cand.offer[e]!;
  const prefix: bigint[][] = b.offers.map(() => [0n]);
  const headroom = (f: number, t: number): bigint => {
    if (wAvail === 0n) return 0n;
    const sums = prefix[f]!;
    for (let k = sums.length - 1; k < t; k++) sums.push(sums[k]! + ((F[f]! - BigInt(k)) * 10_000n) / C[f]!);
    return wAvail * sums[t]!;
  };
  const pair = Array.from(pair0);
  const taken = new Array<number>(n).fill(0);
  for (let o = 0; o < m; o++) if (pair[o]! >= 0) taken[offerOf(pair[o]!)]! += g[o]!;
  return {
    n,
    m,
    g,
    orderId: b.orders.map((o) => o.orderId),
    versionId: b.offers.map((v) => v.versionId),
    F,
    C,
    offerOf,
    baseOf: (e) => BigInt(cand.base[e]!),
    headroom,
    hd: (f, from, to) => headroom(f, to) - headroom(f, from),
    pair,
    taken,
    at: (o) => (pair[o]! >= 0 ? offerOf(pair[o]!) : -1),
    room: (f) => Number(F[f]!) - taken[f]!,
  };
}
