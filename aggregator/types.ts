/**
 * What the aggregator is given (Lodestar style: constructors take `(opts, modules)`, and everything that varies —
 * chain views, BLS verifier, logger, metrics — is injected). The chain follower keeps the views' in-memory caches
 * current from contract reads; the pool only ever reads them synchronously, so the hot path never waits on RPC.
 */
import type { G1Point, Hex } from "../protocol/bls/index.js";

/**
 * One operator's signature on one batch's result digest, as gossiped (protocol/p2p PartialSignatureMessage).
 * `resultHash` is the digest the operator signed: resultMessageDigest(...) of protocol/avs/messages.ts.
 */
export interface PartialSignature {
  batch: bigint;
  resultHash: Hex;
  operatorId: Hex;
  signature: G1Point;
}

/** A pino logger fits this shape; tests pass a recording one. */
export interface AggregatorLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** prom-client Counter / Gauge / Histogram fit these shapes (metric names are chosen by whoever builds them). */
export interface AggregatorMetrics {
  /** Every addPartial verdict and every verification outcome: outcome ∈ queued|held|ignored|verified|invalid. */
  partials: { inc(labels: { outcome: string; code: string }): void };
  /** One observation per batch verification call (seconds). */
  verifySeconds: { observe(seconds: number): void };
  /** Partials verified per batch verification call. */
  verifyBatchSize: { observe(n: number): void };
  /** Two valid signatures of one operator on different results of one batch. */
  equivocations: { inc(): void };
  /** Partials waiting for their batch's close to be seen. */
  heldPartials: { set(n: number): void };
  /** outcome ∈ submitted|already_final|failed|no_assignment_list|check_failed. */
  submissions: { inc(labels: { outcome: string }): void };
  /** Blocks from the batch's close to its quorum being reached, per result that reached quorum. */
  quorumBlocks: { observe(blocks: number): void };
}
