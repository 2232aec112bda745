import { describe, it } from "mocha";
import { expect } from "chai";
import { network } from "hardhat";
import { getAddress } from "viem";
import {
  CloseReason, LeaseStatus, USD, apply, as, conservation, deployMarket, placeOrder, providerWithOffer, type Market,
} from "../support/market.js";

const connection = await network.create();
const { networkHelpers, viem } = connection;

/**
 * One lease: 2 GPUs × 10 h at 2 USD (renter's max 3 USD), so 40 USD for the provider if it runs to its end; the
 * provider has marked it ready (test/market/handoff.test.ts covers leases that are not).
 */
async function leaseFixture() {
  const m = await deployMarket(connection);
  const { offerId, versionId } = await providerWithOffer(m, m.provider1, { gpuCount: 8, price: 2n * USD });
  const leaseId = await placeOrder(m, m.renter1, { maxPricePerGpuHour: 3n * USD, gpuCount: 2, durationHours: 10 });
  await apply(m, [{ orderId: leaseId, offerVersionId: versionId, gpuCount: 2, pricePerGpuHour: 2n * USD }]);
  await (await as(m, m.provider1)).marketplace.write.markLeaseReady([leaseId, "0x01"]);
  const startedAt = (await m.marketplace.read.getLease([leaseId])).startedAt;
  return { m, offerId, versionId, leaseId, startedAt };
}

const token = (m: Market) => m.paymentToken.address;
const at = (t: bigint) => networkHelpers.time.setNextBlockTimestamp(t);

async function assertConserved(m: Market) {
  const k = await conservation(m);
  expect(k.identityHolds, JSON.stringify(k.totals, (_, v) => (typeof v === "bigint" ? v.toString() : v))).to.equal(true);
  expect(k.balanceHolds).to.equal(true);
}

