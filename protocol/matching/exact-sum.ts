/**
 * An exact sum of integer terms without a bigint per term: each term is below 2^47 (docs/matching.md §12), so a
 * rest kept below 2^52 plus one term stays exact, and whole 2^52s are counted apart. The objective (§6) and the
 * chain phase's gains and stop rule (§7.6) are summed with it.
 */
export class ExactSum {
  /** A double from the start (−0): a first rest above 2^31 then changes no representation (and no compiled code). */
  private rest = -0;
  private carry = 0;

  reset(): void {
    this.rest = 0;
    this.carry = 0;
  }

  add(term: number): void {
    this.rest += term;
    if (this.rest >= EXACT_LIMIT) {
      this.rest -= EXACT_LIMIT;
      this.carry++;
    }
  }

  value(): bigint {
    return BigInt(this.carry) * EXACT_LIMIT_BIG + BigInt(this.rest);
  }
}

const EXACT_LIMIT = 2 ** 52;
const EXACT_LIMIT_BIG = 1n << 52n;
