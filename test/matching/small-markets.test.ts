/**
 * The matcher's rules on markets small enough to run in milliseconds: the larger generated and fast-check runs of
 * engine, properties, bound and chains tests take seconds, too long to repeat for each of the matcher's mutants,
 * so `npm run mutate` runs this file in their place (docs/testing.md, "A fast test set").
 */
import { expect } from "chai";
import { decide, matchBatch, objectiveOf } from "../../protocol/matching/engine.js";
import { lagrangeBound } from "../../protocol/matching/optimum/lagrange.js";
import { flowBound, unitOptimum } from "../../protocol/matching/optimum/reference.js";
import { buildCandidates, prepareBatch, ScratchPool } from "../../protocol/matching/prepare.js";
import { expectChainPhaseSound } from "../support/matching/before-chains.js";
import { bruteForceOptimum } from "../support/matching/brute-force.js";
import { generateInstance, seedOf, shuffled, type Supply } from "../support/matching/generator.js";
import { hardRuleViolations } from "../support/matching/hard-rules.js";
import { generateMultizoneMarket, multizoneSeedOf } from "../support/matching/multizone-generator.js";

const SUPPLIES: Supply[] = ["abundant", "balanced", "scarce", "fragmented"];

describe("matcher on small markets (mutation test set, docs/testing.md)", () => {
  describe("given generated markets of 24 orders and 12 offers, every supply regime, both order sizes", () => {
    for (const supply of SUPPLIES) {
      for (const sizes of ["unit", "mixed"] as const) {
        for (const seed of [1, 2]) {
          it(`${supply}/${sizes} seed ${seed}: should keep every hard rule, list every order once, and decide the same for shuffled inputs`, () => {
            const inputs = generateInstance({ seed, orders: 24, offers: 12, sizes, supply, wideTokenPct: 20 });
            const r = matchBatch(inputs, seedOf(seed));
            expect(hardRuleViolations(inputs, r.assignments)).to.deep.equal([]);
            const ids = [...r.assignments.map((a) => a.orderId), ...r.unmatched.map((u) => u.orderId)].sort((a, b) => (a < b ? -1 : 1));
            expect(ids).to.deep.equal(inputs.orders.map((o) => o.orderId).sort((a, b) => (a < b ? -1 : 1)));
            const again = matchBatch(shuffled(inputs, seed + 100), seedOf(seed));
            expect(again.assignments).to.deep.equal(r.assignments);
            expect(again.unmatched).to.deep.equal(r.unmatched);
            expect(again.quality).to.deep.equal(r.quality);
          });
        }
      }
    }
  });

  describe("given small markets of both generators after every phase before the chains", () => {
    // The fast-check run of test/matching/chains.test.ts on 16 fixed markets of 12–40 orders.
    for (let i = 0; i < 16; i++) {
      const second = i % 2 === 1;
      const spec = { seed: 500 + i, orders: 12 + ((i * 7) % 29), offers: 6 + ((i * 5) % 19), sizes: i % 4 < 2 ? ("unit" as const) : ("mixed" as const) };
      it(`#${i} (${second ? "multizone" : "generator"}, ${spec.sizes}, ${spec.orders} orders, ${spec.offers} offers): the chain phase should never lower the objective, and keep taken equal to the GPUs used, within capacity`, () => {
        const inputs = second ? generateMultizoneMarket({ ...spec, regime: "scarce" }) : generateInstance({ ...spec, supply: "scarce" });
        const b = prepareBatch(inputs, second ? multizoneSeedOf(spec.seed) : seedOf(spec.seed));
        const cand = buildCandidates(b);
        expectChainPhaseSound(b, cand);
      });
    }
  });

  describe("given catch-all orders with more candidate pairs than a small cap (1, 2, 3, 5, 8)", () => {
    // The cap logic of buildCandidates (histogram floor, dropping below it past 2 × cap, keepBest in the floor's
    // bucket) on ~60 pairs per order instead of the thousands CANDIDATE_CAP needs: the kept pairs must be the cap
    // best by (base desc, versionId asc), in listed order.
    for (const cap of [1, 2, 3, 5, 8]) {
      it(`cap ${cap}: should keep exactly the cap best pairs of each order, in listed order`, () => {
        const inputs = generateInstance({ seed: 30 + cap, orders: 6, offers: 60, sizes: "unit", supply: "abundant" });
        for (const o of inputs.orders) Object.assign(o, { modelId: 0, minTier: 0, regionMask: 0n, maxPricePerGpuHour: 10n ** 12n, minUptimeBps: 0, minReputationBps: 0, maxTimesSlashed: 2 ** 32 - 1 });
        const b = prepareBatch(inputs, seedOf(cap));
        const all = buildCandidates(b, new ScratchPool(), Infinity);
        const capped = buildCandidates(b, new ScratchPool(), cap);
        let checked = 0;
        for (let oi = 0; oi < b.orders.length; oi++) {
          const full = Array.from({ length: all.start[oi + 1]! - all.start[oi]! }, (_, i) => all.start[oi]! + i);
          const best = [...full].sort((x, y) => all.base[y]! - all.base[x]! || b.offerRank[all.offer[x]!]! - b.offerRank[all.offer[y]!]!).slice(0, cap);
          best.sort((x, y) => x - y);
          const kept = Array.from({ length: capped.start[oi + 1]! - capped.start[oi]! }, (_, i) => capped.start[oi]! + i);
          expect(kept.map((e) => capped.offer[e]!), `order ${oi}`).to.deep.equal(best.map((e) => all.offer[e]!));
          expect(kept.map((e) => capped.base[e]!)).to.deep.equal(best.map((e) => all.base[e]!));
          if (full.length > 2 * cap) checked++;
        }
        expect(checked).to.be.greaterThan(0);
      });
    }
  });

  describe("given tiny generated markets (1–6 orders, 1–4 offers) solved by enumeration", () => {
    // 32 fixed instances cover every supply regime, both sizes, each order and offer count.
    for (let i = 0; i < 32; i++) {
      const spec = { seed: 1_000 + i, orders: 1 + (i % 6), offers: 1 + (i % 4), sizes: i % 2 === 0 ? ("unit" as const) : ("mixed" as const), supply: SUPPLIES[(i >> 1) % 4]! };
      it(`#${i} (${spec.supply}/${spec.sizes}, ${spec.orders} orders, ${spec.offers} offers): the engine should reach at least half of the optimum and never beat it; each bound should hold`, () => {
        const b = prepareBatch(generateInstance(spec), seedOf(i));
        const cand = buildCandidates(b);
        const best = bruteForceOptimum(b);
        const engine = Number(objectiveOf(b, cand, decide(b, cand).pair));
        expect(engine).to.be.at.most(best);
        expect(engine).to.be.at.least(best / 2);
        const all = buildCandidates(b, new ScratchPool(), Infinity);
        const flow = flowBound(b, all);
        expect(flow).to.be.at.least(best);
        if (spec.sizes === "unit") expect(unitOptimum(b, all).value).to.equal(best);
        const lagrange = lagrangeBound(b, all).value;
        expect(lagrange).to.be.at.least(best);
        expect(lagrange).to.be.at.most(flow);
      });
    }
  });
});
