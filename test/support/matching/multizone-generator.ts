/**
 * A second market generator (tests and benchmarks only), written apart from generator.ts and sharing none of its
 * choices, so that the matcher's quality is not only measured on markets shaped like the first generator's:
 *
 * - its own catalog (16 models, ids 201‥216) and its own price bands; its own random generator (xoshiro128**);
 * - providers that operate in several zones and regions at once (one provider record per site, sharing their
 *   stake and track record), over 12 regions including ids ≥ 32 (the high half of a region mask);
 * - a long tail of tiny offers (most have 1–2 GPUs, a few have 32–64), and runs of identical offers (same provider,
 *   model, size and price, distinct offer ids);
 * - prices clustered at round numbers and at the order maxima; most offers and orders in an 18-decimal token, so
 *   that their prices are above 2^36; boundary cases by the thousand (an offer priced exactly at an order's max, a
 *   provider's uptime exactly an order's minimum);
 * - tier orders that accept many regions or any region (on large markets, thousands of feasible offers each);
 * - a "sparse" regime in which most orders have no feasible offer at all.
 */
import { keccak256, toHex, type Address, type Hex } from "viem";
import { SERVICE_MANAGER_DEFAULTS } from "../../../deploy/service-manager-defaults.js";
import { zoneId } from "../../../protocol/market/catalog.js";
import {
  OrderStatus,
  ProviderStatus,
  tierOfListPrice,
  type GpuModel,
  type MatchingWeights,
  type OfferVersion,
  type Order,
  type Provider,
} from "../../../protocol/market/types.js";
import type { MatchInputs } from "../../../protocol/matching/types.js";

/** xoshiro128** (Blackman and Vigna), seeded through splitmix-style steps; integers only. */
export class Xoshiro {
  private s = new Uint32Array(4);
  constructor(seed: number) {
    let x = (seed ^ 0x5eed_b00c) >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x6d2b79f5) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 15), z | 1);
      z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
      this.s[i] = (z ^ (z >>> 14)) >>> 0;
    }
  }
  u32(): number {
    const s = this.s;
    const r = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return r;
  }
  /** Uniform in [0, n), n ≤ 2^21. */
  below(n: number): number {
    return Math.floor((this.u32() * n) / 4294967296);
  }
  between(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }
  percent(p: number): boolean {
    return this.below(100) < p;
  }
  oneOf<T>(xs: ReadonlyArray<T>): T {
    return xs[this.below(xs.length)]!;
  }
  byWeight(weights: ReadonlyArray<number>): number {
    let total = 0;
    for (const w of weights) total += w;
    let x = this.below(total);
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i]!;
      if (x < 0) return i;
    }
    return weights.length - 1;
  }
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/** Own catalog: list prices in dollars, tiers derived as on-chain. */
const MODEL_PRICES = [250, 420, 700, 950, 1_050, 1_300, 1_600, 1_900, 2_400, 3_200, 4_500, 6_000, 9_000, 12_000, 18_000, 40_000];
export const MULTIZONE_CATALOG: ReadonlyArray<GpuModel> = MODEL_PRICES.map((usd, i) => ({
  id: 201 + i,
  name: `model-${201 + i}`,
  vramGb: 8 * (1 + (i >> 2)),
  listPriceUsd: usd,
  tier: tierOfListPrice(usd),
}));
/** Model popularity: a few very common models, a long tail of rare ones. */
const MODEL_WEIGHT = [12, 3, 9, 2, 14, 1, 6, 10, 2, 8, 1, 5, 7, 1, 6, 2];

/** Regions used (several ≥ 32), each with 1–4 zones. */
const REGION_IDS = [0, 3, 7, 12, 19, 25, 31, 33, 40, 47, 58, 63];
const REGION_ZONES = [4, 2, 3, 1, 2, 4, 1, 3, 2, 1, 2, 3];
const REGION_WEIGHT = [14, 4, 9, 2, 6, 5, 1, 8, 3, 2, 1, 4];

export const STABLE6: Address = "0x00000000000000000000000000000000000b0006";
export const STABLE18: Address = "0x00000000000000000000000000000000000b0018";
export const MULTIZONE_BLOCK = 7_777_777n;

/** The service manager's default weights as deployed (contracts/avs/ServiceManager.sol constructor; the deploy tests check the two agree). */
export const ONCHAIN_DEFAULT_WEIGHTS: MatchingWeights = SERVICE_MANAGER_DEFAULTS.matchingWeights;

