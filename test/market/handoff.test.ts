import { describe, it } from "mocha";
import { expect } from "chai";
import { network } from "hardhat";
import { getAddress, parseEventLogs, toHex } from "viem";
import {
  CloseReason, LeaseStatus, USD, apply, as, conservation, deployMarket, placeOrder, providerWithOffer, type Market,
} from "../support/market.js";

const connection = await network.create();
const { networkHelpers, viem } = connection;

const TIMEOUT = 20n; // the marketplace's DEFAULT_HANDOFF_TIMEOUT
/** Everything the renter paid for the fixture's lease: its order's escrow, max 3 USD × 2 GPUs × 10 h. */
const PAID = 60n * USD;

/** One lease the provider has not marked ready: 2 GPUs × 10 h at 2 USD (renter's max 3 USD). */
async function leaseFixture() {
  const m = await deployMarket(connection);
  const { offerId, versionId } = await providerWithOffer(m, m.provider1, { gpuCount: 8, price: 2n * USD });
  const leaseId = await placeOrder(m, m.renter1, { maxPricePerGpuHour: 3n * USD, gpuCount: 2, durationHours: 10 });
  await apply(m, [{ orderId: leaseId, offerVersionId: versionId, gpuCount: 2, pricePerGpuHour: 2n * USD }]);
  const lease = await m.marketplace.read.getLease([leaseId]);
  return { m, offerId, versionId, leaseId, startedAt: lease.startedAt, startBlock: lease.startBlock };
}

/** Two such leases of two renters on one offer (sealed-access bounds need one lease per accepted call). */
async function twoLeasesFixture() {
  const f = await leaseFixture();
  const second = await placeOrder(f.m, f.m.renter2, { maxPricePerGpuHour: 3n * USD, gpuCount: 2, durationHours: 10 });
  await apply(f.m, [{ orderId: second, offerVersionId: f.versionId, gpuCount: 2, pricePerGpuHour: 2n * USD }], 2n);
  return { ...f, second };
}

const token = (m: Market) => m.paymentToken.address;
const MINED = { gas: 300_000n };
const bytes = (n: number) => toHex(new Uint8Array(n).fill(0xab));
/**
 * Mines so that the next transaction lands in block `b`. A call expected to revert at a block boundary is sent with
 * a fixed gas limit (`MINED`): it is then mined in `b` and reverts there, instead of being refused at estimation.
 */
async function nextTxIn(b: bigint) {
  const head = await (await viem.getPublicClient()).getBlockNumber();
  if (head > b - 1n) throw new Error(`block ${b} is past (head ${head})`);
  if (head < b - 1n) await networkHelpers.mineUpTo(b - 1n);
}

async function assertConserved(m: Market) {
  const k = await conservation(m);
  expect(k.identityHolds, JSON.stringify(k.totals, (_, v) => (typeof v === "bigint" ? v.toString() : v))).to.equal(true);
  expect(k.balanceHolds).to.equal(true);
}

