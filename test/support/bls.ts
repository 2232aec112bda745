/**
 * Helpers for BLS tests and vector generation (no side effects at import: mocha loads every file under test/).
 */
import { bn254 } from "@noble/curves/bn254.js";
import { keccak256, toBytes } from "viem";
import { FP_MODULUS, SecretKey, type G2Point, type Hex } from "../../protocol/bls/index.js";

/** A SecretKey from a small scalar (deterministic keys for known-answer tests). */
export function skFromScalar(v: bigint): SecretKey {
  return SecretKey.fromBytes(toBytes(v, { size: 32 }));
}

/** keccak256 of a label: only keccak outputs are ever signed. */
export function digestOf(label: string): Hex {
  return keccak256(toBytes(label));
}

export function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  base %= mod;
  while (exp > 0n) {
    if (exp & 1n) result = (result * base) % mod;
    base = (base * base) % mod;
    exp >>= 1n;
  }
  return result;
}

/** The G2 generator with one coordinate bumped: not on the twist. */
export function offCurveG2(): G2Point {
  const g = bn254.G2.Point.BASE.toAffine();
  return { X: [g.x.c1, g.x.c0], Y: [g.y.c1, (g.y.c0 + 1n) % FP_MODULUS] };
}

/**
 * A point on the twist y² = x³ + 3/(9+u) that is not in the order-r subgroup: the first x = (k, 1), k = 1, 2, …
 * whose right-hand side is a square in Fp2 (the twist's cofactor is huge, so such a point is outside the subgroup
 * with overwhelming probability; tests check it anyway).
 */
export function wrongSubgroupG2(): G2Point {
  const { Fp2 } = bn254.fields;
  const b = Fp2.div(Fp2.fromBigTuple([3n, 0n]), Fp2.fromBigTuple([9n, 1n]));
  for (let k = 1n; ; k++) {
    const x = Fp2.fromBigTuple([k, 1n]);
    const rhs = Fp2.add(Fp2.mul(Fp2.sqr(x), x), b);
    let y;
    try {
      y = Fp2.sqrt(rhs);
    } catch {
      continue;
    }
    if (!Fp2.eql(Fp2.sqr(y), rhs)) continue;
    const p = bn254.G2.Point.fromAffine({ x, y });
    if (p.isTorsionFree()) continue;
    return { X: [x.c1, x.c0], Y: [y.c1, y.c0] };
  }
}
