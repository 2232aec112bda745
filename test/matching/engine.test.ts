import { expect } from "chai";
import { encodeAbiParameters } from "viem";
import { GPU_CATALOG } from "../../protocol/market/catalog.js";
import { ASSIGNMENTS_ABI } from "../../protocol/market/types.js";
import { assignmentsHash, encodeAssignments } from "../../protocol/matching/encode.js";
import { decide, greedyPhase, improvePhase, matchBatch, objectiveOf, offerPrices, repairPhase, swapPhase } from "../../protocol/matching/engine.js";
import { MatchingErrorCode, MatchingInputError } from "../../protocol/matching/errors.js";
import { buildCandidates, CANDIDATE_CAP, isCandidate, pairBase, prepareBatch, ScratchPool } from "../../protocol/matching/prepare.js";
import { UnmatchedReason, type MatchInputs } from "../../protocol/matching/types.js";
import { DEFAULT_WEIGHTS, generateInstance, REFERENCE_BLOCK, seedOf, type Supply } from "../support/matching/generator.js";
import { hardRuleViolations } from "../support/matching/hard-rules.js";
import { offer, order, provider, tinyBatch } from "../support/matching/tiny.js";
import { takenOf } from "../support/matching/tie-markets.js";

function expectInputError(fn: () => unknown, code: MatchingErrorCode): void {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(MatchingInputError);
    expect((err as MatchingInputError).code).to.equal(code);
    return;
  }
  expect.fail(`expected MatchingInputError ${code}`);
}

