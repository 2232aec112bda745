/**
 * Small markets full of ties, for the rule-by-rule tests that compare a phase of the engine with its rule written a
 * second time (chain-rules, make-room-rules): one provider, offers with random free and leased GPUs and prices in a
 * random order (so the batch's offer index order is not their versionId order), and candidate lists built by hand
 * whose bases are drawn from a handful of values, so that gains tie inside the search.
 */
import type { MatchingWeights } from "../../../protocol/market/types.js";
import { GPU_CATALOG } from "../../../protocol/market/catalog.js";
import { Decisions } from "../../../protocol/matching/decisions.js";
import { prepareBatch, type Candidates, type PreparedBatch } from "../../../protocol/matching/prepare.js";
import { REFERENCE_BLOCK, seedOf } from "./generator.js";
import { offer, order, provider } from "./tiny.js";

/** A small deterministic PRNG (mulberry32) on [0, 1), so that each case is reproducible from its number. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

export interface TieMarketSpec {
  offers: number;
  orders: number;
  /** Largest gpuCount of an order; largest free GPUs of an offer; largest GPUs already leased. */
  maxG: number;
  maxFree: number;
  maxLeased: number;
  /** Chance that an order may use a given offer (that has enough free GPUs for it). */
  density: number;
  bases: number[];
  availability: number;
}

/** Bases of 2·10^7 … 6·10^7 in steps of 10^7: five values, so that values, gains and losses often tie. */
export const FEW_BASES = [20_000_000, 30_000_000, 40_000_000, 50_000_000, 60_000_000];

export interface TieMarket {
  b: PreparedBatch;
  /** The market's PRNG, to be drawn on for its cases. */
  r: () => number;
  /** A whole number in [0, k). */
  pick: (k: number) => number;
}

/** The prepared market of `seed` (region and availability weights only). */
export function tieMarket(seed: number, spec: TieMarketSpec): TieMarket {
  const r = mulberry32(seed);
  const pick = (k: number): number => Math.floor(r() * k);
  const p = provider(1);
  const offers = [];
  for (let i = 0; i < spec.offers; i++) {
    const F = 1 + pick(spec.maxFree);
    const leased = pick(spec.maxLeased + 1);
    offers.push(offer(i + 1, p, { gpuCount: F + leased, gpusLeased: leased, pricePerGpuHour: 2_000_000n + BigInt(pick(1_000)) * 1_000n }));
  }
  const orders = Array.from({ length: spec.orders }, (_, j) => order(j + 1, { gpuCount: 1 + pick(spec.maxG) }));
  const weights: MatchingWeights = { region: 10_000 - spec.availability, price: 0, uptime: 0, reputation: 0, availability: spec.availability, slashing: 0, stake: 0, random: 0 };
  const b = prepareBatch({ referenceBlock: REFERENCE_BLOCK, catalog: GPU_CATALOG, providers: [p], offers, orders, weights }, seedOf(seed));
  return { b, r, pick };
}

/** Candidate lists in offer index order: each offer with room for the order, with chance `density`, at a drawn base. */
export function tieCandidates({ b, r, pick }: TieMarket, spec: TieMarketSpec): Candidates {
  const start = [0];
  const candOffer: number[] = [];
  const candBase: number[] = [];
  for (let oi = 0; oi < b.orders.length; oi++) {
    for (let f = 0; f < b.offers.length; f++) {
      if (b.offerFree[f]! < b.orders[oi]!.gpuCount || r() >= spec.density) continue;
      candOffer.push(f);
      candBase.push(spec.bases[pick(spec.bases.length)]!);
    }
    start.push(candOffer.length);
  }
  return { start: Int32Array.from(start), offer: Int32Array.from(candOffer), base: Int32Array.from(candBase) };
}

/**
 * A starting assignment within capacity: the orders in `turn` order, each (when `serve` says so of a fresh draw) on
 * a drawn candidate offer that still has room for it.
 */
export function tieAssignment({ b, r, pick }: TieMarket, cand: Candidates, turn: readonly number[], serve: (draw: number) => boolean): Int32Array {
  const pair = new Int32Array(b.orders.length).fill(-1);
  const taken = new Array<number>(b.offers.length).fill(0);
  for (const oi of turn) {
    if (!serve(r())) continue;
    const g = b.orders[oi]!.gpuCount;
    const fits: number[] = [];
    for (let e = cand.start[oi]!; e < cand.start[oi + 1]!; e++) if (b.offerFree[cand.offer[e]!]! - taken[cand.offer[e]!]! >= g) fits.push(e);
    if (fits.length === 0) continue;
    const e = fits[pick(fits.length)]!;
    pair[oi] = e;
    taken[cand.offer[e]!]! += g;
  }
  return pair;
}

