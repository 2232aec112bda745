/**
 * docs/matching.md §7.6: augmenting chains. An open order can often be served only if another order moves out of
 * its way, and that one only if a third moves, and so on; likewise a served order may reach a better offer only
 * through such a chain. The greedy and the one-move repair cannot see these. Each round searches, from every order
 * at once, for the best chain reaching each offer — a depth-bounded longest-path search (layered Bellman–Ford)
 * over the residual of the current assignment, whose nodes are offers and whose arcs are "an occupant of this
 * offer moves to another of its candidate offers" — and then applies the chains found, best first, each re-checked
 * against the assignment as the chains applied before it left it. Integers only; every choice has a fixed
 * tie-break.
 *
 * Layout, for the first call in a fresh process: each step of a round (occupants, sources, one layer's expansion,
 * re-check, apply) is its own module-level function over one `ChainSearch` kept per process, not a closure made
 * per call. A closure made anew by every call is a new call target for the code optimised during the previous
 * call, which then deoptimises; one function holding every step was recompiled whole each time (7 compilations
 * of 0.1–0.6 s each in the first 10 000² match, measured with --trace-opt/--trace-deopt, while the round ran
 * unoptimised). The search's arrays are reused by the next batch of the same size or smaller.
 */
import { grownFloat64, grownInt32, type Candidates, type PreparedBatch } from "./prepare.js";
import type { Decisions } from "./decisions.js";
import { ExactSum } from "./exact-sum.js";
import { headroomDelta } from "./value.js";

/** docs §7.6: at most this many offers on one chain (so up to CHAIN_DEPTH − 1 orders move for the first one). */
export const CHAIN_DEPTH = 8;
/** docs §7.6: at most this many rounds (a round that applies no chain ends the phase). */
export const CHAIN_ROUNDS = 6;
/**
 * docs §7.6: a round whose applied chains raise the objective by less than 2^-12 (≈ 0.024 %) of Σ gpuCount × base
 * over the served orders ends the phase.
 */
export const CHAIN_STOP_SHIFT = 12n;
/** docs §7.6: an order already served moves, along a chain, only to one of its this many best candidate offers. */
export const CHAIN_ARCS = 24;

/**
 * docs §7.6, the stop rule: whether a round whose applied chains gained `gain` (exact, summed as integers) ends the
 * phase, given Σ gpuCount × base over the orders served after it.
 */
export function roundGainTooSmall(gain: bigint, servedBase: bigint): boolean {
  return gain << CHAIN_STOP_SHIFT < servedBase;
}

/**
 * Arcs of the orders (docs §7.6): per order its CHAIN_ARCS best candidate pairs by (base desc, versionId asc), with
 * their offers and bases side by side (read in sequence by the search, not through the candidate lists). They
 * depend on the candidate lists only, so one set serves every chain phase of a batch; each order's are found on
 * first use.
 */
export interface ChainArcs {
  arcLoaded: Uint8Array;
  arcCount: Int32Array;
  arcPair: Int32Array;
  arcOffer: Int32Array;
  arcBase: Int32Array;
}

export function chainArcs(orders: number): ChainArcs {
  const size = orders * CHAIN_ARCS;
  return { arcLoaded: new Uint8Array(orders), arcCount: new Int32Array(orders), arcPair: new Int32Array(size), arcOffer: new Int32Array(size), arcBase: new Int32Array(size) };
}

let sharedArcs: ChainArcs = chainArcs(0);

/**
 * The per-process arcs used by decide (matchBatch), sized for `orders` and emptied: the previous batch's arrays are
 * reused when large enough, so that matching batch after batch allocates none. Valid until the next call.
 */
export function reusedChainArcs(orders: number): ChainArcs {
  if (sharedArcs.arcLoaded.length < orders) sharedArcs = chainArcs(orders);
  else sharedArcs.arcLoaded.fill(0, 0, orders);
  return sharedArcs;
}

