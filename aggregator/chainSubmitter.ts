/**
 * The viem Submitter: ServiceManager.submitResult by simulate → write → wait for the receipt, from the aggregator's
 * own account (unlocked from its account keystore by the process). Reverts are classified by the decoded custom-
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
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { serviceManagerAbi } from "../protocol/chain/abi.js";
import type { ResultSubmission } from "./submission.js";
import { revertErrorName } from "../protocol/chain/revert.js";
import { BATCH_OVER_ERROR_NAMES, type SubmitOutcome, type Submitter } from "./submitter.js";

export interface ChainSubmitterOpts {
  serviceManager: Address;
}

export interface ChainSubmitterModules {
  publicClient: PublicClient;
  /** A wallet client whose `account` pays (a local account from the keystore: transactions are signed here). */
  walletClient: WalletClient<Transport, Chain | undefined, Account>;
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

/** The submitResult arguments, in the contract's order. */
export function submitResultArgs(s: ResultSubmission) {
  return [
    s.batch,
    s.assignments.map((a) => ({ ...a })),
    { X: s.seedProof.signature.X, Y: s.seedProof.signature.Y },
    s.seedProof.signerIndex,
    s.nonSignerPubkeys.map((k) => ({ X: k.X, Y: k.Y })),
    { X: [s.apkG2.X[0], s.apkG2.X[1]], Y: [s.apkG2.Y[0], s.apkG2.Y[1]] },
    { X: s.sigma.X, Y: s.sigma.Y },
  ] as const;
}

export class ChainSubmitter implements Submitter {
  constructor(
    private readonly opts: ChainSubmitterOpts,
    private readonly modules: ChainSubmitterModules,
  ) {}

  get account(): Address {
    return this.modules.walletClient.account.address;
  }

  async submit(submission: ResultSubmission): Promise<SubmitOutcome> {
    const { publicClient, walletClient } = this.modules;
    const call = {
      address: this.opts.serviceManager,
      abi: serviceManagerAbi,
      functionName: "submitResult",
      args: submitResultArgs(submission),
      account: walletClient.account,
    } as const;
    let txHash: Hex;
    try {
      const { request } = await publicClient.simulateContract(call);
      // simulateContract's request carries only the function's ABI item; with it, a revert in writeContract's gas
      // estimation (the winner's transaction already pending) could not be decoded by name. Pass the whole ABI.
      txHash = await walletClient.writeContract({ ...request, abi: serviceManagerAbi });
    } catch (err) {
      const lost = batchOver(err);
      if (lost !== null) return lost;
      throw err;
    }
    const receipt = await publicClient.waitForTransactionReceipt({ hash: txHash });
    if (receipt.status === "success") {
      return { kind: "submitted", txHash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed };
    }
    // Mined and reverted: replay the call on the state at the end of that block, which is what the transaction saw
    // unless an earlier transaction of the same block changed it — the race case, where the replay sees the winner.
    try {
      await publicClient.simulateContract({ ...call, blockNumber: receipt.blockNumber });
    } catch (err) {
      const lost = batchOver(err);
      if (lost !== null) return lost;
      throw new SubmissionRevertedError(txHash, receipt.blockNumber, { cause: err });
    }
    throw new SubmissionRevertedError(txHash, receipt.blockNumber);
  }
}

function batchOver(err: unknown): SubmitOutcome | null {
  if (!(err instanceof BaseError)) return null;
  const name = revertErrorName(err);
  return name !== null && BATCH_OVER_ERROR_NAMES.has(name) ? { kind: "alreadyFinal", errorName: name } : null;
}
