import { expect } from "chai";
import { encodeAbiParameters, keccak256, type Hex } from "viem";
import { GPU_CATALOG } from "../../protocol/market/catalog.js";
import { ASSIGNMENTS_ABI, type Assignment, type OfferVersion, type Order, type Provider } from "../../protocol/market/types.js";
import { assignmentsHash, encodeAssignments, PAGE_SIZE, pageCommitments } from "../../protocol/matching/encode.js";
import { buildCandidates, isCandidate, prepareBatch, ScratchPool } from "../../protocol/matching/prepare.js";
import { MatchingErrorCode, MatchingInputError } from "../../protocol/matching/errors.js";
import { matchBatch } from "../../protocol/matching/engine.js";
import { mixRandom } from "../../protocol/matching/score.js";
import { UnmatchedReason, type MatchInputs } from "../../protocol/matching/types.js";
import { DEFAULT_WEIGHTS, REFERENCE_BLOCK, seedOf, WIDE } from "../support/matching/generator.js";
import { offer, order, provider } from "../support/matching/tiny.js";

/** No random term, so that equal pairs score equally and only the documented tie-breaks decide. */
const NO_RANDOM = { ...DEFAULT_WEIGHTS, region: DEFAULT_WEIGHTS.region + DEFAULT_WEIGHTS.random, random: 0 };

function batch(providers: Provider[], offers: OfferVersion[], orders: Order[], weights = DEFAULT_WEIGHTS): MatchInputs {
  return { referenceBlock: REFERENCE_BLOCK, catalog: GPU_CATALOG, providers, offers, orders, weights };
}

function outcome(inputs: MatchInputs): { served: Map<bigint, bigint>; reason: Map<bigint, UnmatchedReason> } {
  const r = matchBatch(inputs, seedOf(9));
  return { served: new Map(r.assignments.map((a) => [a.orderId, a.offerVersionId])), reason: new Map(r.unmatched.map((u) => [u.orderId, u.reason])) };
}

