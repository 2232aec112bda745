/**
 * Verification and aggregation with the noble reference implementation.
 */
import { bn254 } from "@noble/curves/bn254.js";
import { BlsError, BlsErrorCode } from "./errors.js";
import { g1FromEvm, g1ToEvm, g2FromEvm, g2ToEvm, type G1Point, type G2Point, type Hex, type NobleG1, type NobleG2 } from "./encoding.js";
import { hashToG1Point } from "./hashToG1.js";

const { Fp12 } = bn254.fields;
const NEG_G2 = bn254.G2.Point.BASE.negate();

/** e(a1, b1) · e(a2, b2) == 1 in one multi-pairing (one shared final exponentiation), as the precompile checks it. */
export function pairingCheck(pairs: readonly { g1: NobleG1; g2: NobleG2 }[]): boolean {
  return Fp12.eql(bn254.pairingBatch(pairs as { g1: NobleG1; g2: NobleG2 }[]), Fp12.ONE);
}

/**
 * e(sig, G2) == e(H(digest), pk), checked as e(sig, -G2) · e(H(digest), pk) == 1. Points that fail decoding
 * (off curve, wrong subgroup, infinity, too large) make it return false; a malformed digest throws (it is the
 * caller's own value, not network input).
 */
export function verify(pkG2: G2Point, digest: Hex, sig: G1Point): boolean {
  const h = hashToG1Point(digest);
  let pk: NobleG2;
  let s: NobleG1;
  try {
    pk = g2FromEvm(pkG2);
    s = g1FromEvm(sig);
  } catch (err) {
    if (err instanceof BlsError) return false;
    throw err;
  }
  return pairingCheck([
    { g1: s, g2: NEG_G2 },
    { g1: h, g2: pk },
  ]);
}

/** Sum of validated G1 points (signatures or G1 keys). An empty list or a sum at infinity is refused. */
export function aggregateG1(points: readonly G1Point[]): G1Point {
  if (points.length === 0) throw new BlsError(BlsErrorCode.EmptyAggregate, "nothing to aggregate");
  let acc = bn254.G1.Point.ZERO;
  for (const p of points) acc = acc.add(g1FromEvm(p));
  return g1ToEvm(acc);
}

/** Sum of validated G2 points (keys). An empty list or a sum at infinity is refused. */
export function aggregateG2(points: readonly G2Point[]): G2Point {
  if (points.length === 0) throw new BlsError(BlsErrorCode.EmptyAggregate, "nothing to aggregate");
  let acc = bn254.G2.Point.ZERO;
  for (const p of points) acc = acc.add(g2FromEvm(p));
  return g2ToEvm(acc);
}
