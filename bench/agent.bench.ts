/**
 * The lease handoff on a devnet whose chain mines like a real L2: hardhat node sealing a block every second with
 * every transaction sent meanwhile (`automine: false`), 4 operator processes and an aggregator, 8 providers each with
 * its provider agent process, 8 orders a batch, and after each batch the view's wait for the handoffs (up to 5 s)
 * before the next orders. After one warm-up batch, 12 batches; for every lease, blocks from its start (`startBlock`,
 * the block that applied the assignment) to `readyAt` (the block of its `markLeaseReady`).
 * `agent.lease_ready_blocks` is the median (target ≤ 2), `agent.lease_ready_blocks_max` the worst, `agent.rss_mb`
 * the highest peak resident memory of an agent process.
 *
 * Why not the devnet's default automine (a block per transaction on top of the interval blocks): there the other
 * providers' `markLeaseReady` transactions of the same batch are each a block of their own, so a lease's count grew
 * with the number of providers matched in its batch, however fast its agent was (median 4, max 8 with 8 providers,
 * all of them agents that sent within the second). On a real chain those transactions share a block; so they do
 * here. With a block a second, `readyAt − startBlock` is the agent's latency in whole blocks: 1 when the agent saw
 * the start block, started the workload, sealed the access and sent before the next block was sealed.
 * `agent.lease_ready_idle_blocks` is the median of `readyAt − startBlock − 1`: the blocks sealed after the start
 * block before the agent's send got in, whole seconds beyond the first that the agent took (target 0).
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Devnet } from "../deploy/devnet/devnet.js";
import { peakRssMb } from "../deploy/devnet/processes.js";
import { marketplaceAbi } from "../protocol/chain/abi.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BATCHES = 12;
const ORDERS = 8;

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export default async function (): Promise<Record<string, number>> {
  const dn = await Devnet.start({ root, operators: 4, providers: 8, mode: "processes", port: 0, seed: 11, intervalMiningMs: 1_000, automine: false, agents: true, readyTimeoutMs: 180_000 });
  try {
    await dn.runBatch(ORDERS);
    await dn.handoffs(5_000);
    const from = await dn.chain.publicClient.getBlockNumber();
    for (let k = 0; k < BATCHES; k++) {
      await dn.runBatch(ORDERS);
      await dn.handoffs(5_000);
    }
    await dn.handoffs(20_000);
    const applied = await dn.chain.publicClient.getContractEvents({ address: dn.addrs.marketplace, abi: marketplaceAbi, eventName: "AssignmentApplied", fromBlock: from + 1n, strict: true });
    const blocks: number[] = [];
    let notReady = 0;
    for (const a of applied) {
      const l = await dn.chain.publicClient.readContract({ address: dn.addrs.marketplace, abi: marketplaceAbi, functionName: "getLease", args: [a.args.orderId] });
      if (l.readyAt === 0n) {
        notReady++;
        continue;
      }
      blocks.push(Number(l.readyAt - l.startBlock));
    }
    const idle = blocks.map((b) => b - 1);
    let rssMb = 0;
    for (let i = 0; i < dn.agents.length; i++) {
      const child = dn.agentChild(i);
      const rss = child === undefined ? null : await peakRssMb(child.pid);
      if (rss !== null) rssMb = Math.max(rssMb, rss);
    }
    const load = (await import("node:os")).loadavg()[0]!;
    process.stderr.write(`bench agent: ${applied.length} leases, ${notReady} not ready; blocks start→ready ${blocks.join(" ")}; max agent peak RSS ${rssMb.toFixed(1)} MB; load ${load.toFixed(1)}\n`);
    return {
      "agent.lease_ready_blocks": median(blocks),
      "agent.lease_ready_blocks_max": Math.max(...blocks),
      "agent.lease_ready_idle_blocks": median(idle),
      "agent.load_average_1m": Math.round(load * 10) / 10,
      "agent.leases_measured": blocks.length,
      "agent.leases_not_ready": notReady,
      "agent.rss_mb": Math.round(rssMb * 10) / 10,
    };
  } finally {
    await dn.stop();
  }
}
