/**
 * The partial-signature topic's validator: decode → batch open → not seen → operator registered at R_b →
 * the seed it names (verified here before, or checked now from the leader's signature it carries) → BLS signature.
 *
 * A second partial of one operator for one batch with a different result hash is checked like any other; if its
 * signature verifies it is accepted and marked as conflicting, because the pair is equivocation evidence that
 * every node should see and any may submit (docs/protocol.md §5). Only one conflict per (operator, batch) is
 * kept and forwarded; more would add nothing to the proof.
 *
 * A batch that is final or abandoned still slashes a double signature (the contract accepts a proof for any closed
 * batch; the operator registry's exit delay keeps the stake there for the slashing window, docs/protocol.md §5). So a
 * partial for such a batch that conflicts with the one this node holds of the same operator is checked in full and
 * accepted as evidence (`late`); every other partial for it is ignored as BatchFinal, before any signature work.
 *
 * A batch that left the node's memory (the last 64 batches) is still provable until its slashing window passes: its
 * operators' first partials are kept on disk (`evidence`, protocol/p2p/partialEvidence.ts). A partial for such a batch
 * is looked up there: one that conflicts with the kept one and carries that operator's valid signature over a result
 * message of the batch (any seed: the contract rebuilds the digest from the seed given and slashes two different
 * messages) is accepted as late evidence, once. Batches past their window are ignored before any lookup.
 */
import type { Hex } from "viem";
import { toOperatorId } from "../../chain/ids.js";
import { GossipErrorCode, GossipValidationError, ignore, reject } from "../errors.js";
import { resolveSignedResult } from "./seed.js";
import { BatchStatus } from "../../chain/batches.js";
import type { OperatorId } from "../../chain/ids.js";
import type { BatchInfo, RegisteredOperator, SignedResult } from "../interfaces.js";
import { decodePartialSignatureMessage, type PartialSignatureMessage } from "../messages.js";
import type { GossipValidationContext } from "./context.js";
import { assertOpenBatch } from "./freshness.js";

export interface ValidatedPartial<PK> {
  message: PartialSignatureMessage;
  /** The batch as this node holds it; for late evidence of a batch no longer in memory, only its status and R_b. */
  batch: BatchInfo;
  operator: RegisteredOperator<PK>;
  /** The digest the signature was verified against. */
  messageHash: Hex;
  /**
   * Fallback rank of the leader whose seed the partial carries (its seed is verified once this returns); -1 for late
   * evidence from disk, whose seed is not checked.
   */
  seedRank: number;
  /** The earlier valid partial of the same operator and batch with another result hash: equivocation. */
  equivocates?: SignedResult;
  /** The batch was already final or abandoned: the partial is of use only as equivocation evidence. */
  late?: boolean;
  /** For late evidence of a batch no longer in memory: its close block, as kept on disk (the table has it otherwise). */
  closedAt?: bigint;
}

export async function validatePartialSignatureMessage<PK>(ctx: GossipValidationContext<PK>, data: Uint8Array): Promise<ValidatedPartial<PK>> {
  const message = decodePartialSignatureMessage(data);
  const key = toOperatorId(message.operatorId);
  let held: { batch: BatchInfo; late: boolean };
  try {
    held = await batchOf(ctx, message, key);
  } catch (err) {
    if (err instanceof GossipValidationError && err.code === GossipErrorCode.BatchUnknown && message.batch < ctx.modules.batches.latestBatch()) {
      return fromEvidence(ctx, message, key, err);
    }
    throw err;
  }
  const { batch, late } = held;

  const seen = ctx.seenPartials.get(message.batch, key);
  if (seen && (sameResult(seen.message, message) || seen.conflicting)) {
    throw ignore(GossipErrorCode.AlreadySeen, `partial of batch ${message.batch} by ${message.operatorId} already seen`);
  }

  const { signer: operator, seedRank, messageHash } = await resolveSignedResult(ctx, batch, message);

  if (!(await ctx.verifyTimed("partial", operator.pkG2, messageHash, message.signature))) {
    throw reject(GossipErrorCode.InvalidSignature, `bad partial signature by ${message.operatorId} for batch ${message.batch}`);
  }

  // Re-read: another message of this operator may have been validated while the signature was being checked.
  const now = ctx.seenPartials.get(message.batch, key);
  if (now === undefined) {
    ctx.seenPartials.set(message.batch, key, { message });
    return { message, batch, operator, messageHash, seedRank };
  }
  if (sameResult(now.message, message) || now.conflicting) {
    throw ignore(GossipErrorCode.AlreadySeen, `partial of batch ${message.batch} by ${message.operatorId} already seen`);
  }
  now.conflicting = message;
  return { message, batch, operator, messageHash, seedRank, equivocates: now.message, ...(late ? { late } : {}) };
}

