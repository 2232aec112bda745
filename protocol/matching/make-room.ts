/**
 * docs/matching.md §7.7: make room by ejection, the last phase. The make-room move of the repair (§7.4) frees an
 * offer of several occupants, but each of them may only go to an offer that has room for it now; the chains (§7.6)
 * move one occupant per offer. An order of many GPUs on partly leased supply often needs both at once: two or three
 * occupants leave the offer it fits, and one of them takes the place of a fourth order elsewhere, which itself moves
 * to an offer with room or leaves. This phase searches exactly that: per occupant its best *exit* (stay unmatched,
 * move to an offer with room, or move while ejecting one occupant of the offer it enters), then the set of occupants
 * of least total loss that frees enough GPUs (an exact 0/1 cover over the GPUs freed), and applies the plan if the
 * exact change of the objective, re-computed on the assignment, is positive. Integers only; every choice has a fixed
 * tie-break (the first found in the iteration order the docs name wins among equals).
 */
import { BPS } from "../market/types.js";
import { CHAIN_ARCS, chainArcs, loadOrderArcs, reusedChainArcs, type ChainArcs } from "./chains.js";
import type { Decisions } from "./decisions.js";
import type { Candidates, PreparedBatch } from "./prepare.js";
import { headroomDelta, headroomValue } from "./value.js";

/** docs §7.7: at most this many passes over the open orders (a pass that applies nothing ends the phase). */
export const MAKE_ROOM_PASSES = 2;
/**
 * docs §7.7: an offer is tried only if its cover table, (occupants + 1) × (need + 1) entries, has at most this many
 * (512 KB): bounds memory and time per offer whatever the batch (an offer of 65 536 free GPUs and as many one-GPU
 * occupants would otherwise ask for 2^32 entries). Offers of up to 64 GPUs are far below it.
 */
export const MAKE_ROOM_DP_CELLS = 65_536;

interface Plan {
  /** Orders moved, in application order, and the pair each goes to (-1: unmatched). */
  orders: number[];
  pairs: number[];
}

const NO_INT32 = new Int32Array(0);
const NO_FLOAT64 = new Float64Array(0);

/**
 * The working memory of the phase: the assignment, occupants per offer (order index ascending) and memoised exits.
 * One per process (makeRoomPhase is synchronous), its arrays reused by the next batch: the memos are stamped with a
 * version that only ever grows, so no array needs clearing between batches.
 */
class MakeRoom {
  b: PreparedBatch | null = null;
  cand: Candidates = { start: NO_INT32, offer: NO_INT32, base: NO_INT32 };
  pair: Int32Array = NO_INT32;
  taken: Float64Array = NO_FLOAT64;
  occ: number[][] = [];
  /** Bumped by every applied plan (and every call): the memos below are valid while their version equals it. */
  version = 0;
  roomVersion = NO_INT32;
  roomPair = NO_INT32;
  roomValue = NO_FLOAT64;
  exitVersion = NO_INT32;
  /** Per order its best pairs (loadArcs): the engine's chain arcs, shared with the chain and swap passes. */
  arcs: ChainArcs = chainArcs(0);
  /** Exit of an occupant: its value after leaving (0 if unmatched), the pair it goes to, the order it ejects (or -1) and that one's pair. */
  exitValue = NO_FLOAT64;
  exitPair = NO_INT32;
  exitEject = NO_INT32;
  exitEjectPair = NO_INT32;
  /** bestRoom's answer. */
  bestPair = -1;
  bestValue = 0;

  begin(b: PreparedBatch, cand: Candidates, d: Decisions, arcs: ChainArcs): void {
    this.arcs = arcs;
    this.b = b;
    this.cand = cand;
    this.pair = d.pair;
    this.taken = d.taken;
    const m = b.orders.length;
    const n = b.offers.length;
    if (this.roomVersion.length < m) {
      this.roomVersion = new Int32Array(m);
      this.roomPair = new Int32Array(2 * m);
      this.roomValue = new Float64Array(2 * m);
      this.exitVersion = new Int32Array(m);
      this.exitValue = new Float64Array(m);
      this.exitPair = new Int32Array(m);
      this.exitEject = new Int32Array(m);
      this.exitEjectPair = new Int32Array(m);
      // Stamps of the new arrays are 0: start above them.
      this.version = 0;
    }
    this.version++;
    for (let f = this.occ.length; f < n; f++) this.occ.push([]);
    for (let f = 0; f < n; f++) this.occ[f]!.length = 0;
    for (let oi = 0; oi < m; oi++) if (d.pair[oi]! >= 0) this.occ[cand.offer[d.pair[oi]!]!]!.push(oi);
  }

