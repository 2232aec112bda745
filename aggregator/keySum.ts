/**
 * Sum of G2 keys for the signers' apkG2. noble validates each G2 key with a subgroup check (≈ 10 ms each, ≈ 1 s
 * for 100 signers); mcl's decoding is cached per key (the operator set changes rarely) and the sum is one
 * multi-scalar multiplication with unit weights.
 */
import { BlsError, BlsErrorCode, initMcl, mclG2ToEvm, type G2Point } from "../protocol/bls/index.js";
import { createMclBackend } from "../protocol/bls/mclBackend.js";

export interface G2KeySummer {
  /** Σ keys, each validated (on the twist, in the subgroup, not infinity); throws BlsError on a bad key or an empty list. */
  sum(keys: readonly G2Point[]): G2Point;
}

export async function createG2KeySummer(): Promise<G2KeySummer> {
  await initMcl();
  const backend = createMclBackend();
  return {
    sum(keys) {
      if (keys.length === 0) throw new BlsError(BlsErrorCode.EmptyAggregate, "nothing to aggregate");
      const points = keys.map((k) => backend.decodeG2(k));
      return mclG2ToEvm(backend.msmG2(points, points.map(() => 1n)));
    },
  };
}
