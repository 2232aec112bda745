/**
 * Hardhat Ignition module of the marketplace: the two devnet tokens, the GPU catalog seeded from
 * protocol/market/catalog.ts (tiers are computed on-chain from the list prices, never passed in), the provider
 * registry, the offer book and the marketplace, wired to each other. The service manager is wired by its own
 * module once it exists (`Marketplace.setServiceManager` / `ProviderRegistry.setServiceManager`, each set once).
 *
 * Parameters (Ignition `parameters`, module "Matchnet"): minProviderStake, exitDelay, maxOrderLifetime.
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
} as const;

/** The catalog seed as the GpuCatalog constructor takes it (no tier: it is derived on-chain). */
export const CATALOG_SEED = GPU_CATALOG.map(({ id, name, vramGb, listPriceUsd }) => ({ id, name, vramGb, listPriceUsd }));

export default buildModule("Matchnet", (m) => {
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
