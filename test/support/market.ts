/**
 * Shared fixture and helpers for the marketplace tests: deploys the system with the Ignition module, wires a
 * plain account as the service manager (the real ServiceManager comes later), funds renters and providers.
 * No side effects at import.
 */
import type { NetworkConnection } from "hardhat/types/network";
import type { Address } from "viem";
import type { OrderParams } from "../../protocol/market/types.js";
import { deployMatchnet } from "../../deploy/deployment.js";
import { zoneId } from "../../protocol/market/catalog.js";
import type { Wallet } from "./avs.js";

export const USD = 1_000_000n; // 6 decimals
export const STAKE = 10n ** 18n;
export const MIN_STAKE = 1_000n * STAKE;
export const EXIT_DELAY = 10n;
export const MAX_ORDER_LIFETIME = 1_000n;

export const Zones = { usEast1: zoneId(0, 1), usWest1: zoneId(1, 1), euCentral2: zoneId(2, 2), apSe1: zoneId(4, 1) };

/** The on-chain enum numberings are the ones in protocol/market/types.ts (the contract tests check them). */
export { CloseReason, LeaseStatus, OrderStatus, ProviderStatus, SkipReason } from "../../protocol/market/types.js";

export const H100 = 11; // Ultra
export const RTX4090 = 5; // Low
export const L40S = 8; // High

export type { OrderParams };

export async function deployMarket(connection: NetworkConnection) {
  const { viem } = connection;
  const d = await deployMatchnet(connection, {
    parameters: { minProviderStake: MIN_STAKE, exitDelay: EXIT_DELAY, maxOrderLifetime: MAX_ORDER_LIFETIME },
  });
  const wallets = await viem.getWalletClients();
  const [owner, sm, renter1, renter2, provider1, provider2, provider3, stranger] = wallets as [
    (typeof wallets)[number], (typeof wallets)[number], (typeof wallets)[number], (typeof wallets)[number],
    (typeof wallets)[number], (typeof wallets)[number], (typeof wallets)[number], (typeof wallets)[number],
  ];
  const publicClient = await viem.getPublicClient();
  await d.marketplace.write.setServiceManager([sm.account.address]);
  await d.registry.write.setServiceManager([sm.account.address]);

  const at = async <N extends "Marketplace" | "OfferBook" | "ProviderRegistry" | "PaymentToken" | "StakeToken" | "GpuCatalog">(
    name: N,
    address: Address,
    wallet: (typeof wallets)[number],
  ) => viem.getContractAt(name, address, { client: { wallet } });

  for (const r of [renter1, renter2]) {
    await d.paymentToken.write.mint([r.account.address, 1_000_000n * USD]);
    const t = await at("PaymentToken", d.paymentToken.address, r);
    await t.write.approve([d.marketplace.address, 2n ** 255n]);
  }
  for (const p of [provider1, provider2, provider3]) {
    await d.stakeToken.write.mint([p.account.address, 100_000n * STAKE]);
    const t = await at("StakeToken", d.stakeToken.address, p);
    await t.write.approve([d.registry.address, 2n ** 255n]);
  }
  return { ...d, viem, publicClient, owner, sm, renter1, renter2, provider1, provider2, provider3, stranger, at };
}

export type Market = Awaited<ReturnType<typeof deployMarket>>;
/** The same wallet type as the AVS fixtures' (one hardhat-viem wallet client). */
export type { Wallet };

/** Market contracts bound to one wallet. */
export async function as(m: Market, wallet: Wallet) {
  return {
    marketplace: await m.at("Marketplace", m.marketplace.address, wallet),
    offerBook: await m.at("OfferBook", m.offerBook.address, wallet),
    registry: await m.at("ProviderRegistry", m.registry.address, wallet),
    paymentToken: await m.at("PaymentToken", m.paymentToken.address, wallet),
    stakeToken: await m.at("StakeToken", m.stakeToken.address, wallet),
    catalog: await m.at("GpuCatalog", m.catalog.address, wallet),
  };
}

/** Registers `wallet` as a provider in `zone` and creates one offer; returns its offer and version ids. */
export async function providerWithOffer(
  m: Market,
  wallet: Wallet,
  opts: { zone?: number; modelId?: number; gpuCount?: number; price?: bigint; register?: boolean } = {},
) {
  const c = await as(m, wallet);
  if (opts.register ?? true) await c.registry.write.register([opts.zone ?? Zones.usEast1, MIN_STAKE]);
  const before = await m.offerBook.read.versionCount();
  await c.offerBook.write.createOffer([opts.modelId ?? H100, opts.gpuCount ?? 8, opts.price ?? 2n * USD, m.paymentToken.address]);
  const versionId = before + 1n;
  const version = await m.offerBook.read.getVersion([versionId]);
  return { offerId: version.offerId, versionId };
}

export async function blockNumber(m: Market): Promise<bigint> {
  return m.publicClient.getBlockNumber();
}

export async function defaultOrder(m: Market, over: Partial<OrderParams> = {}): Promise<OrderParams> {
  return {
    modelId: H100,
    minTier: 0,
    gpuCount: 2,
    regionMask: 0n,
    preferredZone: 0,
    maxPricePerGpuHour: 3n * USD,
    durationHours: 10,
    minUptimeBps: 0,
    minReputationBps: 0,
    maxTimesSlashed: 5,
    expiresAt: (await blockNumber(m)) + 500n,
    paymentToken: m.paymentToken.address,
    ...over,
  };
}

/** Creates an order from `wallet`; returns its id. */
export async function placeOrder(m: Market, wallet: Wallet, over: Partial<OrderParams> = {}): Promise<bigint> {
  const c = await as(m, wallet);
  const params = await defaultOrder(m, over);
  await c.marketplace.write.createOrder([params]);
  return m.marketplace.read.orderCount();
}

export interface AssignmentRow {
  orderId: bigint;
  offerVersionId: bigint;
  gpuCount: number;
  pricePerGpuHour: bigint;
}

/** Applies assignments as the service manager with R_b = the previous block; returns the tx hash. */
export async function apply(m: Market, rows: AssignmentRow[], batch = 1n, referenceBlock?: bigint) {
  const c = await as(m, m.sm);
  const rb = referenceBlock ?? (await blockNumber(m));
  return c.marketplace.write.applyAssignments([batch, rb, rows]);
}

/** Asserts escrowed + earned + refundable + withdrawn = deposited and balance = deposited − withdrawn. */
export async function conservation(m: Market) {
  const t = await m.marketplace.read.moneyTotals([m.paymentToken.address]);
  const balance = await m.paymentToken.read.balanceOf([m.marketplace.address]);
  return {
    totals: t,
    identityHolds: t.escrowed + t.earned + t.refundable + t.withdrawn === t.deposited,
    balanceHolds: balance === t.deposited - t.withdrawn,
  };
}
