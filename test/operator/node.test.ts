/**
 * Four operator nodes in one process on an in-process Hardhat chain: real libp2p on 127.0.0.1, real LevelDB in temp
 * dirs, peers found from the sockets registered on-chain. A batch closes; the leader signs the seed, every node
 * matches at R_b and signs the same result; the partials, aggregated by the aggregator core's submission builder,
 * finalize the batch on-chain. Then restart safety, a refused double sign, an equivocation proof, and a batch whose
 * close one node failed to read (RPC) and read again a block later. Each describe deploys its own system and starts
 * its own four nodes in its `before`, and its `it`s only read what that setup made, so any `it` runs alone (--grep).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import { createPublicClient, custom, keccak256, toHex, type PublicClient } from "viem";
import { resultMessageDigest } from "../../protocol/avs/messages.js";
import { SecretKey } from "../../protocol/bls/index.js";
import { SlashingProtectionError, SlashingProtectionErrorCode } from "../../operator/slashing-protection/errors.js";
import { createLogger } from "../../protocol/log/logger.js";
import { deploySystem, orders, providerOffer, type System } from "../support/serviceManager.js";
import { MemoryLines } from "../support/memory-stream.js";
import { finalizeFromNode0, makeSlot, startNode, waitFor, type NodeSlot, type RunningNode } from "../support/operator-nodes.js";

const connection = await network.create();
/**
 * The real in-process chain behind a transport that can be cut, to see the node API report a failing RPC. No block
 * number cache (cacheTime 0, as operator/main.ts builds its client): this client outlives each describe's system, and
 * a head cached from an earlier describe is older than the next system's contracts.
 */
let rpcDown = false;
const switchableClient = createPublicClient({
  cacheTime: 0,
  transport: custom({
    request: async ({ method, params }: { method: string; params?: unknown }) => {
      if (rpcDown) throw new Error("connection refused");
      return connection.provider.request({ method, params: params as unknown[] });
    },
  }, { retryCount: 0 }),
}) as PublicClient;

