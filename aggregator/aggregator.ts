/**
 * The aggregator service: a pool of partials, the assignment lists behind the signed digests, and submission.
 * Driven by the chain follower: onBlock(n) for each new head (the only clock), onBatchClosed(b) when a close is
 * seen; by gossip: addPartial, addAssignmentList. Any party may run one and several may race; losing the race is
 * an ordinary outcome, logged as info. See docs/aggregator.md.
 */
import { BatchStatus } from "../protocol/chain/batches.js";
import type { OperatorId } from "../protocol/chain/ids.js";
import { AggregatorError, AggregatorErrorCode } from "./errors.js";
import type { Hex } from "../protocol/bls/index.js";
import type { G2KeySummer } from "./keySum.js";
import {
  AggregationPool,
  type AddPartialVerdict,
  type AggregationPoolModules,
  type AggregationPoolOpts,
  type ReadyResult,
} from "./pool.js";
import { assignmentsHash, candidateDigest, seedMatchesProof, type ResultCandidate, type ResultContext, type ResultSource } from "./result.js";
import { buildSubmission, checkSubmission, type ResultSubmission } from "./submission.js";
import { revertErrorName } from "../protocol/chain/revert.js";
import { isBatchOverError, type SubmitOutcome, type Submitter } from "./submitter.js";
import type { PartialSignature } from "./types.js";

export interface AggregatorOpts extends AggregationPoolOpts, ResultContext {
  /**
   * Lists without a publisher kept per batch; a batch has one honest result, more only when the quorum splits.
   * Default 4. Lists with a publisher (a registered operator whose signature on the list was checked) are kept one
   * per publisher, outside this bound: the operator set bounds them.
   */
  maxListsPerBatch?: number;
}

export interface AggregatorModules extends AggregationPoolModules {
  resultSource: ResultSource;
  submitter: Submitter;
  g2: G2KeySummer;
}

export type AddListVerdict = { status: "stored" } | { status: "ignored"; code: AggregatorError["code"] };

export type BatchOutcome =
  | { kind: "submitted"; submission: ResultSubmission; outcome: Extract<SubmitOutcome, { kind: "submitted" }> }
  | { kind: "alreadyFinal"; submission: ResultSubmission; errorName: string };

export class Aggregator {
  readonly pool: AggregationPool;
  readonly #ctx: ResultContext;
  readonly #m: AggregatorModules;
  readonly #maxLists: number;
  readonly #maxAhead: bigint;
  /**
   * Gossiped candidates per batch, checked against a signed digest only when one is ready: by publisher
   * (operator id) or, without one, by digest under `anon:`.
   */
  readonly #lists = new Map<bigint, Map<string, ResultCandidate>>();
  /** The result source's candidate per batch, asked once and kept. */
  readonly #own = new Map<bigint, ResultCandidate>();
  readonly #inflight = new Set<bigint>();
  readonly #outcomes = new Map<bigint, BatchOutcome>();

  constructor(opts: AggregatorOpts, modules: AggregatorModules) {
    this.pool = new AggregationPool(opts, modules);
    this.#ctx = { chainId: opts.chainId, serviceManager: opts.serviceManager };
    this.#m = modules;
    this.#maxLists = opts.maxListsPerBatch ?? 4;
    this.#maxAhead = BigInt(opts.maxBatchesAhead ?? 2);
  }

  addPartial(p: PartialSignature): AddPartialVerdict {
    return this.pool.addPartial(p);
  }

