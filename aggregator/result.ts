/**
 * The assignment list behind a signed digest. Operators sign resultMessageDigest(..., assignmentsHash), a hash;
 * the contract needs the list itself. The aggregator gets candidate lists from its ResultSource (its own matcher
 * run at R_b) and from gossip, and accepts a list only if it hashes, with the batch's context, to the signed digest.
 */
import type { G1Point, Hex } from "../protocol/bls/index.js";
import { resultMessageDigest, seedFromSignature } from "../protocol/avs/messages.js";
import type { Assignment } from "../protocol/market/types.js";
import { assignmentsHash } from "../protocol/matching/encode.js";
import type { BatchRecord } from "../protocol/chain/batches.js";
import type { Bytes32 } from "../protocol/chain/ids.js";

/**
 * The seed proof as ServiceManager.submitResult takes it (docs/protocol.md §3.2): the leader's BLS signature on the
 * batch's seed message (seed_b = keccak256(signature)) and the signer's position in the batch's fallback order
 * (0 = the first leader; `leaderOf(b, signerIndex)` names it). The contract checks the signature against that
 * leader's key and refuses an index whose turn has not come (`ServiceManagerSeedSignerNotYetAllowed`).
 */
export interface SeedProof {
  signature: G1Point;
  signerIndex: bigint;
}

/** A proposed result for one batch: what was matched and with which seed. */
export interface ResultCandidate {
  seed: Hex;
  seedProof: SeedProof;
  assignments: readonly Assignment[];
}

/**
 * Where the aggregator's own candidate comes from. The recommended implementation runs the deterministic matcher
 * on the batch's inputs at R_b with seed_b, exactly as operators do (docs/aggregator.md).
 */
export interface ResultSource {
  /** The candidate for this batch, or null while it cannot be computed yet (seed not seen, inputs not read). */
  resultFor(batch: BatchRecord): Promise<ResultCandidate | null>;
}

/** The deployment a digest is bound to. */
export interface ResultContext {
  chainId: bigint;
  serviceManager: Hex;
}

export { assignmentsHash };

/** The digest operators sign for this candidate of this batch. */
export function candidateDigest(ctx: ResultContext, batch: Pick<BatchRecord, "batch" | "referenceBlock">, c: ResultCandidate): Bytes32 {
  return resultMessageDigest({
    chainId: ctx.chainId,
    serviceManager: ctx.serviceManager,
    batch: batch.batch,
    referenceBlock: batch.referenceBlock,
    seed: c.seed,
    assignmentsHash: assignmentsHash(c.assignments),
  });
}

/** The seed the proof commits to equals the claimed seed (the contract checks the proof's signature itself). */
export function seedMatchesProof(c: ResultCandidate): boolean {
  return seedFromSignature(c.seedProof.signature) === c.seed;
}