/** Loads the arcs of order y (its CHAIN_ARCS best pairs by base desc, versionId asc) into `arcs`. */
export function loadOrderArcs(cand: Candidates, b: PreparedBatch, arcs: ChainArcs, y: number): void {
  const { start, offer, base } = cand;
  const offerRank = b.offerRank;
  const { arcCount, arcPair, arcOffer, arcBase } = arcs;
  const K = CHAIN_ARCS;
  arcs.arcLoaded[y] = 1;
  let count = 0;
  // Once K arcs are held: the base of the K-th, below which a pair is passed over without reading its rank.
  let lastV = 0;
  const first = y * K;
  for (let e = start[y]!, end = start[y + 1]!; e < end; e++) {
    const v = base[e]!;
    if (count === K && v < lastV) continue;
    const rk = offerRank[offer[e]!]!;
    let i: number;
    if (count < K) i = count++;
    else {
      if (v === lastV && rk > offerRank[offer[arcPair[first + K - 1]!]!]!) continue;
      i = K - 1;
    }
    while (i > 0) {
      const p = arcPair[first + i - 1]!;
      if (base[p]! > v || (base[p]! === v && offerRank[offer[p]!]! < rk)) break;
      arcPair[first + i] = p;
      i--;
    }
    arcPair[first + i] = e;
    if (count === K) lastV = base[arcPair[first + K - 1]!]!;
  }
  arcCount[y] = count;
  for (let j = first; j < first + count; j++) {
    arcOffer[j] = offer[arcPair[j]!]!;
    arcBase[j] = base[arcPair[j]!]!;
  }
}

const NO_INT32 = new Int32Array(0);
const NO_FLOAT64 = new Float64Array(0);

/**
 * The working memory of the chain search. Sizes: per offer (n), per order (m), per (layer, offer) (D·n). One per
 * process; chainPhase is synchronous, and drops its references to the batch when it returns.
 */
class ChainSearch {
  b: PreparedBatch | null = null;
  cand: Candidates | null = null;
  arcs: ChainArcs | null = null;
  pairOf: Int32Array = NO_INT32;
  taken: Float64Array = NO_FLOAT64;
  n = 0;
  m = 0;
  /** Occupants per offer, order index ascending (rebuilt each round): those of f are occList[occStart[f] .. occStart[f+1]). */
  occStart = new Int32Array(1);
  occList: Int32Array = NO_INT32;
  occFill: Int32Array = NO_INT32;
  /** g·base of each listed occupant on its offer. */
  occValue: Float64Array = NO_FLOAT64;
  // Labels per (layer, offer): the best partial chain found whose last order is about to enter the offer. lPrev
  // is the offer that order leaves (the label one layer up), or for layer 0 the source's own offer (-1: none).
  lGain: Float64Array = NO_FLOAT64;
  lOrder: Int32Array = NO_INT32;
  lPair: Int32Array = NO_INT32;
  lPrev: Int32Array = NO_INT32;
  /** Offers labelled per layer, as versionId ranks (sorted before the layer is expanded). */
  activeRank: Int32Array = NO_INT32;
  activeCount = new Int32Array(CHAIN_DEPTH);
  /** Per rank, 1 while a layer's ranks are being put in order (sortedRanks); 0 otherwise. */
  rankMark = new Uint8Array(0);
  offerOfRank: Int32Array = NO_INT32;
  /** Best gain with which any chain so far entered each offer; a later label must beat it strictly. */
  best: Float64Array = NO_FLOAT64;
  /** Offers on the current label's chain (stamp = label id), so that chains stay simple. */
  onPath: Int32Array = NO_INT32;
  stamp = 0;
  /** Offers whose occupants changed: the round after which they last did, plus one. */
  changed: Int32Array = NO_INT32;
  // Chains that end (tCount of them): where the last order finds room (tDrop = -1), or where it evicts tDrop, left
  // unmatched; for an eviction, tClose is the pair by which the evicted order closes the chain into the source's
  // own offer, or -1. Typed arrays, grown by doubling: gains above 2^30 would turn a plain array of small integers
  // into one of doubles, a map change that deoptimised the code reading it.
  tGain = new Float64Array(1024);
  tLayer = new Int32Array(1024);
  tOffer = new Int32Array(1024);
  tDrop = new Int32Array(1024);
  tClose = new Int32Array(1024);
  tCount = 0;
  /** The exact sums of a round: the gains of the chains applied, and Σ g·base over the served orders after it. */
  readonly appliedGain = new ExactSum();
  readonly servedSum = new ExactSum();
  // Scratch for re-checking a chain against the current assignment.
  pathOffer = new Int32Array(CHAIN_DEPTH + 1);
  pathOrder = new Int32Array(CHAIN_DEPTH);
  pathPair = new Int32Array(CHAIN_DEPTH);
  /** Net GPUs in (+) and out (−) per offer of the chain being re-checked; all 0 between re-checks. */
  inOut: Float64Array = NO_FLOAT64;

