import { describe, it } from "mocha";
import { expect } from "chai";
import { network } from "hardhat";
import type { PublicClient } from "viem";
import { decodePackedOffers, decodePackedOrders } from "../../protocol/chain/packed.js";
import { orderFromChain, readActiveOfferVersions, readOpenOrders } from "../../protocol/chain/reads.js";
import type { OfferVersion, Order } from "../../protocol/market/types.js";
import { H100, L40S, RTX4090, USD, Zones, apply, as, blockNumber, deployMarket, placeOrder, type AssignmentRow, type Market } from "../support/market.js";

const connection = await network.create();
const { networkHelpers } = connection;

/** A small deterministic generator (xorshift32), so each market is reproducible from its seed. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  return { below: (n: number) => next() % n, pick: <T>(xs: readonly T[]) => xs[next() % xs.length]! };
}

/**
 * A market with every state the bulk views meet: offers of three models, updated (some twice in one block, so a
 * version with an empty range), withdrawn, partly leased; orders open, cancelled, expired without a call, matched.
 * Returns the blocks to read at (each stage's end).
 */
async function generatedMarket(m: Market, seed: number): Promise<bigint[]> {
  const r = rng(seed);
  const blocks: bigint[] = [];
  const providers = [m.provider1, m.provider2, m.provider3];
  const zones = [Zones.usEast1, Zones.euCentral2, Zones.apSe1];
  for (let i = 0; i < providers.length; i++) await (await as(m, providers[i]!)).registry.write.register([zones[i]!, 1_000n * 10n ** 18n]);
  const offers: { offerId: bigint; provider: (typeof providers)[number]; modelId: number }[] = [];
  for (let k = 0; k < 14; k++) {
    const p = r.pick(providers);
    const modelId = r.pick([H100, L40S, RTX4090]);
    await (await as(m, p)).offerBook.write.createOffer([modelId, 4 + r.below(8), BigInt(1 + r.below(4)) * USD, m.paymentToken.address]);
    offers.push({ offerId: BigInt(k + 1), provider: p, modelId });
  }
  blocks.push(await blockNumber(m));
  const orderIds: bigint[] = [];
  for (let k = 0; k < 16; k++) {
    const expiresAt = (await blockNumber(m)) + (k % 5 === 0 ? 3n : 400n);
    const [regionMask, preferredZone] = r.pick([[0n, 0], [0n, Zones.euCentral2], [5n, Zones.euCentral2], [3n, 0], [1n, Zones.usEast1]] as const);
    // The first four ask for little (any region, no provider minimums), so that some can be matched below.
    const easy = k < 4 ? { regionMask: 0n, preferredZone: 0, minUptimeBps: 0, minReputationBps: 0, maxPricePerGpuHour: 6n * USD, modelId: offers[k]!.modelId, minTier: 0, expiresAt: expiresAt + 400n } : {};
    orderIds.push(await placeOrder(m, r.pick([m.renter1, m.renter2]), { modelId: r.pick([H100, L40S, 0]), minTier: r.below(3), gpuCount: 1 + r.below(3), regionMask, preferredZone, maxPricePerGpuHour: BigInt(2 + r.below(3)) * USD, durationHours: 1 + r.below(20), minUptimeBps: r.below(10_000), minReputationBps: r.below(5_000), maxTimesSlashed: r.below(4), expiresAt, ...easy }));
  }
  blocks.push(await blockNumber(m));
  // Updates: one offer twice in the same block (its middle version is active on no block), others once.
  await networkHelpers.mine(1);
  const twice = offers[r.below(offers.length)]!;
  const c = await as(m, twice.provider);
  await connection.provider.request({ method: "evm_setAutomine", params: [false] });
  await c.offerBook.write.updateOffer([twice.offerId, 9, 5n * USD]);
  await c.offerBook.write.updateOffer([twice.offerId, 10, 6n * USD]);
  await networkHelpers.mine(1);
  await connection.provider.request({ method: "evm_setAutomine", params: [true] });
  for (const o of offers) {
    if (o === twice || r.below(3) !== 0) continue;
    await (await as(m, o.provider)).offerBook.write.updateOffer([o.offerId, 12, BigInt(1 + r.below(3)) * USD]);
  }
  blocks.push(await blockNumber(m));
  // Leases: two orders matched (gpusLeased moves on their offers), one cancelled, one withdrawn offer.
  const fits = async (orderId: bigint) => {
    const o = orderFromChain(await m.marketplace.read.getOrder([orderId]));
    for (const f of offers) {
      const v = await m.offerBook.read.versionAt([f.offerId, await blockNumber(m)]);
      if (v.versionId !== 0n && (o.modelId === 0 || v.modelId === o.modelId) && v.pricePerGpuHour <= o.maxPricePerGpuHour && v.gpuCount - v.gpusLeased >= o.gpuCount) return { orderId, offerVersionId: v.versionId, gpuCount: o.gpuCount, pricePerGpuHour: v.pricePerGpuHour };
    }
    return null;
  };
  const rows: AssignmentRow[] = [];
  for (const id of orderIds.slice(0, 4)) {
    if (rows.length === 2) break;
    if ((await m.marketplace.read.getOrder([id])).params.expiresAt <= (await blockNumber(m)) + 1n) continue;
    const row = await fits(id);
    if (row !== null) rows.push(row);
  }
  if (rows.length > 0) await apply(m, rows);
  const cancel = orderIds.find((id) => !rows.some((x) => x.orderId === id))!;
  const owner = (await m.marketplace.read.getOrder([cancel])).renter.toLowerCase() === m.renter1.account.address.toLowerCase() ? m.renter1 : m.renter2;
  await (await as(m, owner)).marketplace.write.cancelOrder([cancel]);
  const leasedVersions = new Set(rows.map((x) => x.offerVersionId));
  let gone = offers[0]!;
  for (const o of offers) {
    const v = await m.offerBook.read.versionAt([o.offerId, await blockNumber(m)]);
    if (o !== twice && !leasedVersions.has(v.versionId)) gone = o;
  }
  await (await as(m, gone.provider)).offerBook.write.withdrawOffer([gone.offerId]);
  blocks.push(await blockNumber(m));
  return blocks;
}

