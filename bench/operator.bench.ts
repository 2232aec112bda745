/**
 * operator.rss_single_mb: resident memory of one operator process (compiled JavaScript with the operator's node
 * flags, as the devnet and `npm run operator` start it) after it has done its duties for several batches with three in-process peers on an in-process chain
 * served over HTTP. Batches are left to time out rather than submitted (the aggregator is not part of this
 * measurement); the operator's work per batch — reads at R_b, matcher, slashing protection, signing, gossip — is
 * the same. Also operator.ready_ms: process start to its `ready` line.
 */
import { readFile } from "node:fs/promises";
import { network } from "hardhat";
import { deploySystem, orders, providerOffer } from "../test/support/serviceManager.js";
import { startNode, waitFor, type RunningNode } from "../test/support/operator-nodes.js";
import { prepareOperatorAmongPeers, spawnOperator } from "../test/support/operator-process.js";
import { startRpcProxy } from "../test/support/rpc-proxy.js";

const BATCHES = 5;

async function rssMb(pid: number): Promise<number> {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, "utf8"))![1]);
  return kb / 1024;
}

export default async function (): Promise<Record<string, number>> {
  const connection = await network.create();
  const s = await deploySystem(connection);
  await providerOffer(s, 0, 400);
  await providerOffer(s, 1, 400);
  const proxy = await startRpcProxy(connection.provider);
  const nodes: RunningNode[] = [];
  const { port, setup, slots } = await prepareOperatorAmongPeers(s);
  const t0 = Date.now();
  const op = await spawnOperator(setup, { sk: s.ops[0]!.sk, deployment: s.deployment, rpcUrl: proxy.url, port });
  try {
    await op.waitForLine((l) => l.msg === "ready", 120_000);
    const readyMs = Date.now() - t0;
    for (const slot of slots) nodes.push(await startNode(s, slot));
    let peak = 0;
    const timing = await s.serviceManager.read.batchTiming();
    for (let b = 1n; b <= BATCHES; b++) {
      await orders(s, 20);
      await s.serviceManager.write.closeBatch();
      await op.waitForLine((l) => l.msg === "result signed" && l.batch === String(b), 60_000);
      await waitFor(() => nodes.every((n) => n.node.decision(b) !== undefined), `batch ${b} decided in-process`, 60_000);
      peak = Math.max(peak, await rssMb(op.child.pid!));
      // Let the batch time out so the next close may abandon it (no aggregator in this measurement).
      await connection.networkHelpers.mine(Number(timing.batchTimeout) + 1);
    }
    const settled = await rssMb(op.child.pid!);
    op.child.kill("SIGTERM");
    await op.exited;
    // operator.rss_mb itself is the e2e bench's (peak of every operator of a real devnet run).
    return { "operator.rss_single_mb": Math.round(Math.max(peak, settled)), "operator.ready_ms": readyMs };
  } finally {
    if (op.child.exitCode === null && op.child.signalCode === null) op.child.kill("SIGKILL");
    for (const n of nodes) await n.stop().catch(() => {});
    for (const slot of slots) await slot.remove();
    await op.remove();
    await proxy.close();
  }
}