/** The open batch, or, for a batch that is over, the batch only if the partial conflicts with one held here. */
async function batchOf<PK>(ctx: GossipValidationContext<PK>, message: PartialSignatureMessage, key: string): Promise<{ batch: BatchInfo; late: boolean }> {
  try {
    return { batch: await assertOpenBatch(ctx, message.batch), late: false };
  } catch (err) {
    if (!(err instanceof GossipValidationError) || err.code !== GossipErrorCode.BatchFinal) throw err;
    const seen = ctx.seenPartials.get(message.batch, key);
    const info = ctx.modules.batches.batch(message.batch);
    if (seen === undefined || seen.conflicting !== undefined || sameResult(seen.message, message) || info === undefined) throw err;
    return { batch: info, late: true };
  }
}

/** Late evidence for a batch no longer in memory: accepted only if it conflicts with the operator's kept first partial. */
async function fromEvidence<PK>(ctx: GossipValidationContext<PK>, message: PartialSignatureMessage, key: OperatorId, unknown: GossipValidationError): Promise<ValidatedPartial<PK>> {
  const evidence = ctx.modules.evidence;
  if (!evidence) throw unknown;
  if (message.batch < evidence.oldestProvable()) {
    throw ignore(GossipErrorCode.BatchFinal, `batch ${message.batch} is past its slashing window`);
  }
  const kept = await evidence.first(message.batch, key);
  if (kept === undefined || kept.conflicting || sameResult(kept.message, message)) {
    throw ignore(GossipErrorCode.BatchFinal, `batch ${message.batch} is over and the partial proves nothing new`);
  }
  const operator = await ctx.operatorAt(message.operatorId, kept.referenceBlock);
  if (operator === undefined) throw reject(GossipErrorCode.UnknownOperator, `${message.operatorId} not registered at R_b = ${kept.referenceBlock}`);
  const messageHash = evidence.resultMessageHash(message.batch, kept.referenceBlock, message.seed, message.resultHash);
  if (!(await ctx.verifyTimed("partial", operator.pkG2, messageHash, message.signature))) {
    throw reject(GossipErrorCode.InvalidSignature, `bad partial signature by ${message.operatorId} for batch ${message.batch}`);
  }
  // Re-read: a copy of this conflict may have been accepted while the signature was checked.
  if ((await evidence.first(message.batch, key))?.conflicting) {
    throw ignore(GossipErrorCode.AlreadySeen, `conflict of ${message.operatorId} in batch ${message.batch} already seen`);
  }
  await evidence.markConflict(message.batch, key);
  const batch: BatchInfo = {
    status: BatchStatus.Final,
    referenceBlock: kept.referenceBlock,
    seedMessageHash: `0x${"00".repeat(32)}`,
    leaderOrder: [],
    leadersAllowed: 0,
    resultMessageHash: (resultHash, seed) => evidence.resultMessageHash(message.batch, kept.referenceBlock, seed, resultHash),
  };
  return { message, batch, operator, messageHash, seedRank: -1, equivocates: kept.message, late: true, closedAt: kept.closedAt };
}

/** Same signed message: same result under the same seed (a different seed is a different message). */
function sameResult(a: SignedResult, b: SignedResult): boolean {
  return a.resultHash === b.resultHash && a.seed === b.seed;
}