describe("Marketplace lease handoff", () => {
  describe("given a new lease", () => {
    it("→ it should record its start block, not be ready, and use the default handoff timeout of 20 blocks", async () => {
      const { m, leaseId, startBlock } = await networkHelpers.loadFixture(leaseFixture);
      const applied = await m.publicClient.getBlockNumber();
      expect(startBlock).to.equal(applied);
      expect((await m.marketplace.read.getLease([leaseId])).readyAt).to.equal(0n);
      expect(await m.marketplace.read.handoffTimeout()).to.equal(TIMEOUT);
    });
  });

  describe("given the provider marks the lease ready", () => {
    it("→ it should record readyAt = the block, emit LeaseReady with the sealed bytes, and refuse a second time", async () => {
      const { m, leaseId } = await networkHelpers.loadFixture(leaseFixture);
      const p = await as(m, m.provider1);
      const sealed = bytes(77);
      await viem.assertions.emitWithArgs(p.marketplace.write.markLeaseReady([leaseId, sealed]), m.marketplace, "LeaseReady",
        [leaseId, getAddress(m.provider1.account.address), sealed]);
      const block = await m.publicClient.getBlockNumber();
      expect((await m.marketplace.read.getLease([leaseId])).readyAt).to.equal(block);
      await viem.assertions.revertWithCustomErrorWithArgs(p.marketplace.write.markLeaseReady([leaseId, sealed]), m.marketplace,
        "MarketplaceLeaseAlreadyReady", [leaseId]);
    });

    it("→ it should refuse the renter, a stranger, an unknown lease and a closed lease", async () => {
      const { m, leaseId } = await networkHelpers.loadFixture(leaseFixture);
      for (const w of [m.renter1, m.stranger, m.provider2]) {
        await viem.assertions.revertWithCustomErrorWithArgs((await as(m, w)).marketplace.write.markLeaseReady([leaseId, "0x01"]),
          m.marketplace, "MarketplaceNotLeaseProvider", [leaseId, getAddress(w.account.address)]);
      }
      const p = await as(m, m.provider1);
      await viem.assertions.revertWithCustomErrorWithArgs(p.marketplace.write.markLeaseReady([99n, "0x01"]), m.marketplace,
        "MarketplaceUnknownLease", [99n]);
      await (await as(m, m.renter1)).marketplace.write.closeLease([leaseId]);
      await viem.assertions.revertWithCustomErrorWithArgs(p.marketplace.write.markLeaseReady([leaseId, "0x01"]), m.marketplace,
        "MarketplaceLeaseNotActive", [leaseId]);
    });

    it("→ it should take sealed access of 1 and of 1024 bytes and refuse 0 and 1025", async () => {
      const { m, leaseId, second } = await networkHelpers.loadFixture(twoLeasesFixture);
      const p = await as(m, m.provider1);
      await viem.assertions.revertWithCustomErrorWithArgs(p.marketplace.write.markLeaseReady([leaseId, "0x"]), m.marketplace,
        "MarketplaceInvalidSealedAccess", [0n]);
      await viem.assertions.revertWithCustomErrorWithArgs(p.marketplace.write.markLeaseReady([leaseId, bytes(1025)]), m.marketplace,
        "MarketplaceInvalidSealedAccess", [1025n]);
      await viem.assertions.emitWithArgs(p.marketplace.write.markLeaseReady([leaseId, bytes(1024)]), m.marketplace, "LeaseReady",
        [leaseId, getAddress(m.provider1.account.address), bytes(1024)]);
      await viem.assertions.emitWithArgs(p.marketplace.write.markLeaseReady([second, "0x07"]), m.marketplace, "LeaseReady",
        [second, getAddress(m.provider1.account.address), "0x07"]);
    });
  });

  describe("given a lease that is not ready yet", () => {
    it("→ it should settle nothing and show no unsettled earnings; once ready, the earnings from the start settle", async () => {
      const { m, leaseId, startedAt } = await networkHelpers.loadFixture(leaseFixture);
      await networkHelpers.time.increaseTo(startedAt + 3_600n);
      expect(await m.marketplace.read.unsettledEarnings([leaseId])).to.equal(0n);
      const hash = await (await as(m, m.stranger)).marketplace.write.settleLease([leaseId]);
      const { logs } = await m.publicClient.getTransactionReceipt({ hash });
      expect(parseEventLogs({ abi: m.marketplace.abi, logs, eventName: "EarningsSettled" })).to.have.length(0);
      expect((await m.marketplace.read.getLease([leaseId])).paidOut).to.equal(0n);
      await (await as(m, m.provider1)).marketplace.write.markLeaseReady([leaseId, "0x01"]);
      await networkHelpers.time.setNextBlockTimestamp(startedAt + 7_200n);
      await viem.assertions.emitWithArgs((await as(m, m.stranger)).marketplace.write.settleLease([leaseId]), m.marketplace,
        "EarningsSettled", [leaseId, getAddress(m.provider1.account.address), 8n * USD]);
      await assertConserved(m);
    });

    it("the renter closes it early → everything it paid is refunded, the provider earns nothing and no failure is counted", async () => {
      const { m, leaseId, startedAt } = await networkHelpers.loadFixture(leaseFixture);
      await networkHelpers.time.setNextBlockTimestamp(startedAt + 600n);
      await viem.assertions.emitWithArgs((await as(m, m.renter1)).marketplace.write.closeLease([leaseId]), m.marketplace,
        "LeaseClosed", [leaseId, CloseReason.RenterClosed, startedAt + 600n, PAID]);
      expect(await m.marketplace.read.earningsOf([token(m), m.provider1.account.address])).to.equal(0n);
      const p = await m.registry.read.getProvider([m.provider1.account.address]);
      expect([p.leasesCompleted, p.leasesFailed]).to.deep.equal([0, 0]);
      await assertConserved(m);
    });

    it("it reaches its end → completeLease closes it as HandoffTimeout with everything refunded and a failure counted", async () => {
      const { m, leaseId, startedAt } = await networkHelpers.loadFixture(leaseFixture);
      await networkHelpers.time.increaseTo(startedAt + 40_000n);
      await viem.assertions.emitWithArgs((await as(m, m.stranger)).marketplace.write.completeLease([leaseId]), m.marketplace,
        "LeaseClosed", [leaseId, CloseReason.HandoffTimeout, startedAt + 36_000n, PAID]);
      expect(await m.marketplace.read.earningsOf([token(m), m.provider1.account.address])).to.equal(0n);
      const p = await m.registry.read.getProvider([m.provider1.account.address]);
      expect([p.leasesCompleted, p.leasesFailed]).to.deep.equal([0, 1]);
      await assertConserved(m);
    });
  });

  describe("given the renter closes for a handoff timeout", () => {
    it("at startBlock + timeout and one block before → it should refuse with MarketplaceHandoffNotTimedOut(allowedFrom)", async () => {
      const { m, leaseId, startBlock } = await networkHelpers.loadFixture(leaseFixture);
      const r = await as(m, m.renter1);
      for (const b of [startBlock + TIMEOUT - 1n, startBlock + TIMEOUT]) {
        await nextTxIn(b);
        await viem.assertions.revertWithCustomErrorWithArgs(r.marketplace.write.closeLeaseForHandoffTimeout([leaseId], MINED),
          m.marketplace, "MarketplaceHandoffNotTimedOut", [leaseId, startBlock + TIMEOUT + 1n]);
        expect(await m.publicClient.getBlockNumber()).to.equal(b); // it reverted in block b
      }
    });

    it("one block after the timeout → it should refund everything paid (unsettled earnings included), pay the provider nothing, free the GPUs and count a failure", async () => {
      const { m, leaseId, startBlock, startedAt, versionId } = await networkHelpers.loadFixture(leaseFixture);
      await networkHelpers.time.increaseTo(startedAt + 5_000n); // earnings would have accrued by now
      await nextTxIn(startBlock + TIMEOUT + 1n);
      const r = await as(m, m.renter1);
      const tx = r.marketplace.write.closeLeaseForHandoffTimeout([leaseId]);
      await viem.assertions.emit(tx, m.marketplace, "LeaseClosed");
      const receipt = await m.publicClient.getTransactionReceipt({ hash: await tx });
      expect(receipt.blockNumber).to.equal(startBlock + TIMEOUT + 1n);
      const lease = await m.marketplace.read.getLease([leaseId]);
      expect(lease).to.deep.include({ status: LeaseStatus.Closed, closeReason: CloseReason.HandoffTimeout, paidOut: 0n, readyAt: 0n });
      expect(await m.marketplace.read.refundableOf([token(m), m.renter1.account.address])).to.equal(PAID);
      expect(await m.marketplace.read.earningsOf([token(m), m.provider1.account.address])).to.equal(0n);
      expect((await m.offerBook.read.getVersion([versionId])).gpusLeased).to.equal(0);
      const p = await m.registry.read.getProvider([m.provider1.account.address]);
      expect([p.leasesCompleted, p.leasesFailed]).to.deep.equal([0, 1]);
      expect((await m.marketplace.read.moneyTotals([token(m)])).escrowed).to.equal(0n);
      await assertConserved(m);
    });

    it("→ it should emit LeaseClosed(HandoffTimeout, refund = everything paid) and refuse a second close", async () => {
      const { m, leaseId, startBlock, startedAt } = await networkHelpers.loadFixture(leaseFixture);
      await nextTxIn(startBlock + TIMEOUT + 1n);
      await networkHelpers.time.setNextBlockTimestamp(startedAt + 900n);
      const r = await as(m, m.renter1);
      await viem.assertions.emitWithArgs(r.marketplace.write.closeLeaseForHandoffTimeout([leaseId]), m.marketplace, "LeaseClosed",
        [leaseId, CloseReason.HandoffTimeout, startedAt + 900n, PAID]);
      await viem.assertions.revertWithCustomErrorWithArgs(r.marketplace.write.closeLeaseForHandoffTimeout([leaseId]), m.marketplace,
        "MarketplaceLeaseNotActive", [leaseId]);
    });

    it("after the provider marked it ready (even late) → it should refuse with MarketplaceLeaseAlreadyReady", async () => {
      const { m, leaseId, startBlock } = await networkHelpers.loadFixture(leaseFixture);
      await nextTxIn(startBlock + TIMEOUT + 5n);
      await (await as(m, m.provider1)).marketplace.write.markLeaseReady([leaseId, "0x01"]);
      await viem.assertions.revertWithCustomErrorWithArgs((await as(m, m.renter1)).marketplace.write.closeLeaseForHandoffTimeout([leaseId]),
        m.marketplace, "MarketplaceLeaseAlreadyReady", [leaseId]);
    });

    it("from anyone but the renter → it should refuse with MarketplaceNotRenter; an unknown lease with MarketplaceUnknownLease", async () => {
      const { m, leaseId, startBlock } = await networkHelpers.loadFixture(leaseFixture);
      await nextTxIn(startBlock + TIMEOUT + 1n);
      for (const w of [m.provider1, m.stranger, m.renter2]) {
        await viem.assertions.revertWithCustomErrorWithArgs((await as(m, w)).marketplace.write.closeLeaseForHandoffTimeout([leaseId]),
          m.marketplace, "MarketplaceNotRenter", [leaseId, getAddress(w.account.address)]);
      }
      await viem.assertions.revertWithCustomErrorWithArgs((await as(m, m.renter1)).marketplace.write.closeLeaseForHandoffTimeout([99n]),
        m.marketplace, "MarketplaceUnknownLease", [99n]);
    });

    it("after the owner lowered the timeout to 2 → it should allow the close from startBlock + 3", async () => {
      const { m, leaseId, startBlock } = await networkHelpers.loadFixture(leaseFixture);
      await m.marketplace.write.setHandoffTimeout([2n]);
      const r = await as(m, m.renter1);
      await nextTxIn(startBlock + 2n);
      await viem.assertions.revertWithCustomErrorWithArgs(r.marketplace.write.closeLeaseForHandoffTimeout([leaseId], MINED),
        m.marketplace, "MarketplaceHandoffNotTimedOut", [leaseId, startBlock + 3n]);
      expect(await m.publicClient.getBlockNumber()).to.equal(startBlock + 2n);
      await nextTxIn(startBlock + 3n);
      await viem.assertions.emit(r.marketplace.write.closeLeaseForHandoffTimeout([leaseId]), m.marketplace, "LeaseClosed");
    });
  });

  describe("given the owner sets the handoff timeout", () => {
    it("→ it should take 2 and 7200 (emitting HandoffTimeoutSet) and refuse 1 and 7201", async () => {
      const { m } = await networkHelpers.loadFixture(leaseFixture);
      for (const bad of [1n, 7_201n, 0n]) {
        await viem.assertions.revertWithCustomErrorWithArgs(m.marketplace.write.setHandoffTimeout([bad]), m.marketplace,
          "MarketplaceInvalidHandoffTimeout", [bad]);
      }
      for (const good of [2n, 7_200n]) {
        await viem.assertions.emitWithArgs(m.marketplace.write.setHandoffTimeout([good]), m.marketplace, "HandoffTimeoutSet", [good]);
        expect(await m.marketplace.read.handoffTimeout()).to.equal(good);
      }
    });

    it("from anyone but the owner → it should refuse with OwnableUnauthorizedAccount", async () => {
      const { m } = await networkHelpers.loadFixture(leaseFixture);
      await viem.assertions.revertWithCustomError((await as(m, m.renter1)).marketplace.write.setHandoffTimeout([30n]), m.marketplace,
        "OwnableUnauthorizedAccount");
      expect(await m.marketplace.read.handoffTimeout()).to.equal(TIMEOUT);
    });
  });

  describe("given a renter naming an access key (setAccessKey)", () => {
    const key = (prefix: number, n = 33) => toHex(Uint8Array.from({ length: n }, (_, i) => (i === 0 ? prefix : 0x11)));

    it("→ it should store a 33-byte compressed key (0x02 or 0x03), emit AccessKeySet, and clear it with empty bytes", async () => {
      const m = await deployMarket(connection);
      const r = await as(m, m.renter1);
      for (const k of [key(0x02), key(0x03)]) {
        await viem.assertions.emitWithArgs(r.marketplace.write.setAccessKey([k]), m.marketplace, "AccessKeySet", [getAddress(m.renter1.account.address), k]);
        expect(await m.marketplace.read.accessKeyOf([m.renter1.account.address])).to.equal(k);
      }
      // One renter's key is not another's.
      expect(await m.marketplace.read.accessKeyOf([m.renter2.account.address])).to.equal("0x");
      await viem.assertions.emitWithArgs(r.marketplace.write.setAccessKey(["0x"]), m.marketplace, "AccessKeySet", [getAddress(m.renter1.account.address), "0x"]);
      expect(await m.marketplace.read.accessKeyOf([m.renter1.account.address])).to.equal("0x");
    });

    it("→ it should refuse 32 and 34 bytes, a 65-byte uncompressed key, and prefixes 0x00, 0x01, 0x04 (MarketplaceInvalidAccessKey)", async () => {
      const m = await deployMarket(connection);
      const r = await as(m, m.renter1);
      for (const [k, n] of [[key(0x02, 32), 32n], [key(0x02, 34), 34n], [key(0x04, 65), 65n], [key(0x00), 33n], [key(0x01), 33n], [key(0x04), 33n], ["0x02", 1n]] as const) {
        await viem.assertions.revertWithCustomErrorWithArgs(r.marketplace.write.setAccessKey([k]), m.marketplace, "MarketplaceInvalidAccessKey", [n]);
      }
      expect(await m.marketplace.read.accessKeyOf([m.renter1.account.address])).to.equal("0x");
    });
  });
});
