import { expect } from "chai";
import { ExactSum } from "../../protocol/matching/exact-sum.js";

/** The sum by the ExactSum under test, and the same sum in bigints. */
function sums(terms: number[]): { exact: bigint; reference: bigint } {
  const s = new ExactSum();
  for (const t of terms) s.add(t);
  return { exact: s.value(), reference: terms.reduce((a, t) => a + BigInt(t), 0n) };
}

describe("an exact sum of integer terms below 2^47 (protocol/matching/exact-sum.ts, docs/matching.md §12)", () => {
  const TOP = 2 ** 47 - 1;
  describe("given running sums at, one below and one above 2^52 (where a double stops holding every integer plus a term)", () => {
    for (const extra of [-1, 0, 1]) {
      it(`32 terms of 2^47 − 1, then ${32 + extra}: should equal the bigint sum`, () => {
        const terms = [...Array<number>(32).fill(TOP), 32 + extra];
        const { exact, reference } = sums(terms);
        expect(exact).to.equal(reference);
        expect(reference - (1n << 52n)).to.equal(BigInt(extra)); // the sum sits at the edge the test names
      });
    }
  });
  describe("given 10 000 terms of 2^47 − 1 (a sum near 2^60, carried 300 times)", () => {
    it("should equal the bigint sum", () => {
      const { exact, reference } = sums(Array<number>(10_000).fill(TOP));
      expect(exact).to.equal(reference);
    });
  });
  describe("given a sum reset between two runs", () => {
    it("should count only the terms added after the reset", () => {
      const s = new ExactSum();
      for (let i = 0; i < 100; i++) s.add(TOP);
      s.reset();
      s.add(5);
      s.add(7);
      expect(s.value()).to.equal(12n);
    });
  });
});
