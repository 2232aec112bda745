/**
 * `/eigen/node/health` and the follower's lag: 200 while the follower is at most `health.maxBlocksBehind` blocks
 * behind the chain head, 206 (syncing) beyond. Two registered nodes with peers on an in-process chain; their
 * follower polls once an hour, so after start-up it stays at the head it read then, and the test mines the
 * distance block by block: at the threshold, one below, one above — for a configured threshold and the default.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { DEFAULT_HEALTH_MAX_BLOCKS_BEHIND } from "../../protocol/config/schema.js";
import { deploySystem, type System } from "../support/serviceManager.js";
import { makeSlot, startNode, waitFor, type NodeSlot, type RunningNode } from "../support/operator-nodes.js";

const connection = await network.create();
const HOUR_MS = 3_600_000;

async function health(node: RunningNode): Promise<{ status: number; reasons: string[] }> {
  const res = await fetch(`http://127.0.0.1:${node.node.apiPort}/eigen/node/health`);
  return { status: res.status, reasons: ((await res.json()) as { reasons: string[] }).reasons };
}

describe("operator node: health and the follower's lag", function () {
  this.timeout(60_000);
  let s: System;
  const slots: NodeSlot[] = [];
  const nodes: RunningNode[] = [];

  before(async () => {
    s = await deploySystem(connection);
    for (const op of s.ops.slice(0, 2)) {
      const slot = await makeSlot(op.sk);
      slots.push(slot);
      await s.operatorRegistry.write.updateSocket([slot.socket], { account: s.wallets[10 + op.index]!.account });
    }
  });

  afterEach(async () => {
    for (const n of nodes.splice(0)) await n.stop().catch(() => {});
  });
  after(async () => {
    for (const slot of slots) await slot.remove();
  });

  /** Starts both nodes (node 0 with its API), waits for their peers, and returns node 0 and its follower's head. */
  async function start(healthMaxBlocksBehind: number | undefined): Promise<{ node: RunningNode; head: bigint }> {
    for (let i = 0; i < 2; i++) {
      nodes.push(await startNode(s, slots[i]!, { api: i === 0, pollIntervalMs: HOUR_MS, ...(healthMaxBlocksBehind !== undefined ? { healthMaxBlocksBehind } : {}) }));
    }
    await waitFor(() => nodes.every((n) => n.node.peerCount() >= 1), "the two nodes connected");
    const node = nodes[0]!;
    const head = BigInt(node.node.status().headBlock);
    expect(await connection.provider.request({ method: "eth_blockNumber" })).to.equal(`0x${head.toString(16)}`);
    return { node, head };
  }

  async function mineTo(block: bigint): Promise<void> {
    for (;;) {
      const now = BigInt((await connection.provider.request({ method: "eth_blockNumber" })) as string);
      if (now >= block) return;
      await connection.networkHelpers.mine(1);
    }
  }

  for (const [label, configured] of [["health.maxBlocksBehind = 3", 3], ["the default", undefined]] as const) {
    const max = BigInt(configured ?? DEFAULT_HEALTH_MAX_BLOCKS_BEHIND);
    it(`given ${label}, a follower ${max - 1n}, then ${max}, then ${max + 1n} blocks behind → it should answer 200, 200, then 206 (syncing)`, async () => {
      const { node, head } = await start(configured);
      expect(BigInt(node.node.status().headBlock)).to.equal(head);
      await mineTo(head + max - 1n);
      expect(await health(node)).to.deep.equal({ status: 200, reasons: [] });
      await mineTo(head + max);
      expect(await health(node)).to.deep.equal({ status: 200, reasons: [] });
      await mineTo(head + max + 1n);
      const h = await health(node);
      expect(h.status).to.equal(206);
      expect(h.reasons).to.deep.equal([`syncing: follower at ${head}, chain at ${head + max + 1n} (more than health.maxBlocksBehind = ${max} behind)`]);
      expect(BigInt(node.node.status().headBlock), "the follower did not poll meanwhile").to.equal(head);
    });
  }
});
