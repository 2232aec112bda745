/**
 * The viem Submitter: ServiceManager.submitResult (the signature check and page 0) and then applyPage for every
 * other page of the result (docs/protocol.md §3.7), each by simulate → write → wait for the receipt, from the
 * aggregator's own account (unlocked from its account keystore by the process). Pages are applied after a lost race
 * too, when the batch was finalized with this result's commitment: whoever finalized it may have stopped. Reverts are classified by the decoded custom-
 * error NAME (viem's ContractFunctionRevertedError.data.errorName), never by message text:
 *
 * - refused in simulation or gas estimation with a batch-over name (`BATCH_OVER_ERROR_NAMES`): another aggregator
 *   won; nothing is sent, nothing is paid → `alreadyFinal`;
 * - mined but reverted (two submissions raced into one block): the call is replayed at that block to decode the
 *   name — a batch-over name → `alreadyFinal` (this loser paid the gas of a reverted transaction, nothing else);
 * - anything else is thrown, for the service to log as an error and retry on the next block.
 */
import {
  BaseError,
  type Account,
  type Address,
  type Chain,
  type ContractFunctionReturnType,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { serviceManagerAbi } from "../protocol/chain/abi.js";
import { pageCommitments, resultPages } from "../protocol/matching/encode.js";
import type { ResultSubmission } from "./submission.js";
import { revertErrorName } from "../protocol/chain/revert.js";
import { SendLock } from "./sendLock.js";
import { BATCH_OVER_ERROR_NAMES, type SubmitOutcome, type Submitter } from "./submitter.js";

export interface ChainSubmitterOpts {
  serviceManager: Address;
}

export interface ChainSubmitterModules {
  publicClient: PublicClient;
  /** A wallet client whose `account` pays (a local account from the keystore: transactions are signed here). */
  walletClient: WalletClient<Transport, Chain | undefined, Account>;
  /** Shared with every other sender of the same account (aggregator/sendLock.ts); one of its own when absent. */
  sendLock?: SendLock;
}

/** A mined submitResult that reverted for a reason the replay could not name. */
export class SubmissionRevertedError extends Error {
  override readonly name = "SubmissionRevertedError";
  constructor(
    readonly txHash: Hex,
    readonly blockNumber: bigint,
    options?: { cause?: unknown },
  ) {
    super(`submitResult transaction ${txHash} reverted in block ${blockNumber}`, options);
  }
}

/** What checkSignatures needs to run in constant cost (BLSSignatureChecker.signatureCheckHints). */
export type SignatureCheckHints = ContractFunctionReturnType<typeof serviceManagerAbi, "view", "signatureCheckHints">;

/**
 * The hints of a submission, from the service manager's own view in one eth_call (docs/contracts-avs.md,
 * "BLSSignatureChecker"): stable once R_b is below the current block.
 */
export async function fetchSignatureCheckHints(publicClient: PublicClient, serviceManager: Address, s: ResultSubmission): Promise<SignatureCheckHints> {
  return publicClient.readContract({
    address: serviceManager,
    abi: serviceManagerAbi,
    functionName: "signatureCheckHints",
    args: [s.resultHash, Number(s.referenceBlock), s.nonSignerPubkeys.map((k) => ({ X: k.X, Y: k.Y }))],
  });
}

/** The submitResult arguments, in the contract's order: page 0 and the commitment to the pages after it. */
export function submitResultArgs(s: ResultSubmission, hints: SignatureCheckHints) {
  return [
    s.batch,
    (resultPages(s.assignments)[0] ?? []).map((a) => ({ ...a })),
    pageCommitments(s.assignments)[1] ?? ZERO_HASH,
    { X: s.seedProof.signature.X, Y: s.seedProof.signature.Y },
    s.seedProof.signerIndex,
    quorumSignatureOf(s, hints),
  ] as const;
}

/** The submission's quorum signature as checkSignatures and submitResult take it (IBLSSignatureChecker.QuorumSignature). */
export function quorumSignatureOf(s: ResultSubmission, hints: SignatureCheckHints) {
  return {
    nonSignerPubkeys: s.nonSignerPubkeys.map((k) => ({ X: k.X, Y: k.Y })),
    apkG2: { X: [s.apkG2.X[0], s.apkG2.X[1]] as const, Y: [s.apkG2.Y[0], s.apkG2.Y[1]] as const },
    sigma: { X: s.sigma.X, Y: s.sigma.Y },
    hints,
  };
}

const ZERO_HASH: Hex = `0x${"0".repeat(64)}`;

/** Reverts of applyPage that mean the page is not ours to apply any more (applied by someone else, or expired). */
const PAGE_OVER_ERROR_NAMES: ReadonlySet<string> = new Set(["ServiceManagerPageMismatch", "ServiceManagerNoPendingPages"]);

export class ChainSubmitter implements Submitter {
  readonly #lock: SendLock;

  constructor(
    private readonly opts: ChainSubmitterOpts,
    private readonly modules: ChainSubmitterModules,
  ) {
    this.#lock = modules.sendLock ?? new SendLock();
  }

  get account(): Address {
    return this.modules.walletClient.account.address;
  }

  async submit(submission: ResultSubmission): Promise<SubmitOutcome> {
    const { publicClient, walletClient } = this.modules;
    const hints = await fetchSignatureCheckHints(publicClient, this.opts.serviceManager, submission);
    const call = {
      address: this.opts.serviceManager,
      abi: serviceManagerAbi,
      functionName: "submitResult",
      args: submitResultArgs(submission, hints),
      account: walletClient.account,
    } as const;
    let txHash: Hex;
    try {
      const { request } = await publicClient.simulateContract(call);
      // simulateContract's request carries only the function's ABI item; with it, a revert in writeContract's gas
      // estimation (the winner's transaction already pending) could not be decoded by name. Pass the whole ABI.
      txHash = await this.#lock.run(() => walletClient.writeContract({ ...request, abi: serviceManagerAbi }));
    } catch (err) {
      const lost = batchOver(err);
      if (lost !== null) return this.afterLostRace(submission, lost);
      throw err;
    }
    const receipt = await publicClient.waitForTransactionReceipt({ hash: txHash });
    if (receipt.status === "success") {
      const pages = await this.applyPages(submission);
      return { kind: "submitted", txHash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed + pages.gasUsed, pagesApplied: pages.applied };
    }
    // Mined and reverted: replay the call on the state at the end of that block, which is what the transaction saw
    // unless an earlier transaction of the same block changed it — the race case, where the replay sees the winner.
    try {
      await publicClient.simulateContract({ ...call, blockNumber: receipt.blockNumber });
    } catch (err) {
      const lost = batchOver(err);
      if (lost !== null) return this.afterLostRace(submission, lost);
      throw new SubmissionRevertedError(txHash, receipt.blockNumber, { cause: err });
    }
    throw new SubmissionRevertedError(txHash, receipt.blockNumber);
  }

  /** Another submission finalized the batch: if it carries this result, its remaining pages are applied here too. */
  private async afterLostRace(submission: ResultSubmission, lost: SubmitOutcome): Promise<SubmitOutcome> {
    if (lost.kind !== "alreadyFinal" || lost.errorName !== "ServiceManagerBatchAlreadyFinal") return lost;
    const pages = await this.applyPages(submission);
    return { ...lost, pagesApplied: pages.applied };
  }

  /**
   * Applies every page of a final batch that is still pending, in order, when the batch's commitment is this
   * result's: the contract's pendingPages names the next page (its commitment is C_i, the page is page i). A page
   * another account applied first (PageMismatch) or the pages' expiry (NoPendingPages) ends the loop quietly.
   */
  async applyPages(submission: ResultSubmission): Promise<{ applied: number; gasUsed: bigint }> {
    const { publicClient, walletClient } = this.modules;
    const pages = resultPages(submission.assignments);
    const commitments = pageCommitments(submission.assignments);
    let applied = 0;
    let gasUsed = 0n;
    for (;;) {
      const b = await publicClient.readContract({ address: this.opts.serviceManager, abi: serviceManagerAbi, functionName: "getBatch", args: [submission.batch] });
      if (b.assignmentsHash !== commitments[0] || b.pendingPages === ZERO_HASH) return { applied, gasUsed };
      const index = commitments.indexOf(b.pendingPages);
      if (index < 0 || index >= pages.length) return { applied, gasUsed };
      const call = {
        address: this.opts.serviceManager,
        abi: serviceManagerAbi,
        functionName: "applyPage",
        args: [submission.batch, pages[index]!.map((a) => ({ ...a })), commitments[index + 1]!],
        account: walletClient.account,
      } as const;
      try {
        const { request } = await publicClient.simulateContract(call);
        const hash = await this.#lock.run(() => walletClient.writeContract({ ...request, abi: serviceManagerAbi }));
        const receipt = await publicClient.waitForTransactionReceipt({ hash });
        if (receipt.status === "success") {
          applied++;
          gasUsed += receipt.gasUsed;
        }
        // A mined revert is a race with another account's applyPage: the next read shows where the pages stand.
      } catch (err) {
        if (!pageOver(err)) throw err;
      }
    }
  }
}

function pageOver(err: unknown): boolean {
  const name = err instanceof BaseError ? revertErrorName(err) : null;
  return name !== null && PAGE_OVER_ERROR_NAMES.has(name);
}

function batchOver(err: unknown): SubmitOutcome | null {
  if (!(err instanceof BaseError)) return null;
  const name = revertErrorName(err);
  return name !== null && BATCH_OVER_ERROR_NAMES.has(name) ? { kind: "alreadyFinal", errorName: name } : null;
}
