/**
 * e2e.large_batch_final: the devnet (hardhat node, 4 operator processes and an aggregator process, interval mining)
 * with 2 000 orders placed before each of 3 batches: 1 when every batch of the run was final with every page of its
 * result applied, else 0. Beside it, the blocks from a batch's close to its last page (median, and the largest) and
 * the most pages one result had, and the most assignments one batch applied. The providers' offers are scaled ×20
 * (`gpuScale`, thousands of GPUs), so a batch matches hundreds of orders: results of several pages.
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { serviceManagerAbi } from "../protocol/chain/abi.js";
import { Devnet } from "../deploy/devnet/devnet.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BATCHES = 3;
const ORDERS = 2_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export default async function (): Promise<Record<string, number>> {
  const dn = await Devnet.start({ root, operators: 4, gpuScale: 20, mode: "processes", port: 0, seed: 23, intervalMiningMs: 1_000, readyTimeoutMs: 180_000 });
  try {
    const spans: number[] = [];
    const pages: number[] = [];
    let matchedMax = 0;
    let allFinal = true;
    for (let k = 0; k < BATCHES; k++) {
      const report = await dn.runBatch(ORDERS);
      const b = await dn.chain.publicClient.readContract({ address: dn.deployment.contracts.serviceManager!, abi: serviceManagerAbi, functionName: "getBatch", args: [report.batch] });
      const done = report.status === "final" && b.pendingPages === `0x${"0".repeat(64)}` && b.pagesDoneAt > 0;
      allFinal &&= done;
      matchedMax = Math.max(matchedMax, report.matched);
      if (done) {
        spans.push(b.pagesDoneAt - b.closedAt);
        pages.push(b.pagesApplied);
      }
      process.stderr.write(`bench large-batch: batch ${report.batch} ${report.status}, ${report.ordersOpen} open at R_b, ${report.matched} matched, ${b.pagesApplied} pages, close → last page ${done ? b.pagesDoneAt - b.closedAt : "-"} blocks\n`);
    }
    return {
      "e2e.large_batch_final": allFinal ? 1 : 0,
      "e2e.large_batch_close_to_last_page_blocks": median(spans),
      "e2e.large_batch_close_to_last_page_blocks_max": spans.length === 0 ? NaN : Math.max(...spans),
      "e2e.large_batch_pages_max": pages.length === 0 ? 0 : Math.max(...pages),
      "e2e.large_batch_matched_max": matchedMax,
    };
  } finally {
    await dn.stop();
  }
}