/** A case of a rule test: a batch, its candidate lists and a starting assignment. */
export interface TieCase {
  b: PreparedBatch;
  cand: Candidates;
  /** Where each order starts (pair index per order, -1 = open), within capacity. */
  pair: Int32Array;
}

/**
 * `count` cases on one prepared market (preparing is the slow part): for each, candidate lists drawn anew
 * (tieCandidates) and the case `make` builds on them, drawing on the market's PRNG after the lists.
 */
export function tieCases<T>(market: TieMarket, spec: TieMarketSpec, count: number, make: (cand: Candidates) => T): T[] {
  const cases: T[] = [];
  for (let c = 0; c < count; c++) cases.push(make(tieCandidates(market, spec)));
  return cases;
}

export interface HandMarket extends TieCase {
  /** The batch index of the offer with this versionId. */
  at: (versionId: number) => number;
  /** Each order's offer as a versionId (null: open) under an assignment. */
  versionOf: (pair: ArrayLike<number>) => (number | null)[];
}

/**
 * A hand-made market: one-provider offers given as [free GPUs, leased GPUs] (versionId = position + 1, the price
 * falling with the versionId, so the batch lists them in reverse), orders by their GPU counts (orderId = position +
 * 1), each order's candidate pairs as [versionId, base], and where each order starts (a versionId, or null: open).
 * Weights: availability as given, the rest on region (the bases are given, so only availability counts). The pairs
 * are listed as given, or with `inOfferOrder` in the batch's offer order (the engine's own list order).
 */
export function handMarket(
  offers: readonly (readonly [free: number, leased: number])[],
  gpus: readonly number[],
  pairs: readonly (readonly [versionId: number, base: number])[][],
  served: readonly (number | null)[],
  availability = 0,
  inOfferOrder = false,
): HandMarket {
  const p = provider(1);
  const list = offers.map(([F, leased], i) => offer(i + 1, p, { gpuCount: F + leased, gpusLeased: leased, pricePerGpuHour: 3_000_000n - BigInt(i) * 1_000n }));
  const orders = gpus.map((g, j) => order(j + 1, { gpuCount: g }));
  const weights: MatchingWeights = { region: 10_000 - availability, price: 0, uptime: 0, reputation: 0, availability, slashing: 0, stake: 0, random: 0 };
  const b = prepareBatch({ referenceBlock: REFERENCE_BLOCK, catalog: GPU_CATALOG, providers: [p], offers: list, orders, weights }, seedOf(7));
  const index = new Map(b.offers.map((v, f) => [Number(v.versionId), f]));
  const at = (versionId: number): number => index.get(versionId)!;
  const start = [0];
  const candOffer: number[] = [];
  const candBase: number[] = [];
  for (const own of pairs) {
    for (const [v, base] of inOfferOrder ? [...own].sort((x, y) => at(x[0]) - at(y[0])) : own) {
      candOffer.push(at(v));
      candBase.push(base);
    }
    start.push(candOffer.length);
  }
  const cand: Candidates = { start: Int32Array.from(start), offer: Int32Array.from(candOffer), base: Int32Array.from(candBase) };
  const pair = Int32Array.from(served, (v, oi) => {
    if (v === null) return -1;
    for (let e = start[oi]!; e < start[oi + 1]!; e++) if (candOffer[e] === at(v)) return e;
    throw new Error(`order ${oi + 1} has no pair with offer ${v}`);
  });
  const versionOf = (pr: ArrayLike<number>): (number | null)[] => Array.from(pr, (e) => (e < 0 ? null : Number(b.offers[candOffer[e]!]!.versionId)));
  return { b, cand, pair, at, versionOf };
}

/** The GPUs each offer gives out under `pair`. */
export function takenOf(b: PreparedBatch, cand: Candidates, pair: ArrayLike<number>): Float64Array {
  const taken = new Float64Array(b.offers.length);
  for (let oi = 0; oi < b.orders.length; oi++) if (pair[oi]! >= 0) taken[cand.offer[pair[oi]!]!]! += b.orders[oi]!.gpuCount;
  return taken;
}

/** Decisions for a phase to change in place: a copy of `pair` and the GPUs each offer gives out under it. */
export function decisionsFrom(b: PreparedBatch, cand: Candidates, pair: ArrayLike<number>): Decisions {
  return new Decisions(Int32Array.from(pair), takenOf(b, cand, pair));
}
