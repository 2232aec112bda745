/**
 * The seed topic's validator. Cheap checks first, the pairing last: decode → batch open → not seen →
 * signer's turn in the leader fallback order → signer registered at R_b → BLS signature over the seed message.
 */
import type { Hex } from "viem";
import { seedFromSignature } from "../../avs/messages.js";
import { GossipErrorCode, ignore, reject } from "../errors.js";
import type { BatchInfo, RegisteredOperator } from "../interfaces.js";
import { decodeSeedMessage, type SeedMessage } from "../messages.js";
import type { GossipValidationContext } from "./context.js";
import { assertOpenBatch } from "./freshness.js";

export interface ValidatedSeed<PK> {
  message: SeedMessage;
  batch: BatchInfo;
  signer: RegisteredOperator<PK>;
  /** Position of the signer in the fallback order (0 = the first leader). */
  rank: number;
}

export async function validateSeedMessage<PK>(ctx: GossipValidationContext<PK>, data: Uint8Array): Promise<ValidatedSeed<PK>> {
  const message = decodeSeedMessage(data);
  const batch = await assertOpenBatch(ctx, message.batch);

  const signerKey = message.signer.toLowerCase();
  if (ctx.seenSeeds.get(message.batch, signerKey) !== undefined) {
    throw ignore(GossipErrorCode.AlreadySeen, `seed of batch ${message.batch} by ${message.signer} already seen`);
  }

  const rank = batch.leaderOrder.findIndex((id) => id.toLowerCase() === signerKey);
  if (rank < 0) throw reject(GossipErrorCode.NotLeader, `${message.signer} is not a leader of batch ${message.batch}`);
  if (rank >= batch.leadersAllowed) {
    throw ignore(GossipErrorCode.LeaderTurnNotYet, `leader rank ${rank} of batch ${message.batch} not allowed yet`);
  }

  const signer = await ctx.operatorAt(message.signer, batch.referenceBlock);
  if (signer === undefined) throw reject(GossipErrorCode.UnknownOperator, `${message.signer} not registered at ${batch.referenceBlock}`);

  if (!(await ctx.verifyTimed("seed", signer.pkG2, batch.seedMessageHash, message.signature))) {
    throw reject(GossipErrorCode.InvalidSignature, `bad seed signature by ${message.signer} for batch ${message.batch}`);
  }
  ctx.seenSeeds.set(message.batch, signerKey, batch.seedMessageHash as Hex);
  // Usable at once by the partial validator: a partial that arrives right behind its seed (same RPC, or a node
  // re-gossiping both after a restart) would otherwise be ignored as SeedUnknown before the processor runs.
  ctx.modules.batches.addVerifiedSeed?.(message.batch, seedFromSignature(message.signature));
  return { message, batch, signer, rank };
}
