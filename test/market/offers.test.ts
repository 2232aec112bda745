import { describe, it } from "mocha";
import { expect } from "chai";
import { network } from "hardhat";
import { getAddress, zeroAddress } from "viem";
import { H100, MIN_STAKE, USD, Zones, apply, as, blockNumber, deployMarket, placeOrder, providerWithOffer } from "../support/market.js";

const connection = await network.create();
const { networkHelpers, viem } = connection;
const fixture = () => deployMarket(connection);

describe("OfferBook", () => {
  describe("given a registered provider creates an offer", () => {
    it("→ it should make version 1 active from this block with the offer's terms", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const { offerId, versionId } = await providerWithOffer(m, m.provider1, { gpuCount: 4, price: 2n * USD });
      const b = await blockNumber(m);
      expect(await m.offerBook.read.getVersion([versionId])).to.deep.equal({
        versionId, offerId, provider: getAddress(m.provider1.account.address), modelId: H100, gpuCount: 4, gpusLeased: 0,
        pricePerGpuHour: 2n * USD, paymentToken: m.paymentToken.address, activeFrom: b, activeUntil: 0n,
      });
      expect(await m.offerBook.read.offerIdsOf([m.provider1.account.address])).to.deep.equal([offerId]);
    });
  });

  describe("given offer updates and a withdrawal", () => {
    it("→ it should keep each version's [activeFrom, activeUntil) and answer versionAt for any block", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const { offerId, versionId: v1 } = await providerWithOffer(m, m.provider1);
      const b1 = await blockNumber(m);
      await networkHelpers.mine(3);
      const c = await as(m, m.provider1);
      const tx = c.offerBook.write.updateOffer([offerId, 6, 3n * USD]);
      await viem.assertions.emitWithArgs(tx, m.offerBook, "OfferVersionDeactivated", [offerId, v1, b1 + 4n]);
      const b2 = await blockNumber(m);
      const v2 = v1 + 1n;
      await networkHelpers.mine(2);
      await viem.assertions.emitWithArgs(c.offerBook.write.withdrawOffer([offerId]), m.offerBook, "OfferWithdrawn", [offerId]);
      const b3 = await blockNumber(m);
      expect(await m.offerBook.read.versionIdsOf([offerId])).to.deep.equal([v1, v2]);
      expect((await m.offerBook.read.versionAt([offerId, b1 - 1n])).versionId).to.equal(0n);
      expect((await m.offerBook.read.versionAt([offerId, b1])).versionId).to.equal(v1);
      expect((await m.offerBook.read.versionAt([offerId, b2 - 1n])).versionId).to.equal(v1);
      const atB2 = await m.offerBook.read.versionAt([offerId, b2]);
      expect(atB2).to.deep.include({ versionId: v2, gpuCount: 6, pricePerGpuHour: 3n * USD, activeFrom: b2, activeUntil: b3 });
      expect((await m.offerBook.read.versionAt([offerId, b3 - 1n])).versionId).to.equal(v2);
      expect((await m.offerBook.read.versionAt([offerId, b3])).versionId).to.equal(0n);
      expect((await m.offerBook.read.getVersion([v1])).activeUntil).to.equal(b2);
    });

    it("→ versionsAt should page over offers, equal versionAt offer by offer at every block, and refuse an empty page", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const a = await providerWithOffer(m, m.provider1);
      const b = await providerWithOffer(m, m.provider2);
      const c = await providerWithOffer(m, m.provider1, { register: false });
      const b0 = await blockNumber(m);
      await (await as(m, m.provider2)).offerBook.write.updateOffer([b.offerId, 6, 3n * USD]);
      await (await as(m, m.provider1)).offerBook.write.withdrawOffer([a.offerId]);
      const b2 = await blockNumber(m);
      const count = await m.offerBook.read.offerCount();
      expect(count).to.equal(3n);
      for (let at = b0 - 3n; at <= b2 + 1n; at++) {
        const one = [];
        for (let id = 1n; id <= count; id++) {
          const v = await m.offerBook.read.versionAt([id, at]);
          if (v.versionId !== 0n) one.push(v);
        }
        // Whole range at once, and in pages of two (the second page starts where the first said).
        expect(await m.offerBook.read.versionsAt([1n, 10n, at])).to.deep.equal([one, 0n]);
        const [first, next] = await m.offerBook.read.versionsAt([1n, 2n, at]);
        expect(next).to.equal(3n);
        const [second, end] = await m.offerBook.read.versionsAt([next, 2n, at]);
        expect(end).to.equal(0n);
        expect([...first, ...second]).to.deep.equal(one);
      }
      expect((await m.offerBook.read.versionsAt([1n, 10n, b2]))[0].map((v) => v.offerId)).to.deep.equal([b.offerId, c.offerId]);
      expect(await m.offerBook.read.versionsAt([4n, 10n, b2])).to.deep.equal([[], 0n]);
      await viem.assertions.revertWithCustomErrorWithArgs(m.offerBook.read.versionsAt([0n, 10n, b2]), m.offerBook, "OfferBookInvalidPage", [0n, 10n]);
      await viem.assertions.revertWithCustomErrorWithArgs(m.offerBook.read.versionsAt([1n, 0n, b2]), m.offerBook, "OfferBookInvalidPage", [1n, 0n]);
    });

    it("→ it should give versions a global id across offers and share gpusLeased between versions", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const a = await providerWithOffer(m, m.provider1);
      const b = await providerWithOffer(m, m.provider2);
      expect(b.versionId).to.equal(a.versionId + 1n);
      const orderId = await placeOrder(m, m.renter1);
      await apply(m, [{ orderId, offerVersionId: a.versionId, gpuCount: 2, pricePerGpuHour: 2n * USD }]);
      await (await as(m, m.provider1)).offerBook.write.updateOffer([a.offerId, 8, USD]);
      expect((await m.offerBook.read.getVersion([a.versionId])).gpusLeased).to.equal(2);
      expect((await m.offerBook.read.getVersion([b.versionId + 1n])).gpusLeased).to.equal(2);
      await viem.assertions.revertWithCustomError(
        (await as(m, m.provider1)).offerBook.write.updateOffer([a.offerId, 1, USD]), m.offerBook, "OfferBookCapacityBelowLeased");
    });
  });

  describe("given a bad create, update or withdraw", () => {
    it("→ it should refuse non-providers, unknown models, zero count or price, and tokens not allow-listed", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const c = await as(m, m.provider1);
      const tok = m.paymentToken.address;
      await viem.assertions.revertWithCustomError(c.offerBook.write.createOffer([H100, 1, USD, tok]), m.offerBook, "OfferBookNotActiveProvider");
      await c.registry.write.register([Zones.usEast1, MIN_STAKE]);
      await viem.assertions.revertWithCustomError(c.offerBook.write.createOffer([999, 1, USD, tok]), m.offerBook, "OfferBookUnknownModel");
      await viem.assertions.revertWithCustomError(c.offerBook.write.createOffer([H100, 0, USD, tok]), m.offerBook, "OfferBookZeroGpuCount");
      await viem.assertions.revertWithCustomError(c.offerBook.write.createOffer([H100, 1, 0n, tok]), m.offerBook, "OfferBookZeroPrice");
      await viem.assertions.revertWithCustomError(c.offerBook.write.createOffer([H100, 1, USD, m.stakeToken.address]), m.offerBook, "OfferBookPaymentTokenNotAllowed");
    });

    it("→ it should refuse updates and withdrawals by others, of unknown or withdrawn offers", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const { offerId } = await providerWithOffer(m, m.provider1);
      await (await as(m, m.provider2)).registry.write.register([Zones.usEast1, MIN_STAKE]);
      const other = await as(m, m.provider2);
      const own = await as(m, m.provider1);
      await viem.assertions.revertWithCustomError(other.offerBook.write.updateOffer([offerId, 1, USD]), m.offerBook, "OfferBookNotOfferProvider");
      await viem.assertions.revertWithCustomError(other.offerBook.write.withdrawOffer([offerId]), m.offerBook, "OfferBookNotOfferProvider");
      await viem.assertions.revertWithCustomError(own.offerBook.write.updateOffer([99n, 1, USD]), m.offerBook, "OfferBookUnknownOffer");
      await viem.assertions.revertWithCustomError(own.offerBook.write.updateOffer([offerId, 0, USD]), m.offerBook, "OfferBookZeroGpuCount");
      await viem.assertions.revertWithCustomError(own.offerBook.write.updateOffer([offerId, 1, 0n]), m.offerBook, "OfferBookZeroPrice");
      await own.offerBook.write.withdrawOffer([offerId]);
      await viem.assertions.revertWithCustomError(own.offerBook.write.withdrawOffer([offerId]), m.offerBook, "OfferBookOfferWithdrawn");
      await viem.assertions.revertWithCustomError(own.offerBook.write.updateOffer([offerId, 1, USD]), m.offerBook, "OfferBookOfferWithdrawn");
      await viem.assertions.revertWithCustomError(m.offerBook.read.getVersion([99n]), m.offerBook, "OfferBookUnknownVersion");
      await viem.assertions.revertWithCustomError(m.offerBook.read.versionAt([99n, 1n]), m.offerBook, "OfferBookUnknownOffer");
    });

    it("→ it should let only the marketplace move capacity, and the owner set it only once", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const { offerId } = await providerWithOffer(m, m.provider1);
      const s = await as(m, m.stranger);
      await viem.assertions.revertWithCustomError(s.offerBook.write.leaseCapacity([offerId, 1]), m.offerBook, "OfferBookNotMarketplace");
      await viem.assertions.revertWithCustomError(s.offerBook.write.releaseCapacity([offerId, 1]), m.offerBook, "OfferBookNotMarketplace");
      await viem.assertions.revertWithCustomError(s.offerBook.write.setMarketplace([zeroAddress]), m.offerBook, "OwnableUnauthorizedAccount");
      await viem.assertions.revertWithCustomError(m.offerBook.write.setMarketplace([m.stranger.account.address]), m.offerBook, "OfferBookMarketplaceAlreadySet");
    });
  });
});
