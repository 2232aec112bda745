/**
 * The exact optimum for one-GPU orders (protocol/matching/optimum/reference.ts, docs/matching.md §10): its
 * assignment must be one the engine could make and worth exactly the value it reports; it refuses batches with an
 * open order of several GPUs and accepts ones whose several-GPU orders are not open.
 */
import { expect } from "chai";
import { OrderStatus } from "../../protocol/market/types.js";
import { objectiveOf } from "../../protocol/matching/engine.js";
import { unitOptimum } from "../../protocol/matching/optimum/reference.js";
import { buildCandidates, prepareBatch, ScratchPool } from "../../protocol/matching/prepare.js";
import { generateInstance, seedOf } from "../support/matching/generator.js";

describe("unitOptimum (docs/matching.md §10)", () => {
  for (const supply of ["balanced", "scarce"] as const) {
    for (const seed of [3, 4]) {
      it(`given a ${supply} market of 24 one-GPU orders, seed ${seed}: should return an assignment within capacity, one candidate pair per order at most, worth exactly its value`, () => {
        const b = prepareBatch(generateInstance({ seed, orders: 24, offers: 12, sizes: "unit", supply }), seedOf(seed));
        const cand = buildCandidates(b, new ScratchPool(), Infinity);
        const { value, pair } = unitOptimum(b, cand);
        const used = new Array<number>(b.offers.length).fill(0);
        let served = 0;
        for (let oi = 0; oi < b.orders.length; oi++) {
          if (pair[oi] === -1) continue;
          expect(pair[oi]).to.be.at.least(cand.start[oi]!).and.below(cand.start[oi + 1]!);
          used[cand.offer[pair[oi]!]!]! += 1;
          served++;
        }
        for (let f = 0; f < b.offers.length; f++) expect(used[f]).to.be.at.most(b.offerFree[f]!);
        expect(served).to.be.greaterThan(0);
        expect(objectiveOf(b, cand, pair)).to.equal(BigInt(value));
      });
    }
  }

  describe("given order sizes", () => {
    const batchWith = (gpuCount: number, status: OrderStatus) => {
      const inputs = generateInstance({ seed: 3, orders: 24, offers: 12, sizes: "unit", supply: "balanced" });
      const orders = [{ ...inputs.orders[0]!, gpuCount, status }, ...inputs.orders.slice(1)];
      const b = prepareBatch({ ...inputs, orders }, seedOf(3));
      return { b, cand: buildCandidates(b, new ScratchPool(), Infinity) };
    };
    it("an open order of 2 GPUs: should refuse the batch, naming the rule", () => {
      const { b, cand } = batchWith(2, OrderStatus.Open);
      expect(() => unitOptimum(b, cand)).to.throw("unitOptimum: every open order must ask for one GPU");
    });
    it("a cancelled order of 2 GPUs: should solve the batch (only open orders count)", () => {
      const { b, cand } = batchWith(2, OrderStatus.Cancelled);
      expect(unitOptimum(b, cand).value).to.be.greaterThan(0);
    });
    it("every open order of 1 GPU: should solve the batch", () => {
      const { b, cand } = batchWith(1, OrderStatus.Open);
      expect(unitOptimum(b, cand).value).to.be.greaterThan(0);
    });
  });
});
