import { expect } from "chai";
import { GPU_CATALOG } from "../../protocol/market/catalog.js";
import type { OfferVersion, Order, Provider, Tier } from "../../protocol/market/types.js";
import { MatchingErrorCode } from "../../protocol/matching/errors.js";
import { refusal } from "../support/matching/refusal.js";
import { prepareBatch } from "../../protocol/matching/prepare.js";
import type { MatchInputs } from "../../protocol/matching/types.js";
import { DEFAULT_WEIGHTS, REFERENCE_BLOCK, seedOf } from "../support/matching/generator.js";
import { offer, order, provider } from "../support/matching/tiny.js";

/** One provider, one offer, one order; `over` changes one field of one of them. */
function inputs(over: { order?: Partial<Order>; offer?: Partial<OfferVersion>; provider?: Partial<Provider>; referenceBlock?: bigint } = {}): MatchInputs {
  const p = provider(1, over.provider);
  return {
    referenceBlock: over.referenceBlock ?? REFERENCE_BLOCK,
    catalog: GPU_CATALOG,
    providers: [p],
    offers: [offer(1, p, over.offer)],
    orders: [order(1, over.order)],
    weights: DEFAULT_WEIGHTS,
  };
}

type WidthRow = [kind: "order" | "offer" | "provider", field: string, limit: bigint, label: string];

// The on-chain width of each input field (docs/matching.md §2): the largest value is accepted, the limit and −1
// are refused with OutOfRange naming the field, the value and the limit.
const ROWS: WidthRow[] = [
  ["order", "orderId", 1n << 64n, "order.orderId"],
  ["order", "modelId", 1n << 16n, "order 1 modelId"],
  ["order", "minTier", 256n, "order 1 minTier"],
  ["order", "gpuCount", 1n << 32n, "order 1 gpuCount"],
  ["order", "regionMask", 1n << 64n, "order 1 regionMask"],
  ["order", "preferredZone", 1n << 16n, "order 1 preferredZone"],
  ["order", "maxPricePerGpuHour", 1n << 128n, "order 1 maxPricePerGpuHour"],
  ["order", "durationHours", 1n << 32n, "order 1 durationHours"],
  ["order", "minUptimeBps", 1n << 16n, "order 1 minUptimeBps"],
  ["order", "minReputationBps", 1n << 16n, "order 1 minReputationBps"],
  ["order", "maxTimesSlashed", 1n << 32n, "order 1 maxTimesSlashed"],
  ["order", "expiresAt", 1n << 64n, "order 1 expiresAt"],
  ["order", "createdAt", 1n << 64n, "order 1 createdAt"],
  ["offer", "versionId", 1n << 64n, "offer.versionId"],
  ["offer", "offerId", 1n << 64n, "offer 1 offerId"],
  ["offer", "modelId", 1n << 16n, "offer 1 modelId"],
  ["offer", "gpuCount", 1n << 32n, "offer 1 gpuCount"],
  ["offer", "gpusLeased", 1n << 32n, "offer 1 gpusLeased"],
  ["offer", "pricePerGpuHour", 1n << 128n, "offer 1 pricePerGpuHour"],
  ["offer", "activeFrom", 1n << 64n, "offer 1 activeFrom"],
  ["offer", "activeUntil", 1n << 64n, "offer 1 activeUntil"],
  ["provider", "stake", 1n << 256n, "provider 0x0000000000000000000000000000000000001001 stake"],
  ["provider", "status", 256n, "provider 0x0000000000000000000000000000000000001001 status"],
  ["provider", "zone", 1n << 16n, "provider 0x0000000000000000000000000000000000001001 zone"],
  ["provider", "uptimeBps", 10_001n, "provider 0x0000000000000000000000000000000000001001 uptimeBps"],
  ["provider", "leasesCompleted", 1n << 32n, "provider 0x0000000000000000000000000000000000001001 leasesCompleted"],
  ["provider", "leasesFailed", 1n << 32n, "provider 0x0000000000000000000000000000000000001001 leasesFailed"],
  ["provider", "timesSlashed", 1n << 32n, "provider 0x0000000000000000000000000000000000001001 timesSlashed"],
];

