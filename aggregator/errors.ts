/**
 * Errors are data (Lodestar style): every verdict and failure of the aggregator carries a code from this enum, so
 * callers, tests and metrics branch and count by code, never by message text.
 */
import { CodePrefixedError, type CodeOf } from "../protocol/errors.js";

export const AggregatorErrorCode = {
  // --- verdicts of addPartial (cheap checks, in the order they run) ---
  /** Wrong shape: batch not a non-negative bigint, hashes not 32-byte hex, signature not {X, Y} bigints. */
  Malformed: "AGGREGATOR_MALFORMED",
  /** The batch is not known and is not ahead of the newest closed batch (pruned, or never existed). */
  UnknownBatch: "AGGREGATOR_UNKNOWN_BATCH",
  /** The batch is unknown and too far ahead of the newest closed batch to be worth holding. */
  BatchTooFarAhead: "AGGREGATOR_BATCH_TOO_FAR_AHEAD",
  /** The batch is final (or abandoned): nothing left to aggregate. */
  BatchNotOpen: "AGGREGATOR_BATCH_NOT_OPEN",
  /** The signer is not in the operator set at R_b (unknown, registered after R_b, or weight 0 at R_b). */
  NotInOperatorSet: "AGGREGATOR_NOT_IN_OPERATOR_SET",
  /** The same operator already sent (or has pending) a partial for this result. */
  DuplicatePartial: "AGGREGATOR_DUPLICATE_PARTIAL",
  /** The operator was caught equivocating on this batch; its further partials are not counted. */
  OperatorEquivocated: "AGGREGATOR_OPERATOR_EQUIVOCATED",
  /** Too many unverified partials of one operator for one batch (bounds the work a forger can cause). */
  TooManyPending: "AGGREGATOR_TOO_MANY_PENDING",
  /** The hold queue for partials of not-yet-seen batches is full. */
  HoldQueueFull: "AGGREGATOR_HOLD_QUEUE_FULL",
  /** A held partial's batch was not seen closing within holdBlocks blocks. */
  HoldExpired: "AGGREGATOR_HOLD_EXPIRED",
  /** The BLS signature does not verify (found by batch verification, then identified by bisection). */
  InvalidSignature: "AGGREGATOR_INVALID_SIGNATURE",

  // --- reasons a partial is held rather than judged ---
  /** The batch's close has not been seen yet. */
  BatchNotSeen: "AGGREGATOR_BATCH_NOT_SEEN",
  /** The batch is known but the operator set at R_b has not been loaded yet. */
  OperatorSetNotLoaded: "AGGREGATOR_OPERATOR_SET_NOT_LOADED",

  // --- submission ---
  /** Neither the result source nor any gossiped list hashes to the signed result. */
  NoAssignmentList: "AGGREGATOR_NO_ASSIGNMENT_LIST",
  /** A gossiped assignment list carries a seed that its seed proof does not produce. */
  SeedMismatch: "AGGREGATOR_SEED_MISMATCH",
  /** The operator set's aggregate G1 key (apk at R_b) is not the sum of its members' keys. */
  ApkMismatch: "AGGREGATOR_APK_MISMATCH",
  /** The aggregate failed the same check the contract runs (a bug, since every partial was verified). */
  AggregateCheckFailed: "AGGREGATOR_AGGREGATE_CHECK_FAILED",
  /** The submitter failed for a reason other than a lost race; retried on a later block. */
  SubmitFailed: "AGGREGATOR_SUBMIT_FAILED",
} as const;

/** Its `code` is one of AggregatorErrorCode's values. */
export class AggregatorError extends CodePrefixedError<CodeOf<typeof AggregatorErrorCode>> {}