async function get(base: string, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(base + path);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** A freshly deployed system (two providers, six orders) with four registered operator nodes; node 0 holds an account. */
interface FourNodes {
  s: System;
  slots: NodeSlot[];
  nodes: RunningNode[];
  /** A non-signing, unregistered node, when a test starts one (`startFollower`). */
  follower?: RunningNode;
  followerSlot?: NodeSlot;
  stop(): Promise<void>;
}

async function startFourNodes(): Promise<FourNodes> {
  const s = await deploySystem(connection);
  await providerOffer(s, 0, 40);
  await providerOffer(s, 1, 40);
  await orders(s, 6);
  const slots: NodeSlot[] = [];
  const nodes: RunningNode[] = [];
  const sys: FourNodes = {
    s,
    slots,
    nodes,
    stop: async () => {
      for (const n of nodes) await n.stop().catch(() => {});
      await sys.follower?.stop().catch(() => {});
      for (const slot of [...slots, ...(sys.followerSlot ? [sys.followerSlot] : [])]) await slot.remove();
    },
  };
  // A node that fails to start (a port taken meanwhile) leaves no data dir or peer key behind: the caller gets no
  // object to stop, so what was made is removed here.
  try {
    for (const op of s.ops) {
      const slot = await makeSlot(op.sk);
      slots.push(slot);
      // The socket peers find each other by: registered on-chain, no bootstrap list needed.
      await s.operatorRegistry.write.updateSocket([slot.socket], { account: s.wallets[10 + op.index]!.account });
    }
    // Node 0 holds an Ethereum account, so it can send equivocation proofs.
    for (let i = 0; i < slots.length; i++) nodes.push(await startNode(s, slots[i]!, i === 0 ? { wallet: s.wallets[2]!, api: true } : {}));
  } catch (err) {
    await sys.stop();
    throw err;
  }
  return sys;
}

/** A witness that was not there for the first gossip: an unregistered key, a non-signing follower that knows `bootstrap`. */
async function startFollower(sys: FourNodes, bootstrap: string): Promise<RunningNode> {
  sys.followerSlot = await makeSlot(SecretKey.fromBytes(new Uint8Array(32).fill(7)));
  sys.follower = await startNode(sys.s, sys.followerSlot, { bootstrap: [bootstrap], api: true, client: switchableClient });
  return sys.follower;
}

/** Closes the next batch once the nodes are meshed and waits for every node's decision and every partial at every node. */
async function closeAndDecide(sys: FourNodes): Promise<bigint> {
  await waitFor(() => sys.nodes.every((n) => n.node.peerCount() >= 3), "a full mesh of peers");
  await sys.s.serviceManager.write.closeBatch();
  const batch = await sys.s.serviceManager.read.batchCount();
  await waitFor(() => sys.nodes.every((n) => n.node.decision(batch) !== undefined), "every node's decision", 20_000);
  // Each node also accepts the other three partials from gossip: a partial carries its seed proof, so none is lost
  // to a seed that had not arrived yet (30 s: four libp2p nodes, mcl and the chain share one thread here).
  await waitFor(() => sys.nodes.every((n) => n.node.partialsSeen(batch).size === 3), "every other partial seen by every node", 30_000);
  return batch;
}

/**
 * Registers, in the calling describe, a before that starts four fresh nodes, has them decide one batch and runs
 * `more`, and an after that stops them; the returned object holds the nodes and the batch once the before ran.
 */
function fourNodesWithDecidedBatch(more?: (sys: FourNodes, batch: bigint) => Promise<void>): { sys: FourNodes; batch: bigint } {
  const ctx = {} as { sys: FourNodes; batch: bigint };
  before(async () => {
    ctx.sys = await startFourNodes();
    ctx.batch = await closeAndDecide(ctx.sys);
    await more?.(ctx.sys, ctx.batch);
  });
  after(async () => ctx.sys?.stop());
  return ctx;
}

describe("operator node: four nodes on an in-process chain", function () {
  this.timeout(120_000);

  describe("given four registered nodes and a closed batch", () => {
    const ctx = fourNodesWithDecidedBatch();

    it("given operators registered with sockets → it should connect every node to the others without a bootstrap list", async () => {
      const { sys } = ctx;
      for (const n of sys.nodes) expect(n.node.peerCount()).to.be.at.least(3);
      for (const n of sys.nodes) expect(n.node.status().registered).to.equal(true);
    });

    it("given a closed batch → it should have every node sign the same result, whose digest equals the contract's resultMessageHash", async () => {
      const { sys, batch } = ctx;
      const { s, nodes } = sys;
      const decisions = nodes.map((n) => n.node.decision(batch)!);
      const first = decisions[0]!;
      for (const d of decisions) {
        expect(d.messageHash).to.equal(first.messageHash);
        expect(d.seed).to.equal(first.seed);
        expect(d.fresh).to.equal(true);
      }
      expect(first.seedRank).to.equal(0);
      expect(first.assignments.length).to.be.greaterThan(0);
      expect(await s.serviceManager.read.resultMessageHash([batch, first.seed, first.assignmentsHash])).to.equal(first.messageHash);
      for (const n of nodes) expect((await n.metrics.batchesSigned.get()).values[0]!.value).to.equal(1);
      for (const n of nodes) expect(n.node.partialsSeen(batch).size).to.equal(3);
      // The leader's seed is what every node used.
      const leader = (await s.serviceManager.read.leaderOf([batch, 0n])).toLowerCase();
      expect(nodes[1]!.node.verifiedSeeds(batch).get(0)!.signer).to.equal(leader);
    });

    it("given the Grafana dashboard → it should only query matchnet_ and eigen_ metrics the node exports", async () => {
      const { sys } = ctx;
      const dashboard = JSON.parse(await readFile(join("ops", "grafana", "dashboards", "matchnet-operator.json"), "utf8")) as { panels: { targets: { expr: string }[] }[] };
      const queried = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/\b(matchnet|eigen)_[a-z_]+/g) ?? [])));
      const exposition = await sys.nodes[0]!.metrics.register.metrics();
      const exported = new Set([...exposition.matchAll(/^# TYPE ([a-z_]+) /gm)].map((m) => m[1]!));
      const missing = [...queried].map((n) => n.replace(/_(bucket|sum|count)$/, "")).filter((n) => !exported.has(n));
      expect(queried.size).to.be.greaterThan(8);
      expect(missing).to.deep.equal([]);
    });
  });

  describe("given a batch every node signed", () => {
    const ctx = fourNodesWithDecidedBatch();

    it("given a node restarted on the same data dir → it should re-gossip the same signature and refuse a different result", async () => {
      const { sys, batch } = ctx;
      const { s, slots, nodes } = sys;
      const before = nodes[3]!.node.decision(batch)!;
      await nodes[3]!.stop();

      // It knows the restarted node's address (kept in the bootstrap list and redialled), so it hears that node's
      // gossip directly: the others drop the re-gossip as a duplicate and do not relay it.
      const follower = await startFollower(sys, slots[3]!.socket);
      expect(follower.node.status().registered).to.equal(false);

      // Both know each other's address, so the restarted node has dialled the witness before its duties run.
      nodes[3] = await startNode(s, slots[3]!, { bootstrap: [sys.followerSlot!.socket] });
      await waitFor(() => nodes[3]!.node.decision(batch) !== undefined, "the restarted node's decision");
      const after = nodes[3]!.node.decision(batch)!;
      expect(after.fresh).to.equal(false);
      expect(after.messageHash).to.equal(before.messageHash);
      expect(after.signature).to.deep.equal(before.signature);
      expect((await nodes[3]!.metrics.batchesSigned.get()).values[0]?.value ?? 0).to.equal(0);

      const id3 = s.ops[3]!.id;
      await waitFor(() => follower.node.partialsSeen(batch).has(id3), "the re-gossiped partial at the witness", 15_000);
      expect(follower.node.partialsSeen(batch).get(id3)!.signature).to.deep.equal(before.signature);

      const ref = BigInt((await s.serviceManager.read.getBatch([batch])).referenceBlock);
      const other = keccak256(toHex("another result"));
      try {
        await nodes[3]!.node.signResultMessage(batch, ref, after.seed, other);
        expect.fail("a different result was signed");
      } catch (err) {
        expect(err).to.be.instanceOf(SlashingProtectionError);
        expect((err as SlashingProtectionError).code).to.equal(SlashingProtectionErrorCode.DoubleSign);
      }
      const refusals = (await nodes[3]!.metrics.slashingProtectionRefusals.get()).values;
      expect(refusals.map((v) => [v.labels.duty, v.value])).to.deep.equal([["result", 1]]);
    });
  });

  describe("given a batch every node signed and a witness node gossiping", () => {
    const ctx = fourNodesWithDecidedBatch(async (sys) => {
      await startFollower(sys, sys.slots[0]!.socket);
      await waitFor(() => sys.follower!.node.peerCount() >= 1, "the witness connected");
    });

    it("given a second valid partial of one operator with another result → it should submit the equivocation proof", async () => {
      const { sys, batch } = ctx;
      const { s, nodes } = sys;
      const cheater = s.ops[2]!;
      expect(nodes[0]!.node.partialsSeen(batch).has(cheater.id)).to.equal(true);
      const d = nodes[0]!.node.decision(batch)!;
      const ref = BigInt((await s.serviceManager.read.getBatch([batch])).referenceBlock);
      const otherHash = keccak256(toHex("equivocating result"));
      const digest = resultMessageDigest({ chainId: s.chainId, serviceManager: s.serviceManager.address, batch, referenceBlock: ref, seed: d.seed, assignmentsHash: otherHash });
      await sys.follower!.node.gossip!.publishPartial({
        batch,
        resultHash: otherHash,
        seed: d.seed,
        operatorId: cheater.id,
        signature: cheater.sk.sign(digest),
        seedSigner: d.seedSigner,
        seedSignature: d.seedSignature,
      });
      const dutyKey = toHex(batch, { size: 32 });
      await waitFor(() => s.serviceManager.read.equivocationSlashed([cheater.id, dutyKey]), "the equivocation slash on-chain", 15_000);
      const proofs = (await nodes[0]!.metrics.register.getSingleMetric("matchnet_equivocation_proofs_total")!.get()).values;
      expect(proofs.map((v) => [v.labels.outcome, v.value])).to.deep.equal([["submitted", 1]]);
    });
  });

  describe("given a batch finalized on-chain from the partials node 0 gathered, and a witness node", () => {
    let signerCount: number;
    const ctx = fourNodesWithDecidedBatch(async (sys, batch) => {
      await startFollower(sys, sys.slots[0]!.socket);
      // Signatures as node 0 received them from gossip, plus its own, through the aggregator's submission builder.
      signerCount = await finalizeFromNode0(sys.s, sys.nodes, batch);
    });

    it("given the partials → it should aggregate them with the aggregator's submission builder and finalize the batch on-chain", async () => {
      const { sys, batch } = ctx;
      const { s, nodes } = sys;
      const d = nodes[0]!.node.decision(batch)!;
      expect(signerCount).to.equal(4);
      expect((await s.serviceManager.read.getBatch([batch])).resultHash).to.equal(d.messageHash);
      for (const n of nodes) expect(n.node.batchReport(batch)!.status).to.equal("final");
      expect(nodes[0]!.node.batchReport(batch)!.signedFinalResult).to.equal(true);
    });

    it("given the node API → it should answer EigenLayer's routes and matchnet's own as specified", async () => {
      const { sys, batch } = ctx;
      const { s, nodes } = sys;
      const api = `http://127.0.0.1:${nodes[0]!.node.apiPort}`;
      expect(await get(api, "/eigen/node")).to.deep.equal({ status: 200, body: { node_name: "matchnet-operator", spec_version: "v0.0.1", node_version: "test" } });
      expect((await get(api, "/eigen/node/health")).status).to.equal(200);
      const services = await get(api, "/eigen/node/services");
      expect(services.body.services.map((x: { id: string; status: string }) => [x.id, x.status])).to.deep.equal([
        ["chain-follower", "Up"],
        ["p2p", "Up"],
        ["signer", "Up"],
      ]);
      expect((await get(api, "/eigen/node/services/p2p/health")).status).to.equal(200);
      const status = (await get(api, "/matchnet/v1/status")).body;
      expect(status).to.include({ operatorId: s.ops[0]!.id, registered: true, stake: (100n * 10n ** 18n).toString(), currentBatch: batch.toString(), lastSignedBatch: batch.toString() });
      expect(status.peers).to.be.at.least(3);
      const report = (await get(api, `/matchnet/v1/batches/${batch}`)).body;
      const d = nodes[0]!.node.decision(batch)!;
      expect(report).to.include({ status: "final", seed: d.seed, resultHash: d.assignmentsHash, assignments: d.assignments.length, signed: true, signedFinalResult: true });
      expect((await get(api, "/matchnet/v1/batches/999")).status).to.equal(404);
      expect((await get(api, "/matchnet/v1/batches/x1")).status).to.equal(400);
      const peers = (await get(api, "/matchnet/v1/peers")).body;
      expect(peers.count).to.equal(peers.peers.length);
      expect((await get(api, "/nope")).status).to.equal(404);

      // The unregistered witness: partially healthy (206) while the RPC answers, unhealthy (503) once it fails.
      const witness = `http://127.0.0.1:${sys.follower!.node.apiPort}`;
      const h = await get(witness, "/eigen/node/health");
      expect(h.status).to.equal(206);
      expect(h.body.reasons).to.include("not registered: following without signing");
      rpcDown = true;
      try {
        expect((await get(witness, "/eigen/node/health")).status).to.equal(503);
      } finally {
        rpcDown = false;
      }
    });
  });

  describe("given four registered nodes, one of them behind an RPC that fails", () => {
    let sys: FourNodes;
    before(async () => {
      sys = await startFourNodes();
    });
    after(async () => sys?.stop());

    it("given the RPC failing while a node reads a batch's close → it should read it again on the next block and sign the same result as the others", async () => {
      const { s, slots, nodes } = sys;
      // Node 3 restarted behind a transport that drops eth_call while `failing` (an RPC endpoint hiccup).
      let failing = false;
      const flaky = createPublicClient({
        transport: custom({
          request: async ({ method, params }: { method: string; params?: unknown }) => {
            if (failing && method === "eth_call") throw new Error("RPC unavailable");
            return connection.provider.request({ method, params: params as unknown[] });
          },
        }, { retryCount: 0 }),
        pollingInterval: 20,
        cacheTime: 0,
      }) as PublicClient;
      const lines = new MemoryLines();
      await nodes[3]!.stop();
      nodes[3] = await startNode(s, slots[3]!, { client: flaky, logger: createLogger({ level: "info", destination: lines }) });
      await waitFor(() => nodes.every((n) => n.node.peerCount() >= 3), "a full mesh of peers, node 3 included");
      failing = true;
      await s.serviceManager.write.closeBatch();
      const batch = await s.serviceManager.read.batchCount();
      try {
        await waitFor(() => lines.objects().some((l) => l.event === "batch_close_read_failed" && l.batch === String(batch)), "node 3's failed read of the close");
        expect(nodes[3]!.node.batchReport(batch)).to.equal(undefined);
        // Unless node 3 leads this batch, the others decide and gossip while node 3 does not know it: node 3 must
        // then get the seed and partials by batch sync once it has read the close.
        const leader = (await s.serviceManager.read.leaderOf([batch, 0n])).toLowerCase();
        if (leader !== nodes[3]!.node.operatorId) {
          await waitFor(() => [0, 1, 2].every((i) => nodes[i]!.node.decision(batch) !== undefined), "the other members' decisions");
        }
      } finally {
        failing = false;
      }
      await connection.networkHelpers.mine(1);
      await waitFor(() => nodes.every((n) => n.node.batchReport(batch)?.member === true), "every node's membership read");
      // The chain goes on as a live one would, up to 3 more blocks (below the fallback leader's turn at seedTimeout,
      // 5). A seed gossiped by node 3 right after its late read can miss peers whose subscriptions it has not seen
      // yet since its restart, and a node without the seed asks its peers for it two blocks after the close, every
      // two blocks (operator/duties/batchSync.ts): on a chain that stopped here, that recovery would never run.
      let mined = 0;
      const chain = setInterval(() => {
        if (mined < 3 && nodes.some((n) => n.node.decision(batch) === undefined)) {
          mined++;
          void connection.networkHelpers.mine(1);
        }
      }, 1_000);
      try {
        await waitFor(() => nodes.every((n) => n.node.decision(batch) !== undefined), "every node's decision, node 3's after its retry", 20_000);
      } catch (err) {
        const node3 = lines.objects().filter((l) => typeof l.event === "string" && /^batch_|^seed_|^result_/.test(l.event));
        const undecided = nodes.flatMap((n, i) => (n.node.decision(batch) === undefined ? [i] : []));
        throw new Error(`${(err as Error).message}; nodes without a decision: ${undecided.join(", ")}; ${mined} more block(s) mined; node 3 logged:\n${node3.map((l) => JSON.stringify(l)).join("\n")}`);
      } finally {
        clearInterval(chain);
      }
      expect(new Set(nodes.map((n) => n.node.decision(batch)!.messageHash)).size).to.equal(1);
    });
  });
});
