import { expect } from "chai";
import fc from "fast-check";
import { zoneId } from "../../protocol/market/catalog.js";
import { CHAIN_DEPTH } from "../../protocol/matching/chains.js";
import { matchBatch } from "../../protocol/matching/engine.js";
import { buildCandidates, prepareBatch } from "../../protocol/matching/prepare.js";
import { beforeChains, expectChainPhaseSound } from "../support/matching/before-chains.js";
import type { MatchInputs } from "../../protocol/matching/types.js";
import { chainBatch } from "../support/matching/chain-batch.js";
import { generateInstance, REFERENCE_BLOCK, seedOf } from "../support/matching/generator.js";
import { hardRuleViolations } from "../support/matching/hard-rules.js";
import { generateMultizoneMarket, multizoneSeedOf } from "../support/matching/multizone-generator.js";
import { offer, order, provider } from "../support/matching/tiny.js";
import { GPU_CATALOG } from "../../protocol/market/catalog.js";

const servedVersion = (inputs: MatchInputs, seed: `0x${string}`): Map<bigint, bigint> =>
  new Map(matchBatch(inputs, seed).assignments.map((a) => [a.orderId, a.offerVersionId]));

/**
 * A path of `length` one-GPU offers X1‥XL in regions 10‥10+L−1, X_i asking a little more than X_{i−1}: order i
 * (1 ≤ i < L) accepts X_i and X_{i+1} (so prefers X_i, the cheaper); XL is free for the last move; order L accepts
 * only X1 and pays exactly its ask. Serving order L takes a chain through all L offers, worth far more than the
 * moves cost. No random term (weight 0), so that nothing but these prices orders the pairs.
 */
const PATH_WEIGHTS = { region: 2_000, price: 4_000, uptime: 1_000, reputation: 1_000, availability: 1_000, slashing: 500, stake: 500, random: 0 };

function pathBatch(length: number): MatchInputs {
  const providers = Array.from({ length }, (_, i) => provider(i + 1, { zone: zoneId(10 + i, 1) }));
  const ask = (i: number): bigint => 2_000_000n + 20_000n * BigInt(i);
  const offers = providers.map((p, i) => offer(i + 1, p, { gpuCount: 8, gpusLeased: 7, pricePerGpuHour: ask(i) }));
  const bit = (i: number): bigint => 1n << BigInt(10 + i);
  const orders = [];
  for (let i = 0; i < length - 1; i++) orders.push(order(i + 1, { regionMask: bit(i) | bit(i + 1), maxPricePerGpuHour: 5_000_000n }));
  orders.push(order(length, { regionMask: bit(0), maxPricePerGpuHour: ask(0) }));
  return { referenceBlock: REFERENCE_BLOCK, catalog: GPU_CATALOG, providers, offers, orders, weights: PATH_WEIGHTS };
}

describe("augmenting chains (docs/matching.md §7.6)", function () {
  this.timeout(120_000);

  describe("given an order that only a chain of two moves can serve", () => {
    it("should leave it open after every earlier phase, for lack of a one-move repair", () => {
      const b = prepareBatch(chainBatch(), seedOf(1));
      const cand = buildCandidates(b);
      const d = beforeChains(b, cand);
      expect(d.pair[2]).to.equal(-1);
    });
    it("should serve all three orders: 3 on X, 1 moved to Y, 2 moved to Z", () => {
      const got = servedVersion(chainBatch(), seedOf(1));
      expect([...got]).to.deep.equal([
        [1n, 2n],
        [2n, 3n],
        [3n, 1n],
      ]);
    });
  });

  describe("given chains through L offers, at the depth limit CHAIN_DEPTH", () => {
    for (const [length, served] of [
      [CHAIN_DEPTH - 1, true],
      [CHAIN_DEPTH, true],
      [CHAIN_DEPTH + 1, false],
    ] as const) {
      it(`L = ${length}: the last order should ${served ? "be served through the chain" : "stay open (the chain is one offer too long)"}`, () => {
        const got = servedVersion(pathBatch(length), seedOf(5));
        expect(got.has(BigInt(length))).to.equal(served);
        // Whether or not the chain applies, the first L − 1 orders stay served.
        for (let i = 1; i < length; i++) expect(got.has(BigInt(i)), `order ${i}`).to.equal(true);
        if (served) for (let i = 1; i < length; i++) expect(got.get(BigInt(i))).to.equal(BigInt(i + 1));
      });
    }
  });

  describe("given random batches of both generators", () => {
    it("should only ever raise the objective, and keep every hard rule and capacity", () => {
      fc.assert(
        fc.property(fc.nat(), fc.integer({ min: 1, max: 80 }), fc.integer({ min: 1, max: 60 }), fc.constantFrom("unit", "mixed"), fc.boolean(), (seed, orders, offers, sizes, second) => {
          const inputs = second
            ? generateMultizoneMarket({ seed, orders, offers, sizes, regime: "scarce" })
            : generateInstance({ seed, orders, offers, sizes, supply: "balanced" });
          const s = second ? multizoneSeedOf(seed) : seedOf(seed);
          const b = prepareBatch(inputs, s);
          const cand = buildCandidates(b);
          expectChainPhaseSound(b, cand);
          expect(hardRuleViolations(inputs, matchBatch(inputs, s).assignments)).to.deep.equal([]);
        }),
        { seed: 20261205, numRuns: 120 },
      );
    });
  });
});