describe("Marketplace leases and money", () => {
  describe("given an active lease", () => {
    it("→ it should accrue earnings with time: price × count × elapsed / 3600, rounded down", async () => {
      const { m, leaseId, startedAt } = await networkHelpers.loadFixture(leaseFixture);
      await networkHelpers.time.increaseTo(startedAt + 1_000n);
      expect(await m.marketplace.read.unsettledEarnings([leaseId])).to.equal((2n * USD * 2n * 1_000n) / 3600n);
      await at(startedAt + 1_801n);
      const s = await as(m, m.stranger);
      await viem.assertions.emitWithArgs(s.marketplace.write.settleLease([leaseId]), m.marketplace, "EarningsSettled",
        [leaseId, getAddress(m.provider1.account.address), (2n * USD * 2n * 1_801n) / 3600n]);
      expect(await m.marketplace.read.earningsOf([token(m), m.provider1.account.address])).to.equal((2n * USD * 2n * 1_801n) / 3600n);
      await assertConserved(m);
    });

    it("→ it should cap earnings at the lease end and let the provider withdraw them at any time", async () => {
      const { m, leaseId, startedAt } = await networkHelpers.loadFixture(leaseFixture);
      const p = await as(m, m.provider1);
      await at(startedAt + 3_600n);
      await p.marketplace.write.settleLease([leaseId]);
      const before = await m.paymentToken.read.balanceOf([m.provider1.account.address]);
      await viem.assertions.emitWithArgs(p.marketplace.write.withdrawEarnings([token(m)]), m.marketplace, "EarningsWithdrawn",
        [getAddress(m.provider1.account.address), getAddress(token(m)), 4n * USD]);
      expect(await m.paymentToken.read.balanceOf([m.provider1.account.address])).to.equal(before + 4n * USD);
      await networkHelpers.time.increaseTo(startedAt + 100_000n);
      await p.marketplace.write.settleLease([leaseId]);
      expect(await m.marketplace.read.earningsOf([token(m), m.provider1.account.address])).to.equal(36n * USD);
      expect((await m.marketplace.read.getLease([leaseId])).paidOut).to.equal(40n * USD);
      await assertConserved(m);
      await viem.assertions.revertWithCustomError((await as(m, m.stranger)).marketplace.write.withdrawEarnings([token(m)]), m.marketplace, "MarketplaceNothingToWithdraw");
    });
  });

  describe("given the renter closes the lease early", () => {
    it("→ it should refund the unused part, settle the used part, free the GPUs, and end the lease", async () => {
      const { m, leaseId, startedAt, versionId } = await networkHelpers.loadFixture(leaseFixture);
      const r = await as(m, m.renter1);
      await at(startedAt + 2n * 3600n + 17n);
      const used = (2n * USD * 2n * (2n * 3600n + 17n)) / 3600n;
      const unused = 40n * USD - used;
      await viem.assertions.emitWithArgs(r.marketplace.write.closeLease([leaseId]), m.marketplace, "LeaseClosed",
        [leaseId, CloseReason.RenterClosed, startedAt + 2n * 3600n + 17n, unused + 20n * USD]); // + the excess escrow
      const lease = await m.marketplace.read.getLease([leaseId]);
      expect(lease).to.deep.include({ status: LeaseStatus.Closed, closeReason: CloseReason.RenterClosed, paidOut: used });
      expect((await m.offerBook.read.getVersion([versionId])).gpusLeased).to.equal(0);
      expect(await m.marketplace.read.refundableOf([token(m), m.renter1.account.address])).to.equal(20n * USD + unused);
      expect(await m.marketplace.read.earningsOf([token(m), m.provider1.account.address])).to.equal(used);
      expect((await m.marketplace.read.moneyTotals([token(m)])).escrowed).to.equal(0n);
      await assertConserved(m);
      // nothing more accrues after the close
      await networkHelpers.time.increase(10_000);
      expect(await m.marketplace.read.unsettledEarnings([leaseId])).to.equal(0n);
    });

    it("→ it should refuse a stranger, a closed lease, an unknown lease, and a lease past its end", async () => {
      const { m, leaseId, startedAt } = await networkHelpers.loadFixture(leaseFixture);
      const r = await as(m, m.renter1);
      await viem.assertions.revertWithCustomError((await as(m, m.renter2)).marketplace.write.closeLease([leaseId]), m.marketplace, "MarketplaceNotRenter");
      await viem.assertions.revertWithCustomError(r.marketplace.write.closeLease([99n]), m.marketplace, "MarketplaceUnknownLease");
      await viem.assertions.revertWithCustomError(r.marketplace.write.settleLease([99n]), m.marketplace, "MarketplaceUnknownLease");
      await networkHelpers.time.increaseTo(startedAt + 36_000n);
      await viem.assertions.revertWithCustomError(r.marketplace.write.closeLease([leaseId]), m.marketplace, "MarketplaceLeaseAlreadyEnded");
      await r.marketplace.write.completeLease([leaseId]);
      await viem.assertions.revertWithCustomError(r.marketplace.write.closeLease([leaseId]), m.marketplace, "MarketplaceLeaseNotActive");
    });
  });

  describe("given the renter releases the excess escrow of an active lease", () => {
    it("→ it should move (max − price) × GPUs × hours to its refundable balance once, and the close should refund only the unused part", async () => {
      const { m, leaseId, startedAt } = await networkHelpers.loadFixture(leaseFixture);
      const r = await as(m, m.renter1);
      const stranger = await as(m, m.stranger);
      await viem.assertions.emitWithArgs(stranger.marketplace.write.releaseExcessEscrow([leaseId]), m.marketplace, "ExcessEscrowReleased",
        [leaseId, getAddress(m.renter1.account.address), 20n * USD]);
      expect(await m.marketplace.read.refundableOf([token(m), m.renter1.account.address])).to.equal(20n * USD);
      await viem.assertions.revertWithCustomError(r.marketplace.write.releaseExcessEscrow([leaseId]), m.marketplace, "MarketplaceNothingToRelease");
      await at(startedAt + 3_600n);
      await viem.assertions.emitWithArgs(r.marketplace.write.closeLease([leaseId]), m.marketplace, "LeaseClosed",
        [leaseId, CloseReason.RenterClosed, startedAt + 3_600n, 36n * USD]);
      expect(await m.marketplace.read.refundableOf([token(m), m.renter1.account.address])).to.equal(56n * USD);
      await viem.assertions.revertWithCustomError(r.marketplace.write.releaseExcessEscrow([leaseId]), m.marketplace, "MarketplaceLeaseNotActive");
      await viem.assertions.revertWithCustomError(r.marketplace.write.releaseExcessEscrow([99n]), m.marketplace, "MarketplaceUnknownLease");
      await assertConserved(m);
    });

    it("a lease at exactly the order's max price (no excess) → it should refuse with MarketplaceNothingToRelease", async () => {
      const m = await deployMarket(connection);
      const { versionId } = await providerWithOffer(m, m.provider1, { gpuCount: 8, price: 3n * USD });
      const leaseId = await placeOrder(m, m.renter1, { maxPricePerGpuHour: 3n * USD, gpuCount: 2, durationHours: 10 });
      await apply(m, [{ orderId: leaseId, offerVersionId: versionId, gpuCount: 2, pricePerGpuHour: 3n * USD }]);
      await viem.assertions.revertWithCustomError((await as(m, m.renter1)).marketplace.write.releaseExcessEscrow([leaseId]), m.marketplace, "MarketplaceNothingToRelease");
    });
  });

  describe("given a lease reaches its end", () => {
    it("→ it should let anyone complete it, pay the provider in full, and count leasesCompleted", async () => {
      const { m, leaseId, startedAt } = await networkHelpers.loadFixture(leaseFixture);
      const s = await as(m, m.stranger);
      await networkHelpers.time.increaseTo(startedAt + 36_000n - 10n);
      await viem.assertions.revertWithCustomError(s.marketplace.write.completeLease([leaseId]), m.marketplace, "MarketplaceLeaseNotEnded");
      await networkHelpers.time.increaseTo(startedAt + 41_000n);
      await viem.assertions.emitWithArgs(s.marketplace.write.completeLease([leaseId]), m.marketplace, "LeaseClosed",
        [leaseId, CloseReason.Completed, startedAt + 36_000n, 20n * USD]); // the excess escrow (1 USD × 2 × 10 h)
      expect(await m.marketplace.read.earningsOf([token(m), m.provider1.account.address])).to.equal(40n * USD);
      expect((await m.registry.read.getProvider([m.provider1.account.address])).leasesCompleted).to.equal(1);
      await viem.assertions.revertWithCustomError(s.marketplace.write.completeLease([leaseId]), m.marketplace, "MarketplaceLeaseNotActive");
      await assertConserved(m);
    });
  });

  describe("given the service manager reports a provider fault", () => {
    it("→ it should close the lease as ProviderFault, refund the unused part, and count a failure", async () => {
      const { m, leaseId, startedAt } = await networkHelpers.loadFixture(leaseFixture);
      const sm = await as(m, m.sm);
      await viem.assertions.revertWithCustomError((await as(m, m.renter1)).marketplace.write.closeLeaseForProviderFault([leaseId]), m.marketplace, "MarketplaceNotServiceManager");
      await at(startedAt + 3_600n);
      await viem.assertions.emitWithArgs(sm.marketplace.write.closeLeaseForProviderFault([leaseId]), m.marketplace, "LeaseClosed",
        [leaseId, CloseReason.ProviderFault, startedAt + 3_600n, 36n * USD + 20n * USD]);
      const p = await m.registry.read.getProvider([m.provider1.account.address]);
      expect([p.leasesCompleted, p.leasesFailed]).to.deep.equal([0, 1]);
      await viem.assertions.revertWithCustomError(sm.marketplace.write.closeLeaseForProviderFault([leaseId]), m.marketplace, "MarketplaceLeaseNotActive");
      await assertConserved(m);
    });
  });

  describe("given renters and providers withdraw everything", () => {
    it("→ it should leave the contract with zero balance and withdrawn = deposited", async () => {
      const { m, leaseId, startedAt } = await networkHelpers.loadFixture(leaseFixture);
      await at(startedAt + 7_000n);
      await (await as(m, m.renter1)).marketplace.write.closeLease([leaseId]);
      await (await as(m, m.renter1)).marketplace.write.withdrawRefund([token(m)]);
      await (await as(m, m.provider1)).marketplace.write.withdrawEarnings([token(m)]);
      const t = await m.marketplace.read.moneyTotals([token(m)]);
      expect(t.withdrawn).to.equal(t.deposited);
      expect(await m.paymentToken.read.balanceOf([m.marketplace.address])).to.equal(0n);
      await assertConserved(m);
    });
  });
});
