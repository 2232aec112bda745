/**
 * Follows the service manager for operators and aggregators. At start it reads the batches that may still be
 * pending from contract views (batchCount, getBatch) — never a replay of every event since deployment, so a
 * restarted node is ready at once — then polls the head and dispatches the service manager's batch events of each
 * new block range, in log order, followed by one `block` callback per new head. Callbacks run one at a time, in
 * chain order; a callback that throws is logged and does not stop the follower.
 */
import type { Address, Hex, PublicClient } from "viem";
import { PollLoop } from "../pollLoop.js";
import { serviceManagerAbi } from "./abi.js";
import { OnChainBatchStatus } from "./enums.js";

export interface BatchClosedInfo {
  batch: bigint;
  referenceBlock: bigint;
  previousSeed: Hex;
  /** Block holding the close (for seed-timeout arithmetic). */
  closedAt: bigint;
}

export interface BatchFinalizedInfo {
  batch: bigint;
  seed: Hex;
  resultHash: Hex;
  signedStake: bigint;
  totalStake: bigint;
  /** The commitment to the result's pages (docs/protocol.md §3.7); the leases appear as the pages are applied. */
  assignmentsHash: Hex;
  seedSignerIndex: bigint;
  block: bigint;
  transactionHash: Hex | null;
}

export interface FollowerHandlers {
  batchClosed?(info: BatchClosedInfo): void | Promise<void>;
  batchFinalized?(info: BatchFinalizedInfo): void | Promise<void>;
  batchAbandoned?(batch: bigint, block: bigint): void | Promise<void>;
  block?(blockNumber: bigint): void | Promise<void>;
}

export interface FollowerLogger {
  warn(obj: object, msg: string): void;
  debug?(obj: object, msg: string): void;
}

export interface ChainFollowerOpts {
  serviceManager: Address;
  /** How often the head is polled. */
  pollIntervalMs: number;
  /** How many of the latest batches are examined at start for pending ones (only one is in flight at a time). */
  startupLookback?: number;
}

export class ChainFollower {
  private lastBlock = -1n;
  private readonly loop: PollLoop;

  constructor(
    private readonly opts: ChainFollowerOpts,
    private readonly modules: { client: PublicClient; handlers: FollowerHandlers; logger: FollowerLogger },
  ) {
    this.loop = new PollLoop({ intervalMs: opts.pollIntervalMs, step: () => this.pollOnce(), failed: (err) => this.pollFailed(err) });
  }

  /** The last block whose events were dispatched. */
  get head(): bigint {
    return this.lastBlock;
  }

  async start(): Promise<void> {
    if (this.loop.running) return;
    const { client } = this.modules;
    const head = await client.getBlockNumber();
    const count = await client.readContract({ address: this.opts.serviceManager, abi: serviceManagerAbi, functionName: "batchCount", blockNumber: head });
    const lookback = BigInt(this.opts.startupLookback ?? 4);
    for (let b = count > lookback ? count - lookback + 1n : 1n; b <= count; b++) {
      const batch = await client.readContract({ address: this.opts.serviceManager, abi: serviceManagerAbi, functionName: "getBatch", args: [b], blockNumber: head });
      if (batch.status !== OnChainBatchStatus.Closed) continue;
      await this.call("batchClosed", () =>
        this.modules.handlers.batchClosed?.({
          batch: b,
          referenceBlock: BigInt(batch.referenceBlock),
          previousSeed: batch.previousSeed,
          closedAt: BigInt(batch.closedAt),
        }),
      );
    }
    this.lastBlock = head;
    await this.call("block", () => this.modules.handlers.block?.(head));
    await this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Polls once now (also used by tests to drive the follower without waiting for the timer); never rejects. */
  poll(): Promise<void> {
    return this.loop.run().catch((err: unknown) => this.pollFailed(err));
  }

  private pollFailed(err: unknown): void {
    this.modules.logger.warn({ err: String(err) }, "chain follower: poll failed; retrying");
  }

  private async pollOnce(): Promise<void> {
    const { client, handlers } = this.modules;
    const head = await client.getBlockNumber();
    if (head <= this.lastBlock) return;
    const fromBlock = this.lastBlock + 1n;
    const logs = await client.getContractEvents({
      address: this.opts.serviceManager,
      abi: serviceManagerAbi,
      fromBlock,
      toBlock: head,
    });
    // Dispatch block by block so that `block(n)` always follows the events of block n.
    let cursor = fromBlock;
    for (const log of logs) {
      const at = log.blockNumber ?? head;
      for (; cursor < at; cursor++) await this.call("block", () => handlers.block?.(cursor));
      if (log.eventName === "BatchClosed") {
        const a = log.args;
        // The leader draw is not in the event (closing costs the same whatever the operator set): handlers read
        // leaderOf with the rest of the batch, where a failed read is retried.
        await this.call("batchClosed", () =>
          handlers.batchClosed?.({
            batch: a.batch!,
            referenceBlock: BigInt(a.referenceBlock!),
            previousSeed: a.previousSeed!,
            closedAt: at,
          }),
        );
      } else if (log.eventName === "BatchFinalized") {
        const a = log.args;
        await this.call("batchFinalized", () =>
          handlers.batchFinalized?.({
            batch: a.batch!,
            seed: a.seed!,
            resultHash: a.resultHash!,
            signedStake: a.signedStake!,
            totalStake: a.totalStake!,
            assignmentsHash: a.assignmentsHash!,
            seedSignerIndex: a.seedSignerIndex!,
            block: at,
            transactionHash: log.transactionHash ?? null,
          }),
        );
      } else if (log.eventName === "BatchAbandoned") {
        await this.call("batchAbandoned", () => handlers.batchAbandoned?.(log.args.batch!, at));
      }
    }
    for (; cursor <= head; cursor++) await this.call("block", () => handlers.block?.(cursor));
    this.lastBlock = head;
  }

  private async call(what: string, fn: () => void | Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.modules.logger.warn({ err: err instanceof Error ? err.message : String(err), handler: what }, "chain follower: handler failed");
    }
  }
}
