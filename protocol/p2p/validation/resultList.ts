/**
 * The result-list topic's validator: decode (size, structure) → canonical order → batch open → one list per
 * publisher and batch → publisher registered at R_b → its seed → assignments hash to the claimed result hash →
 * the publisher's BLS signature on that result.
 *
 * A list travels with its publisher's own partial signature on the list's result hash (protocol/p2p/messages.ts).
 * Without it anyone could publish lists with made-up assignments and a correct hash, every node would relay them,
 * and an aggregator bounding what it keeps could be crowded out of the list it needs when operators split over
 * seeds. With it only a registered operator can publish, once per batch (a second list of the same operator is
 * ignored, and if it signed a second result its partials prove the equivocation), and every list is backed by at
 * least one signature. The pairing is skipped when the same partial was already verified on the partial topic.
 */
import type { Hex } from "viem";
import { toOperatorId } from "../../chain/ids.js";
import { assignmentsHash } from "../../matching/encode.js";
import { GossipErrorCode, ignore, reject } from "../errors.js";
import type { BatchInfo, RegisteredOperator, SignedResult } from "../interfaces.js";
import { decodeResultListMessage, type PartialSignatureMessage, type ResultListMessage } from "../messages.js";
import type { GossipValidationContext } from "./context.js";
import { assertOpenBatch } from "./freshness.js";
import { resolveSignedResult } from "./seed.js";

export interface ValidatedResultList<PK = unknown> {
  message: ResultListMessage;
  batch: BatchInfo;
  publisher: RegisteredOperator<PK>;
  /** The digest the publisher's signature was verified against. */
  messageHash: Hex;
  /** Fallback rank of the leader whose seed the publisher used. */
  seedRank: number;
}

export async function validateResultListMessage<PK>(ctx: GossipValidationContext<PK>, data: Uint8Array): Promise<ValidatedResultList<PK>> {
  const message = decodeResultListMessage(data);
  for (let i = 1; i < message.assignments.length; i++) {
    if (message.assignments[i]!.orderId <= message.assignments[i - 1]!.orderId) {
      throw reject(GossipErrorCode.NotCanonical, `assignment ${i} not in ascending orderId order`);
    }
  }
  const batch = await assertOpenBatch(ctx, message.batch);

  const key = toOperatorId(message.operatorId);
  if (ctx.seenResultLists.get(message.batch, key)) {
    throw ignore(GossipErrorCode.AlreadySeen, `a result list of batch ${message.batch} by ${message.operatorId} already seen`);
  }
  const { signer: publisher, seedRank, messageHash } = await resolveSignedResult(ctx, batch, message);

  if (assignmentsHash(message.assignments) !== message.resultHash) {
    throw reject(GossipErrorCode.ResultHashMismatch, `assignments do not hash to ${message.resultHash}`);
  }

  const seen = ctx.seenPartials.get(message.batch, key);
  const verifiedBefore = seen !== undefined && [seen.message, seen.conflicting].some((p) => p !== undefined && samePartial(p, message));
  if (!verifiedBefore && !(await ctx.verifyTimed("result-list", publisher.pkG2, messageHash, message.signature))) {
    throw reject(GossipErrorCode.InvalidSignature, `bad signature by ${message.operatorId} on its result list for batch ${message.batch}`);
  }

  // Re-read: another list of this publisher may have been validated while the signature was being checked.
  if (ctx.seenResultLists.get(message.batch, key)) {
    throw ignore(GossipErrorCode.AlreadySeen, `a result list of batch ${message.batch} by ${message.operatorId} already seen`);
  }
  ctx.seenResultLists.set(message.batch, key, true);
  return { message, batch, publisher, messageHash, seedRank };
}

/** The same signed partial: result, seed and signature. */
function samePartial(a: SignedResult, b: SignedResult): boolean {
  return (
    a.resultHash === b.resultHash &&
    a.seed === b.seed &&
    a.signature.X === b.signature.X &&
    a.signature.Y === b.signature.Y
  );
}
