/**
 * What operators and aggregators read from the chain for one batch, every call pinned to one block (eth_call at
 * `blockNumber`), so that every honest node reads the same inputs at R_b whatever the chain head is now. Reads use
 * contract views (never an event replay), so a restarted node is ready after a handful of calls.
 */
import type { Address, Hex, PublicClient } from "viem";
import type { GpuModel, MatchingWeights, OfferVersion, Order, OrderParams, Provider } from "../market/types.js";
import type { MatchInputs } from "../matching/index.js";
import type { G1Point, G2Point } from "../bls/index.js";
import {
  gpuCatalogAbi,
  marketplaceAbi,
  offerBookAbi,
  operatorRegistryAbi,
  providerRegistryAbi,
  serviceManagerAbi,
} from "./abi.js";
import { decodePackedOffers, decodePackedOrders } from "./packed.js";

/** The addresses a node reads from (a subset of the deployment file). */
export interface SystemAddresses {
  serviceManager: Address;
  operatorRegistry: Address;
  marketplace: Address;
  offerBook: Address;
  providerRegistry: Address;
  catalog: Address;
}

/**
 * How many order ids one `openOrdersPacked` call scans: an open order costs four cold storage reads (≈ 8 600 gas), a
 * closed one two, so a page stays under 9 M gas, well below the 2^24 per-call gas cap some nodes apply (EIP-7825).
 */
const ORDER_SCAN_PAGE = 1_000n;
/**
 * How many offers one `activeOffersPacked` call covers: five cold storage reads an offer read at a recent block
 * (≈ 12 600 gas with the copying), ≈ 6.5 M gas a page; an offer with many versions read at an older block adds two
 * reads per binary-search step, and a page must stay below the 2^24 per-call gas cap of Hardhat and of nodes that
 * apply EIP-7825 (1 024 offers of `versionsAt`, 16 200 gas each, already ran out of gas there). On Hardhat's EDR a
 * page of 512 costs ≈ 50 ms of CPU, a fixed part of ≈ 8 ms per call included (bench/cli.bench.ts market).
 */
const OFFER_PAGE = 512n;
/** How many providers one `getProviders` call reads. */
const PROVIDER_PAGE = 500;
export async function readCatalog(client: PublicClient, catalog: Address, blockNumber: bigint): Promise<GpuModel[]> {
  const models = await client.readContract({ address: catalog, abi: gpuCatalogAbi, functionName: "getModels", blockNumber });
  return models.map((m) => ({ id: m.id, name: m.name, vramGb: m.vramGb, listPriceUsd: m.listPriceUsd, tier: m.tier }));
}

/**
 * The orders open at `blockNumber` (status Open and not expired), ascending by id: pages of `openOrdersPacked` over
 * the ids that can still be open, all requested at once (a page's range does not depend on the page before).
 */
export async function readOpenOrders(client: PublicClient, marketplace: Address, blockNumber: bigint): Promise<Order[]> {
  const [first, count] = await Promise.all([
    client.readContract({ address: marketplace, abi: marketplaceAbi, functionName: "openOrdersScanStart", blockNumber }),
    client.readContract({ address: marketplace, abi: marketplaceAbi, functionName: "orderCount", blockNumber }),
  ]);
  const starts: bigint[] = [];
  for (let from = first; from <= count; from += ORDER_SCAN_PAGE) starts.push(from);
  const pages = await Promise.all(
    starts.map(async (from) => {
      const [packed, after] = await client.readContract({ address: marketplace, abi: marketplaceAbi, functionName: "openOrdersPacked", args: [from, ORDER_SCAN_PAGE], blockNumber });
      const expected = from + ORDER_SCAN_PAGE <= count + 1n ? from + ORDER_SCAN_PAGE : count + 1n;
      if (after !== expected) throw new Error(`marketplace.openOrdersPacked(${from}) ended at ${after}, not ${expected}`);
      return decodePackedOrders(packed);
    }),
  );
  return pages.flat();
}

/** An order as `getOrder`/`getOrders` return it: what the renter passed to `createOrder` nested under `params`. */
export type ChainOrder = Pick<Order, "orderId" | "renter" | "createdAt" | "status"> & { params: OrderParams };

/** The flat `Order` of types.ts from the contract's view of it. */
export function orderFromChain(o: ChainOrder): Order {
  return { orderId: o.orderId, renter: o.renter, ...o.params, createdAt: o.createdAt, status: o.status };
}

/** Orders by id (each must exist), in the order asked, read with one `getOrders` call at `blockNumber` (default: latest). */
export async function readOrders(client: PublicClient, marketplace: Address, ids: readonly bigint[], blockNumber?: bigint): Promise<Order[]> {
  const rows = await client.readContract({ address: marketplace, abi: marketplaceAbi, functionName: "getOrders", args: [ids], blockNumber });
  return rows.map(orderFromChain);
}