/** Uptimes of real providers cluster at round figures; orders ask for exactly these as minimums. */
const UPTIME_CLUSTER = [9_000, 9_500, 9_900, 9_950, 9_990, 10_000];

export type MultizoneRegime = "balanced" | "scarce" | "sparse";

export interface MultizoneSpec {
  seed: number;
  orders: number;
  offers: number;
  sizes: "unit" | "mixed";
  regime: MultizoneRegime;
  /** Default: the on-chain defaults. */
  weights?: MatchingWeights;
}

const addressOf = (kind: number, i: number): Address => `0x${kind.toString(16).padStart(6, "0")}${i.toString(16).padStart(34, "0")}`;

/** Cents per GPU-hour of a model: list / 10 000 dollars, times a factor in per mille. */
const centsOf = (usd: number, perMille: number): number => Math.max(1, Math.floor((usd * perMille) / 100_000));
/** A price rounded to a "round" figure: whole dollars above $2, else multiples of 5 cents. */
const roundCents = (c: number): number => (c >= 200 ? Math.max(100, Math.round(c / 100) * 100) : Math.max(5, Math.round(c / 5) * 5));
const tokenAmount = (cents: number, decimals: number): bigint => BigInt(cents) * 10n ** BigInt(decimals - 2);

export function generateMultizoneMarket(spec: MultizoneSpec): MatchInputs {
  const rng = new Xoshiro(spec.seed);
  const R = MULTIZONE_BLOCK;

  // Operators: each runs 1–4 sites (a provider record per zone), often in different regions.
  const providers: Provider[] = [];
  const sites: number[][] = [];
  const nOperators = Math.max(1, Math.ceil(spec.offers / 8));
  for (let op = 0; op < nOperators; op++) {
    const nSites = [1, 2, 3, 4][rng.byWeight([40, 30, 20, 10])]!;
    const completed = rng.percent(20) ? 0 : rng.between(1, 5_000);
    const failed = completed === 0 ? 0 : rng.percent(75) ? rng.between(0, 3) : rng.between(4, 300);
    const stake = BigInt(rng.between(10, 500)) * 10n ** BigInt(rng.percent(5) ? 21 : 18);
    const slashed = rng.percent(85) ? 0 : rng.between(1, 6);
    const baseUptime = rng.percent(70) ? rng.oneOf(UPTIME_CLUSTER) : rng.between(8_000, 10_000);
    const mine: number[] = [];
    for (let s = 0; s < nSites; s++) {
      const r = rng.byWeight(REGION_WEIGHT);
      mine.push(providers.length);
      providers.push({
        provider: addressOf(0xb1, providers.length + 1),
        stake,
        status: rng.percent(96) ? ProviderStatus.Active : rng.oneOf([ProviderStatus.Maintenance, ProviderStatus.Jailed]),
        zone: zoneId(REGION_IDS[r]!, 1 + rng.below(REGION_ZONES[r]!)),
        uptimeBps: rng.percent(80) ? baseUptime : Math.max(0, baseUptime - rng.between(1, 300)),
        leasesCompleted: completed,
        leasesFailed: failed,
        timesSlashed: slashed,
      });
    }
    sites.push(mine);
  }

  // Offers.
  const offers: OfferVersion[] = [];
  let versionId = 1_000n;
  let offerId = 500n;
  let previous: OfferVersion | undefined;
  for (let i = 0; i < spec.offers; i++) {
    versionId += BigInt(1 + rng.below(3));
    offerId += 1n;
    // A run of identical offers: a provider listing the same machine several times.
    if (previous && rng.percent(12)) {
      const copy = { ...previous, versionId, offerId };
      offers.push(copy);
      previous = copy;
      continue;
    }
    const site = rng.oneOf(sites[rng.below(sites.length)]!);
    const p = providers[site]!;
    const mi = rng.byWeight(MODEL_WEIGHT);
    const model = MULTIZONE_CATALOG[mi]!;
    const gpuCount = [1, 2, 3, 4, 8, 16, 32, 64][rng.byWeight([42, 20, 3, 12, 12, 6, 3, 2])]!;
    let leased: number;
    switch (spec.regime) {
      case "balanced":
      case "sparse":
        leased = rng.percent(50) ? 0 : rng.between(0, gpuCount - 1);
        break;
      case "scarce":
        leased = rng.percent(55) ? gpuCount : rng.between(Math.max(0, gpuCount - 2), gpuCount);
        break;
    }
    const wide = rng.percent(65);
    const list = centsOf(model.listPriceUsd, 1_000);
    const kind = rng.byWeight([40, 25, 35]);
    const cents = kind === 0 ? roundCents(centsOf(model.listPriceUsd, rng.between(800, 1_300))) : kind === 1 ? roundCents(list) : centsOf(model.listPriceUsd, rng.between(700, 1_500));
    const v: OfferVersion = {
      versionId,
      offerId,
      provider: p.provider,
      modelId: model.id,
      gpuCount,
      gpusLeased: leased,
      pricePerGpuHour: tokenAmount(cents, wide ? 18 : 6),
      paymentToken: wide ? STABLE18 : STABLE6,
      activeFrom: R - BigInt(rng.between(0, 50_000)),
      activeUntil: rng.percent(3) ? R + 1n : 0n,
    };
    offers.push(v);
    previous = v;
  }

  // Orders.
  const orders: Order[] = [];
  let orderId = 9_000n;
  const regionsAll = REGION_IDS.length;
  for (let i = 0; i < spec.orders; i++) {
    orderId += BigInt(1 + rng.below(4));
    const tierOrder = rng.percent(spec.regime === "sparse" ? 20 : 35);
    const mi = rng.byWeight(MODEL_WEIGHT);
    const model = MULTIZONE_CATALOG[mi]!;
    const gpuCount = spec.sizes === "unit" ? 1 : [1, 2, 3, 4, 6, 8, 12, 16][rng.byWeight([30, 22, 4, 18, 3, 14, 2, 7])]!;
    // Tier orders accept many regions (often all); model orders one to three.
    let regionMask = 0n;
    const nRegions = tierOrder ? (rng.percent(50) ? 0 : rng.between(4, 10)) : rng.percent(25) ? 0 : rng.between(1, 3);
    for (let k = 0; k < nRegions; k++) regionMask |= 1n << BigInt(REGION_IDS[rng.below(regionsAll)]!);
    const wide = rng.percent(65);
    const list = centsOf(model.listPriceUsd, 1_000);
    let cents: number;
    const sparseCut = spec.regime === "sparse" && rng.percent(75);
    if (sparseCut) cents = centsOf(model.listPriceUsd, rng.between(300, 650)); // below every offer of the model
    else {
      const kind = rng.byWeight([35, 30, 35]);
      cents = kind === 0 ? roundCents(list) : kind === 1 ? roundCents(centsOf(model.listPriceUsd, rng.between(900, 1_400))) : centsOf(model.listPriceUsd, rng.between(850, 1_700));
    }
    const minUptime = rng.percent(40) ? 0 : rng.percent(80) ? rng.oneOf(UPTIME_CLUSTER) : rng.between(8_500, 10_000);
    orders.push({
      orderId,
      renter: addressOf(0xb2, i + 1),
      modelId: tierOrder ? 0 : model.id,
      minTier: tierOrder ? Math.max(0, model.tier - rng.below(2)) : 0,
      gpuCount,
      regionMask,
      preferredZone: rng.percent(30) ? zoneId(REGION_IDS[rng.below(regionsAll)]!, 1) : 0,
      maxPricePerGpuHour: tokenAmount(cents, wide ? 18 : 6),
      durationHours: rng.between(1, 2_000),
      minUptimeBps: minUptime,
      minReputationBps: rng.percent(70) ? 0 : rng.oneOf([5_000, 8_000, 9_000, 9_500]),
      maxTimesSlashed: rng.percent(60) ? 4_294_967_295 : rng.between(0, 3),
      expiresAt: rng.percent(3) ? R : R + BigInt(rng.between(1, 100_000)),
      paymentToken: wide ? STABLE18 : STABLE6,
      createdAt: R - BigInt(rng.between(0, 100_000)),
      status: rng.percent(97) ? OrderStatus.Open : OrderStatus.Cancelled,
    });
  }
  return { referenceBlock: R, catalog: MULTIZONE_CATALOG, orders, offers, providers, weights: spec.weights ?? ONCHAIN_DEFAULT_WEIGHTS };
}

/** A batch seed for this generator's instances (a keccak output, as real seeds are). */
export function multizoneSeedOf(n: number): Hex {
  return keccak256(toHex(`matchnet multizone seed ${n}`));
}