  /** Lets the batch be collected once the phase is over. */
  end(): void {
    this.b = null;
    this.cand = { start: NO_INT32, offer: NO_INT32, base: NO_INT32 };
    this.pair = NO_INT32;
    this.taken = NO_FLOAT64;
  }

  /**
   * The two best candidate offers with room for served order z other than its own (largest value V(z, f, taken[f]),
   * ties: candidate order), memoised; -1 where there is none.
   */
  private twoBest(z: number): void {
    if (this.roomVersion[z] === this.version) return;
    this.roomVersion[z] = this.version;
    const { cand, taken } = this;
    const b = this.b!;
    const { start, offer, base } = cand;
    const g = b.orderGpus[z]!;
    const own = offer[this.pair[z]!]!;
    const headroomTop = b.weightAvailability * BPS;
    let e1 = -1;
    let v1 = 0;
    let e2 = -1;
    let v2 = 0;
    const free = b.offerFree;
    for (let e = start[z]!, end = start[z + 1]!; e < end; e++) {
      const f = offer[e]!;
      if (f === own || free[f]! - taken[f]! < g) continue;
      // The headroom of g GPUs is at most w_availability·10 000 each: a pair that cannot beat the second best even
      // so is skipped without computing it (speed only).
      if (e2 >= 0 && g * base[e]! + headroomTop * g <= v2) continue;
      const v = g * base[e]! + headroomValue(b, f, taken[f]!, g);
      if (e1 < 0 || v > v1) {
        e2 = e1;
        v2 = v1;
        e1 = e;
        v1 = v;
      } else if (e2 < 0 || v > v2) {
        e2 = e;
        v2 = v;
      }
    }
    this.roomPair[2 * z] = e1;
    this.roomValue[2 * z] = v1;
    this.roomPair[2 * z + 1] = e2;
    this.roomValue[2 * z + 1] = v2;
  }

  /** Sets bestPair/bestValue: z's best candidate offer with room other than its own and `other` (-1 and 0 if none). */
  bestRoom(z: number, other: number): void {
    this.twoBest(z);
    const i = this.roomPair[2 * z]! >= 0 && this.cand.offer[this.roomPair[2 * z]!] === other ? 2 * z + 1 : 2 * z;
    this.bestPair = this.roomPair[i]!;
    this.bestValue = this.bestPair >= 0 ? this.roomValue[i]! : 0;
  }

  /** Order y's best pairs by (base desc, versionId asc): its chain arcs (chains.ts), loaded once per batch. */
  loadArcs(y: number): void {
    if (this.arcs.arcLoaded[y] !== 1) loadOrderArcs(this.cand, this.b!, this.arcs, y);
  }

  /**
   * docs §7.7: the exit of occupant y of offer f (its current offer): the best, by value (ties: the first found), of
   * leaving unmatched (0), moving to its best candidate offer with room (as bestRoom), and moving to a candidate offer
   * f2 without room for it (candidate order) while one occupant z of f2 (order index ascending) with
   * g(z) + room(f2) ≥ g(y) leaves for its best offer with room other than f and f2, or unmatched.
   */
  exit(y: number): void {
    if (this.exitVersion[y] === this.version) return;
    this.exitVersion[y] = this.version;
    const { cand, taken, occ } = this;
    const b = this.b!;
    const { offer, base } = cand;
    const gy = b.orderGpus[y]!;
    const f = offer[this.pair[y]!]!;
    this.bestRoom(y, -1);
    let value = this.bestValue;
    let pair = this.bestPair;
    let eject = -1;
    let ejectPair = -1;
    this.loadArcs(y);
    for (let j = y * CHAIN_ARCS, jEnd = j + this.arcs.arcCount[y]!; j < jEnd; j++) {
      const e = this.arcs.arcPair[j]!;
      const f2 = offer[e]!;
      const T2 = taken[f2]!;
      const room2 = b.offerFree[f2]! - T2;
      if (f2 === f || room2 >= gy) continue;
      const enter = gy * base[e]!;
      for (const z of occ[f2]!) {
        const gz = b.orderGpus[z]!;
        if (gz + room2 < gy) continue;
        this.bestRoom(z, f);
        const v = enter - gz * base[this.pair[z]!]! + headroomDelta(b, f2, T2, T2 - gz + gy) + this.bestValue;
        if (v > value) {
          value = v;
          pair = e;
          eject = z;
          ejectPair = this.bestPair;
        }
      }
    }
    this.exitValue[y] = value;
    this.exitPair[y] = pair;
    this.exitEject[y] = eject;
    this.exitEjectPair[y] = ejectPair;
  }
}