  /**
   * A gossiped assignment list. Stored (bounded) and used only if it hashes to a digest a quorum signed; a seed
   * that its proof does not produce is refused at once. `publisher`: the operator whose signature on the list the
   * caller checked (one list kept per publisher); without one the list shares `maxListsPerBatch` slots.
   */
  addAssignmentList(batch: bigint, candidate: ResultCandidate, publisher?: OperatorId): AddListVerdict {
    if (this.#outcomes.has(batch)) return { status: "ignored", code: AggregatorErrorCode.BatchNotOpen };
    const info = this.#m.batches.get(batch);
    if (info !== null && info.status !== BatchStatus.Open) return { status: "ignored", code: AggregatorErrorCode.BatchNotOpen };
    if (info === null && batch <= this.#m.batches.latestClosed()) return { status: "ignored", code: AggregatorErrorCode.UnknownBatch };
    if (info === null && batch > this.#m.batches.latestClosed() + this.#maxAhead) return { status: "ignored", code: AggregatorErrorCode.BatchTooFarAhead };
    if (!seedMatchesProof(candidate)) return { status: "ignored", code: AggregatorErrorCode.SeedMismatch };
    let lists = this.#lists.get(batch);
    if (lists === undefined) this.#lists.set(batch, (lists = new Map()));
    if (publisher !== undefined) {
      const key: string = publisher;
      if (lists.has(key)) return { status: "ignored", code: AggregatorErrorCode.TooManyPending };
      lists.set(key, candidate);
      return { status: "stored" };
    }
    const key = `anon:${assignmentsHash(candidate.assignments)}:${candidate.seed}`;
    if (lists.has(key)) return { status: "stored" };
    if ([...lists.keys()].filter((k) => k.startsWith("anon:")).length >= this.#maxLists) return { status: "ignored", code: AggregatorErrorCode.TooManyPending };
    lists.set(key, candidate);
    return { status: "stored" };
  }

  onBatchClosed(batch: bigint): void {
    this.pool.onBatchClosed(batch);
  }

  /** The block clock: verify, release ready results, submit them. Resolves when this block's submissions are done. */
  async onBlock(blockNumber: bigint): Promise<void> {
    this.pool.onNewBlock(blockNumber);
    await this.#submitReady();
  }

  /**
   * Verify what is queued and submit what is ready, without a new block. The node calls it shortly after a burst
   * of gossip (a CPU-scheduling choice, not a deadline): a result every operator signed is then submitted without
   * waiting for the next block. Readiness itself still depends on blocks only.
   */
  async poll(): Promise<void> {
    this.pool.flush();
    await this.#submitReady();
  }

  async #submitReady(): Promise<void> {
    for (const b of [...this.#lists.keys(), ...this.#own.keys()]) {
      const info = this.#m.batches.get(b);
      const over = info === null ? b <= this.#m.batches.latestClosed() : info.status !== BatchStatus.Open;
      if (this.#outcomes.has(b) || over) {
        this.#lists.delete(b);
        this.#own.delete(b);
      }
    }
    const ready = this.pool.readyResults().filter((r) => !this.#inflight.has(r.batch.batch) && !this.#outcomes.has(r.batch.batch));
    await Promise.all(ready.map((r) => this.#submit(r)));
  }

  outcome(batch: bigint): BatchOutcome | undefined {
    return this.#outcomes.get(batch);
  }

  async #candidateFor(ready: ReadyResult): Promise<ResultCandidate | null> {
    const matches = (c: ResultCandidate) => candidateDigest(this.#ctx, ready.batch, c) === ready.resultHash;
    for (const c of this.#lists.get(ready.batch.batch)?.values() ?? []) if (matches(c)) return c;
    let own = this.#own.get(ready.batch.batch);
    if (own === undefined) {
      try {
        own = (await this.#m.resultSource.resultFor(ready.batch)) ?? undefined;
      } catch (err) {
        this.#m.logger.error({ event: "result_source_failed", batch: ready.batch.batch, err }, "aggregator: the result source failed");
      }
      if (own !== undefined) this.#own.set(ready.batch.batch, own);
    }
    return own !== undefined && matches(own) ? own : null;
  }

  async #submit(ready: ReadyResult): Promise<void> {
    const batch = ready.batch.batch;
    const log = { batch, resultHash: ready.resultHash };
    this.#inflight.add(batch);
    let submission: ResultSubmission | undefined;
    try {
      const candidate = await this.#candidateFor(ready);
      if (candidate === null) {
        // Not fatal: a gossiped list or the result source may still deliver it; retried on the next block.
        this.#m.metrics?.submissions.inc({ outcome: "no_assignment_list" });
        this.#m.logger.warn({ event: "no_assignment_list", ...log, code: AggregatorErrorCode.NoAssignmentList }, "aggregator: quorum reached but no known assignment list hashes to the signed result");
        return;
      }
      submission = buildSubmission(this.#ctx, ready, candidate, this.#m.g2);
      checkSubmission(submission, ready.operatorSet, this.pool.quorumThresholdBps);
      const outcome = await this.#m.submitter.submit(submission);
      if (outcome.kind === "submitted") {
        this.#record(batch, { kind: "submitted", submission, outcome });
        this.#m.metrics?.submissions.inc({ outcome: "submitted" });
        // The message text and fields are part of the process contract (the devnet reads these lines).
        this.#m.logger.info(
          {
            event: "batch_submitted",
            ...log,
            txHash: outcome.txHash,
            block: outcome.blockNumber,
            gasUsed: outcome.gasUsed,
            signers: submission.signerIds.length,
            nonSigners: submission.nonSignerIds.length,
            signedStakeBps: Number((submission.signedStake * 10_000n) / submission.totalStake),
          },
          "batch submitted",
        );
      } else {
        this.#lost(submission, outcome.errorName);
      }
      this.pool.markDone(batch);
    } catch (err) {
      if (submission !== undefined && isBatchOverError(err)) {
        this.#lost(submission, revertErrorName(err)!);
        this.pool.markDone(batch);
        return;
      }
      const code = err instanceof AggregatorError ? err.code : AggregatorErrorCode.SubmitFailed;
      this.#m.metrics?.submissions.inc({ outcome: code === AggregatorErrorCode.SubmitFailed ? "failed" : "check_failed" });
      this.#m.logger.error({ event: "submission_failed", ...log, code, err }, "aggregator: submission failed; retrying on a later block");
    } finally {
      this.#inflight.delete(batch);
    }
  }

  #record(batch: bigint, outcome: BatchOutcome): void {
    this.#outcomes.set(batch, outcome);
    // Recent outcomes are enough: the pool's own done-set and the batch view keep older batches out.
    if (this.#outcomes.size > 256) this.#outcomes.delete(this.#outcomes.keys().next().value!);
  }

  #lost(submission: ResultSubmission, errorName: string): void {
    this.#record(submission.batch, { kind: "alreadyFinal", submission, errorName });
    this.#m.metrics?.submissions.inc({ outcome: "already_final" });
    // Another aggregator finalized the batch first (or it was abandoned): an ordinary outcome, logged at info.
    this.#m.logger.info({ event: "lost_race", batch: submission.batch, errorName }, "lost race");
  }
}
