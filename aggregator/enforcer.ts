/**
 * The aggregator's enforcement duty (docs/protocol.md §5, docs/aggregator.md "Enforcement"): the service manager
 * slashes and ejects only when someone sends the proof, so the aggregator — which follows every batch anyway — sends
 * them:
 *
 * - **Invalid results.** Each `ResultProvenInvalid(batch)` opens a window of `batchTimeout` blocks in which every
 *   signer of that batch's result may be slashed; the duty sends one `slashInvalidResultSigner` per signer not
 *   slashed yet, with the accepted submission's non-signer list.
 * - **Inactive operators.** After each final batch it checks which operators missed a duty in each of the last
 *   `streak` final batches and sends `ejectInactive` with the proof (protocol/chain/submissions.ts). The contract caps
 *   the stake ejected per window; a refusal for the cap is retried at the next final batch. The chain proves only that
 *   an operator is missing from the accepted submissions, and a slow operator whose partial arrives after the quorum
 *   was submitted is missing too. So while the node listens to gossip it records whom it heard from (a verified
 *   partial, result list or seed) per batch, and it ejects only an operator it heard nothing from in every batch of
 *   the row, and only a row it listened to in full (docs/aggregator.md "Enforcement").
 *
 * Work runs one task at a time in the background, off the chain follower's path; transactions are sent through the
 * send lock shared with the submitter, so one account's nonces never race.
 */
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";
import { serviceManagerAbi } from "../protocol/chain/abi.js";
import { toOperatorId, type OperatorId } from "../protocol/chain/ids.js";
import { revertErrorName } from "../protocol/chain/revert.js";
import { EJECTION_LOOKBACK_BATCHES, EjectionProofs, readResultSigners, type MissedDuty } from "../protocol/chain/submissions.js";
import type { Logger } from "../protocol/log/logger.js";
import type { SendLock } from "./sendLock.js";

export interface EnforcerOpts {
  serviceManager: Address;
  operatorRegistry: Address;
  /** Send `slashInvalidResultSigner` for proven-invalid results (config enforcement.slashInvalidResults). */
  slashInvalidResults: boolean;
  /** Send `ejectInactive` for operators that missed `streak` duties in a row (config enforcement.ejectInactive). */
  ejectInactive: boolean;
}

export interface EnforcerModules {
  publicClient: PublicClient;
  walletClient: WalletClient<Transport, Chain | undefined, Account>;
  sendLock: SendLock;
  logger: Logger;
  /** outcome ∈ sent|already_done|deferred (the ejection rate cap)|spared|refused|failed, action ∈ slash_invalid|eject. */
  metrics: { inc(labels: { action: string; outcome: string }): void } | null;
}

/** Batches whose heard-from record is kept: as far back as an ejection row reaches. */
const HEARD_BATCHES = EJECTION_LOOKBACK_BATCHES;

/** Reverts that mean someone else already did it. */
const ALREADY_DONE = new Set(["ServiceManagerSignerAlreadySlashed", "OperatorRegistryWrongStatus"]);

type SendResult = { ok: true; txHash: Hex } | { ok: false; errorName: string | null; message: string };

export class Enforcer {
  readonly #proofs: EjectionProofs;
  #tail: Promise<void> = Promise.resolve();
  /** The last block scanned for ResultProvenInvalid, or null before the first scan. */
  #scannedTo: bigint | null = null;
  /** Proven-invalid batches whose signers are all slashed (or whose window closed). */
  readonly #invalidDone = new Set<bigint>();
  /** Proven-invalid batches still being worked on (an RPC failure retries them at the next block). */
  readonly #invalidPending = new Set<bigint>();
  #latestFinal = 0n;
  #stopped = false;
  /** The first batch whose gossip this node heard from its start, or null without a network (proofs only). */
  #listeningFrom: bigint | null = null;
  /** Operators heard from per batch (verified partials, result lists and seeds), for the last HEARD_BATCHES batches. */
  readonly #heard = new Map<bigint, Set<OperatorId>>();

  constructor(
    private readonly opts: EnforcerOpts,
    private readonly modules: EnforcerModules,
  ) {
    this.#proofs = new EjectionProofs(modules.publicClient, { serviceManager: opts.serviceManager, operatorRegistry: opts.operatorRegistry });
  }

