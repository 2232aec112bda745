/**
 * The result duty (docs/protocol.md §3.4–3.8): with the seed of the lowest fallback rank verified here, read the
 * inputs at R_b, match, store the decision, sign its result message through slashing protection, and gossip the
 * partial signature and the assignment list. A decision stored before a restart is re-served, never made again.
 */
import type { Hex } from "viem";
import { resultMessageDigest } from "../../protocol/avs/messages.js";
import { readMatchInputs } from "../../protocol/chain/reads.js";
import { assignmentsHash, matchBatch } from "../../protocol/matching/index.js";
import { BatchEvent } from "../batchState.js";
import type { Decision } from "../decisions.js";
import { SlashingProtectionError } from "../slashing-protection/errors.js";
import { SigningDuty, type SignOutcome } from "../slashing-protection/slashingProtection.js";
import type { DutyContext } from "./context.js";

/**
 * Called right after a fresh result signature is stored and before it is gossiped. Only tests set it (the
 * crash-safety test kills the process there: test/support/crashing-operator.ts).
 */
export type AfterSignHook = (batch: bigint) => void;

export class ResultDuty {
  private lastSigned: bigint | null = null;

  constructor(
    private readonly ctx: DutyContext,
    private readonly hooks: { afterSign?: AfterSignHook; signed?: () => void } = {},
  ) {}

  /** The highest batch this node signed (or re-served) a result for in this run. */
  get lastSignedBatch(): bigint | null {
    return this.lastSigned;
  }

  /** Decides once a verified seed is here and no decide ran or runs (docs/protocol.md §3.8). */
  async maybeDecide(batch: bigint): Promise<void> {
    const st = this.ctx.batches.get(batch);
    if (!st || !st.can(BatchEvent.Decide)) return;
    st.apply(BatchEvent.Decide);
    const stopTimer = this.ctx.opMetrics.decideSeconds.startTimer();
    try {
      const { seed, signer, signature, rank } = st.bestSeed()!;
      let decision = await this.ctx.decisions.get(batch);
      if (decision === undefined) {
        const inputs = await readMatchInputs(this.ctx.client, this.ctx.addresses, st.close.referenceBlock);
        const result = matchBatch(inputs, seed);
        decision = { batch, seed, seedRank: rank, seedSigner: signer, seedSignature: signature, assignmentsHash: assignmentsHash(result.assignments), assignments: result.assignments };
        // Stored before slashing protection records the hash: a restart rebuilds the same partial from it.
        await this.ctx.decisions.put(batch, decision);
        this.ctx.log.info(
          { event: "batch_matched", batch, seedRank: rank, orders: inputs.orders.length, offers: inputs.offers.length, assignments: result.assignments.length, resultHash: decision.assignmentsHash },
          "batch matched",
        );
      }
      await this.signAndGossip(batch, decision);
      stopTimer();
    } catch (err) {
      this.fail(batch, err);
      throw err;
    }
  }

  /** A restart: the decision stored for this batch is signed (a safe re-sign) and gossiped again. */
  async resume(batch: bigint, stored: Decision): Promise<void> {
    const st = this.ctx.batches.get(batch)!;
    st.apply(BatchEvent.Resume);
    this.ctx.log.info({ event: "decision_resumed", batch, seed: stored.seed, resultHash: stored.assignmentsHash }, "decision found in the data dir: re-gossiping it");
    try {
      await this.signAndGossip(batch, stored);
    } catch (err) {
      this.fail(batch, err);
      throw err;
    }
  }

  /**
   * Signs a result message for `batch` through slashing protection only. Exposed so that tests (and an operator's
   * tooling) can prove that a different result for a signed batch is refused (SlashingProtectionError DoubleSign).
   */
  async signResultMessage(batch: bigint, referenceBlock: bigint, seed: Hex, resultHash: Hex): Promise<SignOutcome> {
    const digest = this.digest(batch, referenceBlock, seed, resultHash);
    return this.ctx.sp.sign(SigningDuty.Result, { operatorId: this.ctx.operatorId, batch }, digest, (h) => this.ctx.secretKey.sign(h));
  }

  private fail(batch: bigint, err: unknown): void {
    const st = this.ctx.batches.get(batch);
    this.ctx.opMetrics.dutyErrors.inc({ duty: "result" });
    if (!st) return;
    st.error = `result: ${(err as Error).message}`;
    // A refusal by slashing protection stands; anything else (a read that failed) is tried again next block.
    st.recordFailed(!(err instanceof SlashingProtectionError));
  }

  /** Slashing protection, then gossip. The record is synced before the signature leaves this function. */
  private async signAndGossip(batch: bigint, d: Decision): Promise<void> {
    const st = this.ctx.batches.get(batch)!;
    const out = await this.signResultMessage(batch, st.close.referenceBlock, d.seed, d.assignmentsHash);
    const messageHash = this.digest(batch, st.close.referenceBlock, d.seed, d.assignmentsHash);
    st.recordSigned({ ...d, messageHash, signature: out.signature, fresh: out.fresh });
    if (out.fresh) this.ctx.metrics.batchesSigned.inc();
    this.lastSigned = this.lastSigned === null || batch > this.lastSigned ? batch : this.lastSigned;
    this.hooks.signed?.();
    this.ctx.log.info(
      { event: out.fresh ? "result_signed" : "result_reserved", batch, resultHash: d.assignmentsHash, messageHash, fresh: out.fresh },
      out.fresh ? "result signed" : "stored signature re-served",
    );
    if (out.fresh) this.hooks.afterSign?.(batch);
    // The partial carries the seed proof (leader id and signature): a peer that missed the leader's seed message
    // learns the seed from any partial, so no separate seed re-gossip is needed here.
    const partial = { batch, resultHash: d.assignmentsHash, operatorId: this.ctx.operatorId, signature: out.signature, seedSigner: d.seedSigner, seedSignature: d.seedSignature, seed: d.seed };
    const network = this.ctx.network();
    if (!network) return;
    this.ctx.runner.publish("partial", batch, () => network.publishPartial(partial));
    // The list goes with this operator's partial: only registered operators may publish lists (docs/operator.md).
    this.ctx.runner.publish("result-list", batch, () => network.publishResultList({ ...partial, assignments: d.assignments }));
  }

  private digest(batch: bigint, referenceBlock: bigint, seed: Hex, resultHash: Hex): Hex {
    return resultMessageDigest({ chainId: this.ctx.chainId, serviceManager: this.ctx.addresses.serviceManager, batch, referenceBlock, seed, assignmentsHash: resultHash });
  }
}
