/**
 * The aggregation pool: partial signatures in, per-(batch, result) tallies of verified signed stake out.
 *
 * addPartial runs the cheap checks only (shape, batch known and open, signer in the set at R_b, duplicates) and
 * queues the partial; signatures are verified later, many at once, by one randomized batch check (random linear
 * combination, protocol/bls/verifier.ts). If that check fails, findInvalid bisects to the bad ones, which are
 * dropped and counted. Verified partials are grouped by result digest; an operator with verified signatures on two
 * different results of one batch has equivocated: only its first result counts, and it is logged and counted.
 *
 * Time is counted in blocks only: quorum is stamped with the block at which it was seen, results become ready
 * `waitBlocks` blocks later (or at once when every operator signed), and a partial for a batch whose close has not
 * been seen is held for at most `holdBlocks` blocks. See docs/aggregator.md.
 */
import type { BlsVerifier, G1Point, Hex, SignatureItem } from "../protocol/bls/index.js";
import { BatchStatus, type BatchRecord } from "../protocol/chain/batches.js";
import type { OperatorAtBlock, OperatorSetAtBlock, OperatorSets } from "../protocol/chain/operatorSets.js";
import { toBytes32, toOperatorId, type Bytes32, type OperatorId } from "../protocol/chain/ids.js";
import type { BatchTable } from "../protocol/p2p/batchTable.js";
import { AggregatorErrorCode, type AggregatorError } from "./errors.js";
import type { AggregatorLogger, AggregatorMetrics, PartialSignature } from "./types.js";

/** docs/protocol.md §8: the on-chain default of quorumThresholdBps. */
export const DEFAULT_QUORUM_THRESHOLD_BPS = 6667;
const BPS = 10_000n;

export interface AggregationPoolOpts {
  /** Signed stake needed, in basis points of the total stake at R_b; must equal the contract's parameter. */
  quorumThresholdBps?: number;
  /**
   * Blocks to wait for more signers once a result reached quorum (fewer non-signers cost less gas); 0 submits as
   * soon as quorum is seen. Default 1: one more block of gossip costs one block of latency.
   */
  waitBlocks?: number;
  /** Blocks a partial for a not-yet-seen batch is held before it is dropped. Default 4. */
  holdBlocks?: number;
  /** Most partials held at once (bounded memory under spam). Default 4 096, ≈ 16 batches of 256 operators. */
  maxHeld?: number;
  /** Only batches at most this far beyond the newest seen close are held (a close is one per batchInterval). Default 2. */
  maxBatchesAhead?: number;
  /** Verify as soon as this many partials are queued; the owner also calls flush() on every tick. Default 256. */
  verifyBatchSize?: number;
  /**
   * Unverified partials one operator may have queued per batch. Honest operators send one; an equivocator two.
   * Default 4: room for the honest one next to a few forgeries, which verification then drops.
   */
  maxPendingPerOperator?: number;
}

export interface AggregationPoolModules {
  verifier: BlsVerifier;
  /** The node's batch table (filled by its chain follower). */
  batches: Pick<BatchTable, "get" | "latestClosed">;
  /** The operator sets at R_b; the pool reads only what is loaded (the node loads a batch's set at its close). */
  operatorSets: Pick<OperatorSets, "atBlock">;
  logger: AggregatorLogger;
  metrics: AggregatorMetrics | null;
}

export type AddPartialVerdict =
  | { status: "queued" }
  | { status: "held"; code: typeof AggregatorErrorCode.BatchNotSeen | typeof AggregatorErrorCode.OperatorSetNotLoaded }
  | { status: "ignored"; code: AggregatorError["code"] };

export interface ResultTally {
  resultHash: Bytes32;
  /** Verified signers, by operator id. */
  readonly signers: ReadonlyMap<Hex, VerifiedSigner>;
  signedStake: bigint;
  /** The head block at which the signed stake first reached the threshold; null below it. */
  quorumAtBlock: bigint | null;
}

