import { describe, it } from "mocha";
import { expect } from "chai";
import { network } from "hardhat";
import { getAddress } from "viem";
import {
  H100, MAX_ORDER_LIFETIME, OrderStatus, USD, Zones, apply, as, blockNumber, conservation, defaultOrder, deployMarket,
  placeOrder, providerWithOffer,
} from "../support/market.js";

const connection = await network.create();
const { networkHelpers, viem } = connection;
const fixture = () => deployMarket(connection);

describe("Marketplace orders", () => {
  describe("given a renter creates a valid order", () => {
    it("→ it should escrow maxPrice × count × hours, store every field, and emit OrderCreated", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const c = await as(m, m.renter1);
      const params = await defaultOrder(m, { regionMask: 0b101n, preferredZone: Zones.euCentral2, minUptimeBps: 9_000, minReputationBps: 4_000 });
      const escrow = params.maxPricePerGpuHour * BigInt(params.gpuCount) * BigInt(params.durationHours);
      const before = await m.paymentToken.read.balanceOf([m.renter1.account.address]);
      await viem.assertions.emitWithArgs(c.marketplace.write.createOrder([params]), m.marketplace, "OrderCreated",
        [1n, getAddress(m.renter1.account.address), getAddress(m.paymentToken.address), escrow]);
      expect(await m.paymentToken.read.balanceOf([m.renter1.account.address])).to.equal(before - escrow);
      const order = await m.marketplace.read.getOrder([1n]);
      expect(order).to.deep.equal({ orderId: 1n, renter: getAddress(m.renter1.account.address), createdAt: await blockNumber(m), status: OrderStatus.Open, params });
      const t = await m.marketplace.read.moneyTotals([m.paymentToken.address]);
      expect(t).to.deep.equal({ deposited: escrow, escrowed: escrow, earned: 0n, refundable: 0n, withdrawn: 0n });
    });
  });

  describe("given invalid order parameters", () => {
    const cases: Array<[string, (b: bigint) => Record<string, unknown>]> = [
      ["modelId", () => ({ modelId: 999 })],
      ["gpuCount", () => ({ gpuCount: 0 })],
      ["maxPricePerGpuHour", () => ({ maxPricePerGpuHour: 0n })],
      ["durationHours", () => ({ durationHours: 0 })],
      ["minUptimeBps", () => ({ minUptimeBps: 10_001 })],
      ["minReputationBps", () => ({ minReputationBps: 10_001 })],
      ["preferredZone (region outside the mask)", () => ({ regionMask: 0b1n, preferredZone: Zones.euCentral2 })],
      ["preferredZone (local zone 0)", () => ({ preferredZone: 0x0200 })],
      ["expiresAt (not in the future)", (b) => ({ expiresAt: b + 1n })],
      ["expiresAt (beyond maxOrderLifetime)", (b) => ({ expiresAt: b + 2n + MAX_ORDER_LIFETIME })],
    ];
    for (const [name, over] of cases) {
      it(`→ it should refuse ${name} with MarketplaceInvalidOrder`, async () => {
        const m = await networkHelpers.loadFixture(fixture);
        const c = await as(m, m.renter1);
        const params = await defaultOrder(m, over(await blockNumber(m)));
        await viem.assertions.revertWithCustomError(c.marketplace.write.createOrder([params]), m.marketplace, "MarketplaceInvalidOrder");
      });
    }
    it("→ it should refuse a payment token that is not allow-listed", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const c = await as(m, m.renter1);
      const params = await defaultOrder(m, { paymentToken: m.stakeToken.address });
      await viem.assertions.revertWithCustomError(c.marketplace.write.createOrder([params]), m.marketplace, "MarketplacePaymentTokenNotAllowed");
    });
    it("→ it should accept expiresAt exactly maxOrderLifetime blocks ahead and a model-less tier order", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const c = await as(m, m.renter1);
      const params = await defaultOrder(m, { modelId: 0, minTier: 4, expiresAt: (await blockNumber(m)) + 1n + MAX_ORDER_LIFETIME });
      await c.marketplace.write.createOrder([params]);
      expect((await m.marketplace.read.getOrder([1n])).params.minTier).to.equal(4);
    });
  });

  describe("given a minimum escrow for the payment token", () => {
    it("→ it should accept an order whose escrow is exactly the minimum and refuse one a unit below it", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const c = await as(m, m.renter1);
      const token = m.paymentToken.address;
      // 1 GPU × 1 h at 5 USD: escrow 5 USD.
      const order = (price: bigint) => defaultOrder(m, { gpuCount: 1, durationHours: 1, maxPricePerGpuHour: price });
      await viem.assertions.emitWithArgs(m.marketplace.write.setMinimumEscrow([token, 5n * USD]), m.marketplace, "MinimumEscrowSet", [getAddress(token), 5n * USD]);
      expect(await m.marketplace.read.minimumEscrow([token])).to.equal(5n * USD);
      await c.marketplace.write.createOrder([await order(5n * USD)]);
      await viem.assertions.revertWithCustomErrorWithArgs(c.marketplace.write.createOrder([await order(5n * USD - 1n)]), m.marketplace,
        "MarketplaceEscrowBelowMinimum", [5n * USD - 1n, 5n * USD]);
      await c.marketplace.write.createOrder([await order(5n * USD + 1n)]);
      await viem.assertions.revertWithCustomError(c.marketplace.write.setMinimumEscrow([token, 1n]), m.marketplace, "OwnableUnauthorizedAccount");
    });
  });

  describe("given an open order is cancelled by its renter", () => {
    it("→ it should refund the full escrow into the refundable balance, which the renter withdraws", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const id = await placeOrder(m, m.renter1);
      const c = await as(m, m.renter1);
      const escrow = 3n * USD * 2n * 10n;
      await viem.assertions.emitWithArgs(c.marketplace.write.cancelOrder([id]), m.marketplace, "OrderCancelled", [id, escrow]);
      expect((await m.marketplace.read.getOrder([id])).status).to.equal(OrderStatus.Cancelled);
      expect(await m.marketplace.read.refundableOf([m.paymentToken.address, m.renter1.account.address])).to.equal(escrow);
      const before = await m.paymentToken.read.balanceOf([m.renter1.account.address]);
      await c.marketplace.write.withdrawRefund([m.paymentToken.address]);
      expect(await m.paymentToken.read.balanceOf([m.renter1.account.address])).to.equal(before + escrow);
      const k = await conservation(m);
      expect(k.totals).to.deep.equal({ deposited: escrow, escrowed: 0n, earned: 0n, refundable: 0n, withdrawn: escrow });
      expect(k.identityHolds && k.balanceHolds).to.equal(true);
    });
    it("→ it should refuse a stranger, an unknown order, and a second cancel", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const id = await placeOrder(m, m.renter1);
      await viem.assertions.revertWithCustomError((await as(m, m.renter2)).marketplace.write.cancelOrder([id]), m.marketplace, "MarketplaceNotRenter");
      const c = await as(m, m.renter1);
      await viem.assertions.revertWithCustomError(c.marketplace.write.cancelOrder([99n]), m.marketplace, "MarketplaceUnknownOrder");
      await c.marketplace.write.cancelOrder([id]);
      await viem.assertions.revertWithCustomError(c.marketplace.write.cancelOrder([id]), m.marketplace, "MarketplaceOrderNotOpen");
      await viem.assertions.revertWithCustomError(c.marketplace.write.withdrawRefund([m.stakeToken.address]), m.marketplace, "MarketplaceNothingToWithdraw");
    });
    it("→ it should refuse cancelling an order that was matched", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const { versionId } = await providerWithOffer(m, m.provider1);
      const id = await placeOrder(m, m.renter1);
      await apply(m, [{ orderId: id, offerVersionId: versionId, gpuCount: 2, pricePerGpuHour: 2n * USD }]);
      await viem.assertions.revertWithCustomError((await as(m, m.renter1)).marketplace.write.cancelOrder([id]), m.marketplace, "MarketplaceOrderNotOpen");
    });
  });

  describe("given an order reaches its expiry block", () => {
    it("→ it should let anyone expire it with a full refund, and not before", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const b = await blockNumber(m);
      const id = await placeOrder(m, m.renter1, { expiresAt: b + 5n });
      const s = await as(m, m.stranger);
      await viem.assertions.revertWithCustomError(s.marketplace.write.expireOrder([id]), m.marketplace, "MarketplaceOrderNotExpired");
      await networkHelpers.mineUpTo(b + 4n); // the next tx lands in block b + 5 = expiresAt
      await viem.assertions.emitWithArgs(s.marketplace.write.expireOrder([id]), m.marketplace, "OrderExpired", [id, 60n * USD]);
      expect((await m.marketplace.read.getOrder([id])).status).to.equal(OrderStatus.Expired);
      expect(await m.marketplace.read.refundableOf([m.paymentToken.address, m.renter1.account.address])).to.equal(60n * USD);
      await viem.assertions.revertWithCustomError(s.marketplace.write.expireOrder([id]), m.marketplace, "MarketplaceOrderNotOpen");
      await viem.assertions.revertWithCustomError(s.marketplace.write.expireOrder([42n]), m.marketplace, "MarketplaceUnknownOrder");
    });
  });

  describe("given off-chain code enumerates the open orders at a block", () => {
    it("→ it should page through exactly the open, unexpired orders from openOrdersScanStart", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const ids: bigint[] = [];
      for (let i = 0; i < 7; i++) ids.push(await placeOrder(m, i % 2 ? m.renter2 : m.renter1, { expiresAt: (await blockNumber(m)) + (i === 3 ? 3n : 900n) }));
      await (await as(m, m.renter1)).marketplace.write.cancelOrder([ids[2]!]);
      await networkHelpers.mine(3); // order 4 (index 3) has expired without anyone calling expireOrder
      const start = await m.marketplace.read.openOrdersScanStart();
      expect(start).to.equal(1n);
      const seen: bigint[] = [];
      let next = start;
      while (next <= (await m.marketplace.read.orderCount())) {
        const [orders, nextId] = await m.marketplace.read.openOrders([next, 3n]);
        seen.push(...orders.map((o) => o.orderId));
        next = nextId;
      }
      expect(seen).to.deep.equal([ids[0], ids[1], ids[4], ids[5], ids[6]]);
    });
    it("→ it should skip orders created more than maxOrderLifetime blocks ago, by binary search on createdAt", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      await placeOrder(m, m.renter1, { expiresAt: (await blockNumber(m)) + 10n });
      const b2 = (await blockNumber(m)) + 1n;
      await placeOrder(m, m.renter1, { expiresAt: b2 + MAX_ORDER_LIFETIME });
      expect(await m.marketplace.read.firstOrderCreatedAtOrAfter([b2])).to.equal(2n);
      expect(await m.marketplace.read.firstOrderCreatedAtOrAfter([b2 + 1n])).to.equal(3n);
      await networkHelpers.mine(Number(MAX_ORDER_LIFETIME) - 1);
      // now block = createdAt(order 1) + lifetime: order 1 can no longer be open, order 2 can
      expect(await m.marketplace.read.openOrdersScanStart()).to.equal(2n);
      const [orders] = await m.marketplace.read.openOrders([2n, 10n]);
      expect(orders.map((o) => o.orderId)).to.deep.equal([2n]);
      expect((await m.marketplace.read.getOrders([[1n, 2n]])).map((o) => o.params.modelId)).to.deep.equal([H100, H100]);
    });
  });
});
