import { expect } from "chai";
import fc from "fast-check";
import { reputationBps } from "../../protocol/market/types.js";
import { prepareBatch } from "../../protocol/matching/prepare.js";
import { headroomDelta, headroomValue } from "../../protocol/matching/value.js";
import { seedOf } from "../support/matching/generator.js";
import { tinyBatch } from "../support/matching/tiny.js";
import {
  bitLength,
  floorSum,
  headroomSum,
  isqrt,
  mixRandom,
  priceScore,
  priceScoreExact,
  priceShiftOf,
  regionScore,
  slashScore,
  stakeScore,
  unitHeadroom,
} from "../../protocol/matching/score.js";
import { RandomValues, randomValue, RANDOM_TAG_ORDER } from "../../protocol/matching/random.js";
import { keccak256, encodePacked, hexToBytes } from "viem";

describe("matching scores (docs/matching.md §5)", () => {
  describe("given the region/zone fit", () => {
    it("should give 10 000 without a preference or in the preferred zone, 5 000 in its region, 0 elsewhere", () => {
      expect(regionScore(0, 0x0301)).to.equal(10_000);
      expect(regionScore(0x0201, 0x0201)).to.equal(10_000);
      expect(regionScore(0x0201, 0x0202)).to.equal(5_000);
      expect(regionScore(0x0201, 0x0101)).to.equal(0);
    });
  });

  describe("given prices and a max price", () => {
    it("should equal floor((max − price) × 10 000 / max) whenever max has at most 36 bits", () => {
      fc.assert(
        fc.property(fc.bigInt({ min: 1n, max: (1n << 36n) - 1n }), fc.bigInt({ min: 0n, max: 1n << 36n }), (max, p) => {
          const price = p % (max + 1n);
          expect(priceScoreExact(max, price)).to.equal(Number(((max - price) * 10_000n) / max));
        }),
      );
    });
    it("should stay within one basis point of the exact ratio for 128-bit prices", () => {
      fc.assert(
        fc.property(fc.bigInt({ min: 1n, max: (1n << 128n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (max, p) => {
          const price = p % (max + 1n);
          const exact = Number(((max - price) * 10_000n) / max);
          expect(Math.abs(priceScoreExact(max, price) - exact)).to.be.at.most(1);
        }),
      );
    });
    it("should be 10 000 for a free offer and 0 at the max", () => {
      expect(priceScore(1000, 0)).to.equal(10_000);
      expect(priceScore(1000, 1000)).to.equal(0);
    });
  });

  describe("given provider counters", () => {
    it("should score a clean record 10 000 and fall with slashes relative to leases", () => {
      expect(slashScore(100, 3, 0)).to.equal(10_000);
      expect(slashScore(0, 0, 1)).to.equal(Math.floor(10_000 / 11));
      expect(slashScore(99, 0, 1)).to.equal(Math.floor((100 * 10_000) / 110));
    });
    it("should take reputation from the shared Laplace formula", () => {
      expect(reputationBps({ leasesCompleted: 0, leasesFailed: 0 })).to.equal(5_000);
      expect(reputationBps({ leasesCompleted: 98, leasesFailed: 0 })).to.equal(9_900);
    });
    it("should score stake as √stake / √max, with the whale at 10 000", () => {
      const maxSqrt = isqrt(400n * 10n ** 18n);
      expect(stakeScore(400n * 10n ** 18n, maxSqrt)).to.equal(10_000);
      expect(stakeScore(100n * 10n ** 18n, maxSqrt)).to.equal(5_000);
      expect(stakeScore(0n, maxSqrt)).to.equal(0);
    });
    it("should compute integer square roots exactly", () => {
      fc.assert(
        fc.property(fc.bigInt({ min: 0n, max: 1n << 256n }), (x) => {
          const r = isqrt(x);
          expect(r * r <= x && (r + 1n) * (r + 1n) > x).to.equal(true);
        }),
      );
    });
  });

  describe("given an offer's headroom", () => {
    it("should match floorSum with the naive sum", () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 5_000 }), fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 0, max: 20_000 }), (n, m, a, b) => {
          let naive = 0;
          for (let i = 0; i < n; i++) naive += Math.floor((a * i + b) / m);
          expect(floorSum(n, m, a, b)).to.equal(naive);
        }),
      );
    });
    it("should make headroomSum the sum of the unit headrooms it covers", () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 65_536 }), fc.integer({ min: 0, max: 1 << 30 }), fc.nat(), fc.nat(), (F, extra, tr, gr) => {
          const C = F + extra;
          const t = tr % F;
          const g = 1 + (gr % Math.min(F - t, 64));
          let naive = 0;
          for (let k = t; k < t + g; k++) naive += unitHeadroom(F, C, k);
          expect(headroomSum(F, C, t, g)).to.equal(naive);
        }),
      );
    });
    it("should never raise the headroom of a later unit", () => {
      for (let k = 1; k < 16; k++) expect(unitHeadroom(16, 24, k)).to.be.at.most(unitHeadroom(16, 24, k - 1));
    });
  });

  describe("given the random term", () => {
    it("should take word (id & 7) of keccak256(seed, tag, id >> 3)", () => {
      const seed = keccak256("0x01");
      const h = keccak256(encodePacked(["bytes32", "uint8", "uint64"], [seed, RANDOM_TAG_ORDER, 1234n >> 3n]));
      const word = Number(BigInt(`0x${h.slice(2 + 8 * Number(1234n & 7n), 2 + 8 * Number(1234n & 7n) + 8)}`));
      expect(randomValue(hexToBytes(seed), RANDOM_TAG_ORDER, 1234n)).to.equal(word);
      const rv = new RandomValues(hexToBytes(seed), RANDOM_TAG_ORDER);
      expect([1233n, 1234n, 1240n].map((id) => rv.of(id))).to.deep.equal([1233n, 1234n, 1240n].map((id) => randomValue(hexToBytes(seed), RANDOM_TAG_ORDER, id)));
    });
    it("should mix into 0‥10 000 and spread evenly", () => {
      const buckets = new Array<number>(10).fill(0);
      for (let i = 0; i < 20_000; i++) {
        const r = mixRandom(i * 2_654_435_761, 12_345);
        expect(r).to.be.within(0, 10_000);
        buckets[Math.min(9, Math.floor(r / 1_000))]!++;
      }
      for (const b of buckets) expect(b).to.be.within(1_700, 2_300);
    });
    it("should not rank offers alike for two orders (xor alone would)", () => {
      // With a bare xor, two orders whose values differ only in a low bit rank all offers identically.
      let same = 0;
      for (let f = 0; f < 1_000; f++) if (mixRandom(0x1000, f * 7919) > mixRandom(0x1000, (f + 1) * 7919) === mixRandom(0x1001, f * 7919) > mixRandom(0x1001, (f + 1) * 7919)) same++;
      expect(same).to.be.within(350, 650);
    });
  });
});

