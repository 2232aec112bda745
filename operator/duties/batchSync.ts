/**
 * Batch sync as a duty (protocol/p2p/batchSync.ts is the wire side): a member that has no seed for an open batch
 * asks its peers for the batch's seed and partials — right at its start when the batch closed before this node
 * listened (or its close was read late), then every SYNC_AFTER_BLOCKS blocks while no seed is here. What peers send
 * goes through the gossip validators and processors like gossip does.
 */
import type { DutyContext } from "./context.js";

/** Blocks after the close (and between retries) without a seed before peers are asked for the batch. */
export const SYNC_AFTER_BLOCKS = 2n;

export class BatchSyncDuty {
  constructor(private readonly ctx: DutyContext) {}

  /** Whether a member still without a seed should ask its peers at block `n`. */
  due(batch: bigint, n: bigint): boolean {
    const st = this.ctx.batches.get(batch);
    if (!st || st.seeds.size > 0) return false;
    return n >= st.close.closedAt + SYNC_AFTER_BLOCKS && (st.syncedAt === null || n >= st.syncedAt + SYNC_AFTER_BLOCKS);
  }

  /**
   * At a batch's start: a batch that closed before this node started went round (partly) without it, and so may
   * one whose close this node read late (an RPC failure). The seed and the others' partials are fetched first, so
   * that the node decides with the seed the others used and, as a fallback leader, does not sign a seed of its own
   * that nobody needs.
   */
  async atStart(batch: bigint): Promise<void> {
    const st = this.ctx.batches.get(batch)!;
    const startHead = this.ctx.startHead();
    if (st.close.closedAt <= startHead) await this.sync(batch, startHead);
    else if (st.closeReadLate) await this.sync(batch, this.ctx.head() ?? st.close.closedAt);
  }

  /** One batch-sync round with connected peers. */
  async sync(batch: bigint, block: bigint): Promise<void> {
    const st = this.ctx.batches.get(batch);
    const network = this.ctx.network();
    if (!st || !network) return;
    st.syncedAt = block;
    const outcome = await network.requestBatch(batch);
    // Accepted messages are processed on the next turn of the event loop (setImmediate): let that happen before the
    // caller looks at the seeds.
    await new Promise((r) => setImmediate(r));
    this.ctx.log.info({ event: "batch_synced", batch, ...outcome, seeds: st.seeds.size }, "batch sync with peers");
  }
}