  constructor() {
    // Grown once now: written twice before any code is compiled against them (as PairHeap in engine.ts).
    growTerminals(this);
  }

  /** Sizes the arrays for a batch of n offers and m orders and resets what a call must start from. */
  begin(b: PreparedBatch, cand: Candidates, d: Decisions, arcs: ChainArcs): void {
    const n = b.offers.length;
    const m = b.orders.length;
    this.b = b;
    this.cand = cand;
    this.arcs = arcs;
    this.pairOf = d.pair;
    this.taken = d.taken;
    this.n = n;
    this.m = m;
    if (this.occList.length < m) {
      this.occList = new Int32Array(m);
      this.occValue = new Float64Array(m);
    }
    if (this.best.length < n) {
      this.rankMark = new Uint8Array(n);
      this.occStart = new Int32Array(n + 1);
      this.occFill = new Int32Array(n);
      this.lGain = new Float64Array(CHAIN_DEPTH * n);
      this.lOrder = new Int32Array(CHAIN_DEPTH * n);
      this.lPair = new Int32Array(CHAIN_DEPTH * n);
      this.lPrev = new Int32Array(CHAIN_DEPTH * n);
      this.activeRank = new Int32Array(CHAIN_DEPTH * n);
      this.offerOfRank = new Int32Array(n);
      this.best = new Float64Array(n);
      this.onPath = new Int32Array(n);
      this.changed = new Int32Array(n);
      this.inOut = new Float64Array(n);
    }
    for (let f = 0; f < n; f++) this.offerOfRank[b.offerRank[f]!] = f;
    this.changed.fill(0, 0, n);
    this.onPath.fill(0, 0, n);
    this.stamp = 0;
  }

  /** Lets the batch be collected once the phase is over. */
  end(): void {
    this.b = null;
    this.cand = null;
    this.arcs = null;
    this.pairOf = NO_INT32;
    this.taken = NO_FLOAT64;
  }
}

const search = new ChainSearch();

function buildOcc(s: ChainSearch): void {
  const { occStart, occList, occFill, occValue, pairOf, n, m } = s;
  const { offer, base } = s.cand!;
  const orderGpus = s.b!.orderGpus;
  occStart.fill(0, 0, n + 1);
  for (let oi = 0; oi < m; oi++) if (pairOf[oi]! >= 0) occStart[offer[pairOf[oi]!]! + 1]!++;
  for (let f = 0; f < n; f++) occStart[f + 1]! += occStart[f]!;
  occFill.set(occStart.subarray(0, n));
  for (let oi = 0; oi < m; oi++) {
    if (pairOf[oi]! < 0) continue;
    const i = occFill[offer[pairOf[oi]!]!]!++;
    occList[i] = oi;
    occValue[i] = orderGpus[oi]! * base[pairOf[oi]!]!;
  }
}

