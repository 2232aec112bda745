/**
 * Hardhat Ignition modules.
 * - `MarketModule` ("MatchnetMarket"): the two devnet tokens, the GPU catalog seeded from protocol/market/catalog.ts
 *   (tiers are computed on-chain from the list prices, never passed in), the provider registry, the offer book and
 *   the marketplace, wired to each other, with no service manager (tests wire a plain account in its place).
 *   Parameters: minProviderStake, exitDelay, maxOrderLifetime.
 * - default `MatchnetModule` ("Matchnet"): the market plus the operator registry and the service manager, which is
 *   set (once) as the marketplace's and provider registry's service manager and as the operator registry's slasher.
 *   Parameters: minOperatorStake, operatorExitDelay (the treasury for slashed operator stake is the deployer).
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { GPU_CATALOG } from "../protocol/market/catalog.js";

/** Devnet defaults, documented in docs/contracts.md. */
export const MATCHNET_DEFAULTS = {
  /** 1 000 stake tokens (18 decimals). */
  minProviderStake: 1_000n * 10n ** 18n,
  /** Blocks between a provider's exit request and the release of its stake. */
  exitDelay: 100n,
  /** An order expires at most this many blocks after creation (≈ 1 week at 12 s blocks). */
  maxOrderLifetime: 50_400n,
  /** 100 stake tokens (18 decimals). */
  minOperatorStake: 100n * 10n ** 18n,
  /** Blocks between an operator's deregistration and the withdrawal of its stake. */
  operatorExitDelay: 600n,
} as const;

/** The catalog seed as the GpuCatalog constructor takes it (no tier: it is derived on-chain). */
export const CATALOG_SEED = GPU_CATALOG.map(({ id, name, vramGb, listPriceUsd }) => ({ id, name, vramGb, listPriceUsd }));

export const MarketModule = buildModule("MatchnetMarket", (m) => {
  const owner = m.getAccount(0);
  const minProviderStake = m.getParameter("minProviderStake", MATCHNET_DEFAULTS.minProviderStake);
  const exitDelay = m.getParameter("exitDelay", MATCHNET_DEFAULTS.exitDelay);
  const maxOrderLifetime = m.getParameter("maxOrderLifetime", MATCHNET_DEFAULTS.maxOrderLifetime);

  const paymentToken = m.contract("PaymentToken", [owner]);
  const stakeToken = m.contract("StakeToken", [owner]);
  const catalog = m.contract("GpuCatalog", [owner, CATALOG_SEED]);
  const registry = m.contract("ProviderRegistry", [owner, stakeToken, minProviderStake, exitDelay]);
  const offerBook = m.contract("OfferBook", [owner, catalog, registry]);
  const marketplace = m.contract("Marketplace", [owner, catalog, registry, offerBook, maxOrderLifetime]);

  m.call(offerBook, "setMarketplace", [marketplace]);
  m.call(registry, "setMarketplace", [marketplace, offerBook]);
  m.call(marketplace, "setPaymentTokenAllowed", [paymentToken, true]);

  return { paymentToken, stakeToken, catalog, registry, offerBook, marketplace };
});

export default buildModule("Matchnet", (m) => {
  const owner = m.getAccount(0);
  const market = m.useModule(MarketModule);
  const minOperatorStake = m.getParameter("minOperatorStake", MATCHNET_DEFAULTS.minOperatorStake);
  const operatorExitDelay = m.getParameter("operatorExitDelay", MATCHNET_DEFAULTS.operatorExitDelay);
  const operatorRegistry = m.contract("OperatorRegistry", [owner, market.stakeToken, owner, minOperatorStake, operatorExitDelay]);
  const serviceManager = m.contract("ServiceManager", [owner, operatorRegistry, market.marketplace]);
  m.call(market.marketplace, "setServiceManager", [serviceManager]);
  m.call(market.registry, "setServiceManager", [serviceManager]);
  m.call(operatorRegistry, "setSlasher", [serviceManager]);
  return { ...market, operatorRegistry, serviceManager };
});