/**
 * For every offer, the version active at `blockNumber` (offers with none are left out), ascending by offer id: pages
 * of `activeOffersPacked`, all requested at once (offer ids are 1‥offerCount).
 */
export async function readActiveOfferVersions(client: PublicClient, offerBook: Address, blockNumber: bigint): Promise<OfferVersion[]> {
  const count = await client.readContract({ address: offerBook, abi: offerBookAbi, functionName: "offerCount", blockNumber });
  const starts: bigint[] = [];
  for (let from = 1n; from <= count; from += OFFER_PAGE) starts.push(from);
  const pages = await Promise.all(
    starts.map(async (from) => {
      const [packed] = await client.readContract({ address: offerBook, abi: offerBookAbi, functionName: "activeOffersPacked", args: [from, OFFER_PAGE, blockNumber], blockNumber });
      return decodePackedOffers(packed);
    }),
  );
  return pages.flat();
}

export async function readProviders(
  client: PublicClient,
  registry: Address,
  providers: readonly Address[],
  blockNumber: bigint,
): Promise<Provider[]> {
  const unique = [...new Set(providers.map((p) => p.toLowerCase() as Address))].sort();
  const pages: Address[][] = [];
  for (let i = 0; i < unique.length; i += PROVIDER_PAGE) pages.push(unique.slice(i, i + PROVIDER_PAGE));
  const rows = await Promise.all(
    pages.map((page) => client.readContract({ address: registry, abi: providerRegistryAbi, functionName: "getProviders", args: [page], blockNumber })),
  );
  return rows.flat().map((r) => ({ ...r }));
}

export async function readMatchingWeights(client: PublicClient, serviceManager: Address, blockNumber: bigint): Promise<MatchingWeights> {
  const w = await client.readContract({ address: serviceManager, abi: serviceManagerAbi, functionName: "matchingWeights", blockNumber });
  return { ...w };
}

/** Everything the matcher needs for a batch whose reference block is `referenceBlock`, read at that block. */
export async function readMatchInputs(client: PublicClient, addrs: SystemAddresses, referenceBlock: bigint): Promise<MatchInputs> {
  const [catalog, orders, offers, weights] = await Promise.all([
    readCatalog(client, addrs.catalog, referenceBlock),
    readOpenOrders(client, addrs.marketplace, referenceBlock),
    readActiveOfferVersions(client, addrs.offerBook, referenceBlock),
    readMatchingWeights(client, addrs.serviceManager, referenceBlock),
  ]);
  const providers = await readProviders(client, addrs.providerRegistry, offers.map((o) => o.provider), referenceBlock);
  return { referenceBlock, catalog, orders, offers, providers, weights };
}

export interface OperatorInfo {
  operatorId: Hex;
  operator: Address;
  stake: bigint;
  pkG1: G1Point;
  pkG2: G2Point;
  socket: string;
}

export interface OperatorSet {
  referenceBlock: bigint;
  /** Operators with stake > 0 at the block, ascending by operator id (the order non-signers are submitted in). */
  operators: OperatorInfo[];
  totalStake: bigint;
}

/**
 * The registered operator set at the end of `blockNumber`. `opts.readAt` (default `blockNumber`) is the block whose
 * state is asked: ids and stakes come from the registry's stake checkpoints, the same from any block at or after
 * `blockNumber`, while the socket is the one at `readAt`. A reader that needs only ids and stakes can so ask a later
 * block whose state the node still serves (a pruning node, or Hardhat inside a multi-block `hardhat_mine`).
 */
export async function readOperatorSet(client: PublicClient, registry: Address, blockNumber: bigint, opts: { readAt?: bigint } = {}): Promise<OperatorSet> {
  if (blockNumber > 0xffff_ffffn) throw new Error(`block ${blockNumber} does not fit the registry's uint32 block numbers`);
  const readAt = opts.readAt ?? blockNumber;
  if (readAt < blockNumber) throw new Error(`operator set at block ${blockNumber} read from the state of block ${readAt}, before it`);
  const rows = await client.readContract({
    address: registry,
    abi: operatorRegistryAbi,
    functionName: "operatorsAt",
    args: [Number(blockNumber)],
    blockNumber: readAt,
  });
  const operators = rows
    .filter((r) => r.stake > 0n)
    .map((r) => ({
      operatorId: r.operatorId,
      operator: r.operator,
      stake: r.stake,
      pkG1: { X: r.pkG1.X, Y: r.pkG1.Y },
      pkG2: { X: [r.pkG2.X[0], r.pkG2.X[1]] as const, Y: [r.pkG2.Y[0], r.pkG2.Y[1]] as const },
      socket: r.socket,
    }))
    .sort((a, b) => (BigInt(a.operatorId) < BigInt(b.operatorId) ? -1 : BigInt(a.operatorId) > BigInt(b.operatorId) ? 1 : 0));
  const totalStake = operators.reduce((sum, o) => sum + o.stake, 0n);
  return { referenceBlock: blockNumber, operators, totalStake };
}
