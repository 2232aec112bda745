/**
 * Seeded generator of realistic matcher instances (tests and benchmarks only). Prices follow the catalog: a GPU
 * rents for about 1/10 000 of its list price per hour (an H100 at $30 000 → $3/h, an RTX 4090 at $1 900 → $0.19/h),
 * each offer and each order spreading around that. Supply can be abundant, scarce, or fragmented (offers with
 * few free GPUs left while orders ask for many). All randomness comes from one 32-bit seed through `Rng`.
 */
import { keccak256, toHex, type Address, type Hex } from "viem";
import { GPU_CATALOG, REGIONS, zoneId } from "../../../protocol/market/catalog.js";
import {
  OrderStatus,
  ProviderStatus,
  type MatchingWeights,
  type OfferVersion,
  type Order,
  type Provider,
} from "../../../protocol/market/types.js";
import type { MatchInputs } from "../../../protocol/matching/types.js";

/** splitmix32-style generator: a 32-bit counter through a good integer finalizer. Small, fast, seedable. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (z ^ (z >>> 15)) >>> 0;
  }
  /** Uniform integer in [0, n), n ≤ 2^21 (multiply-high keeps the product below 2^53). */
  int(n: number): number {
    return Math.floor((this.next() * n) / 4294967296);
  }
  /** Uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  /** True with probability pct / 100. */
  chance(pct: number): boolean {
    return this.int(100) < pct;
  }
  pick<T>(xs: ReadonlyArray<T>): T {
    return xs[this.int(xs.length)]!;
  }
  /** Index drawn with the given integer weights. */
  weighted(weights: ReadonlyArray<number>): number {
    let total = 0;
    for (const w of weights) total += w;
    let x = this.int(total);
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i]!;
      if (x < 0) return i;
    }
    return weights.length - 1;
  }
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  }
}

export type Supply = "abundant" | "balanced" | "scarce" | "fragmented";

export interface InstanceSpec {
  seed: number;
  orders: number;
  offers: number;
  /** "unit": every order asks 1 GPU; "mixed": 1–8 GPUs. */
  sizes: "unit" | "mixed";
  supply: Supply;
  /** Share (percent) of offers priced in an 18-decimal token instead of the 6-decimal one. Default 0. */
  wideTokenPct?: number;
}

export const DEFAULT_WEIGHTS: MatchingWeights = {
  region: 1_500,
  price: 2_500,
  uptime: 1_200,
  reputation: 1_200,
  availability: 800,
  slashing: 1_000,
  stake: 800,
  random: 1_000,
};

export const USDC: Address = "0x00000000000000000000000000000000000000c6";
export const WIDE: Address = "0x0000000000000000000000000000000000000018";
export const REFERENCE_BLOCK = 1_000_000n;

const address = (kind: number, i: number): Address => `0x${kind.toString(16).padStart(8, "0")}${i.toString(16).padStart(32, "0")}`;

/** Popularity of the catalog's models among renters and providers (index = position in GPU_CATALOG). */
const MODEL_POPULARITY = [4, 3, 6, 6, 10, 8, 5, 6, 6, 7, 9, 4];
const ZONES: number[] = REGIONS.flatMap((r) => Array.from({ length: r.zones }, (_, z) => zoneId(r.id, z + 1)));
const REGION_POPULARITY = [8, 5, 7, 4, 3, 3];

/** Hourly price per GPU in token units: list/10 000 dollars × spread (per mille), in a token of `decimals`. */
function hourly(listPriceUsd: number, perMille: number, decimals: number): bigint {
  // micro-dollars per hour = listPrice × 100 × perMille / 1000
  const micro = BigInt(listPriceUsd) * 100n * BigInt(perMille) / 1000n;
  return micro * 10n ** BigInt(decimals - 6);
}