export interface VerifiedSigner {
  operator: OperatorAtBlock;
  signature: G1Point;
}

/** A result whose quorum policy says: submit now. */
export interface ReadyResult {
  batch: BatchRecord;
  operatorSet: OperatorSetAtBlock;
  resultHash: Bytes32;
  signers: VerifiedSigner[];
  signedStake: bigint;
  totalStake: bigint;
}

interface IndexedSet {
  set: OperatorSetAtBlock;
  byId: Map<OperatorId, OperatorAtBlock>;
  /** Members with weight > 0: the operators that could sign. */
  memberCount: number;
}

interface OperatorState {
  /** resultHash → verified partial. */
  verified: Map<Bytes32, Admitted>;
  /** resultHash of partials queued for verification. */
  pending: Set<Bytes32>;
  equivocated: boolean;
}

interface PoolBatch {
  info: BatchRecord;
  set: IndexedSet;
  operators: Map<OperatorId, OperatorState>;
  results: Map<Bytes32, ResultTally & { signers: Map<Hex, VerifiedSigner> }>;
}

/** A well-formed partial with its ids in their one spelling (normalised once, where it enters the pool). */
type Admitted = PartialSignature & { operatorId: OperatorId; resultHash: Bytes32 };

interface Queued {
  partial: Admitted;
  state: PoolBatch;
  operator: OperatorAtBlock;
  item: SignatureItem;
}

interface Held {
  partial: PartialSignature;
  sinceBlock: bigint;
}

const HEX32 = /^0x[0-9a-fA-F]{64}$/;

function isWellFormed(p: PartialSignature): boolean {
  return (
    p !== null &&
    typeof p === "object" &&
    typeof p.batch === "bigint" &&
    p.batch >= 0n &&
    typeof p.resultHash === "string" &&
    HEX32.test(p.resultHash) &&
    typeof p.operatorId === "string" &&
    HEX32.test(p.operatorId) &&
    p.signature !== null &&
    typeof p.signature === "object" &&
    typeof p.signature.X === "bigint" &&
    typeof p.signature.Y === "bigint"
  );
}

function positiveInt(v: number | undefined, dflt: number, name: string, min = 0): number {
  const x = v ?? dflt;
  if (!Number.isSafeInteger(x) || x < min) throw new RangeError(`aggregator: ${name} must be an integer ≥ ${min}, got ${v}`);
  return x;
}

export class AggregationPool {
  readonly quorumThresholdBps: number;
  readonly waitBlocks: bigint;
  readonly holdBlocks: bigint;
  readonly #maxHeld: number;
  readonly #maxAhead: bigint;
  readonly #verifyBatchSize: number;
  readonly #maxPendingPerOperator: number;
  readonly #m: AggregationPoolModules;

  readonly #batches = new Map<bigint, PoolBatch>();
  /** Batches this pool saw end (final, abandoned, or taken by markDone); later partials for them are ignored. */
  readonly #done = new Set<bigint>();
  readonly #indexed = new WeakMap<OperatorSetAtBlock, IndexedSet>();
  #queue: Queued[] = [];
  #held: Held[] = [];
  #head = 0n;

  constructor(opts: AggregationPoolOpts, modules: AggregationPoolModules) {
    this.quorumThresholdBps = positiveInt(opts.quorumThresholdBps, DEFAULT_QUORUM_THRESHOLD_BPS, "quorumThresholdBps", 1);
    if (this.quorumThresholdBps > 10_000) throw new RangeError("aggregator: quorumThresholdBps must be ≤ 10000");
    this.waitBlocks = BigInt(positiveInt(opts.waitBlocks, 1, "waitBlocks"));
    this.holdBlocks = BigInt(positiveInt(opts.holdBlocks, 4, "holdBlocks"));
    this.#maxHeld = positiveInt(opts.maxHeld, 4096, "maxHeld");
    this.#maxAhead = BigInt(positiveInt(opts.maxBatchesAhead, 2, "maxBatchesAhead"));
    this.#verifyBatchSize = positiveInt(opts.verifyBatchSize, 256, "verifyBatchSize", 1);
    this.#maxPendingPerOperator = positiveInt(opts.maxPendingPerOperator, 4, "maxPendingPerOperator", 1);
    this.#m = modules;
  }