/**
 * docs §7.7: make room by ejection, on `d` in place. Returns the number of plans applied. `arcs`: the batch's chain
 * arcs (decide shares those of the chain and swap passes; without them they are loaded afresh).
 */
export function makeRoomPhase(b: PreparedBatch, cand: Candidates, d: Decisions, arcs: ChainArcs = reusedChainArcs(b.orders.length)): number {
  const s = shared;
  s.begin(b, cand, d, arcs);
  try {
    return passes(s);
  } finally {
    s.end();
  }
}

const shared = new MakeRoom();

function passes(s: MakeRoom): number {
  const b = s.b!;
  const start = s.cand.start;
  const orderGpus = b.orderGpus;
  const m = b.orders.length;
  let applied = 0;
  const estimates: number[] = [];
  const positions: number[] = [];
  for (let pass = 0; pass < MAKE_ROOM_PASSES; pass++) {
    const queue: number[] = [];
    for (let oi = 0; oi < m; oi++) if (s.pair[oi] === -1 && start[oi + 1]! > start[oi]!) queue.push(oi);
    queue.sort((x, y) => orderGpus[y]! - orderGpus[x]! || x - y);
    const before = applied;
    for (const o of queue) {
      // Every candidate offer's estimate (docs §7.7); the plans are then tried best first.
      estimates.length = 0;
      positions.length = 0;
      s.loadArcs(o);
      for (let j = o * CHAIN_ARCS, jEnd = j + s.arcs.arcCount[o]!; j < jEnd; j++) {
        const e = s.arcs.arcPair[j]!;
        const est = estimate(s, o, e);
        if (est > 0) {
          estimates.push(est);
          positions.push(e);
        }
      }
      const order = positions.map((_, i) => i).sort((x, y) => estimates[y]! - estimates[x]! || positions[x]! - positions[y]!);
      for (const i of order) {
        if (tryPlan(s, o, positions[i]!)) {
          applied++;
          break;
        }
      }
    }
    if (applied === before) break;
  }
  return applied;
}

// Scratch of the cover DP: per occupant, the least loss per GPUs freed (capped at the need), and the plan it forms.
let dpTable = new Float64Array(0);
const chosen: number[] = [];
const plan: Plan = { orders: [], pairs: [] };

/**
 * The estimated change of the objective if order o entered by pair e, and the occupants it would make leave
 * (in `chosen`, order index ascending): the least-loss set of occupants of f freeing at least g − room(f) GPUs,
 * loss = value on f − exit value; 0/1 cover by dynamic programming over occupants (order index ascending) and GPUs
 * freed (capped at the need), replacing an entry only by a strictly smaller loss.
 */
function estimate(s: MakeRoom, o: number, e: number): number {
  const { cand, taken, occ } = s;
  const b = s.b!;
  const f = cand.offer[e]!;
  const g = b.orderGpus[o]!;
  const T = taken[f]!;
  const room = b.offerFree[f]! - T;
  chosen.length = 0;
  if (room >= g) return g * cand.base[e]! + headroomValue(b, f, T, g);
  const need = g - room;
  const list = occ[f]!;
  let total = 0;
  for (const y of list) total += b.orderGpus[y]!;
  if (total < need) return 0;
  const k = list.length;
  const w = need + 1;
  if ((k + 1) * w > MAKE_ROOM_DP_CELLS) return 0;
  if (dpTable.length < (k + 1) * w) dpTable = new Float64Array((k + 1) * w);
  const dp = dpTable;
  dp.fill(Infinity, 0, (k + 1) * w);
  dp[0] = 0;
  for (let i = 0; i < k; i++) {
    const y = list[i]!;
    s.exit(y);
    const gy = b.orderGpus[y]!;
    const loss = gy * cand.base[s.pair[y]!]! - s.exitValue[y]!;
    const row = i * w;
    const next = row + w;
    for (let q = 0; q < w; q++) dp[next + q] = dp[row + q]!;
    for (let q = 0; q < w; q++) {
      const v = dp[row + q]!;
      if (v === Infinity) continue;
      const q2 = Math.min(need, q + gy);
      if (v + loss < dp[next + q2]!) dp[next + q2] = v + loss;
    }
  }
  const lossAll = dp[k * w + need]!;
  if (lossAll === Infinity) return 0;
  // Reconstruct: walk the items backwards; item i was taken iff its row's value differs from the row above.
  let q = need;
  let freed = 0;
  for (let i = k - 1; i >= 0; i--) {
    const v = dp[(i + 1) * w + q]!;
    if (v === dp[i * w + q]!) continue;
    const y = list[i]!;
    const gy = b.orderGpus[y]!;
    chosen.push(y);
    freed += gy;
    // The state before item i: the q' with q' + gy capped = q and dp[i][q'] + loss = v (the first such q').
    const loss = gy * cand.base[s.pair[y]!]! - s.exitValue[y]!;
    let prev = -1;
    for (let p = 0; p < w; p++) if (Math.min(need, p + gy) === q && dp[i * w + p]! + loss === v) {
      prev = p;
      break;
    }
    q = prev;
  }
  chosen.reverse();
  return g * cand.base[e]! - lossAll + headroomDelta(b, f, T, T - freed + g);
}

