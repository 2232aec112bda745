/**
 * The seed topic's validator. Cheap checks first, the pairing last: decode → batch open → not seen →
 * signer's turn in the leader fallback order → signer registered at R_b → BLS signature over the seed message.
 */
import type { Hex } from "viem";
import { toOperatorId } from "../../chain/ids.js";
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

  const signerKey = toOperatorId(message.signer);
  if (ctx.seenSeeds.get(message.batch, signerKey) !== undefined) {
    throw ignore(GossipErrorCode.AlreadySeen, `seed of batch ${message.batch} by ${message.signer} already seen`);
  }

  const rank = batch.leaderOrder.findIndex((id) => id === signerKey);
  if (rank < 0) throw reject(GossipErrorCode.NotLeader, `${message.signer} is not a leader of batch ${message.batch}`);
  const signer = await verifySeedSignature(ctx, batch, message.batch, message.signer, rank, message.signature);
  return { message, batch, signer, rank };
}

/**
 * The shared middle of the partial and result-list validators: the signer registered at R_b → the seed signer a
 * leader of the batch → the digest the signer must have signed (the result message under that seed). A seed this
 * node has not verified yet (it missed or ignored the seed message) is checked from the leader's signature the
 * message carries, as a seed message would be, once per (batch, leader).
 */
export async function resolveSignedResult<PK>(
  ctx: GossipValidationContext<PK>,
  batch: BatchInfo,
  m: { batch: bigint; operatorId: Hex; seedSigner: Hex; seed: Hex; seedSignature: SeedMessage["signature"]; resultHash: Hex },
): Promise<{ signer: RegisteredOperator<PK>; seedRank: number; messageHash: Hex }> {
  const signer = await ctx.operatorAt(m.operatorId, batch.referenceBlock);
  if (signer === undefined) throw reject(GossipErrorCode.UnknownOperator, `${m.operatorId} not registered at ${batch.referenceBlock}`);
  const seedRank = batch.leaderOrder.findIndex((id) => id === toOperatorId(m.seedSigner));
  if (seedRank < 0) throw reject(GossipErrorCode.NotLeader, `seed signer ${m.seedSigner} is not a leader of batch ${m.batch}`);
  let messageHash = batch.resultMessageHash(m.resultHash, m.seed);
  if (messageHash === undefined) {
    await verifySeedSignature(ctx, batch, m.batch, m.seedSigner, seedRank, m.seedSignature);
    messageHash = batch.resultMessageHash(m.resultHash, m.seed);
    if (messageHash === undefined) throw ignore(GossipErrorCode.SeedUnknown, `seed ${m.seed} of batch ${m.batch} not recorded`);
  }
  return { signer, seedRank, messageHash };
}

/**
 * The checks of a seed signature by the leader at `rank` of the batch's fallback order, shared by the seed topic and
 * the partials that carry a seed: the leader's turn has come → registered at R_b → BLS signature over the seed
 * message. On success the seed is recorded (seen cache and the batch's verified seeds), so each (batch, leader) is
 * paired once; a different signature of an already verified leader cannot verify (BLS signatures are unique).
 */
export async function verifySeedSignature<PK>(
  ctx: GossipValidationContext<PK>,
  batch: BatchInfo,
  batchNumber: bigint,
  signerId: Hex,
  rank: number,
  signature: SeedMessage["signature"],
): Promise<RegisteredOperator<PK>> {
  if (rank >= batch.leadersAllowed) {
    throw ignore(GossipErrorCode.LeaderTurnNotYet, `leader rank ${rank} of batch ${batchNumber} not allowed yet`);
  }
  // Partials of many operators arrive together, each carrying the same seed proof: one check serves them all.
  const key = `${batchNumber}:${toOperatorId(signerId)}:${signature.X}:${signature.Y}`;
  let check = ctx.seedChecks.get(key);
  if (check === undefined) {
    check = checkSeedSignature(ctx, batch, batchNumber, signerId, signature);
    ctx.seedChecks.set(key, check);
    void check.then(
      () => ctx.seedChecks.delete(key),
      () => ctx.seedChecks.delete(key),
    );
  }
  return check;
}

async function checkSeedSignature<PK>(
  ctx: GossipValidationContext<PK>,
  batch: BatchInfo,
  batchNumber: bigint,
  signerId: Hex,
  signature: SeedMessage["signature"],
): Promise<RegisteredOperator<PK>> {
  const signer = await ctx.operatorAt(signerId, batch.referenceBlock);
  if (signer === undefined) throw reject(GossipErrorCode.UnknownOperator, `${signerId} not registered at ${batch.referenceBlock}`);

  if (!(await ctx.verifyTimed("seed", signer.pkG2, batch.seedMessageHash, signature))) {
    throw reject(GossipErrorCode.InvalidSignature, `bad seed signature by ${signerId} for batch ${batchNumber}`);
  }
  const seed = seedFromSignature({ X: signature.X, Y: signature.Y });
  ctx.seenSeeds.set(batchNumber, toOperatorId(signerId), seed);
  // Usable at once by the partial validator: a partial that arrives right behind its seed (same RPC, or a node
  // re-gossiping both after a restart) would otherwise be ignored as SeedUnknown before the processor runs.
  ctx.modules.batches.addVerifiedSeed?.(batchNumber, seed);
  return signer;
}
