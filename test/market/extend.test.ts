import { describe, it } from "mocha";
import { expect } from "chai";
import { network } from "hardhat";
import { getAddress } from "viem";
import {
  CloseReason, USD, apply, as, conservation, deployMarket, placeOrder, providerWithOffer, type Market,
} from "../support/market.js";

const connection = await network.create();
const { networkHelpers, viem } = connection;

const MAX_UINT32 = 2n ** 32n - 1n;

/** One lease marked ready: 2 GPUs × 10 h at 2 USD (renter's max 3 USD); 4 USD per hour of extension. */
async function readyLease() {
  const m = await deployMarket(connection);
  const { offerId, versionId } = await providerWithOffer(m, m.provider1, { gpuCount: 8, price: 2n * USD });
  const leaseId = await placeOrder(m, m.renter1, { maxPricePerGpuHour: 3n * USD, gpuCount: 2, durationHours: 10 });
  await apply(m, [{ orderId: leaseId, offerVersionId: versionId, gpuCount: 2, pricePerGpuHour: 2n * USD }]);
  await (await as(m, m.provider1)).marketplace.write.markLeaseReady([leaseId, "0x01"]);
  const lease = await m.marketplace.read.getLease([leaseId]);
  return { m, offerId, versionId, leaseId, startedAt: lease.startedAt, endsAt: lease.endsAt };
}

/** The same lease, not marked ready. */
async function unreadyLease() {
  const m = await deployMarket(connection);
  const { offerId, versionId } = await providerWithOffer(m, m.provider1, { gpuCount: 8, price: 2n * USD });
  const leaseId = await placeOrder(m, m.renter1, { maxPricePerGpuHour: 3n * USD, gpuCount: 2, durationHours: 10 });
  await apply(m, [{ orderId: leaseId, offerVersionId: versionId, gpuCount: 2, pricePerGpuHour: 2n * USD }]);
  const lease = await m.marketplace.read.getLease([leaseId]);
  return { m, offerId, versionId, leaseId, startedAt: lease.startedAt, startBlock: lease.startBlock, endsAt: lease.endsAt };
}

const token = (m: Market) => m.paymentToken.address;
const at = (t: bigint) => networkHelpers.time.setNextBlockTimestamp(t);

async function assertConserved(m: Market) {
  const k = await conservation(m);
  expect(k.identityHolds, JSON.stringify(k.totals, (_, v) => (typeof v === "bigint" ? v.toString() : v))).to.equal(true);
  expect(k.balanceHolds).to.equal(true);
}