describe("matcher input widths (docs/matching.md §2)", () => {
  for (const [kind, field, limit, label] of ROWS) {
    describe(`given ${kind}.${field} at, one below and one past its width`, () => {
      // Numbers stay numbers and bigints bigints, as the on-chain reader produces them.
      const sample = { order: order(1), offer: offer(1, provider(1)), provider: provider(1) }[kind] as unknown as Record<string, unknown>;
      const as = (v: bigint): number | bigint => (typeof sample[field] === "bigint" ? v : Number(v));
      const withValue = (v: number | bigint) => () => prepareBatch(inputs({ [kind]: { [field]: v } }), seedOf(1));

      it(`should accept ${field} = limit − 1`, () => {
        expect(withValue(as(limit - 1n))).not.to.throw();
      });
      it(`should refuse ${field} = limit with OutOfRange naming ${label}`, () => {
        const err = refusal(withValue(as(limit)));
        expect(err.code).to.equal(MatchingErrorCode.OutOfRange);
        expect(err.detail).to.equal(`${label} = ${limit} is not an integer in [0, ${limit})`);
      });
      it(`should refuse ${field} = −1`, () => {
        const err = refusal(withValue(as(-1n)));
        expect(err.code).to.equal(MatchingErrorCode.OutOfRange);
        expect(err.detail).to.equal(`${label} = -1 is not an integer in [0, ${limit})`);
      });
      if (typeof sample[field] === "number") {
        it(`should refuse ${field} = 1.5 (not an integer)`, () => {
          expect(refusal(withValue(1.5)).detail).to.equal(`${label} = 1.5 is not an integer in [0, ${limit})`);
        });
      }
    });
  }

  describe("given the ids that may not be 0", () => {
    it("should refuse order.orderId 0, order gpuCount 0, offer.versionId 0 and offer modelId 0, and accept 1", () => {
      for (const [over, detail] of [
        [{ order: { orderId: 0n } }, "order.orderId = 0"],
        [{ order: { gpuCount: 0 } }, "order 1 gpuCount = 0"],
        [{ offer: { versionId: 0n } }, "offer.versionId = 0"],
        [{ offer: { modelId: 0 } }, "offer 1 modelId = 0"],
      ] as const) {
        const err = refusal(() => prepareBatch(inputs(over), seedOf(1)));
        expect(err.code).to.equal(MatchingErrorCode.OutOfRange);
        expect(err.detail).to.equal(detail);
      }
      expect(() => prepareBatch(inputs({ order: { orderId: 1n, gpuCount: 1 }, offer: { versionId: 1n } }), seedOf(1))).not.to.throw();
    });
  });

  describe("given a row with two faults", () => {
    it("should name the first field in the contracts' order: a zero checked where its field is, before the fields after it", () => {
      // gpuCount comes before regionMask in IMarketplace.Order, modelId before gpuCount in IOfferBook.OfferVersion.
      for (const [over, detail] of [
        [{ order: { gpuCount: 0, regionMask: 1n << 64n } }, "order 1 gpuCount = 0"],
        [{ order: { minTier: 256 as Tier, gpuCount: 0 } }, "order 1 minTier = 256 is not an integer in [0, 256)"],
        [{ offer: { modelId: 0, gpuCount: 2 ** 32 } }, "offer 1 modelId = 0"],
        [{ offer: { offerId: 1n << 64n, modelId: 0 } }, `offer 1 offerId = ${1n << 64n} is not an integer in [0, ${1n << 64n})`],
      ] as const) {
        expect(refusal(() => prepareBatch(inputs(over), seedOf(1))).detail).to.equal(detail);
      }
    });
  });

  describe("given the reference block at and past 2^64", () => {
    it("should accept 2^64 − 1 and refuse 2^64 naming referenceBlock", () => {
      expect(() => prepareBatch(inputs({ referenceBlock: (1n << 64n) - 1n }), seedOf(1))).not.to.throw();
      expect(refusal(() => prepareBatch(inputs({ referenceBlock: 1n << 64n }), seedOf(1))).detail).to.equal(`referenceBlock = ${1n << 64n} is not an integer in [0, ${1n << 64n})`);
    });
  });

  describe("given a catalog model id or tier at and past its width", () => {
    it("should accept id 2^16 − 1 and tier 255, and refuse id 2^16 and tier 256 by name", () => {
      const withCatalog = (id: number, tier: number) => () => prepareBatch({ ...inputs(), catalog: [...GPU_CATALOG, { ...GPU_CATALOG[0]!, id, tier }] }, seedOf(1));
      expect(withCatalog(65_535, 255)).not.to.throw();
      expect(refusal(withCatalog(65_536, 0)).detail).to.equal("catalog model id = 65536 is not an integer in [0, 65536)");
      expect(refusal(withCatalog(65_535, 256)).detail).to.equal("catalog model 65535 tier = 256 is not an integer in [0, 256)");
    });
  });

  describe("given weights at and past their bounds", () => {
    const w = (over: Partial<typeof DEFAULT_WEIGHTS>) => () => prepareBatch({ ...inputs(), weights: { ...DEFAULT_WEIGHTS, ...over } }, seedOf(1));
    it("should accept one weight of 10 000 and the rest 0", () => {
      expect(w({ region: 10_000, price: 0, uptime: 0, reputation: 0, availability: 0, slashing: 0, stake: 0, random: 0 })).not.to.throw();
    });
    it("should refuse a weight of 10 001, −1 or 0.5 by name, and a sum of 9 999 or 10 001", () => {
      const zero = { region: 0, price: 0, uptime: 0, reputation: 0, availability: 0, slashing: 0, stake: 0, random: 0 };
      expect(refusal(w({ ...zero, region: 10_001 })).detail).to.equal("weight region = 10001");
      expect(refusal(w({ ...zero, region: 10_001, price: -1 })).detail).to.equal("weight region = 10001");
      expect(refusal(w({ ...zero, region: 10_000, random: -1 })).detail).to.equal("weight random = -1");
      expect(refusal(w({ ...zero, region: 9_999.5, stake: 0.5 })).detail).to.equal("weight region = 9999.5");
      expect(refusal(w({ ...zero, region: 9_999 })).detail).to.equal("weights sum to 9999, not 10000");
      expect(refusal(w({ ...zero, region: 9_999, random: 2 })).detail).to.equal("weights sum to 10001, not 10000");
      expect(refusal(w({ ...zero, region: 9_999 })).code).to.equal(MatchingErrorCode.BadWeights);
    });
  });
});
