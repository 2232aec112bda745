/**
 * Submits equivocation proofs: two valid partial signatures of one operator on different result messages of one
 * batch (docs/protocol.md §5), as seen in gossip (protocol/p2p flags the second one, also after the batch is final:
 * the contract slashes within the slashing window). simulate → write → wait, as every transaction of the project; a
 * revert is classified by its decoded custom-error name, never by text.
 *
 * The proof goes commit-then-reveal (docs/contracts-avs.md, "EquivocationSlasher"): `commitEquivocation` of
 * keccak256(reporter, operatorId, batch, both signed messages) in one block, `slashEquivocation` in a later one. A
 * proof revealed without an earlier commitment still slashes, but its bounty is withheld — which is what a copier
 * of our reveal gets. A commitment already on-chain (our earlier attempt) is reused.
 *
 * The slashing window: a proof is sent only while the chain head is at most `closedAt + slashingWindow` (the
 * ServiceManager's `slashingWindow()`, docs/protocol.md §5), the span in which the registry's exit delay guarantees
 * the operator's stake is still there; past it the equivocation is logged and counted as out of window, and nothing
 * is sent. The node keeps its evidence for the same span (protocol/p2p/partialEvidence.ts prunes at
 * `closedAt + slashingWindow < head`), so what it checks and what it proves end at the same block.
 *
 * An equivocation counts as handled only once its proof landed, someone else's did, its window passed, or there is
 * no account to send one: a proof that failed (an RPC error, a revert nobody expected) is tried again by `retryFailed`, which the node
 * calls on each new block, up to MAX_ATTEMPTS times.
 */
import { BaseError, toHex, type Account, type Hex, type PublicClient, type WalletClient } from "viem";
import { serviceManagerAbi } from "../protocol/chain/abi.js";
import { revertErrorName } from "../protocol/chain/revert.js";
import type { Logger } from "../protocol/log/logger.js";
import { toOperatorId } from "../protocol/chain/ids.js";
import type { SignedResult } from "../protocol/p2p/interfaces.js";
import type { OperatorMetrics } from "./metrics.js";

/** Reverts that mean "nothing to do": someone else's proof landed first, or the operator is already out. */
const ALREADY_DONE = new Set(["EquivocationSlasherAlreadySlashed", "OperatorRegistryWrongStatus"]);

/** Attempts per equivocation: a few blocks of RPC trouble are survived; a proof the chain keeps refusing is dropped. */
export const MAX_ATTEMPTS = 5;

/** Failed proofs kept for a retry; more at once means a flood of equivocations, and the oldest are dropped. */
const MAX_PENDING = 64;

export type EquivocationOutcome =
  | { kind: "submitted"; txHash: Hex; gasUsed: bigint }
  | { kind: "alreadySlashed"; errorName: string }
  | { kind: "noAccount" }
  | { kind: "outOfWindow"; head: bigint; deadline: bigint }
  | { kind: "duplicate" }
  | { kind: "failed"; error: string; attempts: number };

interface Evidence {
  operatorId: Hex;
  batch: bigint;
  /** The batch's close block: the proof is sent while the head is ≤ closedAt + slashingWindow. */
  closedAt: bigint;
  first: SignedResult;
  second: SignedResult;
  attempts: number;
}

export class EquivocationReporter {
  /** Equivocations whose proof landed (ours or another's), or that cannot be proven from here. */
  private readonly handled = new Set<string>();
  private readonly inflight = new Set<string>();
  /** Proofs that failed and may be tried again, by key, oldest first. */
  private readonly failed = new Map<string, Evidence>();

  constructor(
    private readonly opts: { serviceManager: Hex; slashingWindow: bigint },
    private readonly modules: { client: PublicClient; wallet: WalletClient | null; logger: Logger; metrics: OperatorMetrics },
  ) {}

  /** `closedAt`: the batch's close block (BatchClosed), from which its slashing window runs. */
  report(operatorId: Hex, batch: bigint, closedAt: bigint, first: SignedResult, second: SignedResult): Promise<EquivocationOutcome> {
    const key = `${toOperatorId(operatorId)}:${batch}`;
    const earlier = this.failed.get(key);
    return this.attempt(key, earlier ?? { operatorId, batch, closedAt, first, second, attempts: 0 });
  }

  /** Tries each failed proof again (one attempt each); resolves when all attempts are done. */
  async retryFailed(): Promise<EquivocationOutcome[]> {
    return Promise.all([...this.failed].map(([key, e]) => this.attempt(key, e)));
  }

  /** Proofs waiting for a retry. */
  get pendingRetries(): number {
    return this.failed.size;
  }

  private async attempt(key: string, e: Evidence): Promise<EquivocationOutcome> {
    if (this.handled.has(key) || this.inflight.has(key)) return { kind: "duplicate" };
    this.inflight.add(key);
    this.failed.delete(key);
    try {
      const out = await this.send(e);
      if (out.kind === "failed") {
        if (out.attempts < MAX_ATTEMPTS) {
          this.failed.set(key, { ...e, attempts: out.attempts });
          if (this.failed.size > MAX_PENDING) this.failed.delete(this.failed.keys().next().value!);
        } else {
          this.handled.add(key);
        }
      } else {
        this.handled.add(key);
      }
      return out;
    } finally {
      this.inflight.delete(key);
    }
  }

