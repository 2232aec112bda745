/**
 * One TypeScript type per on-chain object of the marketplace. The Solidity structs in
 * `contracts/interfaces/` mirror these field for field (same names, same integer widths), and the matcher reads
 * exactly these shapes at a batch's reference block `R_b`. All amounts and counters are integers (bigint where the
 * on-chain type is wider than 32 bits); nothing here is ever a float.
 */
import type { Address } from "viem";
import { CloseReason, LeaseStatus, OrderStatus, ProviderStatus, Tier } from "../chain/enums.js";

/**
 * The contracts' enums, with the values they store and emit, generated from the contracts into
 * protocol/chain/enums.ts. Their meanings are documented where they are declared: `IGpuCatalog.Tier` (bands of the
 * list price in whole US dollars, docs/protocol.md §2), `IProviderRegistry.ProviderStatus`, and `IMarketplace`'s
 * `OrderStatus`, `LeaseStatus`, `CloseReason` (docs/contracts.md, "Leases") and `SkipReason` (why
 * `applyAssignments` skipped an assignment, in check order but for the last two, which come right after
 * `InsufficientCapacity`: what the provider offers now, after R_b).
 */
export { Tier, ProviderStatus, OrderStatus, LeaseStatus, CloseReason, SkipReason } from "../chain/enums.js";

/** Basis points: 10 000 = 100 %. */
export const BPS = 10_000;

export function tierOfListPrice(listPriceUsd: number): Tier {
  if (listPriceUsd < 1_000) return Tier.Entry;
  if (listPriceUsd < 2_000) return Tier.Low;
  if (listPriceUsd < 5_000) return Tier.Medium;
  if (listPriceUsd < 15_000) return Tier.High;
  return Tier.Ultra;
}

/** Catalog entry: `GpuCatalog.Model` on-chain. Model id 0 is reserved for "any model of tier ≥ minTier". */
export interface GpuModel {
  id: number; // uint16, ≥ 1
  name: string;
  vramGb: number; // uint16
  listPriceUsd: number; // uint32, whole dollars
  tier: Tier; // uint8, always tierOfListPrice(listPriceUsd)
}

/**
 * Location. A zone id (uint16) carries its region in the high byte: region = zone >> 8, so a provider's region is
 * derived from its zone and cannot disagree with it. Regions are 0‥63 so that an order can allow a set of regions
 * as a 64-bit mask.
 */
export const regionOfZone = (zone: number): number => zone >> 8;

/** `ProviderRegistry.Provider` on-chain, as read at `R_b`. */
export interface Provider {
  provider: Address;
  stake: bigint; // uint256, stake-token units
  status: ProviderStatus;
  zone: number; // uint16
  uptimeBps: number; // uint16, 0‥10 000, from operator-attested probes; 10 000 for a new provider
  leasesCompleted: number; // uint32
  leasesFailed: number; // uint32
  timesSlashed: number; // uint32
}

/**
 * Reputation in basis points, derived (never stored) from the lease counters with a Laplace prior, so a new
 * provider starts at 5 000 and one failure among many completions costs little:
 * (completed + 1) × 10 000 / (completed + failed + 2), rounded down. The contract computes the same integer.
 */
export function reputationBps(p: Pick<Provider, "leasesCompleted" | "leasesFailed">): number {
  return Math.floor(((p.leasesCompleted + 1) * BPS) / (p.leasesCompleted + p.leasesFailed + 2));
}

/**
 * `OfferBook.OfferVersion` on-chain. Every create or update of an offer makes a new version with a new, globally
 * unique `versionId`; the version is active on blocks [activeFrom, activeUntil) (activeUntil = 0: still active).
 * `gpusLeased` belongs to the offer (all versions share it) and is the capacity taken by active leases at `R_b`.
 */
export interface OfferVersion {
  versionId: bigint; // uint64, global counter across offers, ≥ 1
  offerId: bigint; // uint64
  provider: Address;
  modelId: number; // uint16, never 0
  gpuCount: number; // uint32, GPUs offered in total
  gpusLeased: number; // uint32, GPUs taken by active leases (offer-wide) at R_b
  pricePerGpuHour: bigint; // uint128, payment-token units
  paymentToken: Address;
  activeFrom: bigint; // uint64 block number
  activeUntil: bigint; // uint64 block number, 0 = open-ended
}

