/**
 * The seed duty (docs/protocol.md §3.3): the leader at fallback index k signs the batch's seed message once its turn
 * has come (the batch table's `leadersAllowed`, closedAt + k·seedTimeout) and no earlier leader's seed was verified
 * here; the signature goes through slashing protection (one seed message per batch) and is gossiped.
 */
import { seedFromSignature } from "../../protocol/avs/messages.js";
import type { G1Point } from "../../protocol/bls/index.js";
import { OwnSeed } from "../batchState.js";
import { SigningDuty } from "../slashing-protection/slashingProtection.js";
import type { DutyContext } from "./context.js";

export class SeedDuty {
  constructor(
    private readonly ctx: DutyContext,
    /** Called once this node's own seed is verified and known: the result duty decides with it. */
    private readonly decide: (batch: bigint) => Promise<void>,
  ) {}

  /** Signs the seed if this operator's turn in the fallback order has come and no earlier leader's seed is here. */
  async maybeProduce(batch: bigint): Promise<void> {
    const { batches, table, operatorId } = this.ctx;
    const st = batches.get(batch);
    const info = table.batch(batch);
    if (!st || !info || st.member !== true || st.ownSeed !== OwnSeed.None || !st.open) return;
    const rank = info.leaderOrder.findIndex((id) => id === operatorId);
    if (rank < 0 || rank >= info.leadersAllowed) return;
    if ([...st.seeds.keys()].some((r) => r < rank)) return;
    // Restarted after the close and a seed already went round (learned by batch sync): the others signed under it,
    // and a seed of ours now, even of an earlier rank, could only split the quorum.
    if (st.seeds.size > 0 && st.close.closedAt <= this.ctx.startHead()) return;
    st.ownSeed = OwnSeed.Started;
    try {
      const out = await this.ctx.sp.sign(SigningDuty.Seed, { operatorId, batch }, info.seedMessageHash, (h) => this.ctx.secretKey.sign(h));
      this.ctx.log.info({ event: "seed_signed", batch, rank, fresh: out.fresh }, "seed signed as leader");
      await this.useOwnSeed(batch, out.signature, true);
    } catch (err) {
      this.ctx.opMetrics.dutyErrors.inc({ duty: "seed" });
      st.error = `seed: ${(err as Error).message}`;
      throw err;
    }
  }

  /** After a restart: the seed this node signed before (if any) is used and gossiped again, without deciding. */
  async restore(batch: bigint): Promise<void> {
    const st = this.ctx.batches.get(batch)!;
    const record = await this.ctx.sp.get(SigningDuty.Seed, { operatorId: this.ctx.operatorId, batch });
    if (!record?.signature) return;
    st.ownSeed = OwnSeed.Started;
    await this.useOwnSeed(batch, record.signature, false);
  }

  private async useOwnSeed(batch: bigint, signature: G1Point, decide: boolean): Promise<void> {
    const { batches, table, operatorId, verifier, secretKey } = this.ctx;
    const st = batches.get(batch)!;
    const info = table.batch(batch)!;
    // Verified like anyone else's: a key that does not match the registry would make every partial useless.
    if (!verifier.verify(secretKey.publicKeyG2(), info.seedMessageHash, signature)) {
      throw new Error(`own seed signature for batch ${batch} does not verify`);
    }
    const rank = info.leaderOrder.findIndex((id) => id === operatorId);
    const seed = seedFromSignature(signature);
    table.addVerifiedSeed(batch, seed);
    st.addSeed({ seed, signature, rank, signer: operatorId });
    this.ctx.runner.publish("seed", batch, () => this.ctx.network()!.publishSeed({ batch, signer: operatorId, signature }));
    if (decide) await this.decide(batch);
  }
}
