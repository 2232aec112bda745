/**
 * Inputs and outputs of the deterministic matcher (docs/matching.md). The inputs are exactly the on-chain objects
 * of `protocol/market/types.ts` as read at a batch's reference block `R_b`; nothing else influences the result.
 */
import type { Address, Hex } from "viem";
import type { Assignment, GpuModel, MatchingWeights, OfferVersion, Order, Provider } from "../market/types.js";

/** Everything the matcher reads for one batch, all as of the reference block. Order of the arrays is irrelevant. */
export interface MatchInputs {
  /** `R_b`: the block whose state these inputs are. */
  referenceBlock: bigint;
  /** The GPU catalog (model id → tier); tier orders (modelId 0) match every catalog model of tier ≥ minTier. */
  catalog: ReadonlyArray<GpuModel>;
  /** Orders open at `R_b` (others may be passed; they are reported unmatched with a reason, never assigned). */
  orders: ReadonlyArray<Order>;
  /** Offer versions; only those active at `R_b` take part, each offer has at most one. */
  offers: ReadonlyArray<OfferVersion>;
  /** Every provider that owns one of the offers. */
  providers: ReadonlyArray<Provider>;
  weights: MatchingWeights;
}

/**
 * Why an order was left open, as the first filter of the chain in docs/matching.md that left it without an offer.
 * Numeric values are part of the protocol (the CLI and the explorer decode them): never renumber, only append.
 */
export enum UnmatchedReason {
  OrderNotOpen = 1, // status is not Open, or created after R_b
  OrderExpired = 2, // expiresAt ≤ R_b
  NoOfferForModel = 3, // no offer of that model (or of a model of tier ≥ minTier) in the order's payment token
  NoOfferInRegion = 4, // such offers exist, none in the allowed regions
  ProviderNotActive = 5, // every remaining offer belongs to a provider not in status Active
  PriceAboveMax = 6, // every remaining offer asks more than the order's max price
  UptimeTooLow = 7, // every remaining provider is below the order's minimum uptime
  ReputationTooLow = 8, // every remaining provider is below the order's minimum reputation
  TooManySlashes = 9, // every remaining provider was slashed more often than the order allows
  CapacityTooSmall = 10, // no remaining offer has that many free GPUs at R_b
  CapacityTaken = 11, // offers fitted at R_b, but orders served earlier in this batch took the capacity
}

export interface Unmatched {
  orderId: bigint;
  reason: UnmatchedReason;
}

/** GPUs placed on one provider in this batch. */
export interface ProviderShare {
  provider: Address;
  gpus: number;
  /** Share of all GPUs placed in the batch, basis points, rounded down. */
  shareBps: number;
}

/** Market-quality figures of one batch (informative; not part of the signed result). */
export interface MatchQuality {
  ordersOpen: number; // orders that passed the order-level checks (open and not expired at R_b)
  ordersMatched: number;
  fillRateOrdersBps: number; // ordersMatched × 10 000 / ordersOpen, rounded down (10 000 when no order is open)
  gpusRequested: number;
  gpusMatched: number;
  fillRateGpusBps: number;
  /** Σ price × gpus / Σ maxPrice × gpus over the matched orders, basis points (10 000 when nothing matched). */
  meanPriceVsMaxBps: number;
  gpusPerProvider: ProviderShare[]; // sorted by provider address
  /** The objective the matcher maximises (docs/matching.md §6): Σ over assignments of their value. */
  totalValue: bigint;
}

export interface MatchResult {
  /** Canonical: orderId ascending; at most one row per order. */
  assignments: Assignment[];
  /** Every input order not assigned, orderId ascending. */
  unmatched: Unmatched[];
  quality: MatchQuality;
}

/** A bytes32 batch seed as 0x-prefixed hex. */
export type Seed = Hex;
