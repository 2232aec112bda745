/**
 * The scored criteria of docs/matching.md §5, each an integer in 0‥10 000 (basis points), and the integer helpers
 * they need. Every function here is pure and uses only integers below 2^53 (bounds are argued next to each), so
 * all operators compute the same values; nothing here may ever produce a float.
 */
import { BPS } from "../market/types.js";

/** Free GPUs of one offer are counted up to this many (keeps every product below 2^53; see headroomSum). */
export const FREE_GPU_CAP = 65_536;

/** Prices are compared in the price score with this many significant bits (docs/matching.md §5.2). */
export const PRICE_BITS = 36;

/** A slash weighs as much as this many failed leases in the slash-rate score. */
export const SLASH_FACTOR = 10;

/** §5.1 region/zone fit. Zone ids carry their region in the high byte. */
export function regionScore(preferredZone: number, zone: number): number {
  if (preferredZone === 0 || zone === preferredZone) return BPS;
  return zone >> 8 === preferredZone >> 8 ? BPS / 2 : 0;
}

/** §5.2 bit length of a non-negative bigint. */
export function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

/** §5.2 the shift that leaves PRICE_BITS significant bits of an order's max price. */
export function priceShiftOf(maxPrice: bigint): number {
  return Math.max(0, bitLength(maxPrice) - PRICE_BITS);
}

/**
 * §5.2 price delta (max − price) / max on the shifted prices M = max >> s, P = price >> s (both < 2^36, P ≤ M).
 * (M − P) × 10 000 < 2^50, and Math.floor of a quotient of two integers below 2^53 is the exact integer floor
 * (the rounding error of the division, < q·2^-53, is smaller than the gap 1/M to the next integer), so this is
 * integer arithmetic carried in doubles.
 */
export function priceScore(maxShifted: number, priceShifted: number): number {
  if (maxShifted === 0) return 0;
  return Math.floor(((maxShifted - priceShifted) * BPS) / maxShifted);
}

/** The exact version of priceScore on bigints (used by the reference checks). */
export function priceScoreExact(maxPrice: bigint, price: bigint): number {
  const s = BigInt(priceShiftOf(maxPrice));
  return priceScore(Number(maxPrice >> s), Number(price >> s));
}

/**
 * §5.6 slash rate, inverse: 10 000 × (n + 1) / (n + 1 + 10·S), n = leases completed + failed, S = times slashed.
 * n < 2^33 and S < 2^32, so every product stays below 2^53.
 */
export function slashScore(leasesCompleted: number, leasesFailed: number, timesSlashed: number): number {
  const n1 = leasesCompleted + leasesFailed + 1;
  return Math.floor((n1 * BPS) / (n1 + SLASH_FACTOR * timesSlashed));
}

/** Integer square root (floor) of a non-negative bigint, by Newton's method. */
export function isqrt(x: bigint): bigint {
  if (x < 0n) throw new RangeError("isqrt of a negative number");
  if (x < 2n) return x;
  let r = 1n << BigInt((bitLength(x) + 1) >> 1); // ≥ √x
  for (;;) {
    const next = (r + x / r) >> 1n;
    if (next >= r) return r;
    r = next;
  }
}

/** §5.7 stake: √stake / √maxStake in basis points (concave, so a whale cannot buy the market). */
export function stakeScore(stake: bigint, maxStakeSqrt: bigint): number {
  if (maxStakeSqrt === 0n) return 0;
  return Number((isqrt(stake) * BigInt(BPS)) / maxStakeSqrt);
}

/**
 * Σ_{i=0}^{n-1} floor((a·i + b) / m) in O(log m) steps (the Euclid-like floor-sum recursion), for n ≥ 0, m ≥ 1,
 * a, b ≥ 0. Within the ranges headroomSum uses (n ≤ 2^16 + 1, m < 2^32, a = 10 000, b = 0) every intermediate is
 * below 2^50: a·n + b < m·(n + 1) ≤ 2^49, and the partial sums never exceed the result, which is ≤ 10 000·n.
 */
export function floorSum(n: number, m: number, a: number, b: number): number {
  let ans = 0;
  for (;;) {
    if (a >= m) {
      const q = Math.floor(a / m);
      ans += ((n * (n - 1)) / 2) * q;
      a -= q * m;
    }
    if (b >= m) {
      const q = Math.floor(b / m);
      ans += n * q;
      b -= q * m;
    }
    const yMax = a * n + b;
    if (yMax < m) return ans;
    n = Math.floor(yMax / m);
    b = yMax - n * m;
    const t = m;
    m = a;
    a = t;
  }
}

/** §5.5 headroom of one GPU unit: the k-th GPU taken from an offer with F free of C in total. */
export function unitHeadroom(free: number, total: number, k: number): number {
  return Math.floor(((free - k) * BPS) / total);
}

/**
 * §5.5 Σ_{k=t}^{t+g-1} unitHeadroom(F, C, k): the headroom of g GPUs taken when t of the offer's F free GPUs are
 * already taken in this batch (t + g ≤ F ≤ min(C, 65 536)). Computed in O(log C) by floor sums,
 * S(N) = Σ_{j=1}^{N} floor(10 000·j / C), as S(F − t) − S(F − t − g).
 */
export function headroomSum(free: number, total: number, t: number, g: number): number {
  const hi = free - t;
  const lo = hi - g;
  return floorSum(hi + 1, total, BPS, 0) - floorSum(lo + 1, total, BPS, 0);
}

/**
 * §5.8 the random term of one (order, offer) pair from their per-batch 32-bit values: xor, then the "lowbias32"
 * integer finalizer (two multiply–xorshift rounds, full avalanche), then scaled to 0‥10 000 by a multiply-high.
 * Math.imul is exact 32-bit multiplication; x × 10 001 < 2^46.
 */
export function mixRandom(orderValue: number, offerValue: number): number {
  let x = (orderValue ^ offerValue) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return Math.floor(((x >>> 0) * (BPS + 1)) / 4294967296);
}