  private async send(e: Evidence): Promise<EquivocationOutcome> {
    const { logger, metrics, wallet, client } = this.modules;
    const attempts = e.attempts + 1;
    const evidence = { operatorId: e.operatorId, batch: e.batch, first: e.first.resultHash, second: e.second.resultHash };
    const account: Account | undefined = wallet?.account;
    if (wallet === null || account === undefined) {
      metrics.equivocationProofs.inc({ outcome: "no_account" });
      logger.warn({ event: "equivocation_no_account", ...evidence }, "equivocation seen; no accountKeystorePath configured, so no proof is sent");
      return { kind: "noAccount" };
    }
    const signed = (m: SignedResult) => ({ seed: m.seed, assignmentsHash: m.resultHash, sigma: { X: m.signature.X, Y: m.signature.Y } });
    let committedAt: bigint;
    try {
      const deadline = e.closedAt + this.opts.slashingWindow;
      const head = await client.getBlockNumber({ cacheTime: 0 });
      if (head > deadline) {
        metrics.equivocationProofs.inc({ outcome: "out_of_window" });
        logger.warn({ event: "equivocation_out_of_window", ...evidence, head, deadline }, "equivocation seen after its batch's slashing window; no proof is sent");
        return { kind: "outOfWindow", head, deadline };
      }
      committedAt = await this.commit(e, account, wallet);
    } catch (err) {
      return this.failedAttempt(attempts, evidence, err);
    }
    const call = {
      address: this.opts.serviceManager,
      abi: serviceManagerAbi,
      functionName: "slashEquivocation",
      args: [e.operatorId, e.batch, signed(e.first), signed(e.second)],
      account,
    } as const;
    try {
      const { request } = await client.simulateContract(call);
      // The request carries only the function's ABI item: with the whole ABI, a revert in the write's gas estimation
      // (another proof landed after the simulation) is decoded by name.
      const txHash = await wallet.writeContract({ ...request, abi: serviceManagerAbi });
      const receipt = await client.waitForTransactionReceipt({ hash: txHash });
      if (receipt.status !== "success") {
        // Mined and reverted: replayed at that block, where a proof that raced ours into the block is visible.
        await client.simulateContract({ ...call, blockNumber: receipt.blockNumber });
        throw new Error(`slashEquivocation transaction ${txHash} reverted`);
      }
      metrics.equivocationProofs.inc({ outcome: "submitted" });
      logger.info({ event: "equivocation_proof_submitted", ...evidence, txHash, gasUsed: receipt.gasUsed, committedAt }, "equivocation proof submitted");
      return { kind: "submitted", txHash, gasUsed: receipt.gasUsed };
    } catch (err) {
      return this.failedAttempt(attempts, evidence, err);
    }
  }

  /**
   * Our commitment to this proof, sent unless it is on-chain already; resolves with its block (0 when the operator
   * was slashed for this batch already). The reveal that follows waits for this receipt, so it lands in a later
   * block, as the contract requires for the bounty.
   */
  private async commit(e: Evidence, account: Account, wallet: WalletClient): Promise<bigint> {
    const { client } = this.modules;
    const sm = this.opts.serviceManager;
    const signedMessage = async (m: SignedResult) => ({
      msgHash: await client.readContract({ address: sm, abi: serviceManagerAbi, functionName: "resultMessageHash", args: [e.batch, m.seed, m.resultHash] }),
      sigma: { X: m.signature.X, Y: m.signature.Y },
    });
    const [a, b] = await Promise.all([signedMessage(e.first), signedMessage(e.second)]);
    const dutyKey = toHex(e.batch, { size: 32 });
    // Slashed already (by another reporter): a commitment now could earn nothing. The reveal reports it by name.
    if (await client.readContract({ address: sm, abi: serviceManagerAbi, functionName: "equivocationSlashed", args: [e.operatorId, dutyKey] })) return 0n;
    const commitment = await client.readContract({ address: sm, abi: serviceManagerAbi, functionName: "equivocationCommitment", args: [account.address, e.operatorId, dutyKey, a, b] });
    const existing = await client.readContract({ address: sm, abi: serviceManagerAbi, functionName: "commitmentBlock", args: [commitment] });
    if (existing !== 0n) return existing;
    const call = { address: sm, abi: serviceManagerAbi, functionName: "commitEquivocation", args: [commitment], account } as const;
    try {
      const { request } = await client.simulateContract(call);
      const txHash = await wallet.writeContract({ ...request, abi: serviceManagerAbi });
      const receipt = await client.waitForTransactionReceipt({ hash: txHash });
      if (receipt.status !== "success") throw new Error(`commitEquivocation transaction ${txHash} reverted`);
      return receipt.blockNumber;
    } catch (err) {
      // The same commitment landed meanwhile (a retry of ours from the same account): reveal against it.
      if (revertErrorName(err) === "EquivocationSlasherAlreadyCommitted") {
        return client.readContract({ address: sm, abi: serviceManagerAbi, functionName: "commitmentBlock", args: [commitment] });
      }
      throw err;
    }
  }

  private failedAttempt(attempts: number, evidence: Record<string, unknown>, err: unknown): EquivocationOutcome {
    const { logger, metrics } = this.modules;
    {
      const name = revertErrorName(err);
      if (name !== null && ALREADY_DONE.has(name)) {
        metrics.equivocationProofs.inc({ outcome: "already_slashed" });
        logger.info({ event: "equivocation_already_slashed", ...evidence, errorName: name }, "equivocation already slashed; nothing to submit");
        return { kind: "alreadySlashed", errorName: name };
      }
      metrics.equivocationProofs.inc({ outcome: "failed" });
      const error = name ?? (err instanceof BaseError ? err.shortMessage : (err as Error).message);
      const retry = attempts < MAX_ATTEMPTS;
      const line = { event: "equivocation_proof_failed", ...evidence, error, attempts, retry };
      if (retry) logger.warn(line, "equivocation proof failed; retrying on the next block");
      else logger.error(line, "equivocation proof failed; giving up");
      return { kind: "failed", error, attempts };
    }
  }
}
