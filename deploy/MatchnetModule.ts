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
import type { Future } from "@nomicfoundation/ignition-core";
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

/** What `buildDeployModule` needs beyond the validated parameters file (deploy/parameters.ts). */
export interface DeployModuleSettings {
  /** "faucet": deploy the devnet tokens (local chains only); else the existing ERC-20s. */
  tokens: "faucet" | { payment: `0x${string}`; stake: `0x${string}` };
  minProviderStake: bigint;
  providerExitDelay: bigint;
  maxOrderLifetime: bigint;
  minimumEscrow: bigint;
  minOperatorStake: bigint;
  operatorExitDelay: bigint;
  batchTiming: { batchInterval: number; seedTimeout: number; batchTimeout: number };
  quorumThresholdBps: number;
  matchingWeights: { region: number; price: number; uptime: number; reputation: number; availability: number; slashing: number; stake: number; random: number };
  slashFractions: { equivocationSlashBps: number; equivocationBountyBps: number; invalidResultSlashBps: number };
  ejection: { streak: number; rateBps: number; window: number };
  handoffTimeout: number;
  /** The final owner; the deploying account keeps ownership when it is the same address. */
  owner: `0x${string}`;
  treasury: `0x${string}`;
  /** The deploying account (m.getAccount(0)); ownership moves to `owner` only when they differ. */
  deployer: `0x${string}`;
}

/**
 * `npm run deploy` (deploy/deploy.ts): the whole system as one module ("MatchnetDeploy") built from a validated
 * parameters file. The deploying account owns every contract while the module wires them and applies every owner
 * setting (batch timing, quorum, matching weights, slash fractions, ejection, handoff timeout, minimum escrow), then hands
 * ownership to `owner` if that is another address. With external tokens nothing mintable is deployed.
 */
export function buildDeployModule(s: DeployModuleSettings) {
  return buildModule("MatchnetDeploy", (m) => {
    const me = m.getAccount(0);
    const faucet = s.tokens === "faucet";
    const paymentToken = s.tokens === "faucet" ? m.contract("PaymentToken", [me]) : m.contractAt("PaymentToken", s.tokens.payment, { id: "ExternalPaymentToken" });
    const stakeToken = s.tokens === "faucet" ? m.contract("StakeToken", [me]) : m.contractAt("StakeToken", s.tokens.stake, { id: "ExternalStakeToken" });
    const catalog = m.contract("GpuCatalog", [me, CATALOG_SEED]);
    const registry = m.contract("ProviderRegistry", [me, stakeToken, s.minProviderStake, s.providerExitDelay]);
    const offerBook = m.contract("OfferBook", [me, catalog, registry]);
    const marketplace = m.contract("Marketplace", [me, catalog, registry, offerBook, s.maxOrderLifetime]);
    const calls: Future[] = [
      m.call(offerBook, "setMarketplace", [marketplace]),
      m.call(registry, "setMarketplace", [marketplace, offerBook]),
      m.call(marketplace, "setPaymentTokenAllowed", [paymentToken, true]),
    ];
    if (s.minimumEscrow > 0n) calls.push(m.call(marketplace, "setMinimumEscrow", [paymentToken, s.minimumEscrow]));

    const operatorRegistry = m.contract("OperatorRegistry", [me, stakeToken, s.treasury, s.minOperatorStake, s.operatorExitDelay]);
    const serviceManager = m.contract("ServiceManager", [me, operatorRegistry, marketplace]);
    calls.push(
      m.call(marketplace, "setServiceManager", [serviceManager]),
      m.call(registry, "setServiceManager", [serviceManager]),
      m.call(operatorRegistry, "setSlasher", [serviceManager]),
      // Every owner setting is sent, defaults included, so the chain holds exactly the file's values whatever the
      // constructor's defaults become.
      m.call(serviceManager, "setBatchTiming", [s.batchTiming]),
      m.call(serviceManager, "setQuorumThresholdBps", [s.quorumThresholdBps]),
      m.call(serviceManager, "setMatchingWeights", [s.matchingWeights]),
      m.call(serviceManager, "setSlashFractions", [s.slashFractions.equivocationSlashBps, s.slashFractions.equivocationBountyBps, s.slashFractions.invalidResultSlashBps]),
      m.call(serviceManager, "setEjectionParameters", [s.ejection]),
      m.call(marketplace, "setHandoffTimeout", [BigInt(s.handoffTimeout)], { id: "Marketplace_setHandoffTimeout" }),
    );

    if (s.owner !== s.deployer) {
      // Ignition orders futures by their dependencies only: ownership moves after every call the deployer makes.
      const after = calls;
      const owned = { catalog, registry, offerBook, marketplace, operatorRegistry, serviceManager, ...(faucet ? { paymentToken, stakeToken } : {}) };
      for (const [name, contract] of Object.entries(owned)) {
        m.call(contract as typeof catalog, "transferOwnership", [s.owner], { id: `${name}_transferOwnership`, after });
      }
    }
    return { paymentToken, stakeToken, catalog, registry, offerBook, marketplace, operatorRegistry, serviceManager };
  });
}
