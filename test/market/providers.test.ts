import { describe, it } from "mocha";
import { expect } from "chai";
import { network } from "hardhat";
import { reputationBps } from "../../protocol/market/types.js";
import {
  EXIT_DELAY, MIN_STAKE, ProviderStatus, STAKE, Zones, apply, as, deployMarket, placeOrder, providerWithOffer,
} from "../support/market.js";

const connection = await network.create();
const { networkHelpers, viem } = connection;
const fixture = () => deployMarket(connection);

describe("ProviderRegistry", () => {
  describe("given a new provider registers with enough stake and a valid zone", () => {
    it("→ it should be Active with uptime 10 000, zero counters, the stake pulled, and emit ProviderRegistered", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const c = await as(m, m.provider1);
      const tx = c.registry.write.register([Zones.euCentral2, MIN_STAKE]);
      await viem.assertions.emitWithArgs(tx, m.registry, "ProviderRegistered", [m.provider1.account.address, Zones.euCentral2, MIN_STAKE]);
      const p = await m.registry.read.getProvider([m.provider1.account.address]);
      expect(p).to.deep.include({ stake: MIN_STAKE, status: ProviderStatus.Active, zone: Zones.euCentral2, uptimeBps: 10_000 });
      expect([p.leasesCompleted, p.leasesFailed, p.timesSlashed]).to.deep.equal([0, 0, 0]);
      expect(await m.stakeToken.read.balanceOf([m.registry.address])).to.equal(MIN_STAKE);
      expect(await m.registry.read.reputationBps([m.provider1.account.address])).to.equal(5_000);
      expect(await m.registry.read.providerCount()).to.equal(1n);
      // getProviders: each address's getProvider, in the order given (an unregistered one has status None).
      const many = await m.registry.read.getProviders([[m.provider2.account.address, m.provider1.account.address]]);
      expect(many).to.deep.equal([await m.registry.read.getProvider([m.provider2.account.address]), p]);
      expect(many[0]!.status).to.equal(ProviderStatus.None);
      expect(await m.registry.read.getProviders([[]])).to.deep.equal([]);
    });
  });

  describe("given a bad registration", () => {
    it("→ it should refuse a second registration, too little stake, and malformed zones", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const c = await as(m, m.provider1);
      await viem.assertions.revertWithCustomError(c.registry.write.register([Zones.usEast1, MIN_STAKE - 1n]), m.registry, "ProviderRegistryStakeBelowMinimum");
      await viem.assertions.revertWithCustomError(c.registry.write.register([0x0100, MIN_STAKE]), m.registry, "ProviderRegistryInvalidZone");
      await viem.assertions.revertWithCustomError(c.registry.write.register([64 << 8 | 1, MIN_STAKE]), m.registry, "ProviderRegistryInvalidZone");
      await c.registry.write.register([Zones.usEast1, MIN_STAKE]);
      await viem.assertions.revertWithCustomError(c.registry.write.register([Zones.usEast1, MIN_STAKE]), m.registry, "ProviderRegistryAlreadyRegistered");
    });
  });

  describe("given a registered provider tops up", () => {
    it("→ it should add to the stake and emit StakeAdded; zero or unregistered should revert", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const c = await as(m, m.provider1);
      await viem.assertions.revertWithCustomError(c.registry.write.topUp([STAKE]), m.registry, "ProviderRegistryNotRegistered");
      await c.registry.write.register([Zones.usEast1, MIN_STAKE]);
      await viem.assertions.emitWithArgs(c.registry.write.topUp([STAKE]), m.registry, "StakeAdded", [m.provider1.account.address, STAKE, MIN_STAKE + STAKE]);
      await viem.assertions.revertWithCustomError(c.registry.write.topUp([0n]), m.registry, "ProviderRegistryZeroAmount");
    });
  });

  describe("given the maintenance toggle", () => {
    it("→ it should move Active ↔ Maintenance and refuse it for an unregistered or exiting provider", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const c = await as(m, m.provider1);
      await viem.assertions.revertWithCustomError(c.registry.write.setMaintenance([true]), m.registry, "ProviderRegistryNotRegistered");
      await c.registry.write.register([Zones.usEast1, MIN_STAKE]);
      await viem.assertions.emitWithArgs(c.registry.write.setMaintenance([true]), m.registry, "MaintenanceSet", [m.provider1.account.address, true]);
      expect((await m.registry.read.getProvider([m.provider1.account.address])).status).to.equal(ProviderStatus.Maintenance);
      await c.registry.write.setMaintenance([false]);
      expect((await m.registry.read.getProvider([m.provider1.account.address])).status).to.equal(ProviderStatus.Active);
      await c.registry.write.requestExit();
      await viem.assertions.revertWithCustomError(c.registry.write.setMaintenance([false]), m.registry, "ProviderRegistryWrongStatus");
    });
  });

  describe("given an exit", () => {
    it("→ it should release the stake only after exitDelay blocks and leave the provider unregistered", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const c = await as(m, m.provider1);
      await viem.assertions.revertWithCustomError(c.registry.write.requestExit(), m.registry, "ProviderRegistryNotRegistered");
      await c.registry.write.register([Zones.usEast1, MIN_STAKE]);
      await viem.assertions.revertWithCustomError(c.registry.write.completeExit(), m.registry, "ProviderRegistryWrongStatus");
      await c.registry.write.requestExit();
      await viem.assertions.revertWithCustomError(c.registry.write.requestExit(), m.registry, "ProviderRegistryWrongStatus");
      await viem.assertions.revertWithCustomError(c.registry.write.completeExit(), m.registry, "ProviderRegistryExitDelayNotElapsed");
      await networkHelpers.mine(Number(EXIT_DELAY));
      const before = await m.stakeToken.read.balanceOf([m.provider1.account.address]);
      await viem.assertions.emitWithArgs(c.registry.write.completeExit(), m.registry, "ExitCompleted", [m.provider1.account.address, MIN_STAKE]);
      expect(await m.stakeToken.read.balanceOf([m.provider1.account.address])).to.equal(before + MIN_STAKE);
      expect((await m.registry.read.getProvider([m.provider1.account.address])).status).to.equal(ProviderStatus.None);
      expect(await m.registry.read.providerCount()).to.equal(0n);
    });

    it("→ it should keep the counters of a provider that exits and registers again (no washing out slashes)", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const p = m.provider1.account.address;
      const c = await as(m, m.provider1);
      await c.registry.write.register([Zones.usEast1, MIN_STAKE]);
      const sm = await as(m, m.sm);
      await sm.registry.write.slash([p, STAKE, m.owner.account.address, true]);
      await sm.registry.write.setUptime([p, 7_000]);
      await sm.registry.write.recordLeaseOutcome([p, false]);
      await c.registry.write.requestExit();
      await networkHelpers.mine(Number(EXIT_DELAY));
      await c.registry.write.completeExit();
      await c.registry.write.register([Zones.euCentral2, MIN_STAKE]);
      const rec = await m.registry.read.getProvider([p]);
      expect(rec).to.deep.include({ status: ProviderStatus.Active, zone: Zones.euCentral2, stake: MIN_STAKE, uptimeBps: 7_000, timesSlashed: 1, leasesFailed: 1 });
    });

    it("→ it should refuse to release the stake while a lease holds the provider's GPUs", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const { versionId } = await providerWithOffer(m, m.provider1);
      const orderId = await placeOrder(m, m.renter1);
      await apply(m, [{ orderId, offerVersionId: versionId, gpuCount: 2, pricePerGpuHour: 2_000_000n }]);
      const c = await as(m, m.provider1);
      await c.registry.write.requestExit();
      await networkHelpers.mine(Number(EXIT_DELAY));
      await viem.assertions.revertWithCustomError(c.registry.write.completeExit(), m.registry, "ProviderRegistryActiveLeases");
      await networkHelpers.time.increase(10 * 3600);
      await (await as(m, m.stranger)).marketplace.write.completeLease([orderId]);
      await c.registry.write.completeExit();
    });
  });

  describe("given the service-manager hooks", () => {
    it("→ it should set uptime, slash (to a recipient, counting, jailing), and count lease outcomes", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const p = m.provider1.account.address;
      await (await as(m, m.provider1)).registry.write.register([Zones.usEast1, MIN_STAKE]);
      const sm = await as(m, m.sm);
      await viem.assertions.emitWithArgs(sm.registry.write.setUptime([p, 9_500]), m.registry, "UptimeSet", [p, 9_500]);
      const to = m.stranger.account.address;
      await viem.assertions.emitWithArgs(sm.registry.write.slash([p, STAKE, to, true]), m.registry, "ProviderSlashed", [p, STAKE, to, true]);
      expect(await m.stakeToken.read.balanceOf([to])).to.equal(STAKE);
      await sm.registry.write.recordLeaseOutcome([p, true]);
      await sm.registry.write.recordLeaseOutcome([p, true]);
      await sm.registry.write.recordLeaseOutcome([p, false]);
      const rec = await m.registry.read.getProvider([p]);
      expect(rec).to.deep.include({ stake: MIN_STAKE - STAKE, status: ProviderStatus.Jailed, uptimeBps: 9_500, timesSlashed: 1, leasesCompleted: 2, leasesFailed: 1 });
      expect(await m.registry.read.reputationBps([p])).to.equal(reputationBps({ leasesCompleted: 2, leasesFailed: 1 }));
    });

    it("→ it should refuse hooks from anyone else and bad arguments", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const p = m.provider1.account.address;
      const s = await as(m, m.stranger);
      await viem.assertions.revertWithCustomError(s.registry.write.setUptime([p, 1]), m.registry, "ProviderRegistryNotServiceManager");
      await viem.assertions.revertWithCustomError(s.registry.write.slash([p, 1n, p, false]), m.registry, "ProviderRegistryNotServiceManager");
      await viem.assertions.revertWithCustomError(s.registry.write.recordLeaseOutcome([p, true]), m.registry, "ProviderRegistryNotMarketplace");
      const sm = await as(m, m.sm);
      await viem.assertions.revertWithCustomError(sm.registry.write.setUptime([p, 1]), m.registry, "ProviderRegistryNotRegistered");
      await (await as(m, m.provider1)).registry.write.register([Zones.usEast1, MIN_STAKE]);
      await viem.assertions.revertWithCustomError(sm.registry.write.setUptime([p, 10_001]), m.registry, "ProviderRegistryInvalidUptime");
      await viem.assertions.revertWithCustomError(sm.registry.write.slash([p, MIN_STAKE + 1n, p, false]), m.registry, "ProviderRegistrySlashExceedsStake");
    });
  });

  describe("given the owner's wiring and parameters", () => {
    it("→ it should set parameters with events, wire once, and refuse strangers", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      await viem.assertions.emitWithArgs(m.registry.write.setExitDelay([7n]), m.registry, "ExitDelaySet", [7n]);
      await viem.assertions.emitWithArgs(m.registry.write.setMinProviderStake([5n]), m.registry, "MinProviderStakeSet", [5n]);
      await viem.assertions.revertWithCustomError(m.registry.write.setServiceManager([m.stranger.account.address]), m.registry, "ProviderRegistryAlreadySet");
      await viem.assertions.revertWithCustomError(m.registry.write.setMarketplace([m.stranger.account.address, m.stranger.account.address]), m.registry, "ProviderRegistryAlreadySet");
      const s = await as(m, m.stranger);
      await viem.assertions.revertWithCustomError(s.registry.write.setExitDelay([1n]), m.registry, "OwnableUnauthorizedAccount");
      await viem.assertions.revertWithCustomError(s.registry.write.setMinProviderStake([1n]), m.registry, "OwnableUnauthorizedAccount");
    });
  });
});
