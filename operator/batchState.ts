/**
 * One batch as this node sees it: a phase with named, checked transitions (docs/operator.md, "Per-batch state"),
 * plus what the duties gathered for it (verified seeds, accepted partials, the signed decision).
 *
 *   Closed ──check──▶ CheckingMembership ──member──▶ AwaitingSeed ──seed──▶ SeedKnown ──decide──▶ Deciding
 *      ▲                   │       │                     │ resume                                 │
 *      └──membership read ─┘       └─not a member──▶ Observer                                     ├─▶ Signed
 *         failed (next block)                                                                     ├─▶ DecideFailed ─(next block)─▶ Deciding
 *                                                                                                 └─▶ Refused ─(a new seed)─▶ Deciding
 *   any phase but Final/Abandoned ──finalized──▶ Final;  ──abandoned──▶ Abandoned.
 *
 * Final and Abandoned are terminal: a decide that was in flight when the chain settled the batch still records its
 * signed decision (it was gossiped and may be what the chain finalized) but the phase stays terminal.
 * Every refused transition throws a BatchPhaseError naming the phase and the event: a duty that runs out of turn is
 * a bug here, never something to paper over.
 */
import type { BatchFinalizedInfo } from "../protocol/chain/follower.js";
import { BatchStatus, type ClosedBatch, type VerifiedSeed } from "../protocol/chain/batches.js";
import type { OperatorId } from "../protocol/chain/ids.js";
import type { G1Point } from "../protocol/bls/index.js";
import { CodedError, type CodeOf } from "../protocol/errors.js";
import type { Hex } from "viem";
import type { Decision } from "./decisions.js";

/** A batch's phase, the events that move it, and the node's own seed for it: the unions of the tables below. */
export type BatchPhase = CodeOf<typeof BatchPhase>;
export type BatchEvent = CodeOf<typeof BatchEvent>;
export type OwnSeed = CodeOf<typeof OwnSeed>;

export const BatchPhase = {
  /** The close was read; membership in the operator set at R_b is not known yet (or its read failed). */
  Closed: "closed",
  /** The membership read is in flight. */
  CheckingMembership: "checking_membership",
  /** Not in the operator set at R_b: the batch is followed (seeds, partials, finality) without signing. */
  Observer: "observer",
  /** A member with no verified seed yet: the seed duty and batch sync run with the blocks. */
  AwaitingSeed: "awaiting_seed",
  /** A member with at least one verified seed and no decide running (a decide is started for each new seed). */
  SeedKnown: "seed_known",
  /** Reading the inputs at R_b, matching, signing through slashing protection (or re-serving a stored decision). */
  Deciding: "deciding",
  /** The last decide failed on something that may pass later (an RPC read): run again on the next block. */
  DecideFailed: "decide_failed",
  /** Slashing protection refused the signature: the refusal stands; only a new seed starts another decide. */
  Refused: "refused",
  /** The result is signed and gossiped. */
  Signed: "signed",
  /** Finalized on-chain. */
  Final: "final",
  /** Abandoned on-chain. */
  Abandoned: "abandoned",
} as const;

export const BatchEvent = {
  CheckMembership: "check_membership",
  MembershipFailed: "membership_failed",
  MembershipKnown: "membership_known",
  SeedLearned: "seed_learned",
  Decide: "decide",
  /** A decision stored before a restart is re-served without a seed of this run. */
  Resume: "resume",
  DecideSucceeded: "decide_succeeded",
  DecideFailed: "decide_failed",
  DecideRefused: "decide_refused",
  Finalized: "finalized",
  Abandoned: "abandoned",
} as const;

export const BatchPhaseErrorCode = {
  /** The event is not allowed in the batch's current phase. */
  TransitionRefused: "BATCH_PHASE_ERROR_TRANSITION_REFUSED",
} as const;

export class BatchPhaseError extends CodedError<CodeOf<typeof BatchPhaseErrorCode>> {
  constructor(
    readonly batch: bigint,
    readonly phase: BatchPhase,
    readonly event: BatchEvent,
  ) {
    super(BatchPhaseErrorCode.TransitionRefused, `batch ${batch}: event ${event} is not allowed in phase ${phase}`);
  }
}

