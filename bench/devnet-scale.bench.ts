/**
 * Many operators on one machine: the devnet with 4, 16, 32 and 64 operator processes (`MATCHNET_BENCH_OPERATORS`
 * narrows it) on `MATCHNET_BENCH_CHAIN` (default anvil): the time from the first operator's spawn to the last one's
 * ready line (started in waves, readiness judged by progress: deploy/devnet/readiness.ts), then one warm-up batch
 * and BATCHES batches of 8 orders, median close → final. Keys devnet.start_s_<n>, devnet.close_to_final_ms_<n>,
 * devnet.close_to_final_blocks_<n>, devnet.final_batches_<n>.
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Devnet } from "../deploy/devnet/devnet.js";
import type { ChainKind } from "../deploy/devnet/chain.js";
import { listEnv, median } from "./e2e-chains.bench.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BATCHES = 5;

export default async function (): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const chain = (process.env.MATCHNET_BENCH_CHAIN ?? "anvil") as ChainKind;
  for (const operators of listEnv("MATCHNET_BENCH_OPERATORS", ["4", "16", "32", "64"]).map(Number)) {
    const dn = await Devnet.start({ root, operators, mode: "processes", chain, port: 0, seed: 11, intervalMiningMs: 1_000, readyTimeoutMs: 120_000 });
    try {
      await dn.runBatch(8);
      const reports = [];
      for (let k = 0; k < BATCHES; k++) reports.push(await dn.runBatch(8));
      const final = reports.filter((r) => r.status === "final");
      process.stderr.write(`bench devnet-scale: ${chain} ${operators}: start ${((dn.startMs ?? NaN) / 1000).toFixed(1)} s, ${final.length}/${reports.length} final, blocks ${final.map((r) => r.blocks).join(" ")}, ms ${final.map((r) => r.ms).join(" ")}\n`);
      out[`devnet.start_s_${operators}`] = Math.round((dn.startMs ?? NaN) / 100) / 10;
      out[`devnet.close_to_final_blocks_${operators}`] = median(final.map((r) => r.blocks!));
      out[`devnet.close_to_final_ms_${operators}`] = median(final.map((r) => r.ms!));
      out[`devnet.final_batches_${operators}`] = final.length;
    } finally {
      await dn.stop();
    }
  }
  return out;
}
