/**
 * docs/matching.md §7.6: augmenting chains. An open order can often be served only if another order moves out of
 * its way, and that one only if a third moves, and so on; likewise a served order may reach a better offer only
 * through such a chain. The greedy and the one-move repair cannot see these. Each round searches, from every order
 * at once, for the best chain reaching each offer — a depth-bounded longest-path search (layered Bellman–Ford)
 * over the residual of the current assignment, whose nodes are offers and whose arcs are "an occupant of this
 * offer moves to another of its candidate offers" — and then applies the chains found, best first, each re-checked
 * against the assignment as the chains applied before it left it. Integers only; every choice has a fixed
 * tie-break.
 */
import type { Candidates, PreparedBatch } from "./prepare.js";
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
/** 2^52: a number sum below it plus one term below 2^47 stays an exact integer. */
const EXACT_LIMIT = 2 ** 52;
/** docs §7.6: an order already served moves, along a chain, only to one of its this many best candidate offers. */
export const CHAIN_ARCS = 24;

export interface ChainState {
  pair: Int32Array;
  taken: Float64Array;
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

function loadOrderArcs(cand: Candidates, b: PreparedBatch, arcs: ChainArcs, y: number): void {
  const { start, offer, base } = cand;
  const offerRank = b.offerRank;
  const { arcCount, arcPair, arcOffer, arcBase } = arcs;
  const K = CHAIN_ARCS;
  arcs.arcLoaded[y] = 1;
  let count = 0;
  const first = y * K;
  for (let e = start[y]!, end = start[y + 1]!; e < end; e++) {
    const v = base[e]!;
    const rk = offerRank[offer[e]!]!;
    let i: number;
    if (count < K) i = count++;
    else {
      const last = arcPair[first + K - 1]!;
      if (v < base[last]! || (v === base[last]! && rk > offerRank[offer[last]!]!)) continue;
      i = K - 1;
    }
    while (i > 0) {
      const p = arcPair[first + i - 1]!;
      if (base[p]! > v || (base[p]! === v && offerRank[offer[p]!]! < rk)) break;
      arcPair[first + i] = p;
      i--;
    }
    arcPair[first + i] = e;
  }
  arcCount[y] = count;
  for (let j = first; j < first + count; j++) {
    arcOffer[j] = offer[arcPair[j]!]!;
    arcBase[j] = base[arcPair[j]!]!;
  }
}

/** Runs the augmenting-chain rounds on `d` in place; returns the number of chains applied. */
export function chainPhase(b: PreparedBatch, cand: Candidates, d: ChainState, rounds: number = CHAIN_ROUNDS, arcs: ChainArcs = chainArcs(b.orders.length)): number {
  const { start, offer, base } = cand;
  const { offerFree, orderGpus, offerRank } = b;
  const m = b.orders.length;
  const n = b.offers.length;
  const D = CHAIN_DEPTH;
  const K = CHAIN_ARCS;
  const pairOf = d.pair;
  const taken = d.taken;
  const at = (oi: number): number => (pairOf[oi]! >= 0 ? offer[pairOf[oi]!]! : -1);

  // Occupants per offer, order index ascending (rebuilt each round).
  const occStart = new Int32Array(n + 1);
  const occList = new Int32Array(m);
  const occFill = new Int32Array(n);
  const occValue = new Float64Array(m); // g·base of the occupant on its offer
  const buildOcc = (): void => {
    occStart.fill(0);
    for (let oi = 0; oi < m; oi++) if (pairOf[oi]! >= 0) occStart[offer[pairOf[oi]!]! + 1]!++;
    for (let f = 0; f < n; f++) occStart[f + 1]! += occStart[f]!;
    occFill.set(occStart.subarray(0, n));
    for (let oi = 0; oi < m; oi++) {
      if (pairOf[oi]! < 0) continue;
      const i = occFill[offer[pairOf[oi]!]!]!++;
      occList[i] = oi;
      occValue[i] = orderGpus[oi]! * base[pairOf[oi]!]!;
    }
  };

  const { arcLoaded, arcCount, arcPair, arcOffer, arcBase } = arcs;
  const loadArcs = (y: number): void => loadOrderArcs(cand, b, arcs, y);

  // Labels per (layer, offer): the best partial chain found whose last order is about to enter the offer. lPrev
  // is the offer that order leaves (the label one layer up), or for layer 0 the source's own offer (-1: none).
  const lGain = new Float64Array(D * n);
  const lOrder = new Int32Array(D * n);
  const lPair = new Int32Array(D * n);
  const lPrev = new Int32Array(D * n);
  // Offers labelled per layer, as versionId ranks (sorted before the layer is expanded).
  const activeRank = new Int32Array(D * n);
  const activeCount = new Int32Array(D);
  const offerOfRank = new Int32Array(n);
  for (let f = 0; f < n; f++) offerOfRank[offerRank[f]!] = f;
  // Best gain with which any chain so far entered each offer; a later label must beat it strictly.
  const best = new Float64Array(n);
  // Offers on the current label's chain (stamp = label id), so that chains stay simple.
  const onPath = new Int32Array(n);
  let stamp = 0;
  // Chains that end: where the last order finds room (tDrop = -1), or where it evicts tDrop, left unmatched.
  const tGain: number[] = [];
  const tLayer: number[] = [];
  const tOffer: number[] = [];
  const tDrop: number[] = [];
  /** For an eviction: the pair by which the evicted order closes the chain into the source's own offer, or -1. */
  const tClose: number[] = [];

  const relax = (layer: number, f: number, gain: number, oi: number, e: number, prev: number): void => {
    if (gain <= best[f]!) return;
    best[f] = gain;
    const k = layer * n + f;
    if (lOrder[k] === -1) activeRank[layer * n + activeCount[layer]!++] = offerRank[f]!;
    lGain[k] = gain;
    lOrder[k] = oi;
    lPair[k] = e;
    lPrev[k] = prev;
  };

  // Scratch for re-checking a chain against the current assignment.
  const pathOffer = new Int32Array(D + 1);
  const pathOrder = new Int32Array(D);
  const pathPair = new Int32Array(D);
  const inOut = new Float64Array(n);

  /**
   * The change of the objective if the chain ending at (layer, fEnd) were applied now, or null if it no longer
   * fits (an order it moves is no longer where the chain found it, or an offer lacks room).
   */
  const recheck = (layer: number, fEnd: number, drop: number, close: number): number | null => {
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
    for (let l = 0; l < len; l++) if (at(pathOrder[l]!) !== (l === 0 ? origin : pathOffer[l - 1]!)) return null;
    if (drop >= 0 && at(drop) !== fEnd) return null;
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
          clear(len, origin);
          return null;
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
    clear(len, origin);
    return fits ? delta : null;
  };
  const clear = (len: number, origin: number): void => {
    for (let l = 0; l < len; l++) inOut[pathOffer[l]!] = 0;
    if (origin >= 0) inOut[origin] = 0;
  };
  const firstOrder = (layer: number, fEnd: number): number => {
    let f = fEnd;
    for (let l = layer; l > 0; l--) f = lPrev[l * n + f]!;
    return lOrder[f]!;
  };
  const apply = (layer: number, fEnd: number, drop: number, close: number, mark: number): void => {
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
  };

  // Offers whose occupants changed: the round after which they last did, plus one.
  const changed = new Int32Array(n);
  let applied = 0;
  for (let round = 0; round < rounds; round++) {
    buildOcc();
    lOrder.fill(-1);
    best.fill(0);
    activeCount.fill(0);
    tGain.length = tLayer.length = tOffer.length = tDrop.length = tClose.length = 0;

    // Layer 0. An unmatched order enters any of its candidate offers; a served order leaves its offer for one of
    // its K best (the chain then starts with a move instead of a new order).
    for (let oi = 0; oi < m; oi++) {
      const g = orderGpus[oi]!;
      const e0 = pairOf[oi]!;
      if (round > 0) {
        // After the first round, only orders next to what the previous round changed start a chain: their own
        // offer or one of their arcs' offers gained or lost an occupant.
        if (start[oi + 1]! === start[oi]!) continue;
        let touched = e0 >= 0 && changed[offer[e0]!] === round;
        if (!touched) {
          if (arcLoaded[oi] !== 1) loadArcs(oi);
          for (let j = oi * K, jEnd = j + arcCount[oi]!; j < jEnd && !touched; j++) touched = changed[arcOffer[j]!] === round;
        }
        if (!touched) continue;
      }
      if (e0 === -1) {
        if (start[oi + 1]! === start[oi]!) continue;
        if (arcLoaded[oi] !== 1) loadArcs(oi);
        for (let j = oi * K, jEnd = j + arcCount[oi]!; j < jEnd; j++) relax(0, arcOffer[j]!, g * arcBase[j]!, oi, arcPair[j]!, -1);
        continue;
      }
      const f0 = offer[e0]!;
      const leave = -g * base[e0]! + headroomDelta(b, f0, taken[f0]!, taken[f0]! - g);
      if (arcLoaded[oi] !== 1) loadArcs(oi);
      for (let j = oi * K, jEnd = j + arcCount[oi]!; j < jEnd; j++) {
        const f = arcOffer[j]!;
        if (f === f0) continue;
        const gain = leave + g * arcBase[j]!;
        if (gain > 0) relax(0, f, gain, oi, arcPair[j]!, f0);
      }
    }

    for (let layer = 0; layer < D; layer++) {
      const ranks = activeRank.subarray(layer * n, layer * n + activeCount[layer]!).sort();
      for (let r = 0; r < ranks.length; r++) {
        const f = offerOfRank[ranks[r]!]!;
        const k = layer * n + f;
        const gain = lGain[k]!;
        const x = lOrder[k]!;
        const s = orderGpus[x]!;
        const T = taken[f]!;
        const room = offerFree[f]! - T;
        if (room >= s) {
          const total = gain + headroomDelta(b, f, T, T + s);
          if (total > 0) {
            tGain.push(total);
            tLayer.push(layer);
            tOffer.push(f);
            tDrop.push(-1);
            tClose.push(-1);
          }
          continue;
        }
        stamp++;
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
          if (gy + room < s) continue;
          const local = gain - occValue[i]! + (gy === s ? 0 : headroomDelta(b, f, T, T - gy + s));
          if (local > 0) {
            tGain.push(local);
            tLayer.push(layer);
            tOffer.push(f);
            tDrop.push(y);
            tClose.push(-1);
          }
          if (layer + 1 >= D) continue;
          if (arcLoaded[y] !== 1) loadArcs(y);
          for (let j = y * K, jEnd = j + arcCount[y]!; j < jEnd; j++) {
            const f2 = arcOffer[j]!;
            if (onPath[f2] === stamp) {
              const e = arcPair[j]!;
              // Back into the offer the source left: the chain closes into a cycle if y fits there.
              if (f2 === origin) {
                const To = taken[origin]!;
                const room0 = offerFree[origin]! - To + orderGpus[firstOrder(layer, f)]!;
                if (room0 >= gy) {
                  const g0 = orderGpus[firstOrder(layer, f)]!;
                  const total = local + gy * base[e]! + headroomDelta(b, origin, To, To - g0 + gy) - headroomDelta(b, origin, To, To - g0);
                  if (total > 0) {
                    tGain.push(total);
                    tLayer.push(layer);
                    tOffer.push(f);
                    tDrop.push(y);
                    tClose.push(e);
                  }
                }
              }
              continue;
            }
            const next = local + gy * arcBase[j]!;
            if (next > 0) relax(layer + 1, f2, next, y, arcPair[j]!, f);
          }
        }
      }
    }
    if (tGain.length === 0) break;

    // Best chains first: gain desc, then fewer offers, then the end offer's versionId asc, then "room" before an
    // eviction, then the evicted order's orderId asc. Each is re-checked against the assignment as it is now.
    const idx = tGain.map((_, i) => i);
    idx.sort((p, q) => tGain[q]! - tGain[p]! || tLayer[p]! - tLayer[q]! || offerRank[tOffer[p]!]! - offerRank[tOffer[q]!]! || tDrop[p]! - tDrop[q]! || tClose[p]! - tClose[q]!);
    let appliedHere = 0;
    // Sums of integers kept exact without a bigint per term: a number part below 2^52 (each term is below 2^47,
    // §12) and a bigint carry.
    let gainSmall = 0;
    let gainBig = 0n;
    for (const i of idx) {
      const delta = recheck(tLayer[i]!, tOffer[i]!, tDrop[i]!, tClose[i]!);
      if (delta === null || delta <= 0) continue;
      apply(tLayer[i]!, tOffer[i]!, tDrop[i]!, tClose[i]!, round + 1);
      appliedHere++;
      gainSmall += delta;
      if (gainSmall >= EXACT_LIMIT) {
        gainBig += BigInt(gainSmall);
        gainSmall = 0;
      }
    }
    applied += appliedHere;
    if (appliedHere === 0) break;
    // A round that gains less than 2^-CHAIN_STOP_SHIFT of Σ g·base over the served orders ends the phase.
    let servedSmall = 0;
    let servedBig = 0n;
    for (let oi = 0; oi < m; oi++) {
      if (pairOf[oi]! < 0) continue;
      servedSmall += orderGpus[oi]! * base[pairOf[oi]!]!;
      if (servedSmall >= EXACT_LIMIT) {
        servedBig += BigInt(servedSmall);
        servedSmall = 0;
      }
    }
    if ((gainBig + BigInt(gainSmall)) << CHAIN_STOP_SHIFT < servedBig + BigInt(servedSmall)) break;
  }
  return applied;
}