function relax(s: ChainSearch, layer: number, f: number, gain: number, oi: number, e: number, prev: number): void {
  if (gain <= s.best[f]!) return;
  s.best[f] = gain;
  const k = layer * s.n + f;
  if (s.lOrder[k] === -1) s.activeRank[layer * s.n + s.activeCount[layer]!++] = s.b!.offerRank[f]!;
  s.lGain[k] = gain;
  s.lOrder[k] = oi;
  s.lPair[k] = e;
  s.lPrev[k] = prev;
}

function addTerminal(s: ChainSearch, gain: number, layer: number, f: number, drop: number, close: number): void {
  if (s.tCount === s.tGain.length) growTerminals(s);
  const i = s.tCount++;
  s.tGain[i] = gain;
  s.tLayer[i] = layer;
  s.tOffer[i] = f;
  s.tDrop[i] = drop;
  s.tClose[i] = close;
}

function growTerminals(s: ChainSearch): void {
  const size = 2 * s.tGain.length;
  s.tGain = grownFloat64(s.tGain, size);
  s.tLayer = grownInt32(s.tLayer, size);
  s.tOffer = grownInt32(s.tOffer, size);
  s.tDrop = grownInt32(s.tDrop, size);
  s.tClose = grownInt32(s.tClose, size);
}

/**
 * Layer 0. An unmatched order enters any of its arcs' offers; a served order leaves its offer for one of its K
 * best (the chain then starts with a move instead of a new order). After the first round, only orders next to what
 * the previous round changed start a chain: their own offer or one of their arcs' offers gained or lost an occupant.
 */
function sourceLayer(s: ChainSearch, round: number): void {
  const b = s.b!;
  const cand = s.cand!;
  const arcs = s.arcs!;
  const { start, offer, base } = cand;
  const { arcLoaded, arcCount, arcPair, arcOffer, arcBase } = arcs;
  const { pairOf, taken, changed, m } = s;
  const orderGpus = b.orderGpus;
  const K = CHAIN_ARCS;
  for (let oi = 0; oi < m; oi++) {
    const g = orderGpus[oi]!;
    const e0 = pairOf[oi]!;
    if (round > 0) {
      if (start[oi + 1]! === start[oi]!) continue;
      let touched = e0 >= 0 && changed[offer[e0]!] === round;
      if (!touched) {
        if (arcLoaded[oi] !== 1) loadOrderArcs(cand, b, arcs, oi);
        for (let j = oi * K, jEnd = j + arcCount[oi]!; j < jEnd && !touched; j++) touched = changed[arcOffer[j]!] === round;
      }
      if (!touched) continue;
    }
    if (e0 === -1) {
      if (start[oi + 1]! === start[oi]!) continue;
      if (arcLoaded[oi] !== 1) loadOrderArcs(cand, b, arcs, oi);
      for (let j = oi * K, jEnd = j + arcCount[oi]!; j < jEnd; j++) relax(s, 0, arcOffer[j]!, g * arcBase[j]!, oi, arcPair[j]!, -1);
      continue;
    }
    const f0 = offer[e0]!;
    const leave = -g * base[e0]! + headroomDelta(b, f0, taken[f0]!, taken[f0]! - g);
    if (arcLoaded[oi] !== 1) loadOrderArcs(cand, b, arcs, oi);
    for (let j = oi * K, jEnd = j + arcCount[oi]!; j < jEnd; j++) {
      const f = arcOffer[j]!;
      if (f === f0) continue;
      const gain = leave + g * arcBase[j]!;
      if (gain > 0) relax(s, 0, f, gain, oi, arcPair[j]!, f0);
    }
  }
}

/** The order that starts the chain of the label (layer, fEnd). */
function firstOrder(s: ChainSearch, layer: number, fEnd: number): number {
  let f = fEnd;
  for (let l = layer; l > 0; l--) f = s.lPrev[l * s.n + f]!;
  return s.lOrder[f]!;
}

