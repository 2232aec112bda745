/**
 * Submission is injected: ChainSubmitter (chainSubmitter.ts) is the viem implementation (simulateContract →
 * writeContract → waitForTransactionReceipt on ServiceManager.submitResult). Whatever implements it reports a lost
 * race as an outcome, and anything it throws is classified here by the decoded custom-error NAME, never message text.
 */
import type { Hex } from "viem";
import { revertErrorName } from "../protocol/chain/revert.js";
import type { ResultSubmission } from "./submission.js";

export type SubmitOutcome =
  /** The transaction was mined with status success (a mined revert is thrown, so that its name can be decoded). */
  /** `gasUsed` and `pagesApplied` count the submission and the pages applied after it (docs/protocol.md §3.7). */
  | { kind: "submitted"; txHash: Hex; blockNumber: bigint; gasUsed: bigint; pagesApplied?: number }
  /** Another aggregator's submission landed first: not an error (docs/protocol.md §3.6, several may race). */
  | { kind: "alreadyFinal"; errorName: string; pagesApplied?: number };

export interface Submitter {
  submit(submission: ResultSubmission): Promise<SubmitOutcome>;
}

/**
 * Custom errors of the ServiceManager (contracts/interfaces/IServiceManager.sol) that mean "this batch needs no
 * submission any more": another submission finalized it, or it was abandoned.
 */
export const BATCH_OVER_ERROR_NAMES: ReadonlySet<string> = new Set([
  "ServiceManagerBatchAlreadyFinal",
  "ServiceManagerBatchAbandoned",
]);

/** True when the error is a revert whose decoded name says the batch is already over. */
export function isBatchOverError(err: unknown): boolean {
  const name = revertErrorName(err);
  return name !== null && BATCH_OVER_ERROR_NAMES.has(name);
}
