/**
 * The Lagrangian bound (protocol/matching/optimum/lagrange.ts, docs/matching.md §10) against the same bound computed
 * a second time (test/support/matching/lagrange-reference.ts: every offer's knapsack by enumerating its subsets), on
 * tiny generated batches of 1–8 GPU orders: the same start L(u0), flow bound, number of steps and smallest L, for
 * the default options and for 0, 1 and 7 steps and a given target; and the bound between the enumerated optimum and
 * the flow relaxation.
 */
import { expect } from "chai";
import { lagrangeBound } from "../../protocol/matching/optimum/lagrange.js";
import { flowBound } from "../../protocol/matching/optimum/reference.js";
import { GPU_CATALOG, zoneId } from "../../protocol/market/catalog.js";
import { OrderStatus } from "../../protocol/market/types.js";
import { buildCandidates, prepareBatch, ScratchPool, type Candidates, type PreparedBatch } from "../../protocol/matching/prepare.js";
import { bruteForceOptimum } from "../support/matching/brute-force.js";
import { DEFAULT_WEIGHTS, REFERENCE_BLOCK, seedOf } from "../support/matching/generator.js";
import { referenceLagrange } from "../support/matching/lagrange-reference.js";
import { offer, order, provider } from "../support/matching/tiny.js";
import { mulberry32 } from "../support/matching/tie-markets.js";

/**
 * Batch i: 1–3 H100 offers of 2–8 GPUs (some leased) from providers in different zones, at different asks; 3–7
 * orders of 1–4 GPUs that accept every offer. Real pair scores (the default weights, random term included).
 */
function tiny(i: number): { b: PreparedBatch; all: Candidates } {
  const r = mulberry32(7_000 + i);
  const pick = (k: number): number => Math.floor(r() * k);
  const providers = [0, 1, 2].map((j) => provider(j + 1, { zone: zoneId(j * 2, 1) }));
  const offers = Array.from({ length: 1 + (i % 3) }, (_, f) => {
    const gpus = 2 + pick(7);
    return offer(f + 1, providers[f]!, { gpuCount: gpus, gpusLeased: pick(gpus - 1), pricePerGpuHour: 2_000_000n + BigInt(pick(500)) * 1_000n });
  });
  const orders = Array.from({ length: 3 + (i % 5) }, (_, o) => order(o + 1, { gpuCount: 1 + pick(4), preferredZone: zoneId(pick(3) * 2, 1) }));
  // Every third batch: the first order cancelled, the last one expired (no candidates, no multiplier).
  if (i % 3 === 0) {
    orders[0] = { ...orders[0]!, status: OrderStatus.Cancelled };
    orders[orders.length - 1] = { ...orders[orders.length - 1]!, expiresAt: REFERENCE_BLOCK };
  }
  const b = prepareBatch({ referenceBlock: REFERENCE_BLOCK, catalog: GPU_CATALOG, providers, offers, orders, weights: DEFAULT_WEIGHTS }, seedOf(i));
  return { b, all: buildCandidates(b, new ScratchPool(), Infinity) };
}

const CASES = 24;

describe("Lagrangian bound against the bound computed a second time (test/support/matching/lagrange-reference.ts)", function () {
  this.timeout(60_000);

  for (const [name, options] of [
    ["the default options (300 steps, target 97 % of the flow bound)", {}],
    ["no step (the start, from the flow's duals)", { iterations: 0 }],
    ["one step", { iterations: 1 }],
    ["7 steps towards the enumerated optimum as target", { iterations: 7, target: -1 }],
  ] as const) {
    describe(`given ${CASES} tiny batches and ${name}`, () => {
      it("should give the same start, flow bound, steps and bound, between the optimum and the flow bound", () => {
        let below = 0;
        let stopped = 0;
        for (let i = 0; i < CASES; i++) {
          const { b, all } = tiny(i);
          const exact = bruteForceOptimum(b);
          const opts = "target" in options ? { iterations: options.iterations, target: exact } : options;
          const got = lagrangeBound(b, all, opts);
          const want = referenceLagrange(b, all, opts);
          expect(got, `batch ${i}`).to.deep.equal(want);
          expect(got.flow, `batch ${i}: flow`).to.equal(flowBound(b, all));
          expect(got.value, `batch ${i}: above the optimum`).to.be.at.least(exact);
          expect(got.value, `batch ${i}: at most the flow bound`).to.be.at.most(got.flow);
          if (got.value < got.start) below++;
          if (got.iterations < (opts.iterations ?? 300)) stopped++;
        }
        // The steps matter: some lower the start, and some batches stop early (the subgradient vanishes).
        if (options.iterations !== 0) expect(below, "lowered below the start").to.be.greaterThan(0);
        if (options.iterations === undefined) expect(stopped, "stopped early").to.be.greaterThan(0);
      });
    });
  }
});