async function abiOffers(m: Market, page: bigint, at: bigint): Promise<OfferVersion[]> {
  const out: OfferVersion[] = [];
  for (let from = 1n; from !== 0n; ) {
    const [versions, next] = await m.offerBook.read.versionsAt([from, page, at], { blockNumber: at });
    out.push(...versions.map((v) => ({ ...v })));
    from = next;
  }
  return out;
}

async function packedOffers(m: Market, page: bigint, at: bigint): Promise<OfferVersion[]> {
  const out: OfferVersion[] = [];
  for (let from = 1n; from !== 0n; ) {
    const [packed, next] = await m.offerBook.read.activeOffersPacked([from, page, at], { blockNumber: at });
    out.push(...decodePackedOffers(packed));
    from = next;
  }
  return out;
}

async function ordersBy(m: Market, page: bigint, at: bigint, packed: boolean): Promise<Order[]> {
  const count = await m.marketplace.read.orderCount({ blockNumber: at });
  const out: Order[] = [];
  for (let from = 1n; from <= count; ) {
    if (packed) {
      const [bytes, next] = await m.marketplace.read.openOrdersPacked([from, page], { blockNumber: at });
      out.push(...decodePackedOrders(bytes));
      from = next;
    } else {
      const [orders, next] = await m.marketplace.read.openOrders([from, page], { blockNumber: at });
      out.push(...orders.map(orderFromChain));
      from = next;
    }
  }
  return out;
}

describe("packed bulk views (activeOffersPacked, openOrdersPacked) and their decoders", () => {
  for (const seed of [1, 2, 3]) {
    describe(`given generated market ${seed} (updated, withdrawn, leased offers; open, cancelled, expired, matched orders)`, () => {
      it("→ every page size (1, one below and above the count, the count) at every stage's block should decode to exactly what the ABI views return", async () => {
        const m = await deployMarket(connection);
        const blocks = await generatedMarket(m, seed);
        const offerCount = await m.offerBook.read.offerCount();
        const orderCount = await m.marketplace.read.orderCount();
        let leased = 0;
        let open = 0;
        for (const at of blocks) {
          for (const page of [1n, 5n, offerCount - 1n, offerCount, offerCount + 1n]) {
            const want = await abiOffers(m, page, at);
            expect(await packedOffers(m, page, at)).to.deep.equal(want);
            leased += want.filter((v) => v.gpusLeased > 0).length;
          }
          for (const page of [1n, 5n, orderCount - 1n, orderCount, orderCount + 1n]) {
            const want = await ordersBy(m, page, at, false);
            expect(await ordersBy(m, page, at, true)).to.deep.equal(want);
          }
          open += (await ordersBy(m, orderCount, at, false)).length;
        }
        // The market really holds what the comparison is about.
        expect(leased).to.be.greaterThan(0);
        expect(open).to.be.greaterThan(0);
        expect((await abiOffers(m, 4n, blocks.at(-1)!)).length).to.be.lessThan(Number(offerCount));
      });

      it("→ readActiveOfferVersions and readOpenOrders should equal the ABI views at every stage's block", async () => {
        const m = await deployMarket(connection);
        const blocks = await generatedMarket(m, seed);
        const client = m.publicClient as unknown as PublicClient;
        for (const at of blocks) {
          expect(await readActiveOfferVersions(client, m.offerBook.address, at)).to.deep.equal(await abiOffers(m, 3n, at));
          const start = await m.marketplace.read.openOrdersScanStart({ blockNumber: at });
          expect(await readOpenOrders(client, m.marketplace.address, at)).to.deep.equal((await ordersBy(m, 3n, at, false)).filter((o) => o.orderId >= start));
        }
      });
    });
  }

  describe("given a page starting at offer 0 or asking for 0 offers", () => {
    it("→ activeOffersPacked should refuse it with OfferBookInvalidPage", async () => {
      const m = await deployMarket(connection);
      const at = await blockNumber(m);
      await connection.viem.assertions.revertWithCustomErrorWithArgs(m.offerBook.read.activeOffersPacked([0n, 10n, at]), m.offerBook, "OfferBookInvalidPage", [0n, 10n]);
      await connection.viem.assertions.revertWithCustomErrorWithArgs(m.offerBook.read.activeOffersPacked([1n, 0n, at]), m.offerBook, "OfferBookInvalidPage", [1n, 0n]);
    });
  });

  describe("given bytes that are not whole entries", () => {
    it("→ the decoders should refuse them, naming the view", () => {
      expect(() => decodePackedOffers(`0x${"00".repeat(103)}`)).to.throw(/activeOffersPacked: 103 bytes/);
      expect(() => decodePackedOrders(`0x${"00".repeat(137)}`)).to.throw(/openOrdersPacked: 137 bytes/);
      expect(decodePackedOffers("0x")).to.deep.equal([]);
    });
  });
});
