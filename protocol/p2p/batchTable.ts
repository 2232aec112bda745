/**
 * The node's table of closed batches, the `BatchView` that gossip validation reads. The chain follower feeds it
 * (close events, new heads, final or abandoned batches) and the seed processor adds each seed it verified; it
 * needs no chain access itself, so it is tested by driving blocks by hand.
 *
 * Leader fallback (docs/protocol.md §3.2): the first leader may produce the seed at once; after every further
 * `seedTimeoutBlocks` blocks since the close, one more leader of the fallback order may. The contract is the
 * judge; here the count only decides IGNORE (not yet) versus accept for gossip, so a block of skew between
 * nodes costs a delayed relay, never a penalty.
 */
import type { Hex } from "viem";
import { BatchStatus, type BatchRecord, type ClosedBatch } from "../chain/batches.js";
import { toBytes32, type Bytes32 } from "../chain/ids.js";
import type { BatchInfo, BatchView } from "./interfaces.js";

export interface BatchTableOpts {
  /** The on-chain `seedTimeout` parameter, in blocks; 0 lets every leader of the order sign at once. */
  seedTimeoutBlocks: bigint;
  /** Closed batches kept; older ones are forgotten (messages for them are ignored as unknown). */
  retainBatches: number;
}

export interface BatchTableModules {
  /** The docs/protocol.md §3.4 digest: keccak256(abi.encode(RESULT_DOMAIN, chainId, serviceManager, b, R_b, seed_b, resultHash)). */
  resultMessageHash(batch: bigint, referenceBlock: bigint, seed: Hex, resultHash: Hex): Hex;
}

interface Entry extends BatchRecord {
  seeds: Bytes32[];
}

export class BatchTable implements BatchView {
  private readonly entries = new Map<bigint, Entry>();
  private readonly waiters = new Map<bigint, Set<() => void>>();
  private head = 0n;
  private latest = 0n;

  constructor(
    private readonly opts: BatchTableOpts,
    private readonly modules: BatchTableModules,
  ) {}

  /** A batch closed on-chain. A second event for the same batch (a reorg) replaces the first. */
  onClosed(closed: ClosedBatch): void {
    const previous = this.entries.get(closed.batch);
    const sameClose = previous && previous.closedAt === closed.closedAt && previous.seedMessageHash === closed.seedMessageHash;
    this.entries.set(closed.batch, {
      ...closed,
      leaderOrder: [...closed.leaderOrder],
      status: previous?.status ?? BatchStatus.Open,
      seeds: sameClose ? previous.seeds : [],
    });
    if (closed.batch > this.latest) this.latest = closed.batch;
    if (closed.closedAt > this.head) this.head = closed.closedAt;
    this.prune();
    const wake = this.waiters.get(closed.batch);
    if (wake) for (const w of wake) w();
  }

  /** The chain head advanced (drives the leader fallback). */
  onBlock(blockNumber: bigint): void {
    if (blockNumber > this.head) this.head = blockNumber;
  }

  /** A seed for `batch` was verified (by the seed validator); partials built with it can now be checked. */
  addVerifiedSeed(batch: bigint, seed: Hex): void {
    const entry = this.entries.get(batch);
    const key = toBytes32(seed);
    if (entry && !entry.seeds.includes(key)) entry.seeds.push(key);
  }

  markFinal(batch: bigint): void {
    const entry = this.entries.get(batch);
    if (entry) entry.status = BatchStatus.Final;
  }

  markAbandoned(batch: bigint): void {
    const entry = this.entries.get(batch);
    if (entry) entry.status = BatchStatus.Abandoned;
  }

  /** Verified seeds of a batch, in the order they were verified. */
  seeds(batch: bigint): Bytes32[] {
    return [...(this.entries.get(batch)?.seeds ?? [])];
  }

  /** Batches still open, ascending: what a restarted node re-gossips for and the aggregator watches. */
  openBatches(): bigint[] {
    return [...this.entries.values()].filter((e) => e.status === BatchStatus.Open).map((e) => e.batch).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  batch(batch: bigint): BatchInfo | undefined {
    const entry = this.entries.get(batch);
    if (!entry) return undefined;
    return {
      status: entry.status,
      referenceBlock: entry.referenceBlock,
      seedMessageHash: entry.seedMessageHash,
      leaderOrder: entry.leaderOrder,
      leadersAllowed: this.leadersAllowed(entry),
      resultMessageHash: (resultHash, seed) =>
        entry.seeds.includes(toBytes32(seed))
          ? this.modules.resultMessageHash(entry.batch, entry.referenceBlock, seed, resultHash)
          : undefined,
    };
  }

  latestBatch(): bigint {
    return this.latest;
  }

  /** The batch's record (what was read at its close, and its status), or null when it is unknown or pruned. */
  get(batch: bigint): BatchRecord | null {
    const entry = this.entries.get(batch);
    if (!entry) return null;
    const { seeds: _seeds, ...record } = entry;
    return { ...record, leaderOrder: [...record.leaderOrder] };
  }

  latestClosed(): bigint {
    return this.latest;
  }

  waitForBatch(batch: bigint, timeoutMs: number): Promise<boolean> {
    if (this.entries.has(batch)) return Promise.resolve(true);
    return new Promise((resolve) => {
      let set = this.waiters.get(batch);
      if (!set) this.waiters.set(batch, (set = new Set()));
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        set.delete(wake);
        if (set.size === 0) this.waiters.delete(batch);
        resolve(ok);
      };
      const wake = () => finish(true);
      const timer = setTimeout(() => finish(false), timeoutMs);
      set.add(wake);
    });
  }

  private leadersAllowed(entry: Entry): number {
    const n = entry.leaderOrder.length;
    if (this.opts.seedTimeoutBlocks === 0n) return n;
    if (this.head <= entry.closedAt) return Math.min(1, n);
    const extra = (this.head - entry.closedAt) / this.opts.seedTimeoutBlocks;
    return Number(BigInt(n) < 1n + extra ? BigInt(n) : 1n + extra);
  }

  private prune(): void {
    if (this.entries.size <= this.opts.retainBatches) return;
    const sorted = [...this.entries.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const b of sorted.slice(0, sorted.length - this.opts.retainBatches)) this.entries.delete(b);
  }
}