/**
 * Expands the labels of one layer, their offers by versionId ascending (docs §7.6 step 3): a label whose offer has
 * room records a *room* terminal; otherwise each occupant that makes enough room records *evict*, and moves on
 * along its arcs (labels of the next layer), or closes into the origin.
 */
function expandLayer(s: ChainSearch, layer: number): void {
  const b = s.b!;
  const cand = s.cand!;
  const arcs = s.arcs!;
  const base = cand.base;
  const { arcLoaded, arcCount, arcPair, arcOffer, arcBase } = arcs;
  const { n, taken, lGain, lOrder, lPrev, onPath, occStart, occList, occValue, offerOfRank, best } = s;
  const { offerFree, orderGpus } = b;
  const D = CHAIN_DEPTH;
  const K = CHAIN_ARCS;
  const ranks = sortedRanks(s, layer);
  for (let r = 0; r < ranks.length; r++) {
    const f = offerOfRank[ranks[r]!]!;
    const k = layer * n + f;
    const gain = lGain[k]!;
    const x = lOrder[k]!;
    const sx = orderGpus[x]!;
    const T = taken[f]!;
    const room = offerFree[f]! - T;
    if (room >= sx) {
      const total = gain + headroomDelta(b, f, T, T + sx);
      if (total > 0) addTerminal(s, total, layer, f, -1, -1);
      continue;
    }
    const stamp = ++s.stamp;
    let g = f;
    for (let l = layer; l >= 0 && g >= 0; l--) {
      onPath[g] = stamp;
      g = lPrev[l * n + g]!;
    }
    const origin = g;
    if (origin >= 0) onPath[origin] = stamp; // the source's own offer
    for (let i = occStart[f]!; i < occStart[f + 1]!; i++) {
      const y = occList[i]!;
      const gy = orderGpus[y]!;
      if (gy + room < sx) continue;
      const local = gain - occValue[i]! + (gy === sx ? 0 : headroomDelta(b, f, T, T - gy + sx));
      if (local > 0) addTerminal(s, local, layer, f, y, -1);
      if (layer + 1 >= D) continue;
      if (arcLoaded[y] !== 1) loadOrderArcs(cand, b, arcs, y);
      for (let j = y * K, jEnd = j + arcCount[y]!; j < jEnd; j++) {
        const f2 = arcOffer[j]!;
        if (f2 === origin) {
          // Back into the offer the source left: the chain closes into a cycle if y fits there.
          closeInto(s, layer, f, y, arcPair[j]!, local, base);
          continue;
        }
        // The label must beat the best gain into f2 so far (≥ 0), as relax checks; tested first, as it turns away
        // most arcs, before whether f2 is on the chain already (then y cannot go there).
        const next = local + gy * arcBase[j]!;
        if (next <= best[f2]! || onPath[f2] === stamp) continue;
        relax(s, layer + 1, f2, next, y, arcPair[j]!, f);
      }
    }
  }
}

/**
 * The ranks of a layer's labels, ascending (each offer has at most one label per layer, so they are distinct).
 * A layer that holds more than 1/16 of the offers is put in order by one pass over a mark per rank, cheaper than a
 * sort at that size; a smaller one is sorted.
 */
function sortedRanks(s: ChainSearch, layer: number): Int32Array {
  const n = s.n;
  const count = s.activeCount[layer]!;
  const ranks = s.activeRank.subarray(layer * n, layer * n + count);
  if (count * 16 < n) return ranks.sort();
  const mark = s.rankMark;
  for (let i = 0; i < count; i++) mark[ranks[i]!] = 1;
  let w = 0;
  for (let r = 0; r < n; r++) {
    if (mark[r] === 1) {
      mark[r] = 0;
      ranks[w++] = r;
    }
  }
  return ranks;
}