describe("Marketplace.extendLease", () => {
  describe("given the renter extends an active lease", () => {
    it("→ it should pull GPUs × price × hours, move endsAt, emit LeaseExtended, and pay the provider for the longer lease", async () => {
      const { m, leaseId, endsAt } = await networkHelpers.loadFixture(readyLease);
      const r = await as(m, m.renter1);
      const before = await m.paymentToken.read.balanceOf([m.renter1.account.address]);
      const totals = await m.marketplace.read.moneyTotals([token(m)]);
      await viem.assertions.emitWithArgs(r.marketplace.write.extendLease([leaseId, 3]), m.marketplace, "LeaseExtended",
        [leaseId, 3, endsAt + 3n * 3600n, 12n * USD]);
      expect(await m.paymentToken.read.balanceOf([m.renter1.account.address])).to.equal(before - 12n * USD);
      expect((await m.marketplace.read.getLease([leaseId])).endsAt).to.equal(endsAt + 3n * 3600n);
      const after = await m.marketplace.read.moneyTotals([token(m)]);
      expect([after.deposited - totals.deposited, after.escrowed - totals.escrowed]).to.deep.equal([12n * USD, 12n * USD]);
      await assertConserved(m);

      const s = await as(m, m.stranger);
      await networkHelpers.time.increaseTo(endsAt + 3n * 3600n - 2n);
      await viem.assertions.revertWithCustomErrorWithArgs(s.marketplace.write.completeLease([leaseId]), m.marketplace,
        "MarketplaceLeaseNotEnded", [leaseId, endsAt + 3n * 3600n]);
      await networkHelpers.time.increaseTo(endsAt + 3n * 3600n);
      await viem.assertions.emitWithArgs(s.marketplace.write.completeLease([leaseId]), m.marketplace, "LeaseClosed",
        [leaseId, CloseReason.Completed, endsAt + 3n * 3600n, 20n * USD]); // the order's excess escrow only
      expect(await m.marketplace.read.earningsOf([token(m), m.provider1.account.address])).to.equal(2n * 2n * 13n * USD);
      expect((await m.marketplace.read.moneyTotals([token(m)])).escrowed).to.equal(0n);
      await assertConserved(m);
    });

    it("one second before its end → it should extend; at its end → MarketplaceLeaseAlreadyEnded(endsAt)", async () => {
      const { m, leaseId, endsAt } = await networkHelpers.loadFixture(readyLease);
      const r = await as(m, m.renter1);
      await at(endsAt - 1n);
      await viem.assertions.emitWithArgs(r.marketplace.write.extendLease([leaseId, 1]), m.marketplace, "LeaseExtended",
        [leaseId, 1, endsAt + 3600n, 4n * USD]);
      await at(endsAt + 3600n);
      // sent with a fixed gas limit, so the revert happens in a block at exactly that timestamp (not at estimation)
      await viem.assertions.revertWithCustomErrorWithArgs(r.marketplace.write.extendLease([leaseId, 1], { gas: 300_000n }),
        m.marketplace, "MarketplaceLeaseAlreadyEnded", [leaseId, endsAt + 3600n]);
    });

    it("by 0 hours → MarketplaceInvalidExtension(0); 1 hour → extended", async () => {
      const { m, leaseId, endsAt } = await networkHelpers.loadFixture(readyLease);
      const r = await as(m, m.renter1);
      await viem.assertions.revertWithCustomErrorWithArgs(r.marketplace.write.extendLease([leaseId, 0]), m.marketplace,
        "MarketplaceInvalidExtension", [0]);
      await viem.assertions.emitWithArgs(r.marketplace.write.extendLease([leaseId, 1]), m.marketplace, "LeaseExtended",
        [leaseId, 1, endsAt + 3600n, 4n * USD]);
    });

    it("to a total of 2^32 − 1 hours → extended; one hour more → MarketplaceInvalidExtension", async () => {
      const { m, leaseId, endsAt } = await networkHelpers.loadFixture(readyLease);
      const r = await as(m, m.renter1);
      const most = MAX_UINT32 - 10n; // the order's 10 h + this = the largest uint32
      await m.paymentToken.write.mint([m.renter1.account.address, 4n * USD * most]);
      await viem.assertions.revertWithCustomErrorWithArgs(r.marketplace.write.extendLease([leaseId, Number(most + 1n)]), m.marketplace,
        "MarketplaceInvalidExtension", [Number(most + 1n)]);
      await viem.assertions.emitWithArgs(r.marketplace.write.extendLease([leaseId, Number(most)]), m.marketplace, "LeaseExtended",
        [leaseId, Number(most), endsAt + most * 3600n, 4n * USD * most]);
      await viem.assertions.revertWithCustomErrorWithArgs(r.marketplace.write.extendLease([leaseId, 1]), m.marketplace,
        "MarketplaceInvalidExtension", [1]);
      await assertConserved(m);
    });

    it("from anyone but the renter, for an unknown lease or a closed one → NotRenter, UnknownLease, LeaseNotActive", async () => {
      const { m, leaseId } = await networkHelpers.loadFixture(readyLease);
      for (const w of [m.provider1, m.renter2, m.stranger]) {
        await viem.assertions.revertWithCustomErrorWithArgs((await as(m, w)).marketplace.write.extendLease([leaseId, 1]), m.marketplace,
          "MarketplaceNotRenter", [leaseId, getAddress(w.account.address)]);
      }
      const r = await as(m, m.renter1);
      await viem.assertions.revertWithCustomErrorWithArgs(r.marketplace.write.extendLease([99n, 1]), m.marketplace, "MarketplaceUnknownLease", [99n]);
      await r.marketplace.write.closeLease([leaseId]);
      await viem.assertions.revertWithCustomErrorWithArgs(r.marketplace.write.extendLease([leaseId, 1]), m.marketplace, "MarketplaceLeaseNotActive", [leaseId]);
    });

    it("with too few tokens → the token's ERC20InsufficientBalance, nothing moved", async () => {
      const { m, leaseId } = await networkHelpers.loadFixture(readyLease);
      const r = await as(m, m.renter1);
      const have = await m.paymentToken.read.balanceOf([m.renter1.account.address]);
      const hoursTooMany = have / (4n * USD) + 1n;
      await viem.assertions.revertWithCustomError(r.marketplace.write.extendLease([leaseId, Number(hoursTooMany)]), m.paymentToken, "ERC20InsufficientBalance");
      await assertConserved(m);
    });
  });

  describe("given the offer or the provider changed", () => {
    it("the offer withdrawn → MarketplaceOfferWithdrawn(offerId)", async () => {
      const { m, leaseId, offerId } = await networkHelpers.loadFixture(readyLease);
      await (await as(m, m.provider1)).offerBook.write.withdrawOffer([offerId]);
      await viem.assertions.revertWithCustomErrorWithArgs((await as(m, m.renter1)).marketplace.write.extendLease([leaseId, 1]),
        m.marketplace, "MarketplaceOfferWithdrawn", [offerId]);
    });

    it("a new price → MarketplaceOfferPriceChanged(offerId, lease price, new price); back at the lease's price → extended", async () => {
      const { m, leaseId, offerId, endsAt } = await networkHelpers.loadFixture(readyLease);
      const p = await as(m, m.provider1);
      const r = await as(m, m.renter1);
      await p.offerBook.write.updateOffer([offerId, 8, 2n * USD + 1n]);
      await viem.assertions.revertWithCustomErrorWithArgs(r.marketplace.write.extendLease([leaseId, 1]), m.marketplace,
        "MarketplaceOfferPriceChanged", [offerId, 2n * USD, 2n * USD + 1n]);
      await p.offerBook.write.updateOffer([offerId, 2, 2n * USD]); // a new version: fewer GPUs (the leased 2), same price
      await viem.assertions.emitWithArgs(r.marketplace.write.extendLease([leaseId, 1]), m.marketplace, "LeaseExtended",
        [leaseId, 1, endsAt + 3600n, 4n * USD]);
    });

    it("the provider in maintenance → MarketplaceProviderNotActive(provider); back to Active → extended", async () => {
      const { m, leaseId } = await networkHelpers.loadFixture(readyLease);
      const p = await as(m, m.provider1);
      const r = await as(m, m.renter1);
      await p.registry.write.setMaintenance([true]);
      await viem.assertions.revertWithCustomErrorWithArgs(r.marketplace.write.extendLease([leaseId, 1]), m.marketplace,
        "MarketplaceProviderNotActive", [getAddress(m.provider1.account.address)]);
      await p.registry.write.setMaintenance([false]);
      await viem.assertions.emit(r.marketplace.write.extendLease([leaseId, 1]), m.marketplace, "LeaseExtended");
    });
  });

  describe("given an extended lease its provider never marks ready", () => {
    it("→ the handoff-timeout close should refund the order's escrow and the extension", async () => {
      const { m, leaseId, startBlock } = await networkHelpers.loadFixture(unreadyLease);
      const r = await as(m, m.renter1);
      await r.marketplace.write.extendLease([leaseId, 2]); // 8 USD
      await networkHelpers.mineUpTo(startBlock + (await m.marketplace.read.handoffTimeout()));
      await viem.assertions.emitWithArgs(r.marketplace.write.closeLeaseForHandoffTimeout([leaseId]), m.marketplace, "LeaseClosed",
        [leaseId, CloseReason.HandoffTimeout, (await m.publicClient.getBlock()).timestamp + 1n, 68n * USD]);
      expect(await m.marketplace.read.refundableOf([token(m), m.renter1.account.address])).to.equal(68n * USD);
      expect((await m.marketplace.read.moneyTotals([token(m)])).escrowed).to.equal(0n);
      await assertConserved(m);
    });
  });
});

