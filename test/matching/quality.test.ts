import { expect } from "chai";
import { decide, objectiveOf } from "../../protocol/matching/engine.js";
import { flowBound, unitOptimum } from "../../protocol/matching/optimum/reference.js";
import { buildCandidates, prepareBatch } from "../../protocol/matching/prepare.js";
import { generateInstance, seedOf, type Supply } from "../support/matching/generator.js";

/** Engine objective as a share of the reference (exact optimum or bound), in percent. */
function ratio(supply: Supply, sizes: "unit" | "mixed", seed: number, n: number): { pct: number; reference: number; engine: number } {
  const b = prepareBatch(generateInstance({ seed, orders: n, offers: n, sizes, supply }), seedOf(seed));
  const cand = buildCandidates(b);
  const engine = Number(objectiveOf(b, cand, decide(b, cand).pair));
  const reference = sizes === "unit" ? unitOptimum(b, cand).value : flowBound(b, cand);
  return { pct: (100 * engine) / reference, reference, engine };
}

describe("matcher quality against the reference optimum", function () {
  this.timeout(120_000);
  describe("given unit orders (exact optimum by min-cost flow)", () => {
    for (const supply of ["abundant", "balanced", "scarce", "fragmented"] as const) {
      it(`${supply}: the engine's total value should be ≥ 98 % of the optimum`, () => {
        const r = ratio(supply, "unit", 31, 1_200);
        expect(r.engine).to.be.at.most(r.reference);
        expect(r.pct).to.be.at.least(98);
      });
    }
  });
  describe("given orders of 1–8 GPUs (upper bound by the flow relaxation)", () => {
    for (const supply of ["abundant", "balanced", "scarce", "fragmented"] as const) {
      it(`${supply}: the engine's total value should be ≥ 95 % of the bound`, () => {
        const r = ratio(supply, "mixed", 32, 1_200);
        expect(r.engine).to.be.at.most(r.reference);
        expect(r.pct).to.be.at.least(95);
      });
    }
  });
});
