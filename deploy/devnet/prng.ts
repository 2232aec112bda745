/**
 * A small seeded PRNG (splitmix64) for the devnet's market traffic: the same `--seed` gives the same providers,
 * offers and orders, so a run can be repeated. Not for anything secret or consensus-relevant.
 */
const MASK64 = (1n << 64n) - 1n;

export class Prng {
  private state: bigint;

  constructor(seed: number | bigint) {
    this.state = BigInt(seed) & MASK64;
  }

  /** The next 64 random bits. */
  next64(): bigint {
    this.state = (this.state + 0x9e3779b97f4a7c15n) & MASK64;
    let z = this.state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
    return z ^ (z >> 31n);
  }

  /** An integer in [0, n), n ≥ 1 (rejection sampling: no modulo bias). */
  below(n: number): number {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`Prng.below: n must be a positive integer, got ${n}`);
    const bn = BigInt(n);
    const limit = (1n << 64n) - ((1n << 64n) % bn);
    for (;;) {
      const v = this.next64();
      if (v < limit) return Number(v % bn);
    }
  }

  /** An integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("Prng.pick: empty list");
    return items[this.below(items.length)]!;
  }

  /** True with probability pct / 100. */
  chance(pct: number): boolean {
    return this.below(100) < pct;
  }
}
