/**
 * The deterministic matcher (docs/matching.md). `matchBatch` is a pure function of the batch inputs at R_b and the
 * batch seed: inputs are canonicalised first (prepare.ts), every loop runs over sorted arrays, and every number is an
 * integer below 2^53.
 *
 * Phase 1 (docs §7.1) is "global greedy": repeatedly take, among all feasible (open order, offer) pairs given the
 * capacity this batch has already taken, the pair of largest value (ties: smaller orderId, then smaller offer
 * versionId) and assign it. It is computed lazily: each order keeps only its best few pairs in a max-heap plus one
 * "sentinel" entry whose key bounds every pair not loaded; because a pair's value only ever decreases as capacity is
 * taken, stale keys are upper bounds and re-pushing on pop yields exactly the greedy order. The result does not
 * depend on how many pairs are loaded per order (a test pins that).
 *
 * Phase 1 runs twice: the first pass prices every offer it fills at what taking it costs its occupants, the second
 * competes at those prices. Phase 2 (docs §7) then repairs what greedy typically loses: an order left out because
 * earlier orders took the GPUs it needed while one of them could have gone elsewhere (or is worth less), an order
 * that a better offer now has room for, and pairs of orders better off with each other's offers. Phase 3 (docs
 * §7.6, chains.ts) serves what needs several orders to move along a chain, and moves served orders along such
 * chains when that raises the objective. Phase 4 (docs §7.7, make-room.ts) serves an open order where several
 * occupants must leave one offer, each to an offer with room or in place of one more order that moves on.
 */
import type { Hex } from "viem";
import { BPS, type Assignment } from "../market/types.js";
import { Decisions } from "./decisions.js";
import { ExactSum } from "./exact-sum.js";
import { buildCandidates, grownFloat64, grownInt32, modelsOf, prepareBatch, regionAllowed, ScratchPool, type Candidates, type PreparedBatch } from "./prepare.js";
import { CHAIN_ARCS, chainArcs, chainPhase, CHAIN_ROUNDS, loadOrderArcs, reusedChainArcs, type ChainArcs } from "./chains.js";
import { makeRoomPhase } from "./make-room.js";
import { headroomDelta, headroomValue } from "./value.js";
import { UnmatchedReason, type MatchInputs, type MatchQuality, type MatchResult, type Unmatched } from "./types.js";

/** docs §7.4: at most this many repair passes (a pass that changes nothing ends the phase). */
export const REPAIR_PASSES = 4;

/** Pairs loaded per order between reloads; affects speed only, never the result. */
export const DEFAULT_LOAD = 4;

export { Decisions } from "./decisions.js";
export { headroomValue } from "./value.js";


/** A binary max-heap of (key, order, offer, pair, generation) rows in parallel typed arrays. */
class PairHeap {
  size = 0;
  private key = new Float64Array(1024);
  private ord = new Int32Array(1024);
  private off = new Int32Array(1024);
  private rank = new Int32Array(1024);
  private pair = new Int32Array(1024);
  private gen = new Int32Array(1024);
  private heap = new Int32Array(1024); // heap of row ids
  /** Rows popped and free again: a stack of freeCount row ids. */
  private freeRows = new Int32Array(1024);
  private freeCount = 0;
  private rows = 0;

  constructor() {
    // Grown once now, so that each array field is written twice before any code is compiled against it: V8 folds a
    // field written only once into the compiled code that reads it, and discards that code when the field is
    // written again (a heap growing in the middle of the first batch did so; docs/matching.md §11).
    this.grow();
  }

  // Row a is served before row b: larger key, then smaller order index, then smaller offer versionId rank (a
  // sentinel carries the rank of the first pair it stands for).
  private before(a: number, b: number): boolean {
    const ka = this.key[a]!;
    const kb = this.key[b]!;
    if (ka !== kb) return ka > kb;
    const oa = this.ord[a]!;
    const ob = this.ord[b]!;
    if (oa !== ob) return oa < ob;
    return this.rank[a]! < this.rank[b]!;
  }

  private grow(): void {
    const cap = this.key.length * 2;
    this.key = grownFloat64(this.key, cap);
    this.ord = grownInt32(this.ord, cap);
    this.off = grownInt32(this.off, cap);
    this.rank = grownInt32(this.rank, cap);
    this.pair = grownInt32(this.pair, cap);
    this.gen = grownInt32(this.gen, cap);
    this.heap = grownInt32(this.heap, cap);
    this.freeRows = grownInt32(this.freeRows, cap);
  }

