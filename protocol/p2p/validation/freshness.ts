import { BatchStatus } from "../../chain/batches.js";
import type { BatchInfo } from "../interfaces.js";
import { GossipErrorCode, ignore } from "../errors.js";
import type { GossipValidationContext } from "./context.js";

/**
 * The batch must be known and still open. A message for the batch right after the latest known one is held
 * briefly (it may have raced the close event); anything further ahead, or behind and unknown, is ignored.
 */
export async function assertOpenBatch(ctx: GossipValidationContext<unknown>, batch: bigint): Promise<BatchInfo> {
  const view = ctx.modules.batches;
  let info = view.batch(batch);
  if (info === undefined) {
    const latest = view.latestBatch();
    if (batch > latest + ctx.opts.maxFutureBatches) {
      throw ignore(GossipErrorCode.FutureBatch, `batch ${batch} is beyond ${latest} + ${ctx.opts.maxFutureBatches}`);
    }
    if (batch > latest && view.waitForBatch && (await view.waitForBatch(batch, ctx.opts.unknownBatchWaitMs))) {
      info = view.batch(batch);
    }
    if (info === undefined) throw ignore(GossipErrorCode.BatchUnknown, `batch ${batch} unknown`);
  }
  if (info.status !== BatchStatus.Open) throw ignore(GossipErrorCode.BatchFinal, `batch ${batch} is ${info.status}`);
  return info;
}