  /** The newest block the pool was told about. */
  get head(): bigint {
    return this.#head;
  }

  get heldCount(): number {
    return this.#held.length;
  }

  get queuedCount(): number {
    return this.#queue.length;
  }

  /** Cheap checks, then queue for batch verification (or hold, or ignore). Never throws on network input. */
  addPartial(p: PartialSignature): AddPartialVerdict {
    const v = this.#admit(p, this.#head) as AddPartialVerdict; // "keep" only comes back for held partials
    this.#count(v);
    if (v.status === "queued" && this.#queue.length >= this.#verifyBatchSize) this.flush();
    return v;
  }

  /**
   * Verifies every queued partial in one randomized batch check; on failure, bisects to the invalid ones and drops
   * them. Valid ones are tallied. Returns how many were verified valid.
   */
  flush(): number {
    if (this.#queue.length === 0) return 0;
    const queue = this.#queue;
    this.#queue = [];
    const items = queue.map((q) => q.item);
    const t0 = performance.now();
    let bad: number[] = [];
    if (!this.#m.verifier.verifyBatch(items)) bad = this.#m.verifier.findInvalid(items);
    this.#m.metrics?.verifySeconds.observe((performance.now() - t0) / 1000);
    this.#m.metrics?.verifyBatchSize.observe(items.length);
    const badSet = new Set(bad);
    let valid = 0;
    for (let i = 0; i < queue.length; i++) {
      const q = queue[i]!;
      const key = q.partial.resultHash;
      const op = q.state.operators.get(q.partial.operatorId)!;
      op.pending.delete(key);
      if (badSet.has(i)) {
        this.#m.metrics?.partials.inc({ outcome: "invalid", code: AggregatorErrorCode.InvalidSignature });
        this.#m.logger.warn(
          { batch: q.partial.batch, operatorId: q.partial.operatorId, resultHash: q.partial.resultHash, code: AggregatorErrorCode.InvalidSignature },
          "aggregator: dropped a partial signature that does not verify",
        );
        continue;
      }
      valid++;
      this.#m.metrics?.partials.inc({ outcome: "verified", code: "" });
      // The batch may have ended while the partial waited; its state is then gone and there is nothing to count.
      if (this.#batches.get(q.state.info.batch) !== q.state) continue;
      this.#apply(q, op, key);
    }
    return valid;
  }

  /**
   * The block clock. Verifies what is queued, re-examines held partials (their batch may have been seen closing),
   * drops held ones older than holdBlocks, and forgets batches the view reports final or abandoned.
   */
  onNewBlock(blockNumber: bigint): void {
    if (blockNumber > this.#head) this.#head = blockNumber;
    for (const [b, state] of this.#batches) {
      const info = this.#m.batches.get(b);
      if (info !== null && info.status !== BatchStatus.Open) this.markDone(b);
      else if (info !== null) state.info = info;
    }
    this.#retryHeld();
    this.flush();
  }

  /** Call when the chain follower saw a batch close, so held partials are examined without waiting for a block. */
  onBatchClosed(_batch: bigint): void {
    this.#retryHeld();
  }

  /**
   * Results the quorum policy releases, at most one per batch (the one with the most signed stake; ties to the
   * lower digest, so racing aggregators pick the same one).
   */
  readyResults(): ReadyResult[] {
    const out: ReadyResult[] = [];
    for (const state of this.#batches.values()) {
      let best: (ResultTally & { signers: Map<Hex, VerifiedSigner> }) | undefined;
      for (const r of state.results.values()) {
        if (r.quorumAtBlock === null) continue;
        const everyone = r.signers.size === state.set.memberCount;
        if (!everyone && this.#head < r.quorumAtBlock + this.waitBlocks) continue;
        if (best === undefined || r.signedStake > best.signedStake || (r.signedStake === best.signedStake && r.resultHash < best.resultHash)) {
          best = r;
        }
      }
      if (best === undefined) continue;
      out.push({
        batch: state.info,
        operatorSet: state.set.set,
        resultHash: best.resultHash,
        signers: [...best.signers.values()],
        signedStake: best.signedStake,
        totalStake: state.set.set.totalStake,
      });
    }
    return out;
  }

  /** The tallies of one batch (for status views and tests). */
  tallies(batch: bigint): ResultTally[] {
    const s = this.#batches.get(batch);
    return s === undefined ? [] : [...s.results.values()];
  }

  /** Forget a batch (final on-chain, abandoned, or submitted): later partials for it are ignored. */
  markDone(batch: bigint): void {
    this.#batches.delete(batch);
    this.#done.add(batch);
    // Bounded memory: only recent batch numbers matter, since older ones are below latestClosed anyway.
    if (this.#done.size > 1024) this.#done.delete(this.#done.values().next().value!);
  }

  #admit(p: PartialSignature, now: bigint, fromHold = false): AddPartialVerdict | { status: "keep" } {
    if (!isWellFormed(p)) return { status: "ignored", code: AggregatorErrorCode.Malformed };
    if (this.#done.has(p.batch)) return { status: "ignored", code: AggregatorErrorCode.BatchNotOpen };
    const info = this.#m.batches.get(p.batch);
    if (info === null) {
      if (p.batch <= this.#m.batches.latestClosed()) return { status: "ignored", code: AggregatorErrorCode.UnknownBatch };
      if (p.batch > this.#m.batches.latestClosed() + this.#maxAhead) return { status: "ignored", code: AggregatorErrorCode.BatchTooFarAhead };
      return this.#hold(p, now, AggregatorErrorCode.BatchNotSeen, fromHold);
    }
    if (info.status !== BatchStatus.Open) return { status: "ignored", code: AggregatorErrorCode.BatchNotOpen };
    let state = this.#batches.get(p.batch);
    if (state === undefined) {
      const set = this.#m.operatorSets.atBlock(info.referenceBlock);
      if (set === null) return this.#hold(p, now, AggregatorErrorCode.OperatorSetNotLoaded, fromHold);
      state = { info, set: this.#index(set), operators: new Map(), results: new Map() };
      this.#batches.set(p.batch, state);
    }
    const admitted: Admitted = { ...p, operatorId: toOperatorId(p.operatorId), resultHash: toBytes32(p.resultHash) };
    const id = admitted.operatorId;
    const operator = state.set.byId.get(id);
    if (operator === undefined || operator.stake <= 0n) return { status: "ignored", code: AggregatorErrorCode.NotInOperatorSet };
    let op = state.operators.get(id);
    if (op === undefined) state.operators.set(id, (op = { verified: new Map(), pending: new Set(), equivocated: false }));
    if (op.equivocated) return { status: "ignored", code: AggregatorErrorCode.OperatorEquivocated };
    const key = admitted.resultHash;
    if (op.verified.has(key) || op.pending.has(key)) return { status: "ignored", code: AggregatorErrorCode.DuplicatePartial };
    if (op.pending.size >= this.#maxPendingPerOperator) return { status: "ignored", code: AggregatorErrorCode.TooManyPending };
    op.pending.add(key);
    this.#queue.push({ partial: admitted, state, operator, item: { pkG2: operator.pkG2, digest: key, sig: p.signature } });
    return { status: "queued" };
  }

  #hold(
    p: PartialSignature,
    now: bigint,
    code: typeof AggregatorErrorCode.BatchNotSeen | typeof AggregatorErrorCode.OperatorSetNotLoaded,
    fromHold: boolean,
  ): AddPartialVerdict | { status: "keep" } {
    if (fromHold) return { status: "keep" };
    if (this.#held.length >= this.#maxHeld) return { status: "ignored", code: AggregatorErrorCode.HoldQueueFull };
    this.#held.push({ partial: p, sinceBlock: now });
    this.#m.metrics?.heldPartials.set(this.#held.length);
    return { status: "held", code };
  }

  #retryHeld(): void {
    if (this.#held.length === 0) return;
    const held = this.#held;
    this.#held = [];
    for (const h of held) {
      const v = this.#admit(h.partial, h.sinceBlock, true);
      if (v.status === "keep") {
        if (this.#head - h.sinceBlock > this.holdBlocks) {
          this.#m.metrics?.partials.inc({ outcome: "ignored", code: AggregatorErrorCode.HoldExpired });
          this.#m.logger.debug({ batch: h.partial.batch, operatorId: h.partial.operatorId }, "aggregator: held partial expired");
        } else {
          this.#held.push(h);
        }
        continue;
      }
      this.#count(v);
    }
    this.#m.metrics?.heldPartials.set(this.#held.length);
    if (this.#queue.length >= this.#verifyBatchSize) this.flush();
  }

  #apply(q: Queued, op: OperatorState, key: Bytes32): void {
    const { state, partial, operator } = q;
    const opId = partial.operatorId;
    if (op.verified.size > 0 && !op.verified.has(key)) {
      // Two valid signatures on different results of one batch. Only the first one counts toward a quorum, so an
      // equivocator cannot help two conflicting results at once. The operators, which hold the assignments hashes
      // behind both digests, send the slashing proof (operator/equivocation.ts); here it is counted and logged.
      const first = op.verified.values().next().value!;
      op.equivocated = true;
      this.#m.metrics?.equivocations.inc();
      this.#m.logger.warn(
        { event: "operator_equivocated", batch: state.info.batch, operatorId: opId, first: first.resultHash, second: partial.resultHash },
        "aggregator: operator signed two different results for one batch",
      );
      return;
    }
    op.verified.set(key, partial);
    let tally = state.results.get(key);
    if (tally === undefined) {
      tally = { resultHash: partial.resultHash, signers: new Map(), signedStake: 0n, quorumAtBlock: null };
      state.results.set(key, tally);
    }
    tally.signers.set(opId, { operator, signature: partial.signature });
    tally.signedStake += operator.stake;
    this.#m.logger.debug(
      { batch: state.info.batch, operatorId: opId, resultHash: partial.resultHash, signers: tally.signers.size, signedStake: tally.signedStake },
      "aggregator: partial counted",
    );
    // Integer comparison, the same one the contract makes: signed·10 000 ≥ total·threshold.
    if (tally.quorumAtBlock === null && tally.signedStake * BPS >= state.set.set.totalStake * BigInt(this.quorumThresholdBps)) {
      tally.quorumAtBlock = this.#head;
      const sinceClose = this.#head - state.info.closedAt;
      this.#m.metrics?.quorumBlocks.observe(Number(sinceClose > 0n ? sinceClose : 0n));
      this.#m.logger.info(
        { batch: state.info.batch, resultHash: partial.resultHash, signers: tally.signers.size, signedStake: tally.signedStake, totalStake: state.set.set.totalStake, block: this.#head },
        "aggregator: result reached quorum",
      );
    }
  }

  #index(set: OperatorSetAtBlock): IndexedSet {
    let ix = this.#indexed.get(set);
    if (ix === undefined) {
      const byId = new Map<OperatorId, OperatorAtBlock>();
      let memberCount = 0;
      for (const o of set.operators) {
        byId.set(o.operatorId, o);
        if (o.stake > 0n) memberCount++;
      }
      ix = { set, byId, memberCount };
      this.#indexed.set(set, ix);
    }
    return ix;
  }

  #count(v: AddPartialVerdict | { status: "keep" }): void {
    if (v.status === "keep") return;
    this.#m.metrics?.partials.inc({ outcome: v.status, code: v.status === "queued" ? "" : v.code });
  }
}