const TERMINAL: ReadonlySet<BatchPhase> = new Set([BatchPhase.Final, BatchPhase.Abandoned]);
const DECIDE_FROM: ReadonlySet<BatchPhase> = new Set([BatchPhase.SeedKnown, BatchPhase.DecideFailed, BatchPhase.Refused]);
const RESUME_FROM: ReadonlySet<BatchPhase> = new Set([BatchPhase.AwaitingSeed, BatchPhase.SeedKnown, BatchPhase.DecideFailed]);

export interface AcceptedPartial {
  resultHash: Hex;
  seed: Hex;
  signature: G1Point;
}

export interface SignedDecision extends Decision {
  messageHash: Hex;
  signature: G1Point;
  /** False when the signature came from the store (a re-gossip after a restart). */
  fresh: boolean;
}

/** The node's own seed for a batch, as the seed duty drives it (independent of the batch phase). */
export const OwnSeed = {
  /** Not this node's turn yet, or never. */
  None: "none",
  /** Signing started (the duty runs at most once per batch, also when it fails). */
  Started: "started",
} as const;

export class BatchState {
  private current: BatchPhase = BatchPhase.Closed;
  /** Verified seeds by fallback rank (the first one verified per rank). */
  readonly seeds = new Map<number, VerifiedSeed>();
  /** Accepted partials by operator id (the first one of each). */
  readonly partials = new Map<OperatorId, AcceptedPartial>();
  readonly equivocators = new Set<OperatorId>();
  /** Block of the last batch-sync request for this batch (null: none yet). */
  syncedAt: bigint | null = null;
  ownSeed: OwnSeed = OwnSeed.None;
  decision?: SignedDecision;
  finalized?: BatchFinalizedInfo;
  /** In the operator set at R_b (null until read). */
  member: boolean | null = null;
  error?: string;

  constructor(
    readonly close: ClosedBatch,
    /** The close was read only on a retry: seed and partials may have been gossiped before the batch was known. */
    readonly closeReadLate: boolean,
  ) {}

  get batch(): bigint {
    return this.close.batch;
  }

  get phase(): BatchPhase {
    return this.current;
  }

  /** What the node API reports: open until the chain settles the batch. */
  get status(): BatchStatus {
    return this.current === BatchPhase.Final ? BatchStatus.Final : this.current === BatchPhase.Abandoned ? BatchStatus.Abandoned : BatchStatus.Open;
  }

  get open(): boolean {
    return !TERMINAL.has(this.current);
  }

  /** A member whose result is neither signed nor being decided: the seed duty and batch sync may act. */
  get awaitingResult(): boolean {
    return this.current === BatchPhase.AwaitingSeed || this.current === BatchPhase.SeedKnown || this.current === BatchPhase.DecideFailed || this.current === BatchPhase.Refused;
  }

  /** Whether `event` is allowed now (the duties ask before they start work; `apply` enforces it). */
  can(event: BatchEvent): boolean {
    return this.next(event, this.member ?? false) !== null;
  }

  /** Applies `event`; throws BatchPhaseError when the current phase does not allow it. */
  apply(event: typeof BatchEvent.MembershipKnown, member: boolean): BatchPhase;
  apply(event: Exclude<BatchEvent, typeof BatchEvent.MembershipKnown>): BatchPhase;
  apply(event: BatchEvent, member?: boolean): BatchPhase {
    const to = this.next(event, member ?? false);
    if (to === null) throw new BatchPhaseError(this.batch, this.current, event);
    if (event === BatchEvent.MembershipKnown) this.member = member!;
    this.current = to;
    return to;
  }

  /** Keeps the first verified seed of a rank; true when it is new. A member waiting for a seed moves on. */
  addSeed(seed: VerifiedSeed): boolean {
    if (this.seeds.has(seed.rank)) return false;
    this.seeds.set(seed.rank, seed);
    if (this.current === BatchPhase.AwaitingSeed) this.apply(BatchEvent.SeedLearned);
    return true;
  }

