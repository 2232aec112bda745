/**
 * When each duty runs (the "when" half; operator/duties/ hold the "do" half): chain events from the follower move
 * the per-batch states and start the duties — a close starts the batch, each block runs what is due (a fallback
 * leader's turn, batch sync, retries of reads that failed), finality and abandonment end the batch.
 */
import type { BatchClosedInfo, BatchFinalizedInfo } from "../protocol/chain/follower.js";
import { fallbackLength, readClosedBatch, type BatchTiming, type ClosedBatch } from "../protocol/chain/batches.js";
import { BatchEvent, BatchPhase } from "./batchState.js";
import type { DutyContext } from "./duties/context.js";
import type { BatchSyncDuty } from "./duties/batchSync.js";
import type { Registration } from "./duties/registration.js";
import type { RetentionDuty } from "./duties/retention.js";
import type { ResultDuty } from "./duties/result.js";
import type { SeedDuty } from "./duties/seed.js";
import type { EquivocationReporter } from "./equivocation.js";
import type { PartialEvidenceStore } from "../protocol/p2p/partialEvidence.js";
import { sameHash } from "./statusView.js";

export interface SchedulerDuties {
  seed: SeedDuty;
  result: ResultDuty;
  sync: BatchSyncDuty;
  registration: Registration;
  retention: RetentionDuty;
  equivocation: EquivocationReporter;
  /** Each operator's first partial per batch, kept on disk for the batch's slashing window. */
  evidence: PartialEvidenceStore;
}

export class DutyScheduler {
  /** Closes whose reads failed, by batch: read again on the next block. */
  private readonly closeRetries = new Map<bigint, BatchClosedInfo>();

  constructor(
    private readonly ctx: DutyContext,
    private readonly timing: BatchTiming,
    private readonly duties: SchedulerDuties,
    /** Called when a batch's outcome changes what the performance score counts. */
    private readonly outcomeChanged: () => void,
  ) {}

  /** `retried`: the first read of this close failed, so the batch's gossip may have gone round before it was known. */
  async onBatchClosed(info: BatchClosedInfo, retried = false): Promise<void> {
    const { batches, log } = this.ctx;
    if (batches.has(info.batch)) return;
    let close: ClosedBatch;
    try {
      close = await readClosedBatch(this.ctx.client, { chainId: this.ctx.chainId, serviceManager: this.ctx.addresses.serviceManager }, info.batch, fallbackLength(this.timing));
    } catch (err) {
      // An RPC hiccup must not cost the batch: the close is read again on the next block.
      log.warn({ event: "batch_close_read_failed", batch: info.batch, err: (err as Error).message }, "reading a closed batch failed; retrying on the next block");
      this.closeRetries.set(info.batch, info);
      return;
    }
    // A restart during the batch: the partials accepted before it, read back before the batch is known to gossip
    // validation (the table's close wakes partials held for it), so a conflicting one arriving now is still caught.
    let kept: Awaited<ReturnType<PartialEvidenceStore["partialsOf"]>>;
    try {
      kept = await this.duties.evidence.partialsOf(info.batch);
    } catch (err) {
      log.warn({ event: "batch_close_read_failed", batch: info.batch, err: (err as Error).message }, "reading the kept partials of a closed batch failed; retrying on the next block");
      this.closeRetries.set(info.batch, info);
      return;
    }
    if (batches.has(info.batch)) return;
    const seen = this.ctx.network()?.validation.seenPartials;
    for (const [operatorId, p] of kept) {
      if (seen && seen.get(info.batch, operatorId) === undefined) seen.set(info.batch, operatorId, { message: { batch: info.batch, operatorId, ...p } });
    }
    this.ctx.table.onClosed(close);
    const st = batches.add(close, retried);
    for (const [operatorId, p] of kept) st.partials.set(operatorId, p);
    if (kept.size > 0) log.info({ event: "partials_restored", batch: info.batch, partials: kept.size }, "partials accepted before a restart read back");
    this.ctx.metrics.batchesSeen.inc();
    log.info({ event: "batch_closed", batch: info.batch, referenceBlock: close.referenceBlock, leader: close.leaderOrder[0] }, "batch closed");
    // Registration and peers can change between batches: refresh both, off the follower's path.
    const { registration } = this.duties;
    this.ctx.runner.track(registration.refresh().then(() => registration.refreshBootstrap(close.referenceBlock)), "refresh");
    this.ctx.runner.track(this.startBatch(info.batch), "result");
    this.ctx.runner.track(this.duties.retention.onClosed(info.batch), "retention");
    // Evidence of batches whose slashing window closed by now can no longer slash anyone.
    this.ctx.runner.track(this.duties.evidence.prune(info.closedAt), "retention");
  }

