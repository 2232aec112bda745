import { expect } from "chai";
import { encodeAssignments } from "../../protocol/matching/encode.js";
import { decide, matchBatch, objectiveOf } from "../../protocol/matching/engine.js";
import { lagrangeBound } from "../../protocol/matching/optimum/lagrange.js";
import { unitOptimum } from "../../protocol/matching/optimum/reference.js";
import { buildCandidates, CANDIDATE_CAP, prepareBatch, ScratchPool } from "../../protocol/matching/prepare.js";
import { shuffled } from "../support/matching/generator.js";
import { hardRuleViolations } from "../support/matching/hard-rules.js";
import { generateMultizoneMarket, multizoneSeedOf, type MultizoneRegime } from "../support/matching/multizone-generator.js";

/*
 * The same properties as for the first generator, on markets of the second, independent one: multi-zone providers,
 * a long tail of tiny offers, duplicated offers, prices clustered at round figures and at the order maxima (most
 * above 2^36), tier orders over many regions, and a regime in which most orders have no feasible offer.
 */
const REGIMES: MultizoneRegime[] = ["balanced", "scarce", "sparse"];

/** docs §11 targets: ≥ 99.5 % of the exact optimum (one-GPU orders), ≥ 98 % of the Lagrangian bound (mixed). */
const UNIT_FLOOR = 99.5;
const MIXED_FLOOR = 98;

describe("matcher on the second generator's markets", function () {
  this.timeout(180_000);

  describe("given each regime, one-GPU and mixed orders", () => {
    for (const regime of REGIMES) {
      for (const sizes of ["unit", "mixed"] as const) {
        it(`${regime}/${sizes}: every assignment should satisfy every hard rule, and every order appear once`, () => {
          const inputs = generateMultizoneMarket({ seed: 11, orders: 500, offers: 400, sizes, regime });
          const r = matchBatch(inputs, multizoneSeedOf(11));
          expect(r.assignments.length).to.be.greaterThan(0);
          expect(hardRuleViolations(inputs, r.assignments)).to.deep.equal([]);
          const ids = [...r.assignments.map((a) => a.orderId), ...r.unmatched.map((u) => u.orderId)].sort((a, b) => (a < b ? -1 : 1));
          expect(ids).to.deep.equal(inputs.orders.map((o) => o.orderId).sort((a, b) => (a < b ? -1 : 1)));
        });
      }
    }
  });

  describe("given the same market with every input array shuffled", () => {
    it("should give byte-identical encoded assignments, reasons and figures", () => {
      const inputs = generateMultizoneMarket({ seed: 12, orders: 600, offers: 500, sizes: "mixed", regime: "balanced" });
      const seed = multizoneSeedOf(12);
      const a = matchBatch(inputs, seed);
      for (const s of [1, 2, 3]) {
        const b = matchBatch(shuffled(inputs, s), seed);
        expect(encodeAssignments(b.assignments)).to.equal(encodeAssignments(a.assignments));
        expect(b.unmatched).to.deep.equal(a.unmatched);
        expect(b.quality).to.deep.equal(a.quality);
      }
    });
  });

  describe("given markets of 1 200 orders × 1 200 offers against the reference", () => {
    for (const regime of REGIMES) {
      it(`${regime}/unit: the engine should reach ≥ ${UNIT_FLOOR} % of the exact optimum`, () => {
        const b = prepareBatch(generateMultizoneMarket({ seed: 32, orders: 1_200, offers: 1_200, sizes: "unit", regime }), multizoneSeedOf(32));
        const cand = buildCandidates(b);
        const engine = Number(objectiveOf(b, cand, decide(b, cand).pair));
        const optimum = unitOptimum(b, buildCandidates(b, new ScratchPool(), Infinity)).value;
        expect(engine).to.be.at.most(optimum);
        expect((100 * engine) / optimum).to.be.at.least(UNIT_FLOOR);
      });
      it(`${regime}/mixed: the engine should reach ≥ ${MIXED_FLOOR} % of the Lagrangian bound`, () => {
        const b = prepareBatch(generateMultizoneMarket({ seed: 32, orders: 1_200, offers: 1_200, sizes: "mixed", regime }), multizoneSeedOf(32));
        const cand = buildCandidates(b);
        const engine = Number(objectiveOf(b, cand, decide(b, cand).pair));
        const bound = lagrangeBound(b, buildCandidates(b, new ScratchPool(), Infinity), { target: engine }).value;
        expect(engine).to.be.at.most(bound);
        expect((100 * engine) / bound).to.be.at.least(MIXED_FLOOR);
      });
    }
  });

  describe("given the benchmark's 5 000 × 5 000 balanced mixed market (125 orders above CANDIDATE_CAP)", () => {
    it(`the engine should reach ≥ ${MIXED_FLOOR} % of the Lagrangian bound (bench key matcher.quality_mixed_mz_5k_pct)`, () => {
      const b = prepareBatch(generateMultizoneMarket({ seed: 500, orders: 5_000, offers: 5_000, sizes: "mixed", regime: "balanced" }), multizoneSeedOf(500));
      const cand = buildCandidates(b);
      const engine = Number(objectiveOf(b, cand, decide(b, cand).pair));
      const bound = lagrangeBound(b, buildCandidates(b, new ScratchPool(), Infinity), { target: engine }).value;
      expect(engine).to.be.at.most(bound);
      expect((100 * engine) / bound).to.be.at.least(MIXED_FLOOR);
    });
  });

  describe(`given tier orders with more than CANDIDATE_CAP (${CANDIDATE_CAP}) feasible offers`, () => {
    it("should lose nothing measurable to the cap: the capped engine within 0.01 % of the engine on every pair", () => {
      const b = prepareBatch(generateMultizoneMarket({ seed: 32, orders: 1_200, offers: 1_200, sizes: "unit", regime: "balanced" }), multizoneSeedOf(32));
      const all = buildCandidates(b, new ScratchPool(), Infinity);
      let over = 0;
      for (let oi = 0; oi < b.orders.length; oi++) if (all.start[oi + 1]! - all.start[oi]! > CANDIDATE_CAP) over++;
      expect(over, "orders above the cap").to.be.greaterThan(0);
      const capped = buildCandidates(b);
      const withCap = Number(objectiveOf(b, capped, decide(b, capped).pair));
      const withoutCap = Number(objectiveOf(b, all, decide(b, all).pair));
      expect(withCap).to.be.at.least(withoutCap * 0.9999);
    });
  });
});
