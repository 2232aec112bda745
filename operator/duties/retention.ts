/**
 * Retention of the node's durable records: the decision repository and both slashing-protection buckets hold one
 * record per batch, so at each close the records of batches older than `retainBatches` are deleted. Re-gossip after
 * a restart and batch sync serve only batches still in memory (the newest RETAIN_BATCHES, operator/node.ts), so
 * nothing older is ever read again; slashing protection keeps its low watermark, which refuses those batches for good.
 */
import type { DutyContext } from "./context.js";

export class RetentionDuty {
  constructor(
    private readonly ctx: Pick<DutyContext, "sp" | "decisions" | "operatorId" | "log">,
    private readonly retainBatches: bigint,
  ) {}

  /** Prunes what is older than `retainBatches` before `latest`; returns the cutoff used (null: nothing to prune). */
  async onClosed(latest: bigint): Promise<bigint | null> {
    if (latest <= this.retainBatches) return null;
    const cutoff = latest - this.retainBatches;
    const signed = await this.ctx.sp.prune(this.ctx.operatorId, cutoff);
    const decisions = await this.ctx.decisions.pruneBelow(cutoff);
    if (signed + decisions > 0) this.ctx.log.debug({ event: "store_pruned", below: cutoff, signedRecords: signed, decisions }, "records of old batches pruned");
    return cutoff;
  }
}