describe("matcher boundaries (docs/matching.md §4, §5.8, §7.1, §8)", () => {
  describe("given the random mix of §5.8, computed by hand from its definition", () => {
    // (r_order, r_offer, expected). x is the finalizer's output; the rows were found by inverting the finalizer
    // (each step is a bijection on 32-bit words) so that x lands on the edges of ⌊x·10 001 / 2^32⌋:
    // x = 429 453 → 0, 429 454 → 1 (the first x worth 1), 4 294 537 842 → 9 999, 4 294 537 843 → 10 000, 2^32 − 1 → 10 000.
    const table: Array<[number, number, number]> = [
      [0x00000000, 0x00000000, 0], // x = 0
      [0x00000000, 0x1fdf60ba, 0], // x = 429 453
      [0x00000000, 0x8a345692, 1], // x = 429 454
      [0x00000000, 0x26ff1aea, 9_999], // x = 4 294 537 841
      [0x00000000, 0x6d7be2ff, 9_999], // x = 4 294 537 842
      [0x00000000, 0xddb4c3a8, 10_000], // x = 4 294 537 843
      [0x12345678, 0xc7cdb9bc, 10_000], // x = 2^32 − 1
      [0x12345678, 0xfae112e8, 5_000], // x = 2^31
      [0x00000001, 0x00000000, 4_083], // x = 0x688990c0
      [0xdeadbeef, 0xcafebabe, 2_111], // x = 0x360a5554
      [0xffffffff, 0x00000001, 5_923], // x = 0x97a1065a
    ];
    for (const [a, b, want] of table) {
      it(`mix(0x${a.toString(16)}, 0x${b.toString(16)}) should be ${want}`, () => {
        expect(mixRandom(a, b)).to.equal(want);
        expect(mixRandom(b, a)).to.equal(want); // xor: symmetric
      });
    }
  });

  describe("given an offer priced at, just below and just above the order's max price", () => {
    // 6-decimal prices (below 2^36) and 18-decimal ones (above 2^36, where the price score keeps only the top
    // 36 bits: max and max + 1 shift to the same value, so only the full comparison can tell them apart).
    for (const [label, max, token] of [
      ["6 decimals", 3_000_000n, undefined],
      ["18 decimals, above 2^36", 3_000_000_000_000_000_000n, WIDE],
    ] as const) {
      for (const [delta, served] of [
        [-1n, true],
        [0n, true],
        [1n, false],
      ] as const) {
        it(`${label}: price = max ${delta === 0n ? "" : delta > 0n ? "+ 1" : "− 1"} should ${served ? "be served" : "stay open with PriceAboveMax"}`, () => {
          const p = provider(1);
          const o = outcome(
            batch([p], [offer(1, p, { pricePerGpuHour: max + delta, ...(token ? { paymentToken: token } : {}) })], [order(1, { maxPricePerGpuHour: max, ...(token ? { paymentToken: token } : {}) })]),
          );
          expect(o.served.get(1n)).to.equal(served ? 1n : undefined);
          if (!served) expect(o.reason.get(1n)).to.equal(UnmatchedReason.PriceAboveMax);
        });
      }
    }
  });

  describe("given offers priced at, just below and just above the order's max price, looked up one pair at a time", () => {
    // The later phases ask isCandidate about single pairs; it must agree with the candidate index at the boundary.
    for (const [label, max, token] of [
      ["6 decimals", 3_000_000n, undefined],
      ["18 decimals, above 2^36", 3_000_000_000_000_000_000n, WIDE],
    ] as const) {
      it(`${label}: the offers at max − 1 and max should be candidates, the one at max + 1 not`, () => {
        const p = provider(1);
        const offers = [-1n, 0n, 1n].map((d, i) => offer(i + 1, p, { pricePerGpuHour: max + d, ...(token ? { paymentToken: token } : {}) }));
        const b = prepareBatch(batch([p], offers, [order(1, { maxPricePerGpuHour: max, ...(token ? { paymentToken: token } : {}) })]), seedOf(9));
        const cand = buildCandidates(b, new ScratchPool(), Infinity);
        const listed = new Set<bigint>();
        for (let e = cand.start[0]!; e < cand.start[1]!; e++) listed.add(b.offers[cand.offer[e]!]!.versionId);
        const single = b.offers.map((v, f) => [v.versionId, isCandidate(b, 0, f)]);
        expect(single).to.deep.equal([[1n, true], [2n, true], [3n, false]]);
        expect([...listed].sort()).to.deep.equal([1n, 2n]);
      });
    }
  });

  describe("given a provider's uptime at, just below and just above an order's minimum", () => {
    for (const [uptime, served] of [
      [9_499, false],
      [9_500, true],
      [9_501, true],
    ] as const) {
      it(`uptime ${uptime} vs minimum 9 500: should ${served ? "be served" : "stay open with UptimeTooLow"}`, () => {
        const p = provider(1, { uptimeBps: uptime });
        const o = outcome(batch([p], [offer(1, p)], [order(1, { minUptimeBps: 9_500 })]));
        expect(o.served.has(1n)).to.equal(served);
        if (!served) expect(o.reason.get(1n)).to.equal(UnmatchedReason.UptimeTooLow);
      });
    }
  });

  describe("given a provider's reputation at, just below and just above an order's minimum (reason ReputationTooLow)", () => {
    // 8 completed, 0 failed: ⌊(8 + 1)·10 000 / (8 + 0 + 2)⌋ = 9 000 (docs/matching.md §5.4).
    for (const [minimum, served] of [
      [8_999, true],
      [9_000, true],
      [9_001, false],
    ] as const) {
      it(`reputation 9 000 vs minimum ${minimum}: should ${served ? "be served" : "stay open with ReputationTooLow"}`, () => {
        const p = provider(1, { leasesCompleted: 8, leasesFailed: 0 });
        const o = outcome(batch([p], [offer(1, p)], [order(1, { minReputationBps: minimum })]));
        expect(o.served.has(1n)).to.equal(served);
        if (!served) expect(o.reason.get(1n)).to.equal(UnmatchedReason.ReputationTooLow);
      });
    }
  });

  describe("given a provider slashed at, just below and just above an order's maximum (reason TooManySlashes)", () => {
    for (const [maximum, served] of [
      [1, false],
      [2, true],
      [3, true],
    ] as const) {
      it(`2 slashes vs maximum ${maximum}: should ${served ? "be served" : "stay open with TooManySlashes"}`, () => {
        const p = provider(1, { timesSlashed: 2 });
        const o = outcome(batch([p], [offer(1, p)], [order(1, { maxTimesSlashed: maximum })]));
        expect(o.served.has(1n)).to.equal(served);
        if (!served) expect(o.reason.get(1n)).to.equal(UnmatchedReason.TooManySlashes);
      });
    }
  });

  describe("given free GPUs at, just below and just above an order's size", () => {
    for (const [free, served] of [
      [2, false],
      [3, true],
      [4, true],
    ] as const) {
      it(`${free} free GPUs for an order of 3: should ${served ? "be served" : "stay open with CapacityTooSmall"}`, () => {
        const p = provider(1);
        const o = outcome(batch([p], [offer(1, p, { gpuCount: 8, gpusLeased: 8 - free })], [order(1, { gpuCount: 3 })]));
        expect(o.served.has(1n)).to.equal(served);
        if (!served) expect(o.reason.get(1n)).to.equal(UnmatchedReason.CapacityTooSmall);
      });
    }
  });

  describe("given two orders competing for one GPU (greedy ties: larger value, then smaller orderId, §7.1)", () => {
    // Order 2's max price moves its price score one basis point below, equal to, or above order 1's
    // (⌊500 000·10 000 / max⌋ = 1 666 at max 3 000 000; 1 665 at 2 999 700; 1 667 at 3 000 300).
    for (const [max2, winner] of [
      [2_999_700n, 1n],
      [3_000_000n, 1n],
      [3_000_300n, 2n],
    ] as const) {
      it(`order 2 at max ${max2}: order ${winner} should get the GPU and the other stay open with CapacityTaken`, () => {
        const p = provider(1);
        const o = outcome(
          batch([p], [offer(1, p, { gpuCount: 8, gpusLeased: 7 })], [order(1, { maxPricePerGpuHour: 3_000_000n }), order(2, { maxPricePerGpuHour: max2 })], NO_RANDOM),
        );
        expect([...o.served]).to.deep.equal([[winner, 1n]]);
        expect(o.reason.get(winner === 1n ? 2n : 1n)).to.equal(UnmatchedReason.CapacityTaken);
      });
    }
  });

  describe("given one order and two offers of equal value (ties: smaller versionId, §7.1)", () => {
    for (const [price2, chosen] of [
      [2_500_300n, 1n],
      [2_500_000n, 1n],
      [2_499_700n, 2n],
    ] as const) {
      it(`offer 2 asking ${price2}: the order should take offer ${chosen}`, () => {
        const p = provider(1);
        const q = provider(2);
        const o = outcome(batch([p, q], [offer(1, p), offer(2, q, { pricePerGpuHour: price2 })], [order(1)], NO_RANDOM));
        expect(o.served.get(1n)).to.equal(chosen);
      });
    }
  });

  describe("given assignment values at the edges of their ABI widths (docs/protocol.md §3.7)", () => {
    const row = (over: Partial<Assignment> = {}): Assignment => ({ orderId: 1n, offerVersionId: 2n, gpuCount: 3, pricePerGpuHour: 4n, ...over });
    const viem = (rows: Assignment[]) => encodeAbiParameters(ASSIGNMENTS_ABI, [rows]);
    // 2^53 − 1, 2^53 and 2^53 + 1 straddle the encoder's cheap path for small numbers.
    for (const v of [0n, 1n, 255n, 256n, (1n << 53n) - 1n, 1n << 53n, (1n << 53n) + 1n, (1n << 64n) - 1n]) {
      it(`orderId, offerVersionId and price ${v} should encode as viem's encoder does`, () => {
        const rows = [row({ orderId: v, offerVersionId: v, pricePerGpuHour: v })];
        expect(encodeAssignments(rows)).to.equal(viem(rows));
      });
    }
    it("gpuCount 2^32 − 1 and price 2^128 − 1 should encode as viem's encoder does", () => {
      const rows = [row({ gpuCount: 2 ** 32 - 1, pricePerGpuHour: (1n << 128n) - 1n }), row({ gpuCount: 0 })];
      expect(encodeAssignments(rows)).to.equal(viem(rows));
    });
    for (const [name, bad, bits] of [
      ["orderId", row({ orderId: 1n << 64n }), 64],
      ["orderId", row({ orderId: -1n }), 64],
      ["offerVersionId", row({ offerVersionId: 1n << 64n }), 64],
      ["gpuCount", row({ gpuCount: 2 ** 32 }), 32],
      ["gpuCount", row({ gpuCount: -1 }), 32],
      ["pricePerGpuHour", row({ pricePerGpuHour: 1n << 128n }), 128],
    ] as const) {
      const value = bad[name];
      it(`${name} ${value} (one past uint${bits}) should be refused with OutOfRange naming it`, () => {
        try {
          encodeAssignments([bad]);
          expect.fail("encoded");
        } catch (err) {
          expect(err).to.be.instanceOf(MatchingInputError);
          expect((err as MatchingInputError).code).to.equal(MatchingErrorCode.OutOfRange);
          expect((err as Error).message).to.equal(`OUT_OF_RANGE: assignment ${name} = ${String(value)} does not fit uint${bits}`);
        }
      });
    }
    // Pages of PAGE_SIZE rows, the last one shorter: C_i = keccak256(abi.encode(page_i, C_{i+1})), C_n = 0.
    for (const n of [0, 1, PAGE_SIZE - 1, PAGE_SIZE, PAGE_SIZE + 1, 2 * PAGE_SIZE]) {
      it(`${n} rows should chain into ${Math.ceil(n / PAGE_SIZE)} page commitments as the contract recomputes them`, () => {
        const rows = Array.from({ length: n }, (_, i) => row({ orderId: BigInt(i + 1) }));
        const want: Hex[] = [`0x${"0".repeat(64)}`];
        for (let end = n; end > 0; end = Math.floor((end - 1) / PAGE_SIZE) * PAGE_SIZE) {
          const page = rows.slice(Math.floor((end - 1) / PAGE_SIZE) * PAGE_SIZE, end);
          want.unshift(keccak256(encodeAbiParameters([...ASSIGNMENTS_ABI, { type: "bytes32" }], [page, want[0]!])));
        }
        expect(pageCommitments(rows)).to.deep.equal(want);
        expect(assignmentsHash(rows)).to.equal(want[0]);
      });
    }
  });

  describe("given one region's offers priced around the order's max, their versionIds out of price order (§4 book order)", () => {
    // versionId 1 asks max + 1 and comes first by versionId: the scan of a region stops at the first offer above
    // the max only because the book lists offers by price, so the offers at and below it must still be found.
    const max = 3_000_000n;
    for (const [label, prices, listed] of [
      ["max + 1, max, max − 1", [max + 1n, max, max - 1n], [3n, 2n]],
      ["max + 1, max − 1, max − 1 (equal prices: versionId asc)", [max + 1n, max - 1n, max - 1n], [2n, 3n]],
      ["max, max + 1, max", [max, max + 1n, max], [1n, 3n]],
    ] as const) {
      it(`${label}: the candidate list should be the offers at or below max, by price then versionId`, () => {
        const ps = prices.map((_, i) => provider(i + 1));
        const inputs = batch(ps, prices.map((price, i) => offer(i + 1, ps[i]!, { pricePerGpuHour: price })), [order(1, { maxPricePerGpuHour: max })]);
        const b = prepareBatch(inputs, seedOf(9));
        const cand = buildCandidates(b);
        const got = [...cand.offer.subarray(cand.start[0]!, cand.start[1]!)].map((f) => b.offers[f]!.versionId);
        expect(got).to.deep.equal([...listed]);
      });
    }
  });
});
