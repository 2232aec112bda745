/**
 * One batch of the living devnet: the market moves on (deploy/devnet/market-life.ts), the orders the load asks for
 * are placed, the batch is closed and settled, and the market figures are computed from the batch reports.
 */
import type { Devnet } from "./devnet.js";
import { MarketLife, marketFigures, type MarketFigures, type MarketLifeOptions, type MarketStep } from "./market-life.js";
import type { DevnetBatchReport } from "./batch.js";

export function marketLifeOf(dn: Devnet, opts: MarketLifeOptions): MarketLife {
  return new MarketLife(opts, dn.chain, dn.deployment, dn.rng, dn.providers, dn.chain.devAccounts[0]!);
}

export async function runLivingBatch(dn: Devnet, life: MarketLife): Promise<{ report: DevnetBatchReport; step: MarketStep; figures: MarketFigures }> {
  const step = await life.beforeBatch(dn.reports[dn.reports.length - 1] ?? null);
  await dn.placeOrders(step.ordersToPlace);
  const closed = await dn.closeBatch();
  const report = await dn.settle(closed);
  return { report, step, figures: marketFigures(dn.reports, life.placedPerBatch) };
}