/** Re-estimates pair e of order o, builds its plan and applies it if it fits and raises the objective exactly. */
function tryPlan(s: MakeRoom, o: number, e: number): boolean {
  if (estimate(s, o, e) <= 0) return false;
  plan.orders.length = 0;
  plan.pairs.length = 0;
  plan.orders.push(o);
  plan.pairs.push(e);
  for (const y of chosen) {
    plan.orders.push(y);
    plan.pairs.push(s.exitPair[y]!);
    const z = s.exitEject[y]!;
    if (z >= 0) {
      plan.orders.push(z);
      plan.pairs.push(s.exitEjectPair[y]!);
    }
  }
  return applyIfBetter(s, plan);
}

// Scratch of applyIfBetter: the offers a plan touches and their GPUs in (+) and out (−).
const touched: number[] = [];
let netGpus = new Float64Array(0);
let offerMark = new Int32Array(0);
let orderMark = new Int32Array(0);
let markStamp = 0;

/**
 * Applies the plan (each order to its pair, -1 = unmatched) if no order appears twice, every offer it touches stays
 * within its free GPUs, and the exact change of the objective (§6: g·base of each pair left and entered, the
 * headroom change of each touched offer) is positive.
 */
function applyIfBetter(s: MakeRoom, p: Plan): boolean {
  const { cand, pair, taken, occ } = s;
  const b = s.b!;
  const { offer, base } = cand;
  const { orderGpus, offerFree } = b;
  if (netGpus.length < offerFree.length) {
    netGpus = new Float64Array(offerFree.length);
    offerMark = new Int32Array(offerFree.length);
  }
  if (orderMark.length < orderGpus.length) orderMark = new Int32Array(orderGpus.length);
  // Marks (a stamp per call, never reused): linear in the plan's size, whatever it is.
  const stamp = ++markStamp;
  const n = p.orders.length;
  for (let i = 0; i < n; i++) {
    const x = p.orders[i]!;
    if (orderMark[x] === stamp) return false;
    orderMark[x] = stamp;
  }
  touched.length = 0;
  let delta = 0;
  const touch = (f: number, gpus: number): void => {
    if (offerMark[f] !== stamp) {
      offerMark[f] = stamp;
      touched.push(f);
    }
    netGpus[f]! += gpus;
  };
  for (let i = 0; i < n; i++) {
    const x = p.orders[i]!;
    const g = orderGpus[x]!;
    const from = pair[x]!;
    const to = p.pairs[i]!;
    if (from >= 0) {
      delta -= g * base[from]!;
      touch(offer[from]!, -g);
    }
    if (to >= 0) {
      delta += g * base[to]!;
      touch(offer[to]!, g);
    }
  }
  let fits = true;
  for (const f of touched) {
    const after = taken[f]! + netGpus[f]!;
    if (after > offerFree[f]!) fits = false;
    else delta += headroomDelta(b, f, taken[f]!, after);
  }
  if (!fits || delta <= 0) {
    for (const f of touched) netGpus[f] = 0;
    return false;
  }
  for (const f of touched) {
    taken[f]! += netGpus[f]!;
    netGpus[f] = 0;
  }
  for (let i = 0; i < n; i++) {
    const x = p.orders[i]!;
    const from = pair[x]!;
    const to = p.pairs[i]!;
    if (from >= 0) {
      const list = occ[offer[from]!]!;
      list.splice(list.indexOf(x), 1);
    }
    pair[x] = to;
    if (to >= 0) {
      const list = occ[offer[to]!]!;
      let at = list.length;
      while (at > 0 && list[at - 1]! > x) at--;
      list.splice(at, 0, x);
    }
  }
  s.version++;
  return true;
}

