/**
 * `renter quote`: what the next batch would do with an order, before any money moves. It reads the chain's state at
 * the latest block with the same reader the operators use (protocol/chain/reads.ts `readMatchInputs`), adds the
 * order as it would be created now (the next order id, created at that block), and runs the operators' matcher
 * (protocol/matching `matchBatch`). The batch seed does not exist yet (the next batch's leader signs it after the
 * close), so the quote uses the latest final batch's seed: the random criterion (weight `random` of the matching
 * weights) may then pick another offer among near-equal ones, or, where orders compete for the same GPUs, serve
 * another of them first. With a random weight of 0 the quote is exactly the next batch's decision when nothing else
 * changes before the close (test/cli/quote-agreement.test.ts checks both).
 *
 * When the order would stay open, every offer of its payment token is checked against the order's filters
 * (docs/matching.md §8, the same chain as the reason codes) and the offers needing the fewest changes give the
 * nearest changes (raise the max price to X, allow region Y, lower the minimum uptime to Z, …); each suggestion is
 * checked by running the matcher again with the changed order.
 */
import type { Address, Hex } from "viem";
import { serviceManagerAbi, marketplaceAbi } from "../protocol/chain/abi.js";
import { readMatchInputs } from "../protocol/chain/reads.js";
import { systemAddresses } from "../protocol/chain/deployment.js";
import { matchBatch, UnmatchedReason, type MatchInputs } from "../protocol/matching/index.js";
import { OrderStatus, ProviderStatus, reputationBps, type Order, type OfferVersion, type OrderParams } from "../protocol/market/types.js";
import type { Context } from "./context.js";
import { memberEntry } from "../protocol/chain/enumNames.js";
import { amount, percent, regionName, regionsOfMask, tierName, zoneName } from "./format.js";

const REASON_TEXT: Record<keyof typeof UnmatchedReason, string> = {
  OrderNotOpen: "the order is not open (or was created after the batch's reference block)",
  OrderExpired: "the order expired",
  NoOfferForModel: "no active offer of that model (or tier) in the order's payment token",
  NoOfferInRegion: "offers of that model exist, none in the allowed regions",
  ProviderNotActive: "every remaining offer's provider is in maintenance, jailed or exiting",
  PriceAboveMax: "every remaining offer asks more than the max price",
  UptimeTooLow: "every remaining provider's uptime is below the minimum",
  ReputationTooLow: "every remaining provider's reputation is below the minimum",
  TooManySlashes: "every remaining provider was slashed more often than allowed",
  CapacityTooSmall: "no remaining offer has that many free GPUs",
  CapacityTaken: "offers fitted, but orders ahead of it in the batch took their GPUs",
};

export const reasonName = (r: number): string => UnmatchedReason[r] ?? `Reason${r}`;
/** Why an order was not matched, in one sentence ("" for a code this version does not know). */
export const reasonText = (r: number): string => memberEntry(UnmatchedReason, REASON_TEXT, r, "");

export interface Change {
  field: "modelId" | "minTier" | "regionMask" | "maxPricePerGpuHour" | "minUptimeBps" | "minReputationBps" | "maxTimesSlashed" | "gpuCount";
  flag: string;
  value: string;
  text: string;
}

export interface QuoteOffer {
  offerId: bigint;
  versionId: bigint;
  provider: Address;
  zone: number;
  zoneName: string;
  modelId: number;
  pricePerGpuHour: bigint;
}

export interface Suggestion {
  changes: Change[];
  /** The matcher run again with the changed order. */
  wouldMatch: boolean;
  offer: QuoteOffer | null;
  reason: { code: number; name: string } | null;
}

export interface Quote {
  block: bigint;
  seed: Hex;
  orderId: bigint;
  wouldMatch: boolean;
  offer: QuoteOffer | null;
  reason: { code: number; name: string; text: string } | null;
  escrow: bigint;
  /** Refunded at the match: (max − price) × GPUs × hours. */
  refundAtMatch: bigint | null;
  suggestions: Suggestion[];
  offersConsidered: number;
  ordersOpen: number;
}

function quoteOffer(v: OfferVersion, zone: number): QuoteOffer {
  return { offerId: v.offerId, versionId: v.versionId, provider: v.provider, zone, zoneName: zoneName(zone), modelId: v.modelId, pricePerGpuHour: v.pricePerGpuHour };
}

function runOne(inputs: MatchInputs, order: Order, seed: Hex, zoneOf: Map<string, number>) {
  const result = matchBatch({ ...inputs, orders: [...inputs.orders, order] }, seed);
  const a = result.assignments.find((x) => x.orderId === order.orderId);
  if (a !== undefined) {
    const v = inputs.offers.find((o) => o.versionId === a.offerVersionId)!;
    return { offer: quoteOffer(v, zoneOf.get(v.provider) ?? 0), reason: null };
  }
  const u = result.unmatched.find((x) => x.orderId === order.orderId)!;
  return { offer: null, reason: u.reason as number };
}

