/**
 * An independent statement of the hard rules (docs/protocol.md §3.6, docs/matching.md §4), written from the on-chain
 * objects directly and sharing no code with the engine, so that a bug in the engine's filters cannot hide itself.
 */
import { OrderStatus, ProviderStatus, regionOfZone, reputationBps, type Assignment } from "../../../protocol/market/types.js";
import type { MatchInputs } from "../../../protocol/matching/types.js";

export function hardRuleViolations(inputs: MatchInputs, assignments: ReadonlyArray<Assignment>): string[] {
  const R = inputs.referenceBlock;
  const out: string[] = [];
  const orders = new Map(inputs.orders.map((o) => [o.orderId, o]));
  const offers = new Map(inputs.offers.map((v) => [v.versionId, v]));
  const providers = new Map(inputs.providers.map((p) => [p.provider.toLowerCase(), p]));
  const tiers = new Map(inputs.catalog.map((m) => [m.id, m.tier]));
  const usedPerOffer = new Map<bigint, number>();
  let last = 0n;
  for (const a of assignments) {
    const tag = `order ${a.orderId} → version ${a.offerVersionId}`;
    if (a.orderId <= last) out.push(`${tag}: not in strictly ascending orderId order`);
    last = a.orderId;
    const o = orders.get(a.orderId);
    const v = offers.get(a.offerVersionId);
    if (!o || !v) {
      out.push(`${tag}: unknown order or offer version`);
      continue;
    }
    const p = providers.get(v.provider.toLowerCase());
    if (!p) {
      out.push(`${tag}: unknown provider`);
      continue;
    }
    if (o.status !== OrderStatus.Open || o.createdAt > R || R >= o.expiresAt) out.push(`${tag}: order not open at R_b`);
    if (!(v.activeFrom <= R && (v.activeUntil === 0n || R < v.activeUntil))) out.push(`${tag}: version not active at R_b`);
    if (p.status !== ProviderStatus.Active) out.push(`${tag}: provider not active`);
    if (o.modelId !== 0 ? v.modelId !== o.modelId : (tiers.get(v.modelId) ?? -1) < o.minTier) out.push(`${tag}: model/tier`);
    const region = regionOfZone(p.zone);
    if (o.regionMask !== 0n && (region >= 64 || ((o.regionMask >> BigInt(region)) & 1n) === 0n)) out.push(`${tag}: region`);
    if (v.pricePerGpuHour > o.maxPricePerGpuHour) out.push(`${tag}: price above max`);
    if (a.pricePerGpuHour !== v.pricePerGpuHour) out.push(`${tag}: price is not the offer's ask`);
    if (a.gpuCount !== o.gpuCount) out.push(`${tag}: gpuCount differs from the order's`);
    if (v.paymentToken.toLowerCase() !== o.paymentToken.toLowerCase()) out.push(`${tag}: payment token`);
    if (p.uptimeBps < o.minUptimeBps) out.push(`${tag}: uptime`);
    if (reputationBps(p) < o.minReputationBps) out.push(`${tag}: reputation`);
    if (p.timesSlashed > o.maxTimesSlashed) out.push(`${tag}: slashes`);
    const used = (usedPerOffer.get(v.offerId) ?? 0) + a.gpuCount;
    usedPerOffer.set(v.offerId, used);
    if (used > v.gpuCount - v.gpusLeased) out.push(`${tag}: offer ${v.offerId} capacity exceeded (${used} > ${v.gpuCount - v.gpusLeased})`);
  }
  return out;
}