  /** A batch became final: look for operators to eject once its row is known. */
  onFinalized(batch: bigint): void {
    if (!this.opts.ejectInactive || batch <= this.#latestFinal) return;
    this.#latestFinal = batch;
    this.#enqueue(() => this.#ejectInactive(batch));
  }

  /** The node listens to gossip: batches from `batch` on are heard in full (earlier ones only in part). */
  listeningFrom(batch: bigint): void {
    this.#listeningFrom ??= batch;
  }

  /** A verified message of `operatorId` for `batch` reached the node: the operator did its duty, if late. */
  heard(batch: bigint, operatorId: OperatorId): void {
    let ids = this.#heard.get(batch);
    if (ids === undefined) {
      this.#heard.set(batch, (ids = new Set()));
      for (const b of this.#heard.keys()) if (b + HEARD_BATCHES <= batch) this.#heard.delete(b);
    }
    ids.add(operatorId);
  }

  /** What the node heard in `batch` (sorted) and the first batch it heard in full, for its status and tests. */
  heardIn(batch: bigint): { listeningFrom: bigint | null; operators: OperatorId[] } {
    return { listeningFrom: this.#listeningFrom, operators: [...(this.#heard.get(batch) ?? [])].sort() };
  }

  /** A new head: scan the blocks since the last scan for proofs of invalid results. */
  onBlock(head: bigint): void {
    if (!this.opts.slashInvalidResults) return;
    this.#enqueue(() => this.#scanInvalid(head));
  }

  /** Resolves when every task queued so far has run (tests and a clean stop). */
  idle(): Promise<void> {
    return this.#tail;
  }

  /** No task starts after this; the one running ends on its own. */
  stop(): void {
    this.#stopped = true;
  }

  #enqueue(task: () => Promise<void>): void {
    if (this.#stopped) return;
    this.#tail = this.#tail.then(() => (this.#stopped ? undefined : task())).catch((err: unknown) => {
      this.modules.logger.warn({ event: "enforcement_failed", err: err instanceof Error ? err.message : String(err) }, "enforcement task failed; retried at the next block or final batch");
    });
  }

  async #scanInvalid(head: bigint): Promise<void> {
    const { publicClient } = this.modules;
    const sm = this.opts.serviceManager;
    if (this.#scannedTo === null) {
      // At start, a proof older than batchTimeout blocks can no longer be acted on: scan only that far back.
      const timing = await publicClient.readContract({ address: sm, abi: serviceManagerAbi, functionName: "batchTiming" });
      this.#scannedTo = head > BigInt(timing.batchTimeout) ? head - BigInt(timing.batchTimeout) - 1n : 0n;
    }
    if (head > this.#scannedTo) {
      const logs = await publicClient.getContractEvents({ address: sm, abi: serviceManagerAbi, eventName: "ResultProvenInvalid", fromBlock: this.#scannedTo + 1n, toBlock: head });
      for (const l of logs) if (!this.#invalidDone.has(l.args.batch!)) this.#invalidPending.add(l.args.batch!);
      this.#scannedTo = head;
    }
    for (const batch of [...this.#invalidPending].sort((a, b) => (a < b ? -1 : 1))) {
      if (await this.#slashSigners(batch, head)) {
        this.#invalidPending.delete(batch);
        this.#invalidDone.add(batch);
      }
    }
    for (const b of this.#invalidDone) if (b + 1024n < this.#latestFinal) this.#invalidDone.delete(b);
  }

  /** Slashes every signer of the batch not slashed yet; true when nothing is left to do. */
  async #slashSigners(batch: bigint, head: bigint): Promise<boolean> {
    const { publicClient, logger } = this.modules;
    const sm = this.opts.serviceManager;
    const [b, timing] = await Promise.all([
      publicClient.readContract({ address: sm, abi: serviceManagerAbi, functionName: "getBatch", args: [batch] }),
      publicClient.readContract({ address: sm, abi: serviceManagerAbi, functionName: "batchTiming" }),
    ]);
    const deadline = BigInt(b.invalidAt) + BigInt(timing.batchTimeout);
    if (head + 1n > deadline) {
      logger.warn({ event: "slash_window_closed", batch, deadline }, "the slash window of a proven-invalid result closed");
      return true;
    }
    const signers = await readResultSigners(publicClient, this.opts, batch);
    const slashed = await publicClient.getContractEvents({ address: sm, abi: serviceManagerAbi, eventName: "InvalidResultSignerSlashed", args: { batch }, fromBlock: BigInt(b.invalidAt) });
    const done = new Set<OperatorId>(slashed.map((l) => toOperatorId(l.args.operatorId!)));
    let left = false;
    for (const id of signers.signers) {
      if (done.has(id)) continue;
      const r = await this.#send("slashInvalidResultSigner", [batch, id, signers.nonSignerPubkeys]);
      if (r.ok) {
        this.#count("slash_invalid", "sent");
        logger.warn({ event: "invalid_result_signer_slashed", batch, operatorId: id, txHash: r.txHash }, "slashed a signer of a proven-invalid result");
      } else if (r.errorName !== null && ALREADY_DONE.has(r.errorName)) {
        this.#count("slash_invalid", "already_done");
      } else if (r.errorName === "ServiceManagerSlashWindowClosed") {
        this.#count("slash_invalid", "refused");
        return true;
      } else {
        this.#count("slash_invalid", r.errorName === null ? "failed" : "refused");
        logger.warn({ event: "slash_invalid_failed", batch, operatorId: id, error: r.errorName, detail: r.message }, "slashInvalidResultSigner failed");
        left ||= r.errorName === null; // an RPC failure is retried; a named refusal is not
      }
    }
    return !left;
  }

  async #ejectInactive(batch: bigint): Promise<void> {
    const { publicClient, logger } = this.modules;
    const head = await publicClient.getBlockNumber();
    const inactive = await this.#proofs.inactive(batch, head);
    for (const { operatorId, missed } of inactive) {
      if (batch !== this.#latestFinal) return; // a newer final batch re-runs the check with its own row
      const spared = this.#spare(operatorId, missed);
      if (spared !== null) {
        this.#count("eject", "spared");
        logger.info({ event: "ejection_spared", operatorId, batch, reason: spared.reason, heardIn: spared.heardIn }, "not ejecting: the operator was heard, or its row was not followed in full");
        continue;
      }
      const r = await this.#send("ejectInactive", [operatorId, missed]);
      if (r.ok) {
        this.#count("eject", "sent");
        logger.warn({ event: "operator_ejected", operatorId, batches: missed.map((m) => m.batch), txHash: r.txHash }, "ejected an inactive operator");
      } else if (r.errorName !== null && ALREADY_DONE.has(r.errorName)) {
        this.#count("eject", "already_done");
      } else if (r.errorName === "ServiceManagerEjectionRateExceeded") {
        this.#count("eject", "deferred");
        logger.info({ event: "ejection_rate_reached", operatorId, batch }, "the ejection rate cap is reached; retried at the next final batch");
        return;
      } else {
        this.#count("eject", r.errorName === null ? "failed" : "refused");
        logger.warn({ event: "eject_failed", operatorId, batch, error: r.errorName, detail: r.message }, "ejectInactive failed");
      }
    }
  }

  /**
   * Why an operator the chain proves inactive is not ejected by this node, or null to eject it: it was heard in a
   * batch of the row (its partial or seed came after the quorum was submitted), or the node did not listen to the
   * whole row. Without a network (listeningFrom never called) the chain's proof alone decides.
   */
  #spare(operatorId: OperatorId, missed: readonly MissedDuty[]): { reason: "heard" | "row_not_followed"; heardIn?: bigint } | null {
    if (this.#listeningFrom === null) return null;
    const heardIn = missed.find((m) => this.#heard.get(m.batch)?.has(operatorId) === true);
    if (heardIn !== undefined) return { reason: "heard", heardIn: heardIn.batch };
    if (missed.some((m) => m.batch < this.#listeningFrom!)) return { reason: "row_not_followed" };
    return null;
  }

  /** Simulates, sends under the send lock, waits for the receipt; a revert comes back by its decoded name. */
  async #send(functionName: "slashInvalidResultSigner", args: readonly [bigint, OperatorId, readonly { X: bigint; Y: bigint }[]]): Promise<SendResult>;
  async #send(functionName: "ejectInactive", args: readonly [OperatorId, readonly MissedDuty[]]): Promise<SendResult>;
  async #send(functionName: string, args: readonly unknown[]): Promise<SendResult> {
    const { publicClient, walletClient, sendLock } = this.modules;
    const call = { address: this.opts.serviceManager, abi: serviceManagerAbi, functionName, args, account: walletClient.account } as never;
    try {
      const { request } = await publicClient.simulateContract(call);
      const txHash = await sendLock.run(() => walletClient.writeContract({ ...(request as object), abi: serviceManagerAbi } as never));
      const receipt = await publicClient.waitForTransactionReceipt({ hash: txHash });
      if (receipt.status === "success") return { ok: true, txHash };
      try {
        await publicClient.simulateContract({ ...(call as object), blockNumber: receipt.blockNumber } as never);
      } catch (err) {
        return { ok: false, errorName: revertErrorName(err), message: `transaction ${txHash} reverted` };
      }
      return { ok: false, errorName: null, message: `transaction ${txHash} reverted` };
    } catch (err) {
      return { ok: false, errorName: revertErrorName(err), message: err instanceof Error ? err.message.split("\n")[0]! : String(err) };
    }
  }

  #count(action: string, outcome: string): void {
    this.modules.metrics?.inc({ action, outcome });
  }
}
