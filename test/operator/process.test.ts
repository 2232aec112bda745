/**
 * The operator as a separate process, on the test's chain (served over HTTP): it logs the `ready` line of the
 * process contract, finds its peers from the sockets registered on-chain, signs the batch the in-process nodes
 * sign, answers its API, and stops cleanly with exit code 0 on SIGTERM.
 */
import { readFile } from "node:fs/promises";
import { expect } from "chai";
import { network } from "hardhat";
import { deploySystem, orders, providerOffer, type System } from "../support/serviceManager.js";
import { startNode, waitFor, type NodeSlot, type RunningNode } from "../support/operator-nodes.js";
import { prepareOperatorAmongPeers, spawnOperator, type OperatorProcess } from "../support/operator-process.js";
import { startRpcProxy } from "../support/rpc-proxy.js";

const connection = await network.create();

describe("operator/main.ts as a process on a live chain", function () {
  this.timeout(90_000);
  let s: System;
  let proxy: Awaited<ReturnType<typeof startRpcProxy>>;
  let op: OperatorProcess | undefined;
  let slots: NodeSlot[] = [];
  const nodes: RunningNode[] = [];

  before(async () => {
    s = await deploySystem(connection);
    await providerOffer(s, 0, 40);
    await orders(s, 4);
    proxy = await startRpcProxy(connection.provider);
  });

  after(async () => {
    if (op && op.child.exitCode === null && op.child.signalCode === null) op.child.kill("SIGKILL");
    for (const n of nodes) await n.stop().catch(() => {});
    for (const slot of slots) await slot.remove();
    await op?.remove();
    await proxy.close();
  });

  it("given a valid config → it should log ready, sign the batch with its peers, answer its API and exit 0 on SIGTERM", async () => {
    const prepared = await prepareOperatorAmongPeers(s);
    const { port, setup } = prepared;
    slots = prepared.slots;
    op = await spawnOperator(setup, { sk: s.ops[0]!.sk, deployment: s.deployment, rpcUrl: proxy.url, port });
    const ready = await op.waitForLine((l) => l.event === "ready", 60_000);
    expect(ready.operatorId).to.equal(s.ops[0]!.id.toLowerCase());
    expect(ready.registered).to.equal(true);
    expect(setup.socket).to.include(String(ready.peerId));
    expect((ready.addrs as string[]).some((a) => a.includes(`/tcp/${port}/`))).to.equal(true);
    const api = String(ready.api);

    for (const slot of slots) nodes.push(await startNode(s, slot));
    await waitFor(async () => (await fetch(`${api}/eigen/node/health`)).status === 200, "health 200 with peers", 20_000);

    await s.serviceManager.write.closeBatch();
    const signed = await op.waitForLine((l) => l.event === "result_signed" && l.batch === "1", 30_000);
    await waitFor(() => nodes.every((n) => n.node.decision(1n) !== undefined), "the in-process nodes' decisions", 20_000);
    expect(signed.messageHash).to.equal(nodes[0]!.node.decision(1n)!.messageHash);
    const report = (await (await fetch(`${api}/matchnet/v1/batches/1`)).json()) as { signed: boolean; messageHash: string };
    expect(report).to.include({ signed: true, messageHash: signed.messageHash });

    // Resident memory of the operator process (target ≤ 150 MB, bench/README.md), read from the kernel.
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${op.child.pid}/status`, "utf8"))![1]);
    console.log(`      operator process RSS after one batch: ${(rssKb / 1024).toFixed(0)} MB`);

    op.child.kill("SIGTERM");
    expect(await op.exited).to.equal(0);
    expect(op.lines.some((l) => l.event === "stopped")).to.equal(true);
  });
});