/**
 * An order (contract Marketplace); immutable after creation except for its status. `IMarketplace.Order` nests the
 * fields from `modelId` to `paymentToken` (the renter's `OrderParams`) under `params`; `orderFromChain` flattens it.
 */
export interface Order {
  orderId: bigint; // uint64, ≥ 1
  renter: Address;
  modelId: number; // uint16; 0 = any model with tier ≥ minTier
  minTier: Tier; // uint8, used only when modelId = 0
  gpuCount: number; // uint32, all on one offer
  regionMask: bigint; // uint64, bit r set = region r allowed; 0 = every region
  preferredZone: number; // uint16; 0 = no preference
  maxPricePerGpuHour: bigint; // uint128
  durationHours: number; // uint32; escrow = maxPricePerGpuHour × gpuCount × durationHours
  minUptimeBps: number; // uint16
  minReputationBps: number; // uint16
  maxTimesSlashed: number; // uint32
  expiresAt: bigint; // uint64 block number; open while block < expiresAt
  paymentToken: Address;
  createdAt: bigint; // uint64 block number
  status: OrderStatus;
}

/** What a renter passes to `createOrder` (`IMarketplace.OrderParams`): an order without its id, renter, creation block and status. */
export type OrderParams = Omit<Order, "orderId" | "renter" | "createdAt" | "status">;

/** Protocol matching weights in basis points; they sum to 10 000 (`ServiceManager.MatchingWeights`). */
export interface MatchingWeights {
  region: number;
  price: number;
  uptime: number;
  reputation: number;
  availability: number;
  slashing: number;
  stake: number;
  random: number;
}

/**
 * One matcher output row; `keccak256(abi.encode(Assignment[]))` is what operators sign over. The list is
 * canonically ordered by orderId ascending (an order is matched at most once per batch).
 */
export interface Assignment {
  orderId: bigint; // uint64
  offerVersionId: bigint; // uint64
  gpuCount: number; // uint32
  pricePerGpuHour: bigint; // uint128, the provider's ask, which the renter pays
}

/** The ABI tuple type of `Assignment[]`, for viem's encodeAbiParameters. */
export const ASSIGNMENTS_ABI = [
  {
    type: "tuple[]",
    components: [
      { name: "orderId", type: "uint64" },
      { name: "offerVersionId", type: "uint64" },
      { name: "gpuCount", type: "uint32" },
      { name: "pricePerGpuHour", type: "uint128" },
    ],
  },
] as const;

/**
 * `IMarketplace.Lease` on-chain (a view; the contract stores less). A lease's id is its order's id (an order is
 * matched at most once); times are unix seconds; endsAt = startedAt + (durationHours + hours bought with
 * extendLease) × 3600; the price is the offer version's price. Earnings accrue as price × gpuCount ×
 * elapsedSeconds / 3600 (rounded down), capped at endsAt, and settle only once the provider marked the lease ready
 * (`readyAt` ≠ 0): a lease closed before that earns its provider nothing (docs/contracts.md, "Leases").
 */
export interface Lease {
  leaseId: bigint; // uint64, = orderId
  offerVersionId: bigint; // uint64
  offerId: bigint; // uint64
  provider: Address;
  renter: Address;
  paymentToken: Address;
  gpuCount: number; // uint32
  pricePerGpuHour: bigint; // uint128
  startedAt: bigint; // uint64 unix seconds
  endsAt: bigint; // uint64 unix seconds
  closedAt: bigint; // uint64 unix seconds, 0 while active
  paidOut: bigint; // uint128, earnings already settled to the provider
  status: LeaseStatus;
  closeReason: CloseReason;
  startBlock: bigint; // uint64 block number the lease started in
  readyAt: bigint; // uint64 block number of the provider's markLeaseReady, 0 = not yet
}