  onBatchFinalized(info: BatchFinalizedInfo): void {
    this.ctx.table.markFinal(info.batch);
    const st = this.ctx.batches.get(info.batch);
    if (st?.open) {
      st.apply(BatchEvent.Finalized);
      st.finalized = info;
    }
    const signed = st?.decision ? (sameHash(st.decision.messageHash, info.resultHash) ? "signed" : "other") : "none";
    this.ctx.opMetrics.resultAgreement.inc({ signed });
    this.ctx.log.info(
      { event: "batch_final", batch: info.batch, resultHash: info.resultHash, signedStake: info.signedStake, totalStake: info.totalStake, signedByUs: signed },
      "batch final",
    );
    this.keepEvidence(info.batch);
    this.outcomeChanged();
  }

  onBatchAbandoned(batch: bigint): void {
    this.ctx.table.markAbandoned(batch);
    const st = this.ctx.batches.get(batch);
    if (st?.open) st.apply(BatchEvent.Abandoned);
    this.ctx.log.warn({ event: "batch_abandoned", batch }, "batch abandoned");
    this.keepEvidence(batch);
    this.outcomeChanged();
  }

  /**
   * The batch is over: its operators' first partials go to disk, where a double signature gossiped after the batch
   * left memory is checked against them (protocol/p2p/validation/partial.ts).
   */
  private keepEvidence(batch: bigint): void {
    const st = this.ctx.batches.get(batch);
    const record = this.ctx.table.get(batch);
    if (!st || !record) return;
    this.ctx.runner.track(this.duties.evidence.keepBatch(batch, record.referenceBlock, record.closedAt, st.partials), "evidence");
  }

  onBlock(n: bigint): void {
    const { runner } = this.ctx;
    this.ctx.table.onBlock(n);
    this.ctx.opMetrics.headBlock.set(Number(n));
    if (this.duties.equivocation.pendingRetries > 0) runner.track(this.duties.equivocation.retryFailed(), "equivocation");
    for (const info of [...this.closeRetries.values()]) {
      this.closeRetries.delete(info.batch);
      runner.track(this.onBatchClosed(info, true), "close");
    }
    for (const [batch, st] of this.ctx.batches.all()) {
      // Duties that failed on a read (RPC) are run again, one block later.
      if (st.phase === BatchPhase.Closed) {
        runner.track(this.startBatch(batch), "result");
        continue;
      }
      if (st.phase === BatchPhase.DecideFailed) runner.track(this.duties.result.maybeDecide(batch), "result");
      if (!st.awaitingResult) continue;
      // Still no seed two blocks after the close (gossip missed, e.g. no peer connected then): ask peers, every two
      // blocks, before this node's own fallback turn can come.
      if (this.duties.sync.due(batch, n)) runner.track(this.duties.sync.sync(batch, n), "sync");
      // A fallback leader's turn comes with the blocks.
      runner.track(this.duties.seed.maybeProduce(batch), "seed");
    }
  }

  /** Membership at R_b, then what a restart left in the store, then batch sync, the seed duty and the decide. */
  private async startBatch(batch: bigint): Promise<void> {
    const st = this.ctx.batches.get(batch)!;
    st.apply(BatchEvent.CheckMembership);
    let member: boolean;
    try {
      member = (await this.ctx.operatorSets.operatorAt(this.ctx.operatorId, st.close.referenceBlock)) !== undefined;
    } catch (err) {
      if (st.phase === BatchPhase.CheckingMembership) st.apply(BatchEvent.MembershipFailed);
      throw err;
    }
    if (st.phase !== BatchPhase.CheckingMembership) {
      // Settled on-chain meanwhile: the membership is still reported, no duty runs.
      st.member = member;
      return;
    }
    st.apply(BatchEvent.MembershipKnown, member);
    if (!member) {
      this.ctx.log.info({ event: "batch_observed", batch, referenceBlock: st.close.referenceBlock }, "not in the operator set at R_b: following this batch without signing");
      return;
    }
    // A restart: re-serve what was decided and signed, never decide again.
    await this.duties.seed.restore(batch);
    const stored = await this.ctx.decisions.get(batch);
    if (stored !== undefined) {
      // A seed that arrived meanwhile may have started a decide already: it finds the same stored decision.
      if (st.can(BatchEvent.Resume)) await this.duties.result.resume(batch, stored);
      return;
    }
    await this.duties.sync.atStart(batch);
    await this.duties.seed.maybeProduce(batch);
    await this.duties.result.maybeDecide(batch);
  }
}
