import { expect } from "chai";
import fc from "fast-check";
import { decide, matchBatch, objectiveOf } from "../../protocol/matching/engine.js";
import { GPU_CATALOG, zoneId } from "../../protocol/market/catalog.js";
import { MAKE_ROOM_DP_CELLS, makeRoomPhase } from "../../protocol/matching/make-room.js";
import { buildCandidates, prepareBatch } from "../../protocol/matching/prepare.js";
import type { MatchInputs } from "../../protocol/matching/types.js";
import { beforeMakeRoom } from "../support/matching/before-make-room.js";
import { expectPhaseSound } from "../support/matching/before-chains.js";
import { generateInstance, REFERENCE_BLOCK, seedOf } from "../support/matching/generator.js";
import { hardRuleViolations } from "../support/matching/hard-rules.js";
import { MAKE_ROOM_WEIGHTS, makeRoomBatch } from "../support/matching/make-room-batch.js";
import { offer, order, provider } from "../support/matching/tiny.js";
import { generateMultizoneMarket, multizoneSeedOf } from "../support/matching/multizone-generator.js";

/**
 * Offers X and W of n free GPUs each, equally priced, in regions 10 and 13; n one-GPU orders that accept both, all
 * placed on X by hand; one order of n GPUs that accepts only X. Serving it takes all n occupants off X (each to W),
 * a cover table of (n + 1)² entries.
 */
function fullOffer(n: number): { served: boolean; cells: number } {
  const px = provider(1, { zone: zoneId(10, 1) });
  const pw = provider(2, { zone: zoneId(13, 1) });
  const both = (1n << 10n) | (1n << 13n);
  const orders = Array.from({ length: n }, (_, i) => order(i + 1, { regionMask: both, maxPricePerGpuHour: 5_000_000n }));
  orders.push(order(n + 1, { gpuCount: n, regionMask: 1n << 10n, maxPricePerGpuHour: 5_000_000n }));
  const inputs: MatchInputs = {
    referenceBlock: REFERENCE_BLOCK,
    catalog: GPU_CATALOG,
    providers: [px, pw],
    offers: [offer(1, px, { gpuCount: n }), offer(2, pw, { gpuCount: n })],
    orders,
    weights: MAKE_ROOM_WEIGHTS,
  };
  const b = prepareBatch(inputs, seedOf(1));
  const cand = buildCandidates(b);
  const x = b.offers.findIndex((v) => v.versionId === 1n);
  const pair = new Int32Array(b.orders.length).fill(-1);
  for (let oi = 0; oi < n; oi++) for (let e = cand.start[oi]!; e < cand.start[oi + 1]!; e++) if (cand.offer[e] === x) pair[oi] = e;
  const taken = new Float64Array(b.offers.length);
  taken[x] = n;
  const d = { pair, taken };
  makeRoomPhase(b, cand, d);
  return { served: d.pair[n]! >= 0, cells: (n + 1) * (n + 1) };
}

const served = (inputs: MatchInputs): Array<[bigint, bigint]> => matchBatch(inputs, seedOf(1)).assignments.map((a) => [a.orderId, a.offerVersionId]);

describe("make room by ejection (docs/matching.md §7.7)", function () {
  this.timeout(120_000);

  describe("given a 4-GPU order that fits only where two occupants leave, one of them in place of a third order", () => {
    it("should be left open by every earlier phase", () => {
      const b = prepareBatch(makeRoomBatch(), seedOf(1));
      const d = beforeMakeRoom(b, buildCandidates(b));
      expect(d.pair[3]).to.equal(-1);
    });
    it("should serve all four: 4 on X, 1 moved to Y, 2 moved to Z, 3 ejected from Z to W", () => {
      expect(served(makeRoomBatch())).to.deep.equal([
        [1n, 2n],
        [2n, 3n],
        [3n, 4n],
        [4n, 1n],
      ]);
    });
    it("should apply one plan that raises the objective, after which a second call finds nothing", () => {
      const b = prepareBatch(makeRoomBatch(), seedOf(1));
      const cand = buildCandidates(b);
      const d = beforeMakeRoom(b, cand);
      const before = objectiveOf(b, cand, d.pair);
      expect(makeRoomPhase(b, cand, d)).to.equal(1);
      const after = objectiveOf(b, cand, d.pair);
      expect(after > before).to.equal(true);
      // A second call finds nothing left to gain.
      expect(makeRoomPhase(b, cand, d)).to.equal(0);
      expect(objectiveOf(b, cand, d.pair)).to.equal(after);
    });
  });

  describe("given the same batch without W (the ejected order would have to be dropped)", () => {
    it("should leave the 4-GPU order open: dropping order 3 costs more than order 4 brings", () => {
      expect(served(makeRoomBatch(false))).to.deep.equal([
        [1n, 1n],
        [2n, 1n],
        [3n, 3n],
      ]);
    });
  });

  describe(`given an order that needs every one of n occupants to leave (cover table (n + 1)², at most MAKE_ROOM_DP_CELLS = ${MAKE_ROOM_DP_CELLS})`, () => {
    for (const [n, tried] of [
      [254, true],
      [255, true],
      [256, false],
    ] as const) {
      it(`n = ${n}, ${(n + 1) * (n + 1)} entries: the offer should ${tried ? "be tried and the order served" : "not be tried: the order stays open"}`, () => {
        const r = fullOffer(n);
        expect(r.cells <= MAKE_ROOM_DP_CELLS).to.equal(tried);
        expect(r.served).to.equal(tried);
      });
    }
  });

  describe("given random batches of both generators", () => {
    it("should never lower the objective, and keep every hard rule and each offer's capacity", () => {
      fc.assert(
        fc.property(fc.nat(), fc.integer({ min: 1, max: 80 }), fc.integer({ min: 1, max: 60 }), fc.boolean(), (seed, orders, offers, second) => {
          const inputs = second
            ? generateMultizoneMarket({ seed, orders, offers, sizes: "mixed", regime: "balanced" })
            : generateInstance({ seed, orders, offers, sizes: "mixed", supply: "balanced" });
          const s = second ? multizoneSeedOf(seed) : seedOf(seed);
          const b = prepareBatch(inputs, s);
          const cand = buildCandidates(b);
          const d = beforeMakeRoom(b, cand);
          expectPhaseSound(b, cand, d, () => makeRoomPhase(b, cand, d));
          // decide ends with this phase: its result is the one checked here.
          expect(Array.from(decide(b, cand).pair)).to.deep.equal(Array.from(d.pair));
          expect(hardRuleViolations(inputs, matchBatch(inputs, s).assignments)).to.deep.equal([]);
        }),
        { seed: 20261206, numRuns: 120 },
      );
    });
  });
});