export function generateInstance(spec: InstanceSpec): MatchInputs {
  const rng = new Rng(spec.seed);
  const R = REFERENCE_BLOCK;
  const wide = spec.wideTokenPct ?? 0;

  const nProviders = Math.max(1, Math.ceil(spec.offers / 3));
  const providers: Provider[] = [];
  for (let i = 0; i < nProviders; i++) {
    const region = rng.weighted(REGION_POPULARITY);
    const zones = ZONES.filter((z) => z >> 8 === region);
    const completed = rng.chance(15) ? 0 : rng.range(1, 2_000);
    providers.push({
      provider: address(1, i + 1),
      stake: BigInt(rng.range(32, 2_000) * (rng.chance(10) ? 20 : 1)) * 10n ** 18n,
      status: rng.chance(94) ? ProviderStatus.Active : rng.pick([ProviderStatus.Maintenance, ProviderStatus.Jailed, ProviderStatus.Exiting]),
      zone: rng.pick(zones),
      uptimeBps: rng.chance(80) ? rng.range(9_500, 10_000) : rng.range(7_000, 9_500),
      leasesCompleted: completed,
      leasesFailed: completed === 0 ? 0 : rng.chance(70) ? rng.range(0, 5) : rng.range(5, 100),
      timesSlashed: rng.chance(90) ? 0 : rng.range(1, 4),
    });
  }

  // Free GPUs per offer by supply regime (unit orders need fewer GPUs, so the same offers are scarcer for mixed).
  const offers: OfferVersion[] = [];
  let versionId = 1n;
  for (let i = 0; i < spec.offers; i++) {
    const p = rng.pick(providers);
    const model = GPU_CATALOG[rng.weighted(MODEL_POPULARITY)]!;
    const gpuCount = [1, 2, 4, 8, 8, 16][rng.weighted([10, 15, 25, 30, 0, 8])]!;
    let leased: number;
    switch (spec.supply) {
      case "abundant":
        leased = rng.chance(70) ? 0 : rng.range(0, gpuCount - 1);
        break;
      case "balanced":
        leased = rng.range(0, gpuCount - 1);
        break;
      case "scarce":
        leased = rng.chance(60) ? gpuCount : rng.range(Math.floor(gpuCount / 2), gpuCount);
        break;
      case "fragmented":
        leased = rng.chance(20) ? gpuCount : Math.max(0, gpuCount - rng.range(1, 3));
        break;
    }
    const wideToken = rng.chance(wide);
    const offerId = BigInt(i + 1);
    // Some offers were updated: an older version, no longer active at R, precedes the current one.
    if (rng.chance(15)) {
      offers.push({
        versionId: versionId++,
        offerId,
        provider: p.provider,
        modelId: model.id,
        gpuCount,
        gpusLeased: leased,
        pricePerGpuHour: hourly(model.listPriceUsd, rng.range(900, 1_400), wideToken ? 18 : 6),
        paymentToken: wideToken ? WIDE : USDC,
        activeFrom: R - 5_000n,
        activeUntil: R - BigInt(rng.range(0, 2_000)),
      });
    }
    offers.push({
      versionId: versionId++,
      offerId,
      provider: p.provider,
      modelId: model.id,
      gpuCount,
      gpusLeased: leased,
      pricePerGpuHour: hourly(model.listPriceUsd, rng.range(750, 1_300), wideToken ? 18 : 6),
      paymentToken: wideToken ? WIDE : USDC,
      activeFrom: R - BigInt(rng.range(1, 2_000)),
      // A few are scheduled to end soon after R (still active at R), a very few not yet active at R.
      activeUntil: rng.chance(5) ? R + BigInt(rng.range(1, 100)) : rng.chance(1) ? R : 0n,
    });
  }

  const orders: Order[] = [];
  for (let i = 0; i < spec.orders; i++) {
    const model = GPU_CATALOG[rng.weighted(MODEL_POPULARITY)]!;
    const byTier = rng.chance(20);
    const gpuCount = spec.sizes === "unit" ? 1 : [1, 2, 3, 4, 6, 8][rng.weighted([35, 25, 5, 20, 5, 10])]!;
    let regionMask = 0n;
    if (rng.chance(50)) {
      regionMask = 1n << BigInt(rng.weighted(REGION_POPULARITY));
      if (rng.chance(40)) regionMask |= 1n << BigInt(rng.weighted(REGION_POPULARITY));
    }
    const allowed = ZONES.filter((z) => regionMask === 0n || ((regionMask >> BigInt(z >> 8)) & 1n) === 1n);
    const wideToken = rng.chance(wide);
    orders.push({
      orderId: BigInt(i + 1),
      renter: address(2, i + 1),
      modelId: byTier ? 0 : model.id,
      minTier: byTier ? model.tier : 0,
      gpuCount,
      regionMask,
      preferredZone: rng.chance(40) ? rng.pick(allowed) : 0,
      maxPricePerGpuHour: hourly(model.listPriceUsd, rng.range(950, 1_700), wideToken ? 18 : 6),
      durationHours: rng.range(1, 720),
      minUptimeBps: rng.chance(50) ? 0 : rng.range(8_500, 9_900),
      minReputationBps: rng.chance(60) ? 0 : rng.range(3_000, 9_000),
      maxTimesSlashed: rng.chance(50) ? 4_294_967_295 : rng.range(0, 2),
      expiresAt: rng.chance(2) ? R - BigInt(rng.range(0, 10)) : R + BigInt(rng.range(1, 10_000)),
      paymentToken: wideToken ? WIDE : USDC,
      createdAt: R - BigInt(rng.range(0, 5_000)),
      status: rng.chance(98) ? OrderStatus.Open : OrderStatus.Cancelled,
    });
  }

  return { referenceBlock: R, catalog: GPU_CATALOG, orders, offers, providers, weights: DEFAULT_WEIGHTS };
}

/** A batch seed derived from a test number, as a real seed would be: a keccak output. */
export function seedOf(n: number): Hex {
  return keccak256(toHex(`matchnet test seed ${n}`));
}

/** The same instance with every input array shuffled (by its own seed). */
export function shuffled(inputs: MatchInputs, seed: number): MatchInputs {
  const rng = new Rng(seed);
  return {
    ...inputs,
    catalog: rng.shuffle([...inputs.catalog]),
    orders: rng.shuffle([...inputs.orders]),
    offers: rng.shuffle([...inputs.offers]),
    providers: rng.shuffle([...inputs.providers]),
  };
}
