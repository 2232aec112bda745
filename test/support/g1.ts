import { bn254 } from "@noble/curves/bn254.js";
import type { G1Like } from "../../protocol/p2p/points.js";

/** k·G1 as an affine {X, Y}: valid curve points for tests that only need "a signature". */
export function g1Multiple(k: bigint): G1Like {
  const p = bn254.G1.Point.BASE.multiply(k).toAffine();
  return { X: p.x, Y: p.y };
}
