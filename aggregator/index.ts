/** The aggregator: collect partial signatures, batch-verify, group by result, submit. See docs/aggregator.md. */
export { Aggregator, type AddListVerdict, type AggregatorModules, type AggregatorOpts, type BatchOutcome } from "./aggregator.js";
export { AggregatorError, AggregatorErrorCode } from "./errors.js";
export { ChainSubmitter, SubmissionRevertedError, fetchSignatureCheckHints, submitResultArgs, type SignatureCheckHints, type ChainSubmitterModules, type ChainSubmitterOpts } from "./chainSubmitter.js";
export { createG2KeySummer, type G2KeySummer } from "./keySum.js";
export { createAggregatorMetrics } from "./metrics.js";
export {
  AggregationPool,
  DEFAULT_QUORUM_THRESHOLD_BPS,
  type AddPartialVerdict,
  type AggregationPoolModules,
  type AggregationPoolOpts,
  type ReadyResult,
  type ResultTally,
  type VerifiedSigner,
} from "./pool.js";
export {
  candidateDigest,
  seedMatchesProof,
  type ResultCandidate,
  type ResultContext,
  type ResultSource,
  type SeedProof,
} from "./result.js";
export { buildSubmission, checkSubmission, checkerGamma, type CheckedSubmission, type ResultSubmission } from "./submission.js";
export { BATCH_OVER_ERROR_NAMES, isBatchOverError, type SubmitOutcome, type Submitter } from "./submitter.js";
export type * from "./types.js";
