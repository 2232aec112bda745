/**
 * Processing of gossip the validators in protocol/p2p/validation accepted (validate, then process): a verified seed
 * is kept as the first one of its fallback rank and starts a decide; an accepted partial is kept per operator (in
 * memory and on disk, so that a restart during the batch forgets none: operator/scheduler.ts reads them back) and,
 * when it contradicts an earlier one of the same operator, becomes an equivocation proof.
 */
import type { Hex } from "viem";
import { seedFromSignature } from "../../protocol/avs/messages.js";
import type { G1Point, G2Point } from "../../protocol/bls/index.js";
import { toOperatorId } from "../../protocol/chain/ids.js";
import type { ValidatedPartial } from "../../protocol/p2p/validation/partial.js";
import type { ValidatedSeed } from "../../protocol/p2p/validation/seed.js";
import type { PartialEvidenceStore } from "../../protocol/p2p/partialEvidence.js";
import type { EquivocationReporter } from "../equivocation.js";
import type { DutyContext } from "./context.js";

export class GossipProcessor {
  constructor(
    private readonly ctx: DutyContext,
    private readonly equivocation: EquivocationReporter,
    private readonly evidence: PartialEvidenceStore,
    private readonly decide: (batch: bigint) => Promise<void>,
  ) {}

  onSeed(v: ValidatedSeed<G2Point>): void {
    const { batch, signer, signature } = v.message;
    this.ctx.table.addVerifiedSeed(batch, seedFromSignature(signature));
    this.learnSeed(batch, v.rank, signer, signature, "seed_verified", "seed verified");
  }

  onPartial(v: ValidatedPartial<G2Point>): void {
    const m = v.message;
    const st = this.ctx.batches.get(m.batch);
    const id = toOperatorId(m.operatorId);
    if (st && !st.partials.has(id)) {
      const first = { resultHash: m.resultHash, seed: m.seed, signature: { X: m.signature.X, Y: m.signature.Y } };
      st.partials.set(id, first);
      if (st.open) this.ctx.runner.track(this.evidence.keepPartial(m.batch, id, first), "evidence");
    }
    // The seed proof inside the partial was verified by the validator: a node that missed the seed message (or has
    // only a later fallback leader's seed) takes it from here. Late evidence from disk has no verified seed.
    if (v.seedRank >= 0) this.learnSeed(m.batch, v.seedRank, m.seedSigner, m.seedSignature, "seed_from_partial", "seed learned from a partial");
    if (v.equivocates) {
      st?.equivocators.add(id);
      this.ctx.log.warn({ event: "equivocation_seen", batch: m.batch, operatorId: id, first: v.equivocates.resultHash, second: m.resultHash }, "equivocation seen in gossip");
      const closedAt = v.closedAt ?? this.ctx.table.get(m.batch)?.closedAt ?? st?.close.closedAt;
      if (closedAt === undefined) {
        // The batch left memory between validation and processing (64 closes in between): nothing to date it by.
        this.ctx.log.warn({ event: "equivocation_undated", batch: m.batch, operatorId: id }, "equivocation seen for a batch no longer known; no proof is sent");
        return;
      }
      this.ctx.runner.track(this.equivocation.report(id, m.batch, closedAt, v.equivocates, m), "equivocation");
    }
  }

  /** A seed verified by a gossip validator: kept as the first one of its rank, then the node decides if it has not. */
  private learnSeed(batch: bigint, rank: number, signer: Hex, signature: G1Point, event: string, msg: string): void {
    const st = this.ctx.batches.get(batch);
    if (!st || st.seeds.has(rank)) return;
    const seed = seedFromSignature(signature);
    st.addSeed({ seed, signature: { X: signature.X, Y: signature.Y }, rank, signer: toOperatorId(signer) });
    this.ctx.log.info({ event, batch, rank, signer, seed }, msg);
    this.ctx.runner.track(this.decide(batch), "result");
  }
}
