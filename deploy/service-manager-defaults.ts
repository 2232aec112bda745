/**
 * The ServiceManager's constructor defaults (contracts/avs/ServiceManager.sol, docs/contracts.md), in a module that
 * imports nothing, so that code without a chain (the matching generators, the benchmarks) can use the deployed
 * weights without loading the deploy tooling. test/market/service-manager.test.ts checks them against the contract.
 */
export const SERVICE_MANAGER_DEFAULTS = {
  batchTiming: { batchInterval: 10, seedTimeout: 5, batchTimeout: 40 },
  quorumThresholdBps: 6_667,
  matchingWeights: { region: 2_000, price: 2_000, uptime: 1_500, reputation: 1_500, availability: 1_000, slashing: 500, stake: 500, random: 1_000 },
  slashFractions: { equivocationSlashBps: 5_000, equivocationBountyBps: 1_000, invalidResultSlashBps: 5_000 },
  ejection: { streak: 5, rateBps: 3_333, window: 100 },
  handoffTimeout: 20,
} as const;