/** The changes that would let `order` accept offer `v` (null: none can, e.g. its provider is not active). */
function changesFor(order: Order, v: OfferVersion, inputs: MatchInputs, decimals: number): Change[] | null {
  const p = inputs.providers.find((x) => x.provider === v.provider);
  if (p === undefined || p.status !== ProviderStatus.Active) return null;
  const free = v.gpuCount - v.gpusLeased;
  if (free < 1) return null;
  const changes: Change[] = [];
  const model = inputs.catalog.find((m) => m.id === v.modelId);
  if (model === undefined) return null;
  if (order.modelId === 0 ? model.tier < order.minTier : v.modelId !== order.modelId) {
    if (order.modelId === 0) changes.push({ field: "minTier", flag: "--min-tier", value: tierName(model.tier), text: `lower the minimum tier to ${tierName(model.tier)}` });
    else changes.push({ field: "modelId", flag: "--model", value: String(model.id), text: `order ${model.name} (model ${model.id}) instead` });
  }
  const region = p.zone >> 8;
  if (order.regionMask !== 0n && (region > 63 || ((order.regionMask >> BigInt(region)) & 1n) === 0n)) {
    // The flag's value is the whole new list: --regions replaces the mask.
    const mask = order.regionMask | (1n << BigInt(region));
    changes.push({ field: "regionMask", flag: "--regions", value: regionsOfMask(mask).join(","), text: `allow region ${regionName(region)}` });
  }
  if (v.pricePerGpuHour > order.maxPricePerGpuHour) {
    changes.push({ field: "maxPricePerGpuHour", flag: "--max-price", value: amount(v.pricePerGpuHour, decimals), text: `raise the max price to ${amount(v.pricePerGpuHour, decimals)}` });
  }
  if (p.uptimeBps < order.minUptimeBps) changes.push({ field: "minUptimeBps", flag: "--min-uptime", value: percent(p.uptimeBps), text: `lower the minimum uptime to ${percent(p.uptimeBps)}` });
  const rep = reputationBps(p);
  if (rep < order.minReputationBps) changes.push({ field: "minReputationBps", flag: "--min-reputation", value: percent(rep), text: `lower the minimum reputation to ${percent(rep)}` });
  if (p.timesSlashed > order.maxTimesSlashed) changes.push({ field: "maxTimesSlashed", flag: "--max-slashes", value: String(p.timesSlashed), text: `allow providers slashed up to ${p.timesSlashed} times` });
  if (free < order.gpuCount) changes.push({ field: "gpuCount", flag: "--gpus", value: String(free), text: `lower the GPU count to ${free}` });
  return changes;
}

function applyChanges(order: Order, v: OfferVersion, changes: Change[], inputs: MatchInputs): Order {
  const o = { ...order };
  const p = inputs.providers.find((x) => x.provider === v.provider)!;
  for (const c of changes) {
    if (c.field === "modelId") o.modelId = v.modelId;
    if (c.field === "minTier") o.minTier = inputs.catalog.find((m) => m.id === v.modelId)!.tier;
    if (c.field === "regionMask") o.regionMask |= 1n << BigInt(p.zone >> 8);
    if (c.field === "maxPricePerGpuHour") o.maxPricePerGpuHour = v.pricePerGpuHour;
    if (c.field === "minUptimeBps") o.minUptimeBps = p.uptimeBps;
    if (c.field === "minReputationBps") o.minReputationBps = reputationBps(p);
    if (c.field === "maxTimesSlashed") o.maxTimesSlashed = p.timesSlashed;
    if (c.field === "gpuCount") o.gpuCount = v.gpuCount - v.gpusLeased;
  }
  return o;
}

type CostKey = [number, number, bigint, number, bigint];

/**
 * Orders the ways to reach an offer: keeping the ordered model (or tier) first — another card is a bigger change than
 * any limit —, then the fewest changes, the smallest price raise, the fewest GPUs given up, the older offer.
 */
function costKey(order: Order, v: OfferVersion, changes: Change[]): CostKey {
  const otherModel = changes.some((c) => c.field === "modelId" || c.field === "minTier") ? 1 : 0;
  const raise = v.pricePerGpuHour > order.maxPricePerGpuHour ? v.pricePerGpuHour - order.maxPricePerGpuHour : 0n;
  const fewer = changes.some((c) => c.field === "gpuCount") ? order.gpuCount - (v.gpuCount - v.gpusLeased) : 0;
  return [otherModel, changes.length, raise, fewer, v.versionId];
}

