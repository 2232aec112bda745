/**
 * The arithmetic a verifier needs, implemented once per engine (noble reference, mcl fast). The batch algorithms in
 * verifier.ts are written once against this interface, so both engines run exactly the same checks.
 */
import type { G1Point, G2Point, Hex } from "./encoding.js";

export interface PairingBackend<P1, P2> {
  readonly name: "noble" | "mcl";
  /** Validated decoding (range, infinity, on curve); throws BlsError with the same codes in every engine. */
  decodeG1(p: G1Point): P1;
  /** Validated decoding (range, infinity, on curve, order-r subgroup); throws BlsError. */
  decodeG2(p: G2Point): P2;
  /** EigenLayer's hashToG1 as a point of this engine. */
  hashToG1(digest: Hex): P1;
  /** Σ scalars[i]·points[i]; scalars are small (< 2^64) public weights, so variable time is fine. */
  msmG1(points: readonly P1[], scalars: readonly bigint[]): P1;
  msmG2(points: readonly P2[], scalars: readonly bigint[]): P2;
  /** −G2 generator, the fixed partner of the signature side. */
  readonly negG2Generator: P2;
  /** Π e(g1_i, g2_i) == 1 with one final exponentiation; pairs holding the point at infinity contribute 1. */
  pairingProductIsOne(pairs: readonly (readonly [P1, P2])[]): boolean;
}
