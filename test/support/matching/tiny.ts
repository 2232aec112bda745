/**
 * A small hand-built batch whose every order is left open for a different reason, or matched in an obvious way;
 * shared by the reason-code tests and the first test vector.
 */
import { GPU_CATALOG, zoneId } from "../../../protocol/market/catalog.js";
import { OrderStatus, ProviderStatus, Tier, type OfferVersion, type Order, type Provider } from "../../../protocol/market/types.js";
import type { MatchInputs } from "../../../protocol/matching/types.js";
import { DEFAULT_WEIGHTS, REFERENCE_BLOCK, USDC, WIDE } from "./generator.js";

const R = REFERENCE_BLOCK;
const addr = (n: number) => `0x${n.toString(16).padStart(40, "0")}` as const;

export const H100 = 11;
export const RTX4090 = 5;
export const L40S = 8;

export function provider(n: number, over: Partial<Provider> = {}): Provider {
  return {
    provider: addr(0x1000 + n),
    stake: 100n * 10n ** 18n,
    status: ProviderStatus.Active,
    zone: zoneId(2, 1), // eu-central-1
    uptimeBps: 9_900,
    leasesCompleted: 50,
    leasesFailed: 1,
    timesSlashed: 0,
    ...over,
  };
}

export function offer(versionId: number, p: Provider, over: Partial<OfferVersion> = {}): OfferVersion {
  return {
    versionId: BigInt(versionId),
    offerId: BigInt(versionId),
    provider: p.provider,
    modelId: H100,
    gpuCount: 8,
    gpusLeased: 0,
    pricePerGpuHour: 2_500_000n, // $2.50 in a 6-decimal token
    paymentToken: USDC,
    activeFrom: R - 100n,
    activeUntil: 0n,
    ...over,
  };
}

export function order(orderId: number, over: Partial<Order> = {}): Order {
  return {
    orderId: BigInt(orderId),
    renter: addr(0x2000 + orderId),
    modelId: H100,
    minTier: Tier.Entry,
    gpuCount: 1,
    regionMask: 0n,
    preferredZone: 0,
    maxPricePerGpuHour: 3_000_000n,
    durationHours: 24,
    minUptimeBps: 0,
    minReputationBps: 0,
    maxTimesSlashed: 10,
    expiresAt: R + 1_000n,
    paymentToken: USDC,
    createdAt: R - 10n,
    status: OrderStatus.Open,
    ...over,
  };
}

/** Providers 1 (good, eu-central), 2 (jailed), 3 (low uptime, slashed twice, poor record, us-east). */
export function tinyBatch(): MatchInputs {
  const p1 = provider(1);
  const p2 = provider(2, { status: ProviderStatus.Jailed });
  const p3 = provider(3, { zone: zoneId(0, 1), uptimeBps: 8_000, timesSlashed: 2, leasesCompleted: 2, leasesFailed: 8 });
  const offers = [
    offer(1, p1, { gpuCount: 8, gpusLeased: 6 }), // H100, 2 free
    offer(2, p2, { modelId: L40S, pricePerGpuHour: 900_000n }), // jailed provider
    offer(3, p3, { modelId: RTX4090, pricePerGpuHour: 300_000n, gpuCount: 4 }),
    offer(4, p1, { modelId: RTX4090, pricePerGpuHour: 250_000n, activeUntil: R - 1n }), // no longer active at R
  ];
  const orders = [
    order(1, { gpuCount: 2 }), // takes both free H100s of offer 1 (largest first)
    order(2, {}), // H100 too, capacity taken by order 1
    order(3, { modelId: 12 }), // H200: nobody offers it
    order(4, { regionMask: 1n << 5n }), // H100 only in ap-northeast
    order(5, { modelId: L40S }), // only a jailed provider offers L40S
    order(6, { maxPricePerGpuHour: 2_000_000n }), // H100 below every ask
    order(7, { modelId: RTX4090, maxPricePerGpuHour: 400_000n, minUptimeBps: 9_000 }), // p3 uptime 80 %
    order(8, { modelId: RTX4090, maxPricePerGpuHour: 400_000n, minReputationBps: 5_000 }), // p3 reputation 25 %
    order(9, { modelId: RTX4090, maxPricePerGpuHour: 400_000n, maxTimesSlashed: 1 }), // p3 slashed twice
    order(10, { modelId: RTX4090, maxPricePerGpuHour: 400_000n, gpuCount: 5 }), // p3 has only 4
    order(11, { modelId: 0, minTier: Tier.Low, maxPricePerGpuHour: 400_000n, gpuCount: 3 }), // any tier ≥ low: p3's 4090s
    order(12, { status: OrderStatus.Cancelled }),
    order(13, { expiresAt: R }),
    order(14, { paymentToken: WIDE }), // nobody is paid in that token
  ];
  return { referenceBlock: R, catalog: GPU_CATALOG, orders, offers, providers: [p1, p2, p3], weights: DEFAULT_WEIGHTS };
}