  /** The seed of the lowest fallback rank verified so far (docs/protocol.md §3.8). */
  bestSeed(): VerifiedSeed | undefined {
    if (this.seeds.size === 0) return undefined;
    return this.seeds.get(Math.min(...this.seeds.keys()));
  }

  /** The decide ended with a signature; a batch settled meanwhile keeps its terminal phase. */
  recordSigned(decision: SignedDecision): void {
    if (this.current === BatchPhase.Deciding) this.apply(BatchEvent.DecideSucceeded);
    else if (!TERMINAL.has(this.current)) throw new BatchPhaseError(this.batch, this.current, BatchEvent.DecideSucceeded);
    this.decision = decision;
  }

  /** The decide failed: `retry` when the failure may pass (an RPC read), not when slashing protection refused. */
  recordFailed(retry: boolean): void {
    const event = retry ? BatchEvent.DecideFailed : BatchEvent.DecideRefused;
    if (this.current === BatchPhase.Deciding) this.apply(event);
    else if (!TERMINAL.has(this.current)) throw new BatchPhaseError(this.batch, this.current, event);
  }

  private next(event: BatchEvent, member: boolean): BatchPhase | null {
    const p = this.current;
    switch (event) {
      case BatchEvent.CheckMembership:
        return p === BatchPhase.Closed ? BatchPhase.CheckingMembership : null;
      case BatchEvent.MembershipFailed:
        return p === BatchPhase.CheckingMembership ? BatchPhase.Closed : null;
      case BatchEvent.MembershipKnown:
        if (p !== BatchPhase.CheckingMembership) return null;
        return !member ? BatchPhase.Observer : this.seeds.size > 0 ? BatchPhase.SeedKnown : BatchPhase.AwaitingSeed;
      case BatchEvent.SeedLearned:
        return p === BatchPhase.AwaitingSeed ? BatchPhase.SeedKnown : null;
      case BatchEvent.Decide:
        return DECIDE_FROM.has(p) && this.seeds.size > 0 ? BatchPhase.Deciding : null;
      case BatchEvent.Resume:
        return RESUME_FROM.has(p) ? BatchPhase.Deciding : null;
      case BatchEvent.DecideSucceeded:
        return p === BatchPhase.Deciding ? BatchPhase.Signed : null;
      case BatchEvent.DecideFailed:
        return p === BatchPhase.Deciding ? BatchPhase.DecideFailed : null;
      case BatchEvent.DecideRefused:
        return p === BatchPhase.Deciding ? BatchPhase.Refused : null;
      case BatchEvent.Finalized:
        return TERMINAL.has(p) ? null : BatchPhase.Final;
      case BatchEvent.Abandoned:
        return TERMINAL.has(p) ? null : BatchPhase.Abandoned;
    }
  }
}

/** The batches this node keeps in memory (API answers and gossip bookkeeping), newest `retain` of them. */
export class BatchStates {
  private readonly map = new Map<bigint, BatchState>();

  constructor(private readonly retain: number) {}

  get(batch: bigint): BatchState | undefined {
    return this.map.get(batch);
  }

  has(batch: bigint): boolean {
    return this.map.has(batch);
  }

  /** Adds the batch and drops the oldest beyond the retention. */
  add(close: ClosedBatch, closeReadLate: boolean): BatchState {
    const st = new BatchState(close, closeReadLate);
    this.map.set(close.batch, st);
    if (this.map.size > this.retain) {
      const sorted = [...this.map.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      for (const b of sorted.slice(0, sorted.length - this.retain)) this.map.delete(b);
    }
    return st;
  }

  all(): IterableIterator<[bigint, BatchState]> {
    return this.map.entries();
  }

  /** Share of the last `window` batches this node was a member of that it signed, in percent (null: none). */
  performance(window: number): number | null {
    const recent = [...this.map.values()]
      .filter((s) => s.member === true)
      .sort((a, b) => (a.batch < b.batch ? 1 : -1))
      .slice(0, window);
    if (recent.length === 0) return null;
    const signed = recent.filter((s) => s.decision !== undefined).length;
    return Math.floor((signed * 100) / recent.length);
  }
}
