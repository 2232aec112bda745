/**
 * Small markets for the rule-by-rule tests of the phases before the chains (test/matching/repair-rules.test.ts,
 * test/matching/phase-rules.test.ts): catch-all orders (every model, every region) against offers of three models
 * in two regions with prices from a short list, so that an order's candidate order (model, region, price,
 * versionId) differs from the versionId order; candidate lists with bases drawn from a handful of values, so that
 * values tie; a random starting assignment within capacity.
 */
import { GPU_CATALOG, zoneId } from "../../../protocol/market/catalog.js";
import { Tier, type MatchingWeights } from "../../../protocol/market/types.js";
import { prepareBatch, type Candidates, type PreparedBatch } from "../../../protocol/matching/prepare.js";
import type { MatchInputs } from "../../../protocol/matching/types.js";
import { REFERENCE_BLOCK, seedOf } from "./generator.js";
import { H100, L40S, offer, order, provider, RTX4090 } from "./tiny.js";
import { handMarket, mulberry32, tieCases, type HandMarket, type TieCase, type TieMarketSpec } from "./tie-markets.js";

/** The PRNG of these markets (tie-markets.ts). */
export const rng = mulberry32;

/** The market of tie-markets.ts, with catch-all orders on three models in two regions. */
export interface PhaseSpec extends TieMarketSpec {
  /** Chance that an order is left out of the starting assignment. */
  open: number;
}

export type PhaseCase = TieCase;

const MODELS = [H100, L40S, RTX4090];

/** `count` cases on one prepared market (preparing is the slow part): candidate lists and a start each. */
export function phaseCases(seed: number, spec: PhaseSpec, count: number): PhaseCase[] {
  const r = rng(seed);
  const pick = (k: number): number => Math.floor(r() * k);
  const providers = [provider(1, { zone: zoneId(2, 1) }), provider(2, { zone: zoneId(0, 1) })];
  const offers = [];
  for (let i = 0; i < spec.offers; i++) {
    const F = 1 + pick(spec.maxFree);
    const leased = pick(spec.maxLeased + 1);
    const p = providers[pick(2)]!;
    offers.push(offer(i + 1, p, { modelId: MODELS[pick(3)]!, gpuCount: F + leased, gpusLeased: leased, pricePerGpuHour: 2_000_000n + BigInt(pick(4)) * 100_000n }));
  }
  const orders = Array.from({ length: spec.orders }, (_, j) =>
    order(j + 1, { modelId: 0, minTier: Tier.Entry, gpuCount: 1 + pick(spec.maxG), maxPricePerGpuHour: 10_000_000n }),
  );
  const weights: MatchingWeights = { region: 10_000 - spec.availability, price: 0, uptime: 0, reputation: 0, availability: spec.availability, slashing: 0, stake: 0, random: 0 };
  const inputs: MatchInputs = { referenceBlock: REFERENCE_BLOCK, catalog: GPU_CATALOG, providers, offers, orders, weights };
  const b = prepareBatch(inputs, seedOf(seed));
  // Candidate lists in offer index order, as buildCandidates lists them (the engine relies on it; the references do not).
  return tieCases({ b, r, pick }, spec, count, (cand) => ({ b, cand, pair: randomStart(b, cand, r, spec.open) }));
}

/** Each order, with chance 1 − open, on one of its pairs that still fits, picked at random. */
export function randomStart(b: PreparedBatch, cand: Candidates, r: () => number, open: number): Int32Array {
  const pair = new Int32Array(b.orders.length).fill(-1);
  const taken = new Array<number>(b.offers.length).fill(0);
  for (let oi = 0; oi < b.orders.length; oi++) {
    if (r() < open) continue;
    const g = b.orders[oi]!.gpuCount;
    const fits: number[] = [];
    for (let e = cand.start[oi]!; e < cand.start[oi + 1]!; e++) if (b.offerFree[cand.offer[e]!]! - taken[cand.offer[e]!]! >= g) fits.push(e);
    if (fits.length === 0) continue;
    const e = fits[Math.floor(r() * fits.length)]!;
    pair[oi] = e;
    taken[cand.offer[e]!]! += g;
  }
  return pair;
}

/**
 * A hand-made market: one-provider H100 offers given by their free GPUs (versionId = position + 1, the price
 * falling with the versionId, so candidate order is versionId descending), orders by their GPU counts (orderId =
 * position + 1), each order's candidate pairs as [versionId, base], and where each order starts (versionId or null).
 */
export function handCase(
  free: number[],
  gpus: number[],
  pairs: [number, number][][],
  served: (number | null)[],
  availability = 0,
  leased: number[] = [],
): PhaseCase & HandMarket {
  return handMarket(free.map((F, i) => [F, leased[i] ?? 0] as const), gpus, pairs, served, availability, true);
}