/** The *close* terminal of the label (layer, f) whose occupant y moves by pair e into the source's own offer. */
function closeInto(s: ChainSearch, layer: number, f: number, y: number, e: number, local: number, base: Int32Array): void {
  const b = s.b!;
  const origin = s.cand!.offer[e]!;
  const gy = b.orderGpus[y]!;
  const To = s.taken[origin]!;
  const g0 = b.orderGpus[firstOrder(s, layer, f)]!;
  const room0 = b.offerFree[origin]! - To + g0;
  if (room0 < gy) return;
  const total = local + gy * base[e]! + headroomDelta(b, origin, To, To - g0 + gy) - headroomDelta(b, origin, To, To - g0);
  if (total > 0) addTerminal(s, total, layer, f, y, e);
}

/** The offer order x is on now, -1 if unmatched. */
function at(s: ChainSearch, x: number): number {
  const e = s.pairOf[x]!;
  return e >= 0 ? s.cand!.offer[e]! : -1;
}

/**
 * The change of the objective if the chain ending at (layer, fEnd) were applied now, or 0 if it no longer fits (an
 * order it moves is no longer where the chain found it, or an offer lacks room); only a positive change applies.
 */
function recheck(s: ChainSearch, layer: number, fEnd: number, drop: number, close: number): number {
  const b = s.b!;
  const { offer, base } = s.cand!;
  const { n, lOrder, lPair, lPrev, pathOffer, pathOrder, pathPair, inOut, pairOf, taken } = s;
  const { offerFree, orderGpus } = b;
  let len = 0;
  let f = fEnd;
  for (let l = layer; l >= 0; l--) {
    const k = l * n + f;
    pathOffer[l] = f;
    pathOrder[l] = lOrder[k]!;
    pathPair[l] = lPair[k]!;
    f = lPrev[k]!;
    len++;
  }
  const origin = f; // the source's own offer, -1 if it was unmatched
  for (let l = 0; l < len; l++) if (at(s, pathOrder[l]!) !== (l === 0 ? origin : pathOffer[l - 1]!)) return 0;
  if (drop >= 0 && at(s, drop) !== fEnd) return 0;
  let delta = 0;
  for (let l = 0; l < len; l++) {
    const x = pathOrder[l]!;
    const from = l === 0 ? origin : pathOffer[l - 1]!;
    const g = orderGpus[x]!;
    delta += g * base[pathPair[l]!]!;
    if (from >= 0) delta -= g * base[pairOf[x]!]!;
    inOut[pathOffer[l]!]! += g;
    if (from >= 0) inOut[from]! -= g;
  }
  if (drop >= 0) {
    delta -= orderGpus[drop]! * base[pairOf[drop]!]!;
    inOut[fEnd]! -= orderGpus[drop]!;
    if (close >= 0) {
      if (offer[close] !== origin) {
        clearInOut(s, len, origin);
        return 0;
      }
      delta += orderGpus[drop]! * base[close]!;
      inOut[origin]! += orderGpus[drop]!;
    }
  }
  let fits = true;
  for (let l = -1; l < len; l++) {
    const g = l < 0 ? origin : pathOffer[l]!;
    if (g < 0) continue;
    const T = taken[g]!;
    const after = T + inOut[g]!;
    if (after > offerFree[g]!) fits = false;
    else delta += headroomDelta(b, g, T, after);
  }
  clearInOut(s, len, origin);
  return fits ? delta : 0;
}

function clearInOut(s: ChainSearch, len: number, origin: number): void {
  for (let l = 0; l < len; l++) s.inOut[s.pathOffer[l]!] = 0;
  if (origin >= 0) s.inOut[origin] = 0;
}