describe("matcher engine (docs/matching.md)", () => {
  describe("given generated batches of every supply regime", () => {
    const cases: Array<[Supply, "unit" | "mixed"]> = [
      ["abundant", "unit"],
      ["scarce", "unit"],
      ["abundant", "mixed"],
      ["balanced", "mixed"],
      ["scarce", "mixed"],
      ["fragmented", "mixed"],
    ];
    for (const [supply, sizes] of cases) {
      it(`${supply}/${sizes}: every assignment should satisfy every hard rule and no capacity be exceeded`, () => {
        const inputs = generateInstance({ seed: 7, orders: 400, offers: 300, sizes, supply, wideTokenPct: 20 });
        const r = matchBatch(inputs, seedOf(3));
        expect(r.assignments.length).to.be.greaterThan(0);
        expect(hardRuleViolations(inputs, r.assignments)).to.deep.equal([]);
        // Every order appears exactly once: assigned or unmatched with a reason.
        const ids = [...r.assignments.map((a) => a.orderId), ...r.unmatched.map((u) => u.orderId)].sort((a, b) => (a < b ? -1 : 1));
        expect(ids).to.deep.equal(inputs.orders.map((o) => o.orderId).sort((a, b) => (a < b ? -1 : 1)));
      });
    }
  });

  describe("given the hand-built batch", () => {
    // Matched inside each `it`, not while mocha collects the tests: code run outside a test counts as "static" for
    // Stryker, which then reruns every test in a fresh process for each of its mutants (docs/testing.md).
    const run = () => matchBatch(tinyBatch(), seedOf(1));
    it("should serve the larger order first and fill the tier order from the only fitting offer", () => {
      const r = run();
      expect(r.assignments.map((a) => [a.orderId, a.offerVersionId, a.gpuCount, a.pricePerGpuHour])).to.deep.equal([
        [1n, 1n, 2, 2_500_000n],
        [11n, 3n, 3, 300_000n],
      ]);
    });
    it("should leave each infeasible order open with the reason of the first filter that emptied its offers", () => {
      const r = run();
      const reason = (id: number) => r.unmatched.find((u) => u.orderId === BigInt(id))?.reason;
      expect(reason(2)).to.equal(UnmatchedReason.CapacityTaken);
      expect(reason(3)).to.equal(UnmatchedReason.NoOfferForModel);
      expect(reason(4)).to.equal(UnmatchedReason.NoOfferInRegion);
      expect(reason(5)).to.equal(UnmatchedReason.ProviderNotActive);
      expect(reason(6)).to.equal(UnmatchedReason.PriceAboveMax);
      expect(reason(7)).to.equal(UnmatchedReason.UptimeTooLow);
      expect(reason(8)).to.equal(UnmatchedReason.ReputationTooLow);
      expect(reason(9)).to.equal(UnmatchedReason.TooManySlashes);
      expect(reason(10)).to.equal(UnmatchedReason.CapacityTooSmall);
      expect(reason(12)).to.equal(UnmatchedReason.OrderNotOpen);
      expect(reason(13)).to.equal(UnmatchedReason.OrderExpired);
      expect(reason(14)).to.equal(UnmatchedReason.NoOfferForModel);
    });
    it("should report the batch's market-quality figures", () => {
      const q = run().quality;
      expect(q.ordersOpen).to.equal(12); // 14 minus the cancelled and the expired one
      expect(q.ordersMatched).to.equal(2);
      expect(q.fillRateOrdersBps).to.equal(Math.floor((2 * 10_000) / 12));
      expect(q.gpusMatched).to.equal(5);
      // paid 2 × 2.5 + 3 × 0.3 = 5.9; max 2 × 3 + 3 × 0.4 = 7.2
      expect(q.meanPriceVsMaxBps).to.equal(Math.floor((5_900_000 * 10_000) / 7_200_000));
      expect(q.gpusPerProvider.map((s) => [s.provider, s.gpus, s.shareBps])).to.deep.equal([
        [provider(1).provider, 2, 4_000],
        [provider(3).provider, 3, 6_000],
      ]);
      expect(q.totalValue > 0n).to.equal(true);
    });
  });

  describe("given how many pairs phase 1 loads per order", () => {
    it("should give the same greedy assignment for 1, 4 and 64 (speed knob only)", () => {
      for (const supply of ["abundant", "scarce", "fragmented"] as const) {
        const b = prepareBatch(generateInstance({ seed: 9, orders: 300, offers: 200, sizes: "mixed", supply }), seedOf(2));
        const cand = buildCandidates(b);
        const runs = [1, 4, 64].map((load) => Array.from(greedyPhase(b, cand, { load }).pair));
        expect(runs[1]).to.deep.equal(runs[0]);
        expect(runs[2]).to.deep.equal(runs[0]);
      }
    });
    it("given more equally valued pairs than it loads (identical offers, no random term): should serve the orders by versionId, not reload for ever", () => {
      const p = provider(1);
      const offers = [1, 2, 3, 4, 5, 6].map((v) => offer(v, p));
      const weights = { ...DEFAULT_WEIGHTS, region: DEFAULT_WEIGHTS.region + DEFAULT_WEIGHTS.random, random: 0 };
      const inputs: MatchInputs = { referenceBlock: REFERENCE_BLOCK, catalog: GPU_CATALOG, providers: [p], offers, orders: [order(1), order(2)], weights };
      for (const load of [1, 4, 5]) {
        const r = matchBatch(inputs, seedOf(1), { load, greedyOnly: true });
        expect(r.assignments.map((a) => [a.orderId, a.offerVersionId]), `load ${load}`).to.deep.equal([
          [1n, 1n],
          [2n, 2n],
        ]);
      }
    });
    it("should equal a plain global greedy that scores every pair each step", () => {
      const b = prepareBatch(generateInstance({ seed: 10, orders: 80, offers: 50, sizes: "mixed", supply: "balanced" }), seedOf(2));
      const cand = buildCandidates(b);
      const fast = greedyPhase(b, cand).pair;
      // Reference: O(steps × pairs) loop over every (order, pair), best by (value, -orderIdx, -versionId rank).
      const taken = new Float64Array(b.offers.length);
      const got = new Int32Array(b.orders.length).fill(-1);
      for (;;) {
        let best = -1;
        let bestV = -1;
        let bestO = -1;
        for (let oi = 0; oi < b.orders.length; oi++) {
          if (got[oi] !== -1) continue;
          const g = b.orderGpus[oi]!;
          for (let e = cand.start[oi]!; e < cand.start[oi + 1]!; e++) {
            const f = cand.offer[e]!;
            if (b.offerFree[f]! - taken[f]! < g) continue;
            let head = 0;
            for (let k = taken[f]!; k < taken[f]! + g; k++) head += Math.floor(((b.offerFree[f]! - k) * 10_000) / b.offerTotal[f]!);
            const v = g * cand.base[e]! + b.weightAvailability * head;
            const better = v > bestV || (v === bestV && (oi < bestO || (oi === bestO && b.offerRank[f]! < b.offerRank[cand.offer[best]!]!)));
            if (better) {
              best = e;
              bestV = v;
              bestO = oi;
            }
          }
        }
        if (best < 0) break;
        got[bestO] = best;
        taken[cand.offer[best]!]! += b.orderGpus[bestO]!;
      }
      expect(Array.from(fast)).to.deep.equal(Array.from(got));
    });
  });

  describe("given the phases after greedy", () => {
    it("each of repair, improve and swap should never lower the objective nor break capacity", () => {
      for (const [supply, sizes] of [["scarce", "unit"], ["fragmented", "unit"], ["balanced", "mixed"], ["fragmented", "mixed"]] as const) {
        const inputs = generateInstance({ seed: 15, orders: 500, offers: 400, sizes, supply });
        const b = prepareBatch(inputs, seedOf(7));
        const cand = buildCandidates(b);
        const d = greedyPhase(b, cand, {}, offerPrices(b, cand, greedyPhase(b, cand)));
        let last = objectiveOf(b, cand, d.pair);
        for (const phase of [repairPhase, improvePhase, swapPhase, repairPhase]) {
          phase(b, cand, d);
          const now = objectiveOf(b, cand, d.pair);
          expect(now >= last).to.equal(true);
          last = now;
          const taken = takenOf(b, cand, d.pair);
          expect(Array.from(taken)).to.deep.equal(Array.from(d.taken));
          for (let f = 0; f < b.offers.length; f++) expect(taken[f]).to.be.at.most(b.offerFree[f]!);
        }
      }
    });
    it("all phases together should never end below plain greedy", () => {
      for (const supply of ["scarce", "fragmented", "balanced"] as const) {
        const b = prepareBatch(generateInstance({ seed: 12, orders: 500, offers: 400, sizes: "mixed", supply }), seedOf(4));
        const cand = buildCandidates(b);
        const greedy = objectiveOf(b, cand, decide(b, cand, { greedyOnly: true }).pair);
        const full = objectiveOf(b, cand, decide(b, cand).pair);
        expect(full >= greedy).to.equal(true);
      }
    });
  });

  describe("given an order that could pair with more offers than CANDIDATE_CAP", () => {
    // The second case has orders with more than 2 × CANDIDATE_CAP pairs, so buildCandidates' pruning (skip pairs
    // below a floor, drop the list below it) runs several times per order: the result must not show it.
    for (const spec of [
      { seed: 16, orders: 50, offers: 3 * CANDIDATE_CAP, sizes: "unit", supply: "abundant" },
      { seed: 17, orders: 40, offers: 6 * CANDIDATE_CAP, sizes: "unit", supply: "balanced" },
    ] as const)
    it(`${spec.sizes}, ${spec.offers} offers: should keep its CANDIDATE_CAP best pairs by base, in listed order, and still match within the hard rules`, () => {
      const inputs = generateInstance(spec);
      for (const o of inputs.orders) Object.assign(o, { modelId: 0, minTier: 0, regionMask: 0n, maxPricePerGpuHour: 10n ** 12n, minUptimeBps: 0, minReputationBps: 0, maxTimesSlashed: 2 ** 32 - 1 });
      const b = prepareBatch(inputs, seedOf(8));
      const capped = buildCandidates(b);
      const all = buildCandidates(b, new ScratchPool(), Infinity);
      for (let oi = 0; oi < b.orders.length; oi++) {
        const full = Array.from({ length: all.start[oi + 1]! - all.start[oi]! }, (_, i) => all.start[oi]! + i);
        if (b.orderState[oi] !== 0) continue;
        expect(full.length).to.be.greaterThan(CANDIDATE_CAP);
        const best = [...full].sort((x, y) => all.base[y]! - all.base[x]! || b.offerRank[all.offer[x]!]! - b.offerRank[all.offer[y]!]!).slice(0, CANDIDATE_CAP);
        const kept = Array.from({ length: capped.start[oi + 1]! - capped.start[oi]! }, (_, i) => capped.start[oi]! + i);
        best.sort((x, y) => x - y);
        expect(kept.map((e) => capped.offer[e]!)).to.deep.equal(best.map((e) => all.offer[e]!));
        expect(kept.map((e) => capped.base[e]!)).to.deep.equal(best.map((e) => all.base[e]!));
      }
      expect(hardRuleViolations(inputs, matchBatch(inputs, seedOf(8)).assignments)).to.deep.equal([]);
    });
  });

  describe("given the candidate index", () => {
    it("should list exactly the pairs the one-pair filter accepts, with the one-pair score", () => {
      const b = prepareBatch(generateInstance({ seed: 13, orders: 120, offers: 90, sizes: "mixed", supply: "balanced", wideTokenPct: 30 }), seedOf(5));
      const cand = buildCandidates(b, new ScratchPool(), Infinity);
      for (let oi = 0; oi < b.orders.length; oi++) {
        const listed = new Map<number, number>();
        for (let e = cand.start[oi]!; e < cand.start[oi + 1]!; e++) listed.set(cand.offer[e]!, cand.base[e]!);
        for (let f = 0; f < b.offers.length; f++) {
          expect(listed.has(f)).to.equal(isCandidate(b, oi, f));
          if (listed.has(f)) expect(listed.get(f)).to.equal(pairBase(b, oi, f));
        }
      }
    });
  });

  describe("given the ABI encoding", () => {
    it("should produce viem's encodeAbiParameters bytes and their keccak", () => {
      const r = matchBatch(generateInstance({ seed: 14, orders: 200, offers: 150, sizes: "mixed", supply: "abundant", wideTokenPct: 50 }), seedOf(6));
      expect(r.assignments.length).to.be.greaterThan(50);
      expect(encodeAssignments(r.assignments)).to.equal(encodeAbiParameters(ASSIGNMENTS_ABI, [r.assignments]));
      expect(encodeAssignments([])).to.equal(encodeAbiParameters(ASSIGNMENTS_ABI, [[]]));
      const big = [{ orderId: (1n << 64n) - 1n, offerVersionId: 1n, gpuCount: 2 ** 32 - 1, pricePerGpuHour: (1n << 128n) - 1n }];
      expect(encodeAssignments(big)).to.equal(encodeAbiParameters(ASSIGNMENTS_ABI, [big]));
      expect(assignmentsHash(big)).to.match(/^0x[0-9a-f]{64}$/);
    });
  });

  describe("given bad input", () => {
    const base = (): MatchInputs => tinyBatch();
    it("error: a malformed seed", () => expectInputError(() => matchBatch(base(), "0x1234"), MatchingErrorCode.BadSeed));
    it("error: weights that do not sum to 10 000", () =>
      expectInputError(() => matchBatch({ ...base(), weights: { ...base().weights, random: 999 } }, seedOf(1)), MatchingErrorCode.BadWeights));
    it("error: the same order twice", () => expectInputError(() => matchBatch({ ...base(), orders: [order(1), order(1)] }, seedOf(1)), MatchingErrorCode.DuplicateOrder));
    it("error: the same offer version twice", () => {
      const p = provider(1);
      expectInputError(() => matchBatch({ ...base(), offers: [offer(1, p), offer(1, p)] }, seedOf(1)), MatchingErrorCode.DuplicateOfferVersion);
    });
    it("error: two versions of one offer active at R_b", () => {
      const p = provider(1);
      expectInputError(() => matchBatch({ ...base(), offers: [offer(1, p), offer(2, p, { offerId: 1n })] }, seedOf(1)), MatchingErrorCode.TwoActiveVersions);
    });
    it("error: an offer whose provider is missing", () => {
      expectInputError(() => matchBatch({ ...base(), providers: [provider(2)] }, seedOf(1)), MatchingErrorCode.UnknownProvider);
    });
    it("error: a value outside its on-chain width", () => {
      expectInputError(() => matchBatch({ ...base(), orders: [order(1, { gpuCount: 2 ** 32 })] }, seedOf(1)), MatchingErrorCode.OutOfRange);
      expectInputError(() => matchBatch({ ...base(), orders: [order(1, { maxPricePerGpuHour: 1n << 128n })] }, seedOf(1)), MatchingErrorCode.OutOfRange);
      expectInputError(() => matchBatch({ ...base(), orders: [order(1, { gpuCount: 0 })] }, seedOf(1)), MatchingErrorCode.OutOfRange);
    });
  });
});