  push(key: number, ord: number, off: number, rank: number, pair: number, gen: number): void {
    let r: number;
    if (this.freeCount > 0) r = this.freeRows[--this.freeCount]!;
    else {
      if (this.rows === this.key.length) this.grow();
      r = this.rows++;
    }
    this.key[r] = key;
    this.ord[r] = ord;
    this.off[r] = off;
    this.rank[r] = rank;
    this.pair[r] = pair;
    this.gen[r] = gen;
    let i = this.size++;
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(r, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = r;
  }

  /** Removes the first row and returns its id; its fields stay readable until the next push. */
  pop(): number {
    const h = this.heap;
    const top = h[0]!;
    const last = h[--this.size]!;
    const n = this.size;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && this.before(h[c + 1]!, h[c]!)) c++;
      if (!this.before(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    if (n > 0) h[i] = last;
    this.freeRows[this.freeCount++] = top;
    return top;
  }

  /** Empties the heap, keeping its arrays (one heap serves every greedy pass of the process). */
  reset(): void {
    this.size = 0;
    this.rows = 0;
    this.freeCount = 0;
  }

  keyOf(r: number): number {
    return this.key[r]!;
  }
  ordOf(r: number): number {
    return this.ord[r]!;
  }
  offOf(r: number): number {
    return this.off[r]!;
  }
  pairOf(r: number): number {
    return this.pair[r]!;
  }
  genOf(r: number): number {
    return this.gen[r]!;
  }
}

/** BPS as a module constant, read in greedyPhase's hot loop. */
const HEADROOM_BPS = BPS;

/** The heap of greedyPhase, kept per process: it grows to the largest batch seen and is reused (greedyPhase is synchronous). */
const sharedHeap = new PairHeap();

export interface MatchOptions {
  /** Pairs loaded per order between reloads (≥ 1). Speed only: every value gives the same result. */
  load?: number;
  /** Stop after the first greedy pass (docs §7.1); for tests and measurements of it alone. */
  greedyOnly?: boolean;
}

/**
 * Per offer, the GPUs still free in the running phase and the headroom a(t) of its next GPU,
 * w_availability × ⌊room × BPS / C⌋ (docs §5.5), for greedy and improve: both change only when the phase moves GPUs
 * of that offer, so the phase reads them instead of dividing once per pair. Kept per process (the phases are
 * synchronous and run one at a time).
 */
let roomOf = new Float64Array(0);
let unitOf = new Float64Array(0);

/** Sizes roomOf and unitOf for batch b and fills them from the GPUs `taken` so far. */
function fillRooms(b: PreparedBatch, taken: Float64Array): void {
  const F = b.offers.length;
  if (roomOf.length < F) {
    roomOf = new Float64Array(F);
    unitOf = new Float64Array(F);
  }
  for (let f = 0; f < F; f++) setRoom(b, f, b.offerFree[f]! - taken[f]!);
}

function setRoom(b: PreparedBatch, f: number, room: number): void {
  roomOf[f] = room;
  // Read only when room ≥ 1, and then C ≥ room.
  unitOf[f] = room > 0 ? b.weightAvailability * Math.floor((room * HEADROOM_BPS) / b.offerTotal[f]!) : 0;
}

/**
 * The state of one greedy pass, in one object per process (greedyPhase is synchronous), so that its hot functions
 * are plain module functions: compiled once for every pass of the process instead of once per closure.
 */
interface GreedyState {
  b: PreparedBatch;
  start: Int32Array;
  offer: Int32Array;
  base: Int32Array;
  penalty: Float64Array | undefined;
  K: number;
  gen: Int32Array;
  taken: Float64Array;
  topV: Float64Array;
  topF: Int32Array;
  topE: Int32Array;
  /** The pass's decisions so far (per order its pair, -1 = none). */
  pairOf: Int32Array;
}

const NO_PAIRS = new Int32Array(0);

const greedy: GreedyState = {
  b: undefined as unknown as PreparedBatch,
  start: new Int32Array(0),
  offer: new Int32Array(0),
  base: new Int32Array(0),
  penalty: undefined,
  K: 1,
  gen: new Int32Array(0),
  taken: new Float64Array(0),
  topV: new Float64Array(0),
  topF: new Int32Array(0),
  topE: new Int32Array(0),
  pairOf: NO_PAIRS,
};

/** Pushes order oi's K best pairs (by value desc, versionId asc) at the current room, and a sentinel for the rest. */
function loadPairs(s: GreedyState, oi: number): void {
  const { b, start, offer, base, penalty, K, topV, topF, topE } = s;
  const room = roomOf;
  const unitAt = unitOf;
  const offerRank = b.offerRank;
  const g = b.orderGpus[oi]!;
  const gn = ++s.gen[oi]!;
  let count = 0;
  for (let e = start[oi]!, end = start[oi + 1]!; e < end; e++) {
    const f = offer[e]!;
    if (room[f]! < g) continue;
    // The headroom of the next GPU, a(t) (docs §5.5): for one GPU the whole headroom term (headroomValue), for g
    // GPUs an upper bound of it (a(k) falls with k), so that a pair which cannot enter the K + 1 best is passed
    // over without its floor sums.
    const unit = unitAt[f]!;
    const fixed = g * base[e]! - (penalty ? g * penalty[f]! : 0);
    if (count > K && fixed + g * unit < topV[K]!) continue;
    const v = fixed + (g === 1 ? unit : headroomValue(b, f, s.taken[f]!, g));
    // Keep the K + 1 best by (value desc, versionId asc), insertion-sorted.
    const rk = offerRank[f]!;
    let i: number;
    if (count < K + 1) i = count++;
    else {
      const lv = topV[K]!;
      if (v < lv || (v === lv && rk > offerRank[topF[K]!]!)) continue;
      i = K;
    }
    while (i > 0) {
      const pv = topV[i - 1]!;
      if (pv > v || (pv === v && offerRank[topF[i - 1]!]! < rk)) break;
      topV[i] = pv;
      topF[i] = topF[i - 1]!;
      topE[i] = topE[i - 1]!;
      i--;
    }
    topV[i] = v;
    topF[i] = f;
    topE[i] = e;
  }
  const heap = sharedHeap;
  const loaded = Math.min(count, K);
  for (let i = 0; i < loaded; i++) heap.push(topV[i]!, oi, topF[i]!, offerRank[topF[i]!]!, topE[i]!, gn);
  // Every pair not loaded comes, by (value desc, versionId asc), at or after the (K+1)-th now, and values only
  // fall: keyed by that pair's value and rank, the sentinel is a valid bound, and every loaded pair comes before
  // it (with a rank before every pair, K + 1 equal values would reload the same pairs for ever).
  if (count > K) heap.push(topV[K]!, oi, -1, offerRank[topF[K]!]!, -1, gn);
}

/** docs §7.1 and §7.3: phase 1, global greedy (with offer prices subtracted, when given). */
export function greedyPhase(b: PreparedBatch, cand: Candidates, options: MatchOptions = {}, penalty?: Float64Array): Decisions {
  const K = Math.max(1, options.load ?? DEFAULT_LOAD);
  const m = b.orders.length;
  const F = b.offers.length;
  const pairOf = new Int32Array(m).fill(-1);
  const s = greedy;
  s.b = b;
  s.start = cand.start;
  s.offer = cand.offer;
  s.base = cand.base;
  s.penalty = penalty;
  s.K = K;
  s.gen = new Int32Array(m);
  s.taken = new Float64Array(F);
  if (s.topV.length < K + 1) {
    s.topV = new Float64Array(K + 1);
    s.topF = new Int32Array(K + 1);
    s.topE = new Int32Array(K + 1);
  }
  const start = cand.start;
  s.pairOf = pairOf;
  const heap = sharedHeap;
  heap.reset();
  fillRooms(b, s.taken);
  for (let oi = 0; oi < m; oi++) if (start[oi + 1]! > start[oi]!) loadPairs(s, oi);
  while (heap.size > 0) greedyStep(s);
  // Nothing of this batch stays reachable from the process-wide state.
  s.b = undefined as unknown as PreparedBatch;
  s.penalty = undefined;
  s.pairOf = NO_PAIRS;
  return new Decisions(pairOf, s.taken);
}

/**
 * One step of the greedy loop: pops the best row and assigns, re-pushes or reloads. A function of its own, not the
 * loop's body: called once per row, it is compiled after a few hundred rows, where a loop in the one long call of
 * greedyPhase waits for an on-stack replacement (docs/matching.md §11).
 */
function greedyStep(s: GreedyState): void {
  const { b, base, penalty, gen, taken, pairOf } = s;
  const heap = sharedHeap;
  const r = heap.pop();
  const oi = heap.ordOf(r);
  if (pairOf[oi] !== -1 || heap.genOf(r) !== gen[oi]) return;
  const f = heap.offOf(r);
  if (f === -1) {
    loadPairs(s, oi);
    return;
  }
  const t = taken[f]!;
  const g = b.orderGpus[oi]!;
  const free = b.offerFree[f]!;
  if (free - t < g) return; // capacity only shrinks: this pair is gone for good
  const e = heap.pairOf(r);
  const key = heap.keyOf(r);
  const v = g * base[e]! + headroomValue(b, f, t, g) - (penalty ? g * penalty[f]! : 0);
  if (v < key) {
    heap.push(v, oi, f, b.offerRank[f]!, e, heap.genOf(r));
    return;
  }
  pairOf[oi] = e;
  taken[f] = t + g;
  setRoom(b, f, free - t - g);
}

/**
 * Index of the pair (order oi, offer f) in the candidate lists, -1 if it is not there: a binary search, as an
 * order's list is by offer index ascending (buildCandidates).
 */
function pairIndex(cand: Candidates, oi: number, f: number): number {
  const offer = cand.offer;
  let lo = cand.start[oi]!;
  let hi = cand.start[oi + 1]!;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const g = offer[mid]!;
    if (g === f) return mid;
    if (g < f) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}


/**
 * docs §7.4: repair. Each order left out although it had candidates at R_b, largest first (gpuCount desc, then
 * orderId asc), looks at its candidate offers in candidate order and takes the first of these moves that raises
 * the objective, preferring on each offer: plain insert (room appeared) > relocate one occupant to the occupant's
 * best other offer with room > displace one occupant (it becomes unmatched). Occupants are tried smallest first
 * (gpuCount asc, orderId asc), and must free enough room on their own. If no candidate allows any of these, a
 * second walk tries "make room" (several occupants of one offer leave, least loss first; see makeRoom) — on partly
 * leased supply a large order rarely finds one occupant big enough to make way for it.
 */
export function repairPhase(b: PreparedBatch, cand: Candidates, d: Decisions): void {
  const r = new Repair(b, cand, d);
  const { start } = cand;
  const { orderGpus } = b;
  const m = b.orders.length;
  const pairOf = d.pair;
  for (let pass = 0; pass < REPAIR_PASSES; pass++) {
    const queue: number[] = [];
    for (let oi = 0; oi < m; oi++) if (pairOf[oi] === -1 && start[oi + 1]! > start[oi]!) queue.push(oi);
    queue.sort((x, y) => orderGpus[y]! - orderGpus[x]! || x - y);
    const before = r.epoch;
    for (const oi of queue) r.repairOne(oi);
    if (r.epoch === before) break;
  }
}

/**
 * The state of one repair phase and its moves, as methods (compiled once per process, not once per call). Occupants
 * per offer are kept sorted by (gpuCount asc, order index asc).
 */
class Repair {
  readonly start: Int32Array;
  readonly offer: Int32Array;
  readonly base: Int32Array;
  readonly offerFree: Float64Array;
  readonly orderGpus: Float64Array;
  readonly pairOf: Int32Array;
  readonly taken: Float64Array;
  readonly occ: number[][];
  /** Bumped by every applied move. */
  epoch = 0;
  // Best other offer with room for an occupant, memoised until the next applied move.
  readonly memoEpoch: Int32Array;
  readonly memoPair: Int32Array;
  readonly memoGain: Float64Array;
  // Offers with room, kept up to date as moves change `taken` (unordered: the search below picks the best by
  // value then versionId rank, which no visiting order changes). When they are fewer than an occupant's
  // candidates, the search visits them instead of the occupant's list (same result).
  readonly rooms: number[] = [];
  readonly roomAt: Int32Array;
  // Bumped whenever some offer's taken count changes: a memoised "best other offer" stays exact until then,
  // because it depends only on the taken counts (a one-for-one swap of equal sizes changes none).
  roomsVersion = 0;

  constructor(
    readonly b: PreparedBatch,
    readonly cand: Candidates,
    d: Decisions,
  ) {
    this.start = cand.start;
    this.offer = cand.offer;
    this.base = cand.base;
    this.offerFree = b.offerFree;
    this.orderGpus = b.orderGpus;
    this.pairOf = d.pair;
    this.taken = d.taken;
    const m = b.orders.length;
    const F = b.offers.length;
    this.occ = Array.from({ length: F }, () => []);
    for (let oi = 0; oi < m; oi++) if (this.pairOf[oi]! >= 0) this.occ[this.offer[this.pairOf[oi]!]!]!.push(oi);
    const gpus = this.orderGpus;
    for (const list of this.occ) if (list.length > 1) list.sort((x, y) => gpus[x]! - gpus[y]! || x - y);
    this.memoEpoch = new Int32Array(m).fill(-1);
    this.memoPair = new Int32Array(m);
    this.memoGain = new Float64Array(m);
    this.roomAt = new Int32Array(F).fill(-1);
    roomScratch.reserve(m);
    for (let f = 0; f < F; f++) this.syncRoom(f);
  }

  /** Order x before order y among an offer's occupants: gpuCount asc, then order index asc. */
  private occBefore(x: number, y: number): boolean {
    const gx = this.orderGpus[x]!;
    const gy = this.orderGpus[y]!;
    return gx < gy || (gx === gy && x < y);
  }

  private insertOcc(f: number, oi: number): void {
    const list = this.occ[f]!;
    let i = list.length;
    list.push(oi);
    while (i > 0 && this.occBefore(oi, list[i - 1]!)) {
      list[i] = list[i - 1]!;
      i--;
    }
    list[i] = oi;
  }

  private removeOcc(f: number, oi: number): void {
    const list = this.occ[f]!;
    list.splice(list.indexOf(oi), 1);
  }

  private syncRoom(f: number): void {
    this.roomsVersion++;
    const { rooms, roomAt } = this;
    const has = this.offerFree[f]! > this.taken[f]!;
    if (has && roomAt[f] === -1) {
      roomAt[f] = rooms.length;
      rooms.push(f);
    } else if (!has && roomAt[f] !== -1) {
      const last = rooms.pop()!;
      if (last !== f) {
        rooms[roomAt[f]!] = last;
        roomAt[last] = roomAt[f]!;
      }
      roomAt[f] = -1;
    }
  }

  /** Memoises occupant o1's best other offer with room: value desc, then versionId rank asc. */
  private bestElsewhere(o1: number): void {
    const { b, cand, start, offer, base, offerFree, taken, rooms } = this;
    const offerRank = b.offerRank;
    const g1 = this.orderGpus[o1]!;
    const current = offer[this.pairOf[o1]!]!;
    let bestE = -1;
    let bestV = -1;
    let bestF = 0;
    if (rooms.length < start[o1 + 1]! - start[o1]!) {
      for (const f of rooms) {
        if (f === current || offerFree[f]! - taken[f]! < g1) continue;
        // The pair must be in o1's list (a pair that passes every filter may still have been cut by CANDIDATE_CAP).
        const e = pairIndex(cand, o1, f);
        if (e < 0) continue;
        const v = g1 * base[e]! + headroomValue(b, f, taken[f]!, g1);
        if (v > bestV || (v === bestV && offerRank[f]! < offerRank[bestF]!)) {
          bestE = e;
          bestV = v;
          bestF = f;
        }
      }
    } else {
      for (let e = start[o1]!, end = start[o1 + 1]!; e < end; e++) {
        const f = offer[e]!;
        const t = taken[f]!;
        if (f === current || offerFree[f]! - t < g1) continue;
        const v = g1 * base[e]! + headroomValue(b, f, t, g1);
        if (v > bestV || (v === bestV && offerRank[f]! < offerRank[bestF]!)) {
          bestE = e;
          bestV = v;
          bestF = f;
        }
      }
    }
    this.memoEpoch[o1] = this.roomsVersion;
    this.memoPair[o1] = bestE;
    this.memoGain[o1] = bestE >= 0 ? bestV : 0;
  }

  repairOne(oi: number): void {
    const { b, start, offer, base, offerFree, orderGpus, pairOf, taken, memoEpoch, memoPair, memoGain } = this;
    const g = orderGpus[oi]!;
    for (let e = start[oi]!, end = start[oi + 1]!; e < end; e++) {
      const f1 = offer[e]!;
      const T1 = taken[f1]!;
      const room = offerFree[f1]! - T1;
      if (room >= g) {
        // Insert: room appeared through earlier moves.
        pairOf[oi] = e;
        taken[f1] = T1 + g;
        this.syncRoom(f1);
        this.insertOcc(f1, oi);
        this.epoch++;
        return;
      }
      const need = g - room;
      const gainIn = g * base[e]!;
      let moved = -1;
      let displaced = -1;
      for (const o1 of this.occ[f1]!) {
        const g1 = orderGpus[o1]!;
        if (g1 < need) continue;
        const e1 = pairOf[o1]!;
        const after = T1 - g1 + g;
        const local = gainIn - g1 * base[e1]! + headroomDelta(b, f1, T1, after);
        if (memoEpoch[o1] !== this.roomsVersion) this.bestElsewhere(o1);
        const e2 = memoPair[o1]!;
        if (e2 >= 0 && local + memoGain[o1]! > 0) {
          moved = o1;
          break;
        }
        if (displaced === -1 && local > 0) displaced = o1;
      }
      const o1 = moved >= 0 ? moved : displaced;
      if (o1 < 0) continue;
      const g1 = orderGpus[o1]!;
      this.removeOcc(f1, o1);
      taken[f1] = T1 - g1 + g;
      if (moved >= 0) {
        const e2 = memoPair[o1]!;
        const f2 = offer[e2]!;
        pairOf[o1] = e2;
        taken[f2]! += g1;
        this.syncRoom(f2);
        this.insertOcc(f2, o1);
      } else pairOf[o1] = -1;
      pairOf[oi] = e;
      if (g !== g1) this.syncRoom(f1);
      this.insertOcc(f1, oi);
      this.epoch++;
      return;
    }
    // Make room: no single occupant could, so free an offer of several (docs §7.4).
    for (let e = start[oi]!, end = start[oi + 1]!; e < end; e++) if (this.makeRoom(oi, e)) return;
  }

  /**
   * Order oi enters offer f1 = offer[e] after moving out occupants of f1, least loss first (loss = its value on f1
   * minus its value on its best other offer with room, or its whole value if it has none; ties gpuCount asc, then
   * order index asc), until the room suffices. An occupant whose best other offer has no room left for it after the
   * occupants moved before it is left unmatched instead. Applied if the objective rises.
   */
  private makeRoom(oi: number, e: number): boolean {
    const { b, offer, base, offerFree, orderGpus, pairOf, taken, memoEpoch, memoPair, memoGain } = this;
    const g = orderGpus[oi]!;
    const f1 = offer[e]!;
    const T1 = taken[f1]!;
    const need = g - (offerFree[f1]! - T1);
    const list = this.occ[f1]!;
    if (list.length < 2) return false;
    const { loss, order, chosenOrder, chosenTo, destF, destAdd } = roomScratch;
    for (let i = 0; i < list.length; i++) {
      const o1 = list[i]!;
      if (memoEpoch[o1] !== this.roomsVersion) this.bestElsewhere(o1);
      const here = orderGpus[o1]! * base[pairOf[o1]!]!;
      loss[i] = memoPair[o1]! >= 0 ? here - memoGain[o1]! : here;
    }
    sortOccupants(list, loss, orderGpus, order);
    let freed = 0;
    let gain = g * base[e]!;
    let chosen = 0;
    let dests = 0;
    for (let k = 0; k < list.length; k++) {
      if (freed >= need) break;
      const o1 = list[order[k]!]!;
      const g1 = orderGpus[o1]!;
      gain -= g1 * base[pairOf[o1]!]!;
      let to = memoPair[o1]!;
      if (to >= 0) {
        const f2 = offer[to]!;
        let j = 0;
        while (j < dests && destF[j] !== f2) j++;
        const already = j < dests ? destAdd[j]! : 0;
        if (offerFree[f2]! - taken[f2]! - already < g1) to = -1;
        else {
          if (j === dests) {
            destF[dests] = f2;
            destAdd[dests] = 0;
            dests++;
          }
          destAdd[j]! += g1;
          gain += g1 * base[to]!;
        }
      }
      chosenOrder[chosen] = o1;
      chosenTo[chosen] = to;
      chosen++;
      freed += g1;
    }
    if (freed < need || chosen < 2) return false;
    gain += headroomDelta(b, f1, T1, T1 - freed + g);
    for (let j = 0; j < dests; j++) gain += headroomDelta(b, destF[j]!, taken[destF[j]!]!, taken[destF[j]!]! + destAdd[j]!);
    if (gain <= 0) return false;
    for (let i = 0; i < chosen; i++) {
      const o1 = chosenOrder[i]!;
      this.removeOcc(f1, o1);
      const to = chosenTo[i]!;
      pairOf[o1] = to;
      if (to >= 0) {
        const f2 = offer[to]!;
        taken[f2]! += orderGpus[o1]!;
        this.syncRoom(f2);
        this.insertOcc(f2, o1);
      }
    }
    taken[f1] = T1 - freed + g;
    pairOf[oi] = e;
    this.syncRoom(f1);
    this.insertOcc(f1, oi);
    this.epoch++;
    return true;
  }
}

/**
 * Scratch of Repair's make room, one per process (repair is synchronous), grown to the largest batch: per occupant
 * of the offer, its loss and its place in the order taken; the occupants taken and where each goes (−1 = left
 * unmatched); the receiving offers and the GPUs each gets. Typed arrays with counts kept apart: make room runs for
 * many pairs of every order still open, and arrays emptied by `length = 0` give back their memory, so each call
 * allocated anew (a fifth of what the first batch allocated).
 */
class RoomScratch {
  // Declared, then set by reserve: each field is written twice before any code is compiled against it (as PairHeap).
  loss!: Float64Array;
  order!: Int32Array;
  chosenOrder!: Int32Array;
  chosenTo!: Int32Array;
  destF!: Int32Array;
  destAdd!: Float64Array;
  constructor() {
    this.reserve(16);
  }
  reserve(m: number): void {
    if (this.order !== undefined && this.order.length >= m) return;
    this.loss = new Float64Array(m);
    this.order = new Int32Array(m);
    this.chosenOrder = new Int32Array(m);
    this.chosenTo = new Int32Array(m);
    this.destF = new Int32Array(m);
    this.destAdd = new Float64Array(m);
  }
}
const roomScratch = new RoomScratch();

/**
 * order[0 .. list.length) = the positions of `list` by (loss asc, gpuCount asc, order index asc), a total order;
 * by insertion (an offer's occupants are few), by the built-in sort above 16.
 */
function sortOccupants(list: number[], loss: Float64Array, orderGpus: Float64Array, order: Int32Array): void {
  const k = list.length;
  if (k > 16) {
    const cmp = (x: number, y: number): number => (precedes(x, y, list, loss, orderGpus) ? -1 : precedes(y, x, list, loss, orderGpus) ? 1 : 0);
    const idx = Array.from({ length: k }, (_, i) => i).sort(cmp);
    for (let i = 0; i < k; i++) order[i] = idx[i]!;
    return;
  }
  for (let i = 0; i < k; i++) {
    let j = i;
    while (j > 0 && precedes(i, order[j - 1]!, list, loss, orderGpus)) {
      order[j] = order[j - 1]!;
      j--;
    }
    order[j] = i;
  }
}

/** Whether occupant position x comes before y in sortOccupants' order. */
function precedes(x: number, y: number, list: number[], loss: Float64Array, orderGpus: Float64Array): boolean {
  if (loss[x] !== loss[y]) return loss[x]! < loss[y]!;
  if (orderGpus[list[x]!] !== orderGpus[list[y]!]) return orderGpus[list[x]!]! < orderGpus[list[y]!]!;
  return list[x]! < list[y]!;
}

/**
 * docs §7.5 (improve): one pass over the matched orders (orderId ascending); each moves to the candidate offer with room that
 * raises the objective most (ties: versionId), if any does — leaving its offer frees headroom there too.
 */
export function improvePhase(b: PreparedBatch, cand: Candidates, d: Decisions): void {
  const { start, offer, base } = cand;
  const { offerFree, orderGpus, offerRank } = b;
  const taken = d.taken;
  fillRooms(b, taken);
  const roomAt = roomOf;
  const unitAt = unitOf;
  for (let oi = 0; oi < b.orders.length; oi++) {
    const e1 = d.pair[oi]!;
    if (e1 < 0) continue;
    const f1 = offer[e1]!;
    const g = orderGpus[oi]!;
    const leave = -g * base[e1]! + headroomDelta(b, f1, taken[f1]!, taken[f1]! - g);
    let best = 0;
    let bestE = -1;
    for (let e = start[oi]!, end = start[oi + 1]!; e < end; e++) {
      const f = offer[e]!;
      if (f === f1 || roomAt[f]! < g) continue;
      // g·a(t) bounds the headroom of g GPUs (as in greedyPhase): a pair that cannot reach `best` (or, with none
      // yet, a gain) needs no floor sums.
      const fixed = leave + g * base[e]!;
      const unit = unitAt[f]!;
      if (fixed + g * unit < best || (bestE < 0 && fixed + g * unit <= 0)) continue;
      const gain = fixed + (g === 1 ? unit : headroomValue(b, f, taken[f]!, g));
      if (gain > best || (gain === best && bestE >= 0 && offerRank[f]! < offerRank[offer[bestE]!]!)) {
        best = gain;
        bestE = e;
      }
    }
    if (bestE < 0) continue;
    const f2 = offer[bestE]!;
    taken[f1]! -= g;
    taken[f2]! += g;
    setRoom(b, f1, offerFree[f1]! - taken[f1]!);
    setRoom(b, f2, offerFree[f2]! - taken[f2]!);
    d.pair[oi] = bestE;
  }
}

/** In the occupant range list[lo, hi), kept by order index ascending, `into` takes the place of `out`. */
function replaceOccupant(list: Int32Array, lo: number, hi: number, out: number, into: number): void {
  let i = lo;
  while (list[i] !== out) i++;
  for (; i + 1 < hi; i++) list[i] = list[i + 1]!;
  let j = hi - 1;
  while (j > lo && list[j - 1]! > into) {
    list[j] = list[j - 1]!;
    j--;
  }
  list[j] = into;
}

/** swapPhase's occupant ranges, reused from batch to batch (swapPhase is synchronous). */
let swapOccStart = new Int32Array(0);
let swapOccList = new Int32Array(0);

/** docs §7.5: how many better offers each matched order tries in the swap pass (read off its CHAIN_ARCS arcs). */
export const SWAP_TRIES = 8;
if (CHAIN_ARCS < SWAP_TRIES) throw new Error("swapPhase reads its SWAP_TRIES offers off the CHAIN_ARCS arcs");

/**
 * docs §7.5 (swap): one pass over the matched orders (orderId ascending). Order o1 on offer f1 tries its (up to 8)
 * candidate offers with a higher base than f1's, best first (base desc, then versionId); on each such offer f2 it
 * looks at its occupants (orderId ascending) for which f1 is a candidate and, if their sizes differ, with which both
 * offers stay within their free GPUs, and swaps with the first whose swap raises the objective (equal sizes: no
 * offer's taken count, hence no headroom, changes; other sizes: the headroom of both offers counts too).
 *
 * Those offers are read off the order's chain arcs (chains.ts: its CHAIN_ARCS ≥ SWAP_TRIES best pairs by the same
 * key), not found by a walk over its whole candidate list: the pairs with a base above f1's are a prefix of that
 * order, so their first SWAP_TRIES are the arcs' first ones with a base above f1's. `arcs` may be shared with the
 * chain phase of the same candidate lists (decide does), which then finds them loaded.
 */
export function swapPhase(b: PreparedBatch, cand: Candidates, d: Decisions, arcs: ChainArcs = chainArcs(b.orders.length)): void {
  const { offer, base } = cand;
  const { orderGpus, offerFree } = b;
  const { arcLoaded, arcPair, arcOffer, arcBase, arcCount } = arcs;
  const taken = d.taken;
  const m = b.orders.length;
  const pairOf = d.pair;
  // Occupants per offer, order index ascending: those of f are occList[occStart[f] .. occStart[f + 1]). A swap
  // exchanges one for one, so the ranges never change size. Reused arrays, not a list per offer per call.
  const n = b.offers.length;
  if (swapOccStart.length < n + 1) swapOccStart = new Int32Array(n + 1);
  if (swapOccList.length < m) swapOccList = new Int32Array(m);
  const occStart = swapOccStart;
  const occList = swapOccList;
  occStart.fill(0, 0, n + 1);
  for (let oi = 0; oi < m; oi++) if (pairOf[oi]! >= 0) occStart[offer[pairOf[oi]!]! + 1]!++;
  for (let f = 0; f < n; f++) occStart[f + 1]! += occStart[f]!;
  {
    const fill = occStart.slice(0, n);
    for (let oi = 0; oi < m; oi++) if (pairOf[oi]! >= 0) occList[fill[offer[pairOf[oi]!]!]!++] = oi;
  }
  for (let o1 = 0; o1 < m; o1++) {
    const e1 = pairOf[o1]!;
    if (e1 < 0) continue;
    const f1 = offer[e1]!;
    const g = orderGpus[o1]!;
    const b1 = base[e1]!;
    // The best SWAP_TRIES pairs with a higher base, by (base desc, versionId asc): a prefix of the arcs.
    if (arcLoaded[o1] !== 1) loadOrderArcs(cand, b, arcs, o1);
    const first = o1 * CHAIN_ARCS;
    const last = first + Math.min(arcCount[o1]!, SWAP_TRIES);
    search: for (let j = first; j < last && arcBase[j]! > b1; j++) {
      const e2 = arcPair[j]!;
      const f2 = arcOffer[j]!;
      for (let k = occStart[f2]!, kEnd = occStart[f2 + 1]!; k < kEnd; k++) {
        const o2 = occList[k]!;
        const g2 = orderGpus[o2]!;
        // Sizes may differ if both offers keep within their free GPUs after the exchange.
        if (g2 !== g && (taken[f1]! - g + g2 > offerFree[f1]! || taken[f2]! - g2 + g > offerFree[f2]!)) continue;
        // The pair must be in o2's list (a pair that passes every filter may still have been cut by CANDIDATE_CAP).
        const e3 = pairIndex(cand, o2, f1);
        if (e3 < 0) continue;
        let gain = g * (base[e2]! - b1) + g2 * (base[e3]! - base[pairOf[o2]!]!);
        if (g2 !== g) gain += headroomDelta(b, f1, taken[f1]!, taken[f1]! - g + g2) + headroomDelta(b, f2, taken[f2]!, taken[f2]! - g2 + g);
        if (gain <= 0) continue;
        pairOf[o1] = e2;
        pairOf[o2] = e3;
        taken[f1]! += g2 - g;
        taken[f2]! += g - g2;
        replaceOccupant(occList, occStart[f1]!, occStart[f1 + 1]!, o1, o2);
        replaceOccupant(occList, occStart[f2]!, occStart[f2 + 1]!, o2, o1);
        break search;
      }
    }
  }
}

/** docs §8: the first filter of the chain that leaves order `oi` without an offer. */
export function unmatchedReason(b: PreparedBatch, oi: number): UnmatchedReason {
  if (b.orderState[oi] !== 0) return b.orderState[oi] as UnmatchedReason;
  const o = b.orders[oi]!;
  const tok = b.orderToken[oi]!;
  // Stage reached by the best offer: 0 = none of the model, 1 = model, 2 = region, 3 = active, 4 = price,
  // 5 = uptime, 6 = reputation, 7 = slashes, 8 = free GPUs at R_b (so only this batch's takers stand in the way).
  let best = 0;
  if (tok >= 0) {
    for (const model of modelsOf(b, o)) {
      const book = b.books.get(tok * 65_536 + model);
      if (!book) continue;
      for (let r = 0; r < book.regions.length && best < 8; r++) {
        const inRegion = regionAllowed(b, oi, book.regions[r]!);
        if (!inRegion) {
          if (best < 1) best = 1;
          continue;
        }
        for (let f = book.lo[r]!; f < book.hi[r]!; f++) {
          let s = 2;
          if (b.offerActive[f] === 1) {
            s = 3;
            if (b.offers[f]!.pricePerGpuHour <= o.maxPricePerGpuHour) {
              s = 4;
              if (b.offerUptime[f]! >= o.minUptimeBps) {
                s = 5;
                if (b.offerRep[f]! >= o.minReputationBps) {
                  s = 6;
                  if (b.offerSlashed[f]! <= o.maxTimesSlashed) {
                    s = 7;
                    if (b.offerFree[f]! >= o.gpuCount) s = 8;
                  }
                }
              }
            }
          }
          if (s > best) best = s;
        }
      }
    }
  }
  const byStage = [
    UnmatchedReason.NoOfferForModel,
    UnmatchedReason.NoOfferInRegion,
    UnmatchedReason.ProviderNotActive,
    UnmatchedReason.PriceAboveMax,
    UnmatchedReason.UptimeTooLow,
    UnmatchedReason.ReputationTooLow,
    UnmatchedReason.TooManySlashes,
    UnmatchedReason.CapacityTooSmall,
    UnmatchedReason.CapacityTaken,
  ];
  return byStage[best]!;
}

/**
 * docs §6 the objective of an assignment: Σ gpuCount × base over assigned pairs + Σ over offers of the headroom
 * of the GPUs they gave out. It depends only on which pairs are assigned, not on the order they were made in.
 */
export function objectiveOf(b: PreparedBatch, cand: Candidates, pairOf: Int32Array): bigint {
  const n = b.offers.length;
  if (objectiveTaken.length < n) objectiveTaken = new Float64Array(n);
  const taken = objectiveTaken;
  taken.fill(0, 0, n);
  const sum = objectiveSum;
  sum.reset();
  // Each loop is a function of its own: code after a long loop has no type feedback yet when the loop is compiled
  // on the stack, so compiled code that ran on into it would deoptimise there in every call (docs/matching.md §11).
  addBases(b, cand, pairOf, taken, sum);
  addHeadroom(b, taken, sum);
  return sum.value();
}

const objectiveSum = new ExactSum();

/** objectiveOf's first part: g·base of every assigned pair, and the GPUs each offer gave out. */
function addBases(b: PreparedBatch, cand: Candidates, pairOf: Int32Array, taken: Float64Array, sum: ExactSum): void {
  for (let oi = 0; oi < b.orders.length; oi++) {
    const e = pairOf[oi]!;
    if (e < 0) continue;
    sum.add(b.orderGpus[oi]! * cand.base[e]!);
    taken[cand.offer[e]!]! += b.orderGpus[oi]!;
  }
}

/** objectiveOf's second part: the headroom of the GPUs each offer gave out. */
function addHeadroom(b: PreparedBatch, taken: Float64Array, sum: ExactSum): void {
  for (let f = 0; f < b.offers.length; f++) if (taken[f]! > 0) sum.add(headroomValue(b, f, 0, taken[f]!));
}

/** Scratch of objectiveOf (taken GPUs per offer), reused: it runs several times per batch. */
let objectiveTaken = new Float64Array(0);

/** docs §9: the market-quality figures of an assignment. */
export function qualityOf(b: PreparedBatch, cand: Candidates, pairOf: Int32Array): MatchQuality {
  let ordersOpen = 0;
  let ordersMatched = 0;
  let gpusRequested = 0;
  let gpusMatched = 0;
  let paid = 0n;
  let maxPaid = 0n;
  const perProvider = new Float64Array(b.providers.length);
  for (let oi = 0; oi < b.orders.length; oi++) {
    if (b.orderState[oi] !== 0) continue;
    const o = b.orders[oi]!;
    ordersOpen++;
    gpusRequested += o.gpuCount;
    const e = pairOf[oi]!;
    if (e < 0) continue;
    const f = cand.offer[e]!;
    ordersMatched++;
    gpusMatched += o.gpuCount;
    const g = BigInt(o.gpuCount);
    paid += b.offers[f]!.pricePerGpuHour * g;
    maxPaid += o.maxPricePerGpuHour * g;
    perProvider[b.offerProvider[f]!]! += o.gpuCount;
  }
  const bps = (num: number, den: number): number => (den === 0 ? BPS : Math.floor((num * BPS) / den));
  const gpusPerProvider = [];
  for (let p = 0; p < b.providers.length; p++) {
    const gpus = perProvider[p]!;
    if (gpus > 0) gpusPerProvider.push({ provider: b.providers[p]!.provider, gpus, shareBps: bps(gpus, gpusMatched) });
  }
  return {
    ordersOpen,
    ordersMatched,
    fillRateOrdersBps: bps(ordersMatched, ordersOpen),
    gpusRequested,
    gpusMatched,
    fillRateGpusBps: bps(gpusMatched, gpusRequested),
    meanPriceVsMaxBps: maxPaid === 0n ? BPS : Number((paid * BigInt(BPS)) / maxPaid),
    gpusPerProvider,
    totalValue: objectiveOf(b, cand, pairOf),
  };
}

/**
 * docs §7.2: a price per GPU for every offer the first greedy pass filled up: the least any of its occupants would
 * lose by going to its best other offer with room (per GPU, base scores; 0 when that is a gain). Orders then
 * compete for contested offers at what taking them costs others, as in one round of an auction.
 */
export function offerPrices(b: PreparedBatch, cand: Candidates, d: Decisions): Float64Array {
  const { start, offer, base } = cand;
  const n = b.offers.length;
  const lowest = new Float64Array(n).fill(Infinity);
  const price = new Float64Array(n);
  for (let oi = 0; oi < b.orders.length; oi++) {
    const e = d.pair[oi]!;
    if (e < 0) continue;
    const f = offer[e]!;
    if (d.taken[f]! < b.offerFree[f]!) continue;
    const g = b.orderGpus[oi]!;
    let alt = 0;
    for (let e2 = start[oi]!, end = start[oi + 1]!; e2 < end; e2++) {
      const f2 = offer[e2]!;
      if (f2 !== f && b.offerFree[f2]! - d.taken[f2]! >= g && base[e2]! > alt) alt = base[e2]!;
    }
    const loss = base[e]! - alt;
    if (loss < lowest[f]!) lowest[f] = loss;
  }
  clampPrices(lowest, price); // a function of its own, for the reason given in objectiveOf
  return price;
}

/** price[f] = max(0, lowest[f]), or 0 where no occupant set one (Infinity). */
function clampPrices(lowest: Float64Array, price: Float64Array): void {
  for (let f = 0; f < price.length; f++) price[f] = lowest[f] === Infinity ? 0 : Math.max(0, lowest[f]!);
}

/** Memory kept between batches (see ScratchPool); matchBatch is synchronous, so one pool per process is safe. */
const sharedPool = new ScratchPool();

/** Every phase on a prepared batch (docs §7): greedy, prices, priced greedy, repair, improve, swap, repair, chains, improve, swap, chains, make room by ejection. */
export function decide(b: PreparedBatch, cand: Candidates, options: MatchOptions = {}): Decisions {
  const first = greedyPhase(b, cand, options);
  if (options.greedyOnly) return first;
  const priced = greedyPhase(b, cand, options, offerPrices(b, cand, first));
  // The priced pass wins unless it is worse: the later phases only ever raise the objective, so the matcher is
  // never below plain greedy.
  const d = objectiveOf(b, cand, priced.pair) >= objectiveOf(b, cand, first.pair) ? priced : first;
  // The orders' best pairs by base (chains.ts), found once and shared by the swap passes and the chain phases.
  refine(b, cand, d, reusedChainArcs(b.orders.length));
  return d;
}

/**
 * The phases after the greedy passes, in the order of docs §7: repair, improve, swap, repair, chains, improve, swap,
 * chains, make room by ejection. Each only ever raises the objective of `d`, which it changes in place.
 */
export function refine(b: PreparedBatch, cand: Candidates, d: Decisions, arcs: ChainArcs): void {
  repairPhase(b, cand, d);
  improvePhase(b, cand, d);
  swapPhase(b, cand, d, arcs);
  // Moves out of offers may have made room for orders still open.
  repairPhase(b, cand, d);
  // Orders that only a chain of moves can serve, and served orders that only such a chain can improve; then one
  // more improve and swap pass, whose moves may open new chains.
  chainPhase(b, cand, d, CHAIN_ROUNDS, arcs);
  improvePhase(b, cand, d);
  swapPhase(b, cand, d, arcs);
  chainPhase(b, cand, d, CHAIN_ROUNDS, arcs);
  // Orders still open that fit only where several occupants leave, one of them in place of a fourth order (§7.7).
  makeRoomPhase(b, cand, d, arcs);
}

/**
 * Runs the matcher on one batch. `seed` is the batch seed (bytes32 hex). Inputs may be in any order; the result
 * is identical for every permutation of them.
 */
export function matchBatch(inputs: MatchInputs, seed: Hex, options: MatchOptions = {}): MatchResult {
  const b = prepareBatch(inputs, seed);
  const cand = buildCandidates(b, sharedPool);
  return resultOf(b, cand, decide(b, cand, options).pair);
}

/** Builds the canonical result (assignments, reasons, figures) from per-order decisions. */
export function resultOf(b: PreparedBatch, cand: Candidates, pairOf: Int32Array): MatchResult {
  const assignments: Assignment[] = [];
  const unmatched: Unmatched[] = [];
  for (let oi = 0; oi < b.orders.length; oi++) {
    const o = b.orders[oi]!;
    const e = pairOf[oi]!;
    if (e >= 0) {
      const v = b.offers[cand.offer[e]!]!;
      assignments.push({ orderId: o.orderId, offerVersionId: v.versionId, gpuCount: o.gpuCount, pricePerGpuHour: v.pricePerGpuHour });
    } else {
      // An order with candidate pairs passed every filter at R_b: only this batch's takers stood in its way.
      const reason = cand.start[oi + 1]! > cand.start[oi]! ? UnmatchedReason.CapacityTaken : unmatchedReason(b, oi);
      unmatched.push({ orderId: o.orderId, reason });
    }
  }
  return { assignments, unmatched, quality: qualityOf(b, cand, pairOf) };
}