describe("Marketplace.closeLeaseByProvider", () => {
  describe("given the provider ends a ready lease early", () => {
    it("→ it should refund the unused part and the excess, settle the used part, free the GPUs and count a failure", async () => {
      const { m, leaseId, startedAt, versionId } = await networkHelpers.loadFixture(readyLease);
      await at(startedAt + 3_600n);
      await viem.assertions.emitWithArgs((await as(m, m.provider1)).marketplace.write.closeLeaseByProvider([leaseId]), m.marketplace,
        "LeaseClosed", [leaseId, CloseReason.ProviderClosed, startedAt + 3_600n, 36n * USD + 20n * USD]);
      expect(await m.marketplace.read.earningsOf([token(m), m.provider1.account.address])).to.equal(4n * USD);
      expect((await m.offerBook.read.getVersion([versionId])).gpusLeased).to.equal(0);
      const p = await m.registry.read.getProvider([m.provider1.account.address]);
      expect([p.leasesCompleted, p.leasesFailed]).to.deep.equal([0, 1]);
      await assertConserved(m);
    });

    it("one second before the end → closed; at the end → MarketplaceLeaseAlreadyEnded(endsAt)", async () => {
      const ok = await networkHelpers.loadFixture(readyLease);
      await at(ok.endsAt - 1n);
      await viem.assertions.emitWithArgs((await as(ok.m, ok.m.provider1)).marketplace.write.closeLeaseByProvider([ok.leaseId]), ok.m.marketplace,
        "LeaseClosed", [ok.leaseId, CloseReason.ProviderClosed, ok.endsAt - 1n, 20n * USD + 40n * USD - (4n * USD * 35_999n) / 3600n]);
      const late = await networkHelpers.loadFixture(readyLease);
      await at(late.endsAt);
      await viem.assertions.revertWithCustomErrorWithArgs((await as(late.m, late.m.provider1)).marketplace.write.closeLeaseByProvider([late.leaseId], { gas: 300_000n }),
        late.m.marketplace, "MarketplaceLeaseAlreadyEnded", [late.leaseId, late.endsAt]);
    });

    it("from the renter or a stranger, an unknown or a closed lease → NotLeaseProvider, UnknownLease, LeaseNotActive", async () => {
      const { m, leaseId } = await networkHelpers.loadFixture(readyLease);
      for (const w of [m.renter1, m.stranger, m.provider2]) {
        await viem.assertions.revertWithCustomErrorWithArgs((await as(m, w)).marketplace.write.closeLeaseByProvider([leaseId]), m.marketplace,
          "MarketplaceNotLeaseProvider", [leaseId, getAddress(w.account.address)]);
      }
      const p = await as(m, m.provider1);
      await viem.assertions.revertWithCustomErrorWithArgs(p.marketplace.write.closeLeaseByProvider([99n]), m.marketplace, "MarketplaceUnknownLease", [99n]);
      await p.marketplace.write.closeLeaseByProvider([leaseId]);
      await viem.assertions.revertWithCustomErrorWithArgs(p.marketplace.write.closeLeaseByProvider([leaseId]), m.marketplace, "MarketplaceLeaseNotActive", [leaseId]);
    });
  });

  describe("given the provider ends a lease it never marked ready", () => {
    it("→ it should refund everything the renter paid and pay the provider nothing", async () => {
      const { m, leaseId, startedAt } = await networkHelpers.loadFixture(unreadyLease);
      await at(startedAt + 3_600n);
      await viem.assertions.emitWithArgs((await as(m, m.provider1)).marketplace.write.closeLeaseByProvider([leaseId]), m.marketplace,
        "LeaseClosed", [leaseId, CloseReason.ProviderClosed, startedAt + 3_600n, 60n * USD]);
      expect(await m.marketplace.read.earningsOf([token(m), m.provider1.account.address])).to.equal(0n);
      await assertConserved(m);
    });
  });
});
