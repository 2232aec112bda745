/**
 * The e2e figures on both local nodes the devnet runs on (`--chain hardhat|anvil`): 4 and 16 operator processes and
 * an aggregator, one warm-up batch, then BATCHES batches of 8 orders; medians of close → final in blocks
 * (finalizedAt − closedAt) and in wall time (close receipt seen → Final seen). Keys
 * e2e.close_to_final_{blocks,ms}_{hardhat,anvil}_{4,16}. `MATCHNET_BENCH_CHAINS` / `MATCHNET_BENCH_OPERATORS`
 * (comma lists) narrow the run.
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Devnet } from "../deploy/devnet/devnet.js";
import type { ChainKind } from "../deploy/devnet/chain.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BATCHES = 20;
const ORDERS = 8;

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export function listEnv(name: string, all: string[]): string[] {
  const v = process.env[name];
  return v === undefined || v === "" ? all : v.split(",").map((s) => s.trim());
}

export default async function (): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const chain of listEnv("MATCHNET_BENCH_CHAINS", ["hardhat", "anvil"]) as ChainKind[]) {
    for (const operators of listEnv("MATCHNET_BENCH_OPERATORS", ["4", "16"]).map(Number)) {
      const dn = await Devnet.start({ root, operators, mode: "processes", chain, port: 0, seed: 11, intervalMiningMs: 1_000, readyTimeoutMs: 120_000 });
      try {
        await dn.runBatch(ORDERS);
        const reports = [];
        for (let k = 0; k < BATCHES; k++) reports.push(await dn.runBatch(ORDERS));
        const final = reports.filter((r) => r.status === "final");
        process.stderr.write(`bench e2e-chains: ${chain} ${operators}: ${final.length}/${reports.length} final, blocks ${final.map((r) => r.blocks).join(" ")}, ms ${final.map((r) => r.ms).join(" ")}\n`);
        out[`e2e.close_to_final_blocks_${chain}_${operators}`] = median(final.map((r) => r.blocks!));
        out[`e2e.close_to_final_ms_${chain}_${operators}`] = median(final.map((r) => r.ms!));
        out[`e2e.final_batches_${chain}_${operators}`] = final.length;
      } finally {
        await dn.stop();
      }
    }
  }
  return out;
}
