/**
 * What gossip validation needs from the rest of the node, as small interfaces, so this package depends on no
 * chain client or BLS implementation: the node passes in its own (docs/protocol.md, the data path chain → p2p).
 */
import type { Hex } from "viem";
import type { BatchStatus } from "../chain/batches.js";
import type { OperatorId } from "../chain/ids.js";
import type { PartialSignatureMessage } from "./messages.js";
import type { G1Like } from "./points.js";

/** Checks one BLS signature (G1) over a 32-byte keccak digest against a G2 public key. */
export interface SignatureVerifier<PublicKeyG2 = unknown> {
  verify(pkG2: PublicKeyG2, digest: Hex, signature: G1Like): boolean | Promise<boolean>;
}

export interface RegisteredOperator<PublicKeyG2 = unknown> {
  pkG2: PublicKeyG2;
  stake: bigint;
}

/** The operator set as it was at a reference block (the registry's checkpoints). */
export interface OperatorSetView<PublicKeyG2 = unknown> {
  operatorAt(operatorId: Hex, referenceBlock: bigint): RegisteredOperator<PublicKeyG2> | undefined | Promise<RegisteredOperator<PublicKeyG2> | undefined>;
}

/** What this node knows of one closed batch. */
export interface BatchInfo {
  status: BatchStatus;
  /** R_b: the block before the close; the operator set and inputs are read there. */
  referenceBlock: bigint;
  /** The digest the leader signs to produce the seed (docs/protocol.md §3.2). */
  seedMessageHash: Hex;
  /** Operator ids allowed to produce the seed, in fallback order (fixed at close). */
  /** Operator ids in their one spelling (protocol/chain/ids.ts), compared with ===. */
  leaderOrder: readonly OperatorId[];
  /** How many of `leaderOrder` may sign by now: 1 until seedTimeout blocks passed, then one more per timeout. */
  leadersAllowed: number;
  /**
   * The digest an operator signs for this batch's result with the given assignment hash and seed
   * (docs/protocol.md §3.4), or undefined when `seed` is not a seed this node has verified for the batch (not yet
   * arrived, or not a valid seed at all).
   */
  resultMessageHash(resultHash: Hex, seed: Hex): Hex | undefined;
}

export interface BatchView {
  /** undefined when the batch is unknown (not closed as far as this node sees, or pruned). */
  batch(batch: bigint): BatchInfo | undefined;
  /** The highest batch this node has seen closed (0n before any). */
  latestBatch(): bigint;
  /**
   * Resolves true once `batch` is known, false after `timeoutMs`. Lets a validator hold a message that raced the
   * close event (seen in other AVSs) instead of dropping it. Optional: without it such messages are ignored.
   */
  waitForBatch?(batch: bigint, timeoutMs: number): Promise<boolean>;
  /**
   * Called by the seed validator for every seed it accepts, so that partials naming it validate at once (before
   * the seed processor runs). Optional: without it the node's seed processor must add the seed.
   */
  addVerifiedSeed?(batch: bigint, seed: Hex): void;
}

/** What a partial proves on its own: one operator's signature on one result message of one batch. */
export type SignedResult = Pick<PartialSignatureMessage, "batch" | "operatorId" | "seed" | "resultHash" | "signature">;

/** An operator's first valid partial for a batch the node no longer holds in memory, as kept on disk. */
export interface LateEvidence {
  referenceBlock: bigint;
  /** The batch's close block: its double signatures are proven until closedAt + slashingWindow. */
  closedAt: bigint;
  message: SignedResult;
  /** A conflicting partial was accepted already (one is all a proof needs). */
  conflicting: boolean;
}

/**
 * Equivocation evidence kept past the in-memory caches, for as long as the contract slashes a double signature of
 * the batch (protocol/p2p/partialEvidence.ts). Optional: without it a late double signature is checked only while
 * the batch is in memory.
 */
export interface LateEvidenceView {
  /** Batches below this one are past their slashing window: their partials are ignored without a lookup. */
  oldestProvable(): bigint;
  first(batch: bigint, operatorId: OperatorId): Promise<LateEvidence | undefined>;
  markConflict(batch: bigint, operatorId: OperatorId): Promise<void>;
  /** The docs/protocol.md §3.4 digest, as the contract rebuilds it for the proof. */
  resultMessageHash(batch: bigint, referenceBlock: bigint, seed: Hex, resultHash: Hex): Hex;
}
