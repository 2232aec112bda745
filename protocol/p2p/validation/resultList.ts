/**
 * The result-list topic's validator: decode (size, structure) → canonical order → batch open → not seen →
 * assignments hash to the claimed result hash.
 *
 * There is no sender check and no signature: the list is authenticated by its hash, which is what operators
 * sign. An aggregator uses a list only for a result hash that gathered quorum, and any list with that hash is by
 * construction the signed one; a list for a hash nobody signed costs a relay, not safety, and is bounded in size.
 */
import { assignmentsHash } from "../../matching/encode.js";
import { GossipErrorCode, ignore, reject } from "../errors.js";
import type { BatchInfo } from "../interfaces.js";
import { decodeResultListMessage, type ResultListMessage } from "../messages.js";
import type { GossipValidationContext } from "./context.js";
import { assertOpenBatch } from "./freshness.js";

export interface ValidatedResultList {
  message: ResultListMessage;
  batch: BatchInfo;
}

export async function validateResultListMessage<PK>(ctx: GossipValidationContext<PK>, data: Uint8Array): Promise<ValidatedResultList> {
  const message = decodeResultListMessage(data);
  for (let i = 1; i < message.assignments.length; i++) {
    if (message.assignments[i]!.orderId <= message.assignments[i - 1]!.orderId) {
      throw reject(GossipErrorCode.NotCanonical, `assignment ${i} not in ascending orderId order`);
    }
  }
  const batch = await assertOpenBatch(ctx, message.batch);

  const key = message.resultHash.toLowerCase();
  if (ctx.seenResultLists.get(message.batch, key)) {
    throw ignore(GossipErrorCode.AlreadySeen, `result list ${message.resultHash} of batch ${message.batch} already seen`);
  }
  if (assignmentsHash(message.assignments).toLowerCase() !== key) {
    throw reject(GossipErrorCode.ResultHashMismatch, `assignments do not hash to ${message.resultHash}`);
  }
  ctx.seenResultLists.set(message.batch, key, true);
  return { message, batch };
}
