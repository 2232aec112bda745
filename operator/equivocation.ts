/**
 * Submits equivocation proofs: two valid partial signatures of one operator on different result messages of one
 * batch (PROTOCOL.md section 5), as seen in gossip (protocol/p2p flags the second one). simulate → write → wait,
 * as every transaction of the project; a revert is classified by its decoded custom-error name, never by text.
 */
import { BaseError, ContractFunctionRevertedError, type Account, type Hex, type PublicClient, type WalletClient } from "viem";
import { serviceManagerAbi } from "../protocol/chain/abi.js";
import type { Logger } from "../protocol/log/logger.js";
import type { PartialSignatureMessage } from "../protocol/p2p/messages.js";
import type { OperatorMetrics } from "./metrics.js";

/** Reverts that mean "nothing to do": someone else's proof landed first, or the operator is already out. */
const ALREADY_DONE = new Set(["EquivocationSlasherAlreadySlashed", "OperatorRegistryWrongStatus"]);

export function revertName(err: unknown): string | null {
  if (!(err instanceof BaseError)) return null;
  const reverted = err.walk((e) => e instanceof ContractFunctionRevertedError);
  return reverted instanceof ContractFunctionRevertedError ? (reverted.data?.errorName ?? null) : null;
}

export type EquivocationOutcome =
  | { kind: "submitted"; txHash: Hex; gasUsed: bigint }
  | { kind: "alreadySlashed"; errorName: string }
  | { kind: "noAccount" }
  | { kind: "duplicate" }
  | { kind: "failed"; error: string };

export class EquivocationReporter {
  private readonly handled = new Set<string>();

  constructor(
    private readonly opts: { serviceManager: Hex },
    private readonly modules: { client: PublicClient; wallet: WalletClient | null; logger: Logger; metrics: OperatorMetrics },
  ) {}

  async report(operatorId: Hex, batch: bigint, first: PartialSignatureMessage, second: PartialSignatureMessage): Promise<EquivocationOutcome> {
    const { logger, metrics, wallet, client } = this.modules;
    const key = `${operatorId.toLowerCase()}:${batch}`;
    if (this.handled.has(key)) return { kind: "duplicate" };
    this.handled.add(key);
    const evidence = { operatorId, batch, first: first.resultHash, second: second.resultHash };
    const account: Account | undefined = wallet?.account;
    if (wallet === null || account === undefined) {
      metrics.equivocationProofs.inc({ outcome: "no_account" });
      logger.warn(evidence, "equivocation seen; no accountKeystorePath configured, so no proof is sent");
      return { kind: "noAccount" };
    }
    const signed = (m: PartialSignatureMessage) => ({ seed: m.seed, assignmentsHash: m.resultHash, sigma: { X: m.signature.X, Y: m.signature.Y } });
    try {
      const { request } = await client.simulateContract({
        address: this.opts.serviceManager,
        abi: serviceManagerAbi,
        functionName: "slashEquivocation",
        args: [operatorId, batch, signed(first), signed(second)],
        account,
      });
      const txHash = await wallet.writeContract(request);
      const receipt = await client.waitForTransactionReceipt({ hash: txHash });
      if (receipt.status !== "success") throw new Error(`slashEquivocation transaction ${txHash} reverted`);
      metrics.equivocationProofs.inc({ outcome: "submitted" });
      logger.info({ ...evidence, txHash, gasUsed: receipt.gasUsed }, "equivocation proof submitted");
      return { kind: "submitted", txHash, gasUsed: receipt.gasUsed };
    } catch (err) {
      const name = revertName(err);
      if (name !== null && ALREADY_DONE.has(name)) {
        metrics.equivocationProofs.inc({ outcome: "already_slashed" });
        logger.info({ ...evidence, errorName: name }, "equivocation already slashed; nothing to submit");
        return { kind: "alreadySlashed", errorName: name };
      }
      metrics.equivocationProofs.inc({ outcome: "failed" });
      const error = name ?? (err instanceof BaseError ? err.shortMessage : (err as Error).message);
      logger.error({ ...evidence, error }, "equivocation proof failed");
      return { kind: "failed", error };
    }
  }
}