function apply(s: ChainSearch, layer: number, fEnd: number, drop: number, close: number, mark: number): void {
  const { n, lOrder, lPair, lPrev, pairOf, taken, changed } = s;
  const orderGpus = s.b!.orderGpus;
  const offer = s.cand!.offer;
  let f = fEnd;
  if (drop >= 0) {
    taken[f]! -= orderGpus[drop]!;
    pairOf[drop] = close;
    if (close >= 0) taken[offer[close]!]! += orderGpus[drop]!;
  }
  for (let l = layer; l >= 0; l--) {
    const k = l * n + f;
    const x = lOrder[k]!;
    const p = lPrev[k]!;
    pairOf[x] = lPair[k]!;
    taken[f]! += orderGpus[x]!;
    changed[f] = mark;
    if (p >= 0) {
      taken[p]! -= orderGpus[x]!;
      changed[p] = mark;
    }
    f = p;
  }
}

/** Σ gpuCount × base over the served orders, exactly. */
function servedBase(s: ChainSearch): bigint {
  const { pairOf, m } = s;
  const base = s.cand!.base;
  const orderGpus = s.b!.orderGpus;
  const sum = s.servedSum;
  sum.reset();
  for (let oi = 0; oi < m; oi++) if (pairOf[oi]! >= 0) sum.add(orderGpus[oi]! * base[pairOf[oi]!]!);
  return sum.value();
}

/** The round's terminals, best first (applyTerminals); the keys are unique, so the order is total. */
function sortedTerminals(s: ChainSearch): Int32Array {
  const { tGain, tLayer, tOffer, tDrop, tClose } = s;
  const offerRank = s.b!.offerRank;
  const idx = new Int32Array(s.tCount);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  return idx.sort((p, q) => tGain[q]! - tGain[p]! || tLayer[p]! - tLayer[q]! || offerRank[tOffer[p]!]! - offerRank[tOffer[q]!]! || tDrop[p]! - tDrop[q]! || tClose[p]! - tClose[q]!);
}

/**
 * Applies the round's terminals best first — gain desc, then fewer offers, then the end offer's versionId asc,
 * then "room" before an eviction, then the evicted order's orderId asc, then *evict* before *close* — each
 * re-checked against the assignment as it is now. Returns how many applied; their exact gain is in s.appliedGain.
 */
function applyTerminals(s: ChainSearch, idx: Int32Array, mark: number): number {
  const { tLayer, tOffer, tDrop, tClose } = s;
  const gain = s.appliedGain;
  gain.reset();
  let applied = 0;
  for (let j = 0; j < idx.length; j++) {
    const i = idx[j]!;
    const delta = recheck(s, tLayer[i]!, tOffer[i]!, tDrop[i]!, tClose[i]!);
    if (delta <= 0) continue;
    apply(s, tLayer[i]!, tOffer[i]!, tDrop[i]!, tClose[i]!, mark);
    applied++;
    gain.add(delta);
  }
  return applied;
}

/** Runs the augmenting-chain rounds on `d` in place; returns the number of chains applied. */
export function chainPhase(b: PreparedBatch, cand: Candidates, d: Decisions, rounds: number = CHAIN_ROUNDS, arcs: ChainArcs = chainArcs(b.orders.length)): number {
  const s = search;
  s.begin(b, cand, d, arcs);
  const n = s.n;
  let applied = 0;
  try {
    for (let round = 0; round < rounds; round++) {
      buildOcc(s);
      s.lOrder.fill(-1, 0, CHAIN_DEPTH * n);
      s.best.fill(0, 0, n);
      s.activeCount.fill(0);
      s.tCount = 0;
      sourceLayer(s, round);
      for (let layer = 0; layer < CHAIN_DEPTH; layer++) expandLayer(s, layer);
      if (s.tCount === 0) break;
      const appliedHere = applyTerminals(s, sortedTerminals(s), round + 1);
      applied += appliedHere;
      if (appliedHere === 0) break;
      // A round that gains less than 2^-CHAIN_STOP_SHIFT of Σ g·base over the served orders ends the phase.
      if (roundGainTooSmall(s.appliedGain.value(), servedBase(s))) break;
    }
  } finally {
    s.end();
  }
  return applied;
}
