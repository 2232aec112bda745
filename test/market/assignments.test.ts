import { describe, it } from "mocha";
import { expect } from "chai";
import { network } from "hardhat";
import { getAddress, parseEventLogs } from "viem";
import {
  H100, L40S, LeaseStatus, OrderStatus, RTX4090, SkipReason, USD, Zones, apply, as, blockNumber, conservation,
  deployMarket, placeOrder, providerWithOffer, type AssignmentRow, type Market,
} from "../support/market.js";

const connection = await network.create();
const { networkHelpers, viem } = connection;
const fixture = () => deployMarket(connection);

const row = (orderId: bigint, offerVersionId: bigint, gpuCount = 2, pricePerGpuHour = 2n * USD): AssignmentRow => ({
  orderId, offerVersionId, gpuCount, pricePerGpuHour,
});

describe("Marketplace.applyAssignments", () => {
  describe("given a valid assignment from the service manager", () => {
    it("→ it should create a lease at the provider's price, keep the excess escrowed (released later), and take capacity", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const { offerId, versionId } = await providerWithOffer(m, m.provider1, { gpuCount: 8, price: 2n * USD });
      const orderId = await placeOrder(m, m.renter1, { maxPricePerGpuHour: 3n * USD, gpuCount: 2, durationHours: 10 });
      const refund = (3n - 2n) * USD * 2n * 10n;
      const tx = apply(m, [row(orderId, versionId)], 7n);
      await viem.assertions.emitWithArgs(tx, m.marketplace, "AssignmentApplied", [7n, orderId, versionId, 2n * USD, refund]);
      const block = await m.publicClient.getBlock();
      expect((await m.marketplace.read.getOrder([orderId])).status).to.equal(OrderStatus.Matched);
      const lease = await m.marketplace.read.getLease([orderId]);
      expect(lease).to.deep.equal({
        leaseId: orderId, offerVersionId: versionId, offerId, provider: getAddress(m.provider1.account.address),
        renter: getAddress(m.renter1.account.address), paymentToken: getAddress(m.paymentToken.address), gpuCount: 2,
        pricePerGpuHour: 2n * USD, startedAt: block.timestamp, endsAt: block.timestamp + 36_000n, closedAt: 0n, paidOut: 0n,
        status: LeaseStatus.Active, closeReason: 0, startBlock: block.number, readyAt: 0n,
      });
      // Applying writes no renter balance (docs/contracts.md): the excess is refunded by releaseExcessEscrow or at close.
      expect(await m.marketplace.read.refundableOf([m.paymentToken.address, m.renter1.account.address])).to.equal(0n);
      expect((await m.offerBook.read.getVersion([versionId])).gpusLeased).to.equal(2);
      const k = await conservation(m);
      expect(k.totals.escrowed).to.equal(3n * USD * 2n * 10n);
      expect(k.identityHolds && k.balanceHolds).to.equal(true);
    });

    it("→ it should skip the second assignment of the same order in one batch as OrderNotOpen", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const { versionId } = await providerWithOffer(m, m.provider1);
      const orderId = await placeOrder(m, m.renter1);
      const tx = apply(m, [row(orderId, versionId), row(orderId, versionId)]);
      await viem.assertions.emitWithArgs(tx, m.marketplace, "AssignmentSkipped", [1n, orderId, SkipReason.OrderNotOpen]);
      expect((await m.offerBook.read.getVersion([versionId])).gpusLeased).to.equal(2);
    });
  });

  describe("given an assignment that breaks a hard rule", () => {
    type SkipCase = [keyof typeof SkipReason, (m: Market) => Promise<{ rows: AssignmentRow[]; rb?: bigint; skipped: bigint }>];
    const cases: SkipCase[] = [
      ["UnknownOrder", async (m) => {
        const { versionId } = await providerWithOffer(m, m.provider1);
        return { rows: [row(99n, versionId)], skipped: 99n };
      }],
      ["OrderNotOpen", async (m) => {
        const { versionId } = await providerWithOffer(m, m.provider1);
        const id = await placeOrder(m, m.renter1);
        await (await as(m, m.renter1)).marketplace.write.cancelOrder([id]);
        return { rows: [row(id, versionId)], skipped: id };
      }],
      ["OrderCreatedAfterReference", async (m) => {
        const { versionId } = await providerWithOffer(m, m.provider1);
        const rb = await blockNumber(m);
        const id = await placeOrder(m, m.renter1);
        return { rows: [row(id, versionId)], rb, skipped: id };
      }],
      ["OrderExpired", async (m) => {
        const { versionId } = await providerWithOffer(m, m.provider1);
        const id = await placeOrder(m, m.renter1, { expiresAt: (await blockNumber(m)) + 3n });
        await networkHelpers.mine(2);
        return { rows: [row(id, versionId)], skipped: id };
      }],
      ["GpuCountMismatch", async (m) => {
        const { versionId } = await providerWithOffer(m, m.provider1);
        const id = await placeOrder(m, m.renter1, { gpuCount: 2 });
        return { rows: [row(id, versionId, 3)], skipped: id };
      }],
      ["PriceAboveMax", async (m) => {
        const { versionId } = await providerWithOffer(m, m.provider1, { price: 4n * USD });
        const id = await placeOrder(m, m.renter1, { maxPricePerGpuHour: 3n * USD });
        return { rows: [row(id, versionId, 2, 4n * USD)], skipped: id };
      }],
      ["UnknownOfferVersion", async (m) => {
        const id = await placeOrder(m, m.renter1);
        return { rows: [row(id, 77n)], skipped: id };
      }],
      ["OfferVersionNotActive", async (m) => {
        const { offerId, versionId } = await providerWithOffer(m, m.provider1);
        await (await as(m, m.provider1)).offerBook.write.updateOffer([offerId, 8, 2n * USD]);
        const id = await placeOrder(m, m.renter1);
        return { rows: [row(id, versionId)], skipped: id }; // v1 was replaced before R_b
      }],
      ["PriceMismatch", async (m) => {
        const { versionId } = await providerWithOffer(m, m.provider1, { price: 2n * USD });
        const id = await placeOrder(m, m.renter1);
        return { rows: [row(id, versionId, 2, USD)], skipped: id };
      }],
      ["PaymentTokenMismatch", async (m) => {
        const other = await m.viem.deployContract("PaymentToken", [m.owner.account.address]);
        await m.marketplace.write.setPaymentTokenAllowed([other.address, true]);
        const c = await as(m, m.provider1);
        await c.registry.write.register([Zones.usEast1, 1_000n * 10n ** 18n]);
        await c.offerBook.write.createOffer([H100, 8, 2n * USD, other.address]);
        const id = await placeOrder(m, m.renter1);
        return { rows: [row(id, 1n)], skipped: id };
      }],
      ["ModelMismatch", async (m) => {
        const { versionId } = await providerWithOffer(m, m.provider1, { modelId: H100 });
        const id = await placeOrder(m, m.renter1, { modelId: RTX4090 });
        return { rows: [row(id, versionId)], skipped: id };
      }],
      ["TierTooLow", async (m) => {
        const { versionId } = await providerWithOffer(m, m.provider1, { modelId: L40S });
        const id = await placeOrder(m, m.renter1, { modelId: 0, minTier: 4 });
        return { rows: [row(id, versionId)], skipped: id };
      }],
      ["InsufficientCapacity", async (m) => {
        const { versionId } = await providerWithOffer(m, m.provider1, { gpuCount: 3 });
        const a = await placeOrder(m, m.renter1);
        const b = await placeOrder(m, m.renter2);
        return { rows: [row(a, versionId), row(b, versionId)], skipped: b };
      }],
      ["OfferWithdrawn", async (m) => {
        const { offerId, versionId } = await providerWithOffer(m, m.provider1);
        const id = await placeOrder(m, m.renter1);
        const rb = await blockNumber(m);
        await (await as(m, m.provider1)).offerBook.write.withdrawOffer([offerId]); // after R_b: the version at R_b was active
        return { rows: [row(id, versionId)], rb, skipped: id };
      }],
      ["OfferCapacityReduced", async (m) => {
        const { offerId, versionId } = await providerWithOffer(m, m.provider1, { gpuCount: 8 });
        const id = await placeOrder(m, m.renter1, { gpuCount: 8 });
        const rb = await blockNumber(m);
        await (await as(m, m.provider1)).offerBook.write.updateOffer([offerId, 7, 2n * USD]); // one below what R_b offered
        return { rows: [row(id, versionId, 8)], rb, skipped: id };
      }],
      ["ProviderNotActive", async (m) => {
        const { versionId } = await providerWithOffer(m, m.provider1);
        await (await as(m, m.provider1)).registry.write.setMaintenance([true]);
        const id = await placeOrder(m, m.renter1);
        return { rows: [row(id, versionId)], skipped: id };
      }],
      ["RegionNotAllowed", async (m) => {
        const { versionId } = await providerWithOffer(m, m.provider1, { zone: Zones.usEast1 });
        const id = await placeOrder(m, m.renter1, { regionMask: 1n << 2n });
        return { rows: [row(id, versionId)], skipped: id };
      }],
      ["UptimeTooLow", async (m) => {
        const { versionId } = await providerWithOffer(m, m.provider1);
        await (await as(m, m.sm)).registry.write.setUptime([m.provider1.account.address, 8_999]);
        const id = await placeOrder(m, m.renter1, { minUptimeBps: 9_000 });
        return { rows: [row(id, versionId)], skipped: id };
      }],
      ["ReputationTooLow", async (m) => {
        const { versionId } = await providerWithOffer(m, m.provider1);
        const id = await placeOrder(m, m.renter1, { minReputationBps: 5_001 });
        return { rows: [row(id, versionId)], skipped: id };
      }],
      ["TooManySlashes", async (m) => {
        const { versionId } = await providerWithOffer(m, m.provider1);
        await (await as(m, m.sm)).registry.write.slash([m.provider1.account.address, 0n, m.owner.account.address, false]);
        const id = await placeOrder(m, m.renter1, { maxTimesSlashed: 0 });
        return { rows: [row(id, versionId)], skipped: id };
      }],
    ];
    /** Skips a change after R_b explains (docs/protocol.md §5): no fault. Every other case was wrong at R_b. */
    const explainedAfterReference = new Set<keyof typeof SkipReason>(["OrderNotOpen", "OfferWithdrawn", "OfferCapacityReduced"]);
    for (const [reason, setup] of cases) {
      const fault = !explainedAfterReference.has(reason);
      it(`→ it should skip it with AssignmentSkipped(${reason}), apply nothing, not revert the batch, and ${fault ? "report it as wrong at R_b" : "report no fault"}`, async () => {
        const m = await networkHelpers.loadFixture(fixture);
        const { rows, rb, skipped } = await setup(m);
        const ref = rb ?? (await blockNumber(m));
        const { result } = await m.marketplace.simulate.applyAssignments([3n, ref, rows], { account: m.sm.account.address, blockTag: "pending" });
        expect(result).to.deep.equal(fault ? [true, skipped, SkipReason[reason]] : [false, 0n, 0]);
        const totalsBefore = await m.marketplace.read.moneyTotals([m.paymentToken.address]);
        const statusBefore = skipped <= (await m.marketplace.read.orderCount()) ? (await m.marketplace.read.getOrder([skipped])).status : 0;
        const hash = await apply(m, rows, 3n, rb);
        const receipt = await m.publicClient.waitForTransactionReceipt({ hash });
        const logs = parseEventLogs({ abi: m.marketplace.abi, logs: receipt.logs });
        const skips = logs.filter((l) => l.eventName === "AssignmentSkipped").map((l) => l.args);
        expect(skips).to.deep.equal([{ batch: 3n, orderId: skipped, reason: SkipReason[reason] }]);
        if (statusBefore !== 0) expect((await m.marketplace.read.getOrder([skipped])).status).to.equal(statusBefore);
        const applied = logs.filter((l) => l.eventName === "AssignmentApplied").length;
        expect(applied).to.equal(rows.length - 1);
        if (applied === 0) expect(await m.marketplace.read.moneyTotals([m.paymentToken.address])).to.deep.equal(totalsBefore);
        expect((await conservation(m)).identityHolds).to.equal(true);
      });
    }
  });

  describe("given a skip at the boundary between wrong at R_b and changed after it (docs/protocol.md §5)", () => {
    const simulate = async (m: Market, rows: AssignmentRow[], rb: bigint) =>
      (await m.marketplace.simulate.applyAssignments([3n, rb, rows], { account: m.sm.account.address, blockTag: "pending" })).result;

    for (const [offset, fault] of [[-1n, true], [0n, true], [1n, false]] as const) {
      it(`an order expiring at R_b ${offset < 0n ? "− 1" : offset > 0n ? "+ 1" : ""} and skipped as expired → it should ${fault ? "" : "not "}be a fault`, async () => {
        const m = await networkHelpers.loadFixture(fixture);
        const { versionId } = await providerWithOffer(m, m.provider1);
        const id = await placeOrder(m, m.renter1, { expiresAt: (await blockNumber(m)) + 5n });
        const expiresAt = (await m.marketplace.read.getOrder([id])).params.expiresAt;
        await networkHelpers.mine(Number(expiresAt - (await blockNumber(m))) + 2);
        expect(await simulate(m, [row(id, versionId)], expiresAt - offset)).to.deep.equal(
          fault ? [true, id, SkipReason.OrderExpired] : [false, 0n, 0]);
      });
    }

    for (const [offset, fault] of [[-1n, true], [0n, true], [1n, false]] as const) {
      it(`a provider that went into maintenance at R_b ${offset < 0n ? "− 1" : offset > 0n ? "+ 1" : ""} → it should ${fault ? "" : "not "}be a fault`, async () => {
        const m = await networkHelpers.loadFixture(fixture);
        const { versionId } = await providerWithOffer(m, m.provider1);
        const id = await placeOrder(m, m.renter1);
        await (await as(m, m.provider1)).registry.write.setMaintenance([true]);
        const changedAt = BigInt(await m.registry.read.profileChangedAt([m.provider1.account.address]));
        expect(changedAt).to.equal(await blockNumber(m));
        await networkHelpers.mine(2);
        expect(await simulate(m, [row(id, versionId)], changedAt - offset)).to.deep.equal(
          fault ? [true, id, SkipReason.ProviderNotActive] : [false, 0n, 0]);
      });
    }

    it("a provider whose reputation fell after R_b → it should skip without a fault, and report the first fault of a page", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const { versionId } = await providerWithOffer(m, m.provider1);
      const id = await placeOrder(m, m.renter1, { minReputationBps: 5_000 });
      const rb = await blockNumber(m);
      await (await as(m, m.sm)).registry.write.recordLeaseOutcome([m.provider1.account.address, false]);
      expect(await simulate(m, [row(id, versionId)], rb)).to.deep.equal([false, 0n, 0]);
      expect(await simulate(m, [row(id, versionId), row(98n, versionId), row(99n, versionId)], rb)).to.deep.equal(
        [true, 98n, SkipReason.UnknownOrder]);
    });
  });

  describe("given an offer cut after R_b to exactly what the assignment takes", () => {
    it("→ it should apply it against the cut offer and leave no capacity over", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const { offerId, versionId } = await providerWithOffer(m, m.provider1, { gpuCount: 8 });
      const id = await placeOrder(m, m.renter1, { gpuCount: 6 });
      const rb = await blockNumber(m);
      await (await as(m, m.provider1)).offerBook.write.updateOffer([offerId, 6, 2n * USD]);
      await viem.assertions.emit(apply(m, [row(id, versionId, 6)], 3n, rb), m.marketplace, "AssignmentApplied");
      expect((await m.offerBook.read.leaseTerms([versionId])).offerGpuCount).to.equal(6);
      expect((await m.offerBook.read.getVersion([versionId])).gpusLeased).to.equal(6);
    });
  });

  describe("given a tier order and a region-masked order that fit", () => {
    it("→ it should apply a higher-tier model and a provider in an allowed region", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const { versionId } = await providerWithOffer(m, m.provider1, { modelId: H100, zone: Zones.euCentral2 });
      const a = await placeOrder(m, m.renter1, { modelId: 0, minTier: 3, regionMask: (1n << 2n) | 1n, minReputationBps: 5_000, minUptimeBps: 10_000 });
      await viem.assertions.emit(apply(m, [row(a, versionId)]), m.marketplace, "AssignmentApplied");
      expect((await m.marketplace.read.getOrder([a])).status).to.equal(OrderStatus.Matched);
    });
  });

  describe("given a bad caller or reference block", () => {
    it("→ it should revert for anyone but the service manager and for R_b ≥ the current block", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const s = await as(m, m.stranger);
      await viem.assertions.revertWithCustomError(s.marketplace.write.applyAssignments([1n, 1n, []]), m.marketplace, "MarketplaceNotServiceManager");
      const sm = await as(m, m.sm);
      const next = (await blockNumber(m)) + 1n;
      await viem.assertions.revertWithCustomError(sm.marketplace.write.applyAssignments([1n, next, []]), m.marketplace, "MarketplaceInvalidReferenceBlock");
    });
    it("→ it should let the owner set the service manager only once", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      await viem.assertions.revertWithCustomError(m.marketplace.write.setServiceManager([m.stranger.account.address]), m.marketplace, "MarketplaceServiceManagerAlreadySet");
      const s = await as(m, m.stranger);
      await viem.assertions.revertWithCustomError(s.marketplace.write.setServiceManager([m.stranger.account.address]), m.marketplace, "OwnableUnauthorizedAccount");
      await viem.assertions.revertWithCustomError(s.marketplace.write.setPaymentTokenAllowed([m.stranger.account.address, true]), m.marketplace, "OwnableUnauthorizedAccount");
    });
  });
});
