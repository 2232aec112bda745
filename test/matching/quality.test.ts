import { expect } from "chai";
import { decide, objectiveOf } from "../../protocol/matching/engine.js";
import { lagrangeBound } from "../../protocol/matching/optimum/lagrange.js";
import { unitOptimum } from "../../protocol/matching/optimum/reference.js";
import { buildCandidates, prepareBatch, ScratchPool } from "../../protocol/matching/prepare.js";
import { generateInstance, seedOf, type Supply } from "../support/matching/generator.js";

/** Engine objective as a share of the reference (exact optimum or bound), in percent. */
function ratio(supply: Supply, sizes: "unit" | "mixed", seed: number, n: number): { pct: number; reference: number; engine: number } {
  const b = prepareBatch(generateInstance({ seed, orders: n, offers: n, sizes, supply }), seedOf(seed));
  const cand = buildCandidates(b);
  const engine = Number(objectiveOf(b, cand, decide(b, cand).pair));
  // The reference sees every feasible pair (no CANDIDATE_CAP): the optimum of the hard rules, not of the engine's lists.
  const all = buildCandidates(b, new ScratchPool(), Infinity);
  const reference = sizes === "unit" ? unitOptimum(b, all).value : lagrangeBound(b, all).value;
  return { pct: (100 * engine) / reference, reference, engine };
}

/*
 * Targets (docs/matching.md): ≥ 98 % of the exact optimum on unit instances, ≥ 95 % of the upper bound on mixed ones. The
 * mixed bound is the Lagrangian one (docs §10: each offer packs whole orders), not the flow relaxation, which lets an
 * order split over offers and on "balanced" supply sits ≈ 2 % above the true optimum (on this balanced instance the
 * engine reaches 94.9 % of the flow bound, 96.6 % of the Lagrangian one and 96.9 % of the exact optimum, docs §11).
 */
const UNIT_FLOOR: Record<Supply, number> = { abundant: 98, balanced: 98, scarce: 98, fragmented: 98 };
const MIXED_FLOOR: Record<Supply, number> = { abundant: 95, balanced: 95, scarce: 95, fragmented: 95 };

describe("matcher quality against the reference optimum", function () {
  this.timeout(120_000);
  describe("given unit orders (exact optimum by min-cost flow)", () => {
    for (const supply of ["abundant", "balanced", "scarce", "fragmented"] as const) {
      it(`${supply}: the engine's total value should be ≥ ${UNIT_FLOOR[supply]} % of the optimum`, () => {
        const r = ratio(supply, "unit", 31, 1_200);
        expect(r.engine).to.be.at.most(r.reference);
        expect(r.pct).to.be.at.least(UNIT_FLOOR[supply]);
      });
    }
  });
  describe("given orders of 1–8 GPUs (Lagrangian upper bound)", () => {
    for (const supply of ["abundant", "balanced", "scarce", "fragmented"] as const) {
      it(`${supply}: the engine's total value should be ≥ ${MIXED_FLOOR[supply]} % of the bound`, () => {
        const r = ratio(supply, "mixed", 32, 1_200);
        expect(r.engine).to.be.at.most(r.reference);
        expect(r.pct).to.be.at.least(MIXED_FLOOR[supply]);
      });
    }
  });
});