describe("matching score helpers at their edges (docs/matching.md §5)", () => {
  it("given zero → bitLength should be 0, and 1 for 1, 36 for 2^36 − 1, 37 for 2^36", () => {
    expect([0n, 1n, (1n << 36n) - 1n, 1n << 36n].map(bitLength)).to.deep.equal([0, 1, 36, 37]);
  });
  it("given max prices of 0, 1, 2^36 − 1, 2^36 and 2^37 → the price shift should be 0, 0, 0, 1 and 2 (never negative)", () => {
    expect([0n, 1n, (1n << 36n) - 1n, 1n << 36n, 1n << 37n].map(priceShiftOf)).to.deep.equal([0, 0, 0, 1, 2]);
  });
  it("given an order whose max price is 0 → the price score should be 0, not a division by zero", () => {
    expect(priceScore(0, 0)).to.equal(0);
    expect(priceScoreExact(0n, 0n)).to.equal(0);
  });
  it("given completed and failed leases → the slash score should count both in n (§5.6)", () => {
    // n + 1 = 2 + 8 + 1 = 11: ⌊11·10 000 / (11 + 10)⌋ = 5 238.
    expect(slashScore(2, 8, 1)).to.equal(5_238);
    expect(slashScore(8, 2, 1)).to.equal(5_238);
  });
  it("given a negative number → isqrt should refuse it by name", () => {
    expect(() => isqrt(-1n)).to.throw(RangeError, "isqrt of a negative number");
    expect([0n, 1n, 2n, 3n, 4n].map(isqrt)).to.deep.equal([0n, 1n, 1n, 1n, 2n]);
  });
  it("given a = m (an offer of exactly 10 000 GPUs' worth of the scale) → floorSum should equal the plain sum", () => {
    const plain = (n: number, m: number, a: number, b: number) => {
      let t = 0;
      for (let i = 0; i < n; i++) t += Math.floor((a * i + b) / m);
      return t;
    };
    for (const [n, m, a, b] of [
      [5, 7, 7, 3],
      [9, 10_000, 10_000, 0],
      [4, 6, 5, 6],
      [3, 6, 5, 5],
    ] as const) {
      expect(floorSum(n, m, a, b), `${n} ${m} ${a} ${b}`).to.equal(plain(n, m, a, b));
    }
    expect(headroomSum(10_000, 10_000, 0, 3)).to.equal(unitHeadroom(10_000, 10_000, 0) + unitHeadroom(10_000, 10_000, 1) + unitHeadroom(10_000, 10_000, 2));
  });
  it("given an offer's taken GPUs going up, down or nowhere → headroomDelta should be +, − or 0 of the headroom of the GPUs between", () => {
    const b = prepareBatch(tinyBatch(), seedOf(1));
    const f = b.offers.findIndex((v) => v.gpuCount === 8);
    expect(f).to.be.at.least(0);
    const up = headroomValue(b, f, 0, 2);
    expect(up).to.be.greaterThan(0);
    expect(headroomDelta(b, f, 0, 2)).to.equal(up);
    expect(headroomDelta(b, f, 2, 0)).to.equal(-up);
    expect(headroomDelta(b, f, 1, 1)).to.equal(0);
    expect(headroomValue(b, f, 1, 1)).to.equal(b.weightAvailability * unitHeadroom(b.offerFree[f]!, b.offerTotal[f]!, 1));
  });
});
