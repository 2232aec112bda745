/**
 * The living devnet (deploy/devnet/market-life.ts) with 4 operator processes on `MATCHNET_BENCH_CHAIN` (default
 * anvil):
 * - devnet.first_batch_s: from `Devnet.create` (cold: transpile check, chain, deploy, keys, registrations, processes)
 *   to the first batch final;
 * - devnet.steady_fill_pct: orders matched / orders placed over batches FROM‥TO of a `--load 80` run with 2 h per
 *   batch. The brief's window is batches 100–200; at ≈ 5 s a batch that is ≈ 17 min, so the bench counts batches
 *   30–60 (leases last 1–24 h, 12.5 h on average: after 30 batches of 2 h the first leases have ended many times over).
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Devnet } from "../deploy/devnet/devnet.js";
import type { ChainKind } from "../deploy/devnet/chain.js";
import { marketLifeOf, runLivingBatch } from "../deploy/devnet/living.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const FROM = Number(process.env.MATCHNET_BENCH_FILL_FROM ?? 30);
const TO = Number(process.env.MATCHNET_BENCH_FILL_TO ?? 60);

export default async function (): Promise<Record<string, number>> {
  const chain = (process.env.MATCHNET_BENCH_CHAIN ?? "anvil") as ChainKind;
  const t0 = Date.now();
  const dn = await Devnet.start({ root, operators: 4, mode: "processes", chain, port: 0, seed: 3, intervalMiningMs: 1_000, readyTimeoutMs: 120_000 });
  try {
    const life = marketLifeOf(dn, { load: 80, hoursPerBatch: 2 });
    let firstBatchS = NaN;
    let matched = 0;
    let placed = 0;
    for (let k = 1; k <= TO; k++) {
      const { report, step, figures } = await runLivingBatch(dn, life);
      if (k === 1) firstBatchS = (Date.now() - t0) / 1000;
      if (k >= FROM) {
        matched += report.matched;
        placed += step.ordersPlaced;
      }
      if (k % 10 === 0) process.stderr.write(`bench devnet-life: batch ${k}: utilization ${figures.utilizationBps / 100} %, fill ${(figures.fillBps ?? 0) / 100} %, top reason ${figures.topReason?.reason}\n`);
    }
    return { "devnet.first_batch_s": Math.round(firstBatchS * 10) / 10, "devnet.steady_fill_pct": placed === 0 ? NaN : Math.round((matched * 1000) / placed) / 10 };
  } finally {
    await dn.stop();
  }
}