export async function quoteOrder(ctx: Context, params: OrderParams, renter: Address, opts: { maxSuggestions?: number } = {}): Promise<Quote> {
  const client = await ctx.client();
  const d = await ctx.deployment();
  const addrs = systemAddresses(d, ctx.path(ctx.opts.deployment));
  const block = await client.getBlockNumber();
  const [inputs, seed, count] = await Promise.all([
    readMatchInputs(client, addrs, block),
    client.readContract({ address: addrs.serviceManager, abi: serviceManagerAbi, functionName: "latestSeed", blockNumber: block }),
    client.readContract({ address: addrs.marketplace, abi: marketplaceAbi, functionName: "orderCount", blockNumber: block }),
  ]);
  const decimals = await client.readContract({ address: params.paymentToken, abi: [{ type: "function", name: "decimals", stateMutability: "view", inputs: [], outputs: [{ type: "uint8" }] }] as const, functionName: "decimals" });
  const order: Order = { ...params, orderId: count + 1n, renter, createdAt: block, status: OrderStatus.Open };
  const zoneOf = new Map(inputs.providers.map((p) => [p.provider, p.zone]));
  const first = runOne(inputs, order, seed, zoneOf);
  const escrow = params.maxPricePerGpuHour * BigInt(params.gpuCount) * BigInt(params.durationHours);
  const quote: Quote = {
    block, seed, orderId: order.orderId, wouldMatch: first.offer !== null, offer: first.offer,
    reason: first.reason === null ? null : { code: first.reason, name: reasonName(first.reason), text: reasonText(first.reason) },
    escrow,
    refundAtMatch: first.offer === null ? null : (params.maxPricePerGpuHour - first.offer.pricePerGpuHour) * BigInt(params.gpuCount) * BigInt(params.durationHours),
    suggestions: [], offersConsidered: inputs.offers.length, ordersOpen: inputs.orders.length,
  };
  if (first.offer !== null) return quote;

  const ways: { v: OfferVersion; changes: Change[]; key: CostKey }[] = [];
  // Another model is suggested only if it is of the ordered model's tier or higher (a comparable or better card).
  const orderedTier = order.modelId === 0 ? order.minTier : (inputs.catalog.find((m) => m.id === order.modelId)?.tier ?? 0);
  for (const v of inputs.offers) {
    if (v.paymentToken !== params.paymentToken) continue;
    if (v.activeUntil !== 0n && v.activeUntil <= block) continue;
    const changes = changesFor(order, v, inputs, decimals);
    if (changes === null || changes.length === 0) continue;
    if (changes.some((c) => c.field === "modelId") && (inputs.catalog.find((m) => m.id === v.modelId)?.tier ?? 0) < orderedTier) continue;
    ways.push({ v, changes, key: costKey(order, v, changes) });
  }
  ways.sort((a, b) => {
    for (let i = 0; i < a.key.length; i++) if (a.key[i] !== b.key[i]) return a.key[i]! < b.key[i]! ? -1 : 1;
    return 0;
  });
  const seen = new Set<string>();
  for (const w of ways) {
    if (quote.suggestions.length >= (opts.maxSuggestions ?? 3)) break;
    const sig = w.changes.map((c) => `${c.flag}=${c.value}`).join(" ");
    if (seen.has(sig)) continue;
    seen.add(sig);
    const changed = applyChanges(order, w.v, w.changes, inputs);
    const r = runOne(inputs, changed, seed, zoneOf);
    quote.suggestions.push({ changes: w.changes, wouldMatch: r.offer !== null, offer: r.offer, reason: r.reason === null ? null : { code: r.reason, name: reasonName(r.reason) } });
  }
  return quote;
}

export function quoteText(q: Quote, decimals: number, params: OrderParams): string[] {
  const lines: string[] = [];
  if (q.offer !== null) {
    lines.push(
      `would match now: offer ${q.offer.offerId} (version ${q.offer.versionId}) of ${q.offer.provider} in ${q.offer.zoneName} at ${amount(q.offer.pricePerGpuHour, decimals)}/GPU-hour`,
      `escrow ${amount(q.escrow, decimals)}; excess escrow (refunded by releaseExcessEscrow or at the lease's close) ${amount(q.refundAtMatch ?? 0n, decimals)}; cost ${amount(q.offer.pricePerGpuHour * BigInt(params.gpuCount) * BigInt(params.durationHours), decimals)}`,
    );
  } else {
    lines.push(`would not match now: ${q.reason!.name} (${q.reason!.code}) — ${q.reason!.text}`);
    if (q.suggestions.length === 0) lines.push("no change to this order's limits would find an offer now");
    for (const s of q.suggestions) {
      const how = s.changes.map((c) => c.text).join(", ");
      const then = s.wouldMatch ? `would match offer ${s.offer!.offerId} at ${amount(s.offer!.pricePerGpuHour, decimals)}` : `would still stay open (${s.reason!.name})`;
      lines.push(`  ${how} (${s.changes.map((c) => `${c.flag} ${c.value}`).join(" ")}): ${then}`);
    }
  }
  lines.push(`(state at block ${q.block}: ${q.offersConsidered} offers, ${q.ordersOpen} open orders; seed of the last batch — the next batch's own seed may pick another offer of near-equal score)`);
  return lines;
}
