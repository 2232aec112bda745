/**
 * End-to-end figures of the running network: the devnet with real operator and aggregator processes on hardhat node
 * (automine on, plus one interval block a second as `npm run devnet` runs it), 4 and then 16 operators. After one
 * warm-up batch, 60 batches (4 operators) or 30 (16) of 8 orders each; close → final is counted in blocks
 * (finalizedAt − closedAt) and in wall-clock ms (close receipt seen → Final status seen by a 50 ms poll), medians over
 * all of them. operator.rss_mb is the highest peak resident memory (VmHWM) of any operator process at the end of the
 * run: that long, because an operator's heap can keep growing for dozens of batches before a full GC (ten batches
 * once hid a growth to 210 MB).
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Devnet } from "../deploy/devnet/devnet.js";
import { peakRssMb } from "../deploy/devnet/processes.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BATCHES: Record<number, number> = { 4: 60, 16: 30 };
const ORDERS = 8;

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function run(operators: number): Promise<{ blocks: number; ms: number; final: number; rssMb: number }> {
  const dn = await Devnet.start({ root, operators, mode: "processes", port: 0, seed: 11, intervalMiningMs: 1_000, readyTimeoutMs: 180_000 });
  try {
    await dn.runBatch(ORDERS); // warm-up: first gossip mesh, JIT
    const reports = [];
    for (let k = 0; k < BATCHES[operators]!; k++) reports.push(await dn.runBatch(ORDERS));
    const final = reports.filter((r) => r.status === "final");
    let rssMb = 0;
    for (let i = 0; i < operators; i++) {
      const child = dn.operatorChild(i);
      const rss = child === undefined ? null : await peakRssMb(child.pid);
      if (rss !== null) rssMb = Math.max(rssMb, rss);
    }
    process.stderr.write(`bench e2e: ${operators} operators: ${final.length}/${reports.length} final, blocks ${final.map((r) => r.blocks).join(" ")}, ms ${final.map((r) => r.ms).join(" ")}, max operator peak RSS ${rssMb.toFixed(1)} MB\n`);
    return { blocks: median(final.map((r) => r.blocks!)), ms: median(final.map((r) => r.ms!)), final: final.length, rssMb };
  } finally {
    await dn.stop();
  }
}

export default async function (): Promise<Record<string, number>> {
  const four = await run(4);
  const sixteen = await run(16);
  return {
    "e2e.close_to_final_blocks": four.blocks,
    "e2e.close_to_final_ms": four.ms,
    "e2e.final_batches": four.final,
    "e2e.close_to_final_blocks_16": sixteen.blocks,
    "e2e.close_to_final_ms_16": sixteen.ms,
    "e2e.final_batches_16": sixteen.final,
    "operator.rss_mb": four.rssMb,
    "operator.rss_mb_16": sixteen.rssMb,
  };
}
