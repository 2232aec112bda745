/**
 * The aggregator wiring end to end on an in-process chain: real contracts, the chain follower, the pool with real
 * BLS partials, its own matcher run, the viem submitter with a keystore account; and once over real libp2p, with a
 * test peer gossiping the seed, the result list and the partials as operators do.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { Registry } from "prom-client";
import { createPublicClient, custom, type PublicClient } from "viem";
import { AggregatorNode, type AggregatorNodeOpts } from "../../aggregator/node.js";
import { ChainSubmitter, createAggregatorMetrics } from "../../aggregator/index.js";
import { Enforcer } from "../../aggregator/enforcer.js";
import { SendLock } from "../../aggregator/sendLock.js";
import { resultMessageDigest } from "../../protocol/avs/messages.js";
import type { Hex } from "../../protocol/bls/index.js";
import { readMatchInputs } from "../../protocol/chain/reads.js";
import { systemAddresses } from "../../protocol/chain/deployment.js";
import { createLogger } from "../../protocol/log/logger.js";
import { assignmentsHash, matchBatch } from "../../protocol/matching/index.js";
import { createMetrics } from "../../protocol/metrics/metrics.js";
import { BatchTable } from "../../protocol/p2p/batchTable.js";
import { MatchnetNetwork, defaultNetworkOpts } from "../../protocol/p2p/network.js";
import { GossipTopicName } from "../../protocol/p2p/topics.js";
import { deploySystem, orders, providerOffer, type System } from "../support/serviceManager.js";
import { keystoreWallet, leaderSeed } from "../support/aggregatorChain.js";
import { MemoryLines } from "../support/memory-stream.js";
import { createBlsVerifier } from "../../protocol/bls/index.js";
import { silentLogger } from "../../protocol/log/logger.js";
import { LevelDbController } from "../../protocol/db/controller.js";
import { BanRepository, type BanStore } from "../../protocol/p2p/banStore.js";
import { defaultPeerGuardOpts } from "../../protocol/p2p/peerGuard.js";
import type { Metrics } from "../../protocol/metrics/metrics.js";
import { makeTempDir } from "../support/tempdir.js";
import { keccak256, toHex } from "viem";
import { multiaddr } from "@multiformats/multiaddr";

const connection = await network.create();
const { networkHelpers } = connection;

async function closedBatch() {
  const s = await deploySystem(connection);
  await providerOffer(s, 0);
  await orders(s, 3);
  await s.serviceManager.write.closeBatch();
  return s;
}

async function openMarket() {
  const s = await deploySystem(connection);
  await providerOffer(s, 0);
  await orders(s, 1);
  return s;
}

/** The aggregator's p2p on a free local port, no bootstrap peer (the tests' peers dial it). */
const LOCAL_P2P: AggregatorNodeOpts["network"] = { listen: ["/ip4/127.0.0.1/tcp/0"], bootstrap: [], unknownBatchWaitMs: 1_000 };

async function startNode(s: System, net: AggregatorNodeOpts["network"] = null, client?: PublicClient, bans: BanStore | null = null) {
  const wallet = await keystoreWallet(s);
  const lines = new MemoryLines();
  const publicClient = client ?? (s.publicClient as PublicClient);
  const metrics = createMetrics();
  const logger = createLogger({ level: "info", destination: lines });
  const enforcer = new Enforcer(
    { serviceManager: s.serviceManager.address, operatorRegistry: s.operatorRegistry.address, slashInvalidResults: true, ejectInactive: true },
    { publicClient, walletClient: wallet.walletClient, sendLock: new SendLock(), logger, metrics: null },
  );
  const node = await AggregatorNode.start(
    { chainId: s.chainId, addresses: systemAddresses(s.deployment), quorumWaitBlocks: 1, pollIntervalMs: 3_600_000, network: net },
    {
      publicClient,
      submitter: new ChainSubmitter({ serviceManager: s.serviceManager.address }, { publicClient, walletClient: wallet.walletClient }),
      logger,
      metrics,
      aggregatorMetrics: createAggregatorMetrics(new Registry()),
      enforcer,
      bans,
    },
  );
  return { node, wallet, lines, metrics, enforcer };
}

/** What every honest operator computes for the batch: the matcher's output at R_b with the seed, and its digest. */
async function operatorView(s: System, batch: bigint, seed: Hex) {
  const R = BigInt((await s.serviceManager.read.getBatch([batch])).referenceBlock);
  const inputs = await readMatchInputs(s.publicClient as PublicClient, systemAddresses(s.deployment), R);
  const { assignments } = matchBatch(inputs, seed);
  const ah = assignmentsHash(assignments);
  const digest = resultMessageDigest({ chainId: s.chainId, serviceManager: s.serviceManager.address, batch, referenceBlock: R, seed, assignmentsHash: ah });
  return { R, assignments, assignmentsHash: ah, digest };
}

/**
 * A libp2p peer that only publishes (as an operator would); its own views are empty, so it ignores what it receives.
 * Given no node, it starts alone (what it publishes reaches nobody but stays servable to batch sync).
 */
async function publishingPeer(s: System, node: AggregatorNode | null, publishTimeoutMs = defaultNetworkOpts.publishTimeoutMs) {
  return MatchnetNetwork.start(
    { ...defaultNetworkOpts, chainId: s.chainId, listen: ["/ip4/127.0.0.1/tcp/0"], bootstrap: node?.network!.multiaddrs() ?? [], publishTimeoutMs },
    {
      batches: new BatchTable({ seedTimeoutBlocks: 5n, retainBatches: 4 }, { resultMessageHash: () => "0x" }),
      operators: { operatorAt: () => undefined },
      verifier: await createBlsVerifier("mcl"),
      logger: silentLogger(),
      metrics: null,
      processors: {},
    },
  );
}

/** The partial operator `o` gossips for batch 1: its signature on the view's digest, with the leader's seed proof. */
function operatorPartial(o: System["ops"][number], view: { assignmentsHash: Hex; digest: Hex }, seed: Awaited<ReturnType<typeof leaderSeed>>) {
  return { batch: 1n, resultHash: view.assignmentsHash, seed: seed.seed, operatorId: o.id, signature: o.sk.sign(view.digest), seedSigner: seed.leader.id, seedSignature: seed.signature };
}

async function until(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("aggregator node (follower + pool + own matcher + viem submitter) on an in-process chain", function () {
  this.timeout(60_000);

  it("given 4 operators sign the matcher's result → it should finalize the batch with those leases and log 'batch submitted'", async () => {
    const s = await networkHelpers.loadFixture(closedBatch);
    const { node, wallet, lines } = await startNode(s);
    try {
      expect(node.batch(1n)?.status).to.equal("open"); // found from contract views at start
      const seed = await leaderSeed(s, 1n);
      const notLeader = s.ops.find((o) => o.id !== seed.leader.id)!;
      expect(await node.addSeed(1n, 0, notLeader.sk.sign(await s.serviceManager.read.seedMessageHash([1n])))).to.equal(false);
      expect(await node.addSeed(1n, 0, seed.signature)).to.equal(true);

      const view = await operatorView(s, 1n, seed.seed);
      expect(view.assignments).to.have.length(3);
      for (const o of s.ops) node.addPartial({ batch: 1n, resultHash: view.digest, operatorId: o.id, signature: o.sk.sign(view.digest) });
      await until(() => node.aggregator.outcome(1n) !== undefined);

      expect(node.aggregator.outcome(1n)?.kind).to.equal("submitted");
      const b = await s.serviceManager.read.getBatch([1n]);
      expect(b.status).to.equal(2);
      expect(b.seed).to.equal(seed.seed);
      for (const a of view.assignments) {
        const lease = await s.marketplace.read.getLease([a.orderId]);
        expect([lease.status, lease.offerVersionId, lease.gpuCount]).to.deep.equal([1, a.offerVersionId, a.gpuCount]);
      }
      const submitted = lines.objects().filter((l) => l.event === "batch_submitted");
      expect(submitted).to.have.length(1);
      expect(submitted[0]).to.include({ batch: "1", signers: 4, nonSigners: 0, signedStakeBps: 10_000 });
      expect(BigInt(submitted[0]!.gasUsed as string) > 0n).to.equal(true);

      await node.follower.poll();
      expect(node.batch(1n)?.status).to.equal("final");
    } finally {
      await node.stop();
      await wallet.dir.remove();
    }
  });

  it("given signers below quorum → nothing should be sent over several blocks; given the rest sign → it should submit with every signer", async () => {
    const s = await networkHelpers.loadFixture(closedBatch);
    const { node, wallet, lines } = await startNode(s);
    try {
      const seed = await leaderSeed(s, 1n);
      await node.addSeed(1n, 0, seed.signature);
      const view = await operatorView(s, 1n, seed.seed);
      const byStake = [...s.ops]; // stakes 100, 200, 300, 400 (× 10^18)
      for (const o of byStake.slice(0, 3)) node.addPartial({ batch: 1n, resultHash: view.digest, operatorId: o.id, signature: o.sk.sign(view.digest) });
      for (let i = 0; i < 3; i++) {
        await networkHelpers.mine(1);
        await node.follower.poll();
      }
      await node.aggregator.poll();
      expect(node.aggregator.outcome(1n)).to.equal(undefined);
      expect(await s.publicClient.getTransactionCount({ address: wallet.address })).to.equal(0);
      expect((await s.serviceManager.read.getBatch([1n])).status).to.equal(1);

      const last = byStake[3]!;
      node.addPartial({ batch: 1n, resultHash: view.digest, operatorId: last.id, signature: last.sk.sign(view.digest) });
      await until(() => node.aggregator.outcome(1n) !== undefined);
      expect((await s.serviceManager.read.getBatch([1n])).status).to.equal(2);
      expect(lines.objects().find((l) => l.event === "batch_submitted")).to.include({ signers: 4, nonSigners: 0 });
    } finally {
      await node.stop();
      await wallet.dir.remove();
    }
  });

  it("given the RPC failing while a close is read → it should retry on the next block and not lose the batch", async () => {
    const s = await networkHelpers.loadFixture(openMarket);
    // The real chain behind a transport that can drop eth_call for a while (an RPC endpoint hiccup).
    let failing = false;
    const flaky = createPublicClient({
      transport: custom({
        request: async (args: { method: string; params?: unknown }) => {
          if (failing && args.method === "eth_call") throw new Error("RPC unavailable");
          return connection.provider.request(args as Parameters<typeof connection.provider.request>[0]);
        },
      }, { retryCount: 0 }),
      pollingInterval: 20,
      cacheTime: 0, // blocks come faster than any cache here
    }) as PublicClient;
    const { node, wallet, lines } = await startNode(s, null, flaky);
    try {
      failing = true;
      await s.serviceManager.write.closeBatch();
      await node.follower.poll();
      expect(node.batch(1n)).to.equal(null);
      expect(lines.objects().some((l) => l.event === "batch_close_read_failed")).to.equal(true);
      failing = false;
      await networkHelpers.mine(1);
      await node.follower.poll();
      expect(node.batch(1n)?.status).to.equal("open");
      expect(node.batchTable.batch(1n)?.seedMessageHash).to.equal(await s.serviceManager.read.seedMessageHash([1n]));
    } finally {
      await node.stop();
      await wallet.dir.remove();
    }
  });

  it("given an operator peer over libp2p gossiping the seed, the result list and 3 of 4 partials → it should submit after one more block, with one non-signer", async () => {
    const s = await networkHelpers.loadFixture(closedBatch);
    const { node, wallet, lines, metrics, enforcer } = await startNode(s, LOCAL_P2P);
    const peer = await publishingPeer(s, node);
    try {
      const seed = await leaderSeed(s, 1n);
      await until(() => peer.subscribers(GossipTopicName.Seed).length === 1);
      await peer.publishSeed({ batch: 1n, signer: seed.leader.id, signature: seed.signature });
      await until(() => node.batchTable.seeds(1n).length === 1);
      const view = await operatorView(s, 1n, seed.seed);
      await peer.publishResultList({ ...operatorPartial(s.ops[1]!, view, seed), assignments: view.assignments });
      const signers = s.ops.slice(1); // 200 + 300 + 400 = 900 of 1000
      for (const o of signers) {
        await peer.publishPartial(operatorPartial(o, view, seed));
      }
      await until(async () => (await metrics.gossipValidation.get()).values.some((v) => v.labels.topic === "partial" && v.labels.verdict === "accept" && v.value === 3));
      await node.aggregator.poll();
      await new Promise((r) => setTimeout(r, 100));
      expect(node.aggregator.outcome(1n)).to.equal(undefined); // quorum, but waiting one block for the straggler

      await networkHelpers.mine(1);
      await node.follower.poll();
      await until(() => node.aggregator.outcome(1n) !== undefined);
      expect((await s.serviceManager.read.getBatch([1n])).status).to.equal(2);
      expect(lines.objects().find((l) => l.event === "batch_submitted")).to.include({ signers: 3, nonSigners: 1, signedStakeBps: 9_000 });
      // Whom it heard from, for its ejections: the seed's leader and the three signers; batch 1 was closed before it
      // listened, so only batches from 2 on count as heard in full.
      expect(enforcer.heardIn(1n)).to.deep.equal({ listeningFrom: 2n, operators: [...new Set([seed.leader.id, ...signers.map((o) => o.id)])].sort() });
    } finally {
      await peer.stop();
      await node.stop();
      await wallet.dir.remove();
    }
  });
  it("given partials gossiped before it had a peer (its start-up sync asked nobody) → it should fetch them by batch sync two blocks after the close and submit", async () => {
    const s = await networkHelpers.loadFixture(closedBatch);
    // An operator that signed while no aggregator listened: its publishes reached nobody, its sync store has them.
    const operator = await publishingPeer(s, null, 50);
    const seed = await leaderSeed(s, 1n);
    const view = await operatorView(s, 1n, seed.seed);
    for (const o of s.ops) {
      const published = await operator.publishPartial(operatorPartial(o, view, seed)).catch((err: Error) => err.message);
      expect(published).to.match(/no subscriber/);
    }
    const { node, wallet, lines } = await startNode(s, LOCAL_P2P);
    try {
      await until(() => lines.objects().some((l) => l.event === "batch_synced"));
      expect(lines.objects().find((l) => l.event === "batch_synced")).to.include({ batch: "1", asked: 0, accepted: 0 });
      await operator.libp2p.dial(node.network!.libp2p.getMultiaddrs()[0]!);
      await until(() => node.network!.peerCount() === 1);

      await networkHelpers.mine(1);
      await node.follower.poll();
      await new Promise((r) => setTimeout(r, 200));
      expect(lines.objects().filter((l) => l.event === "batch_synced"), "no second round one block after the close").to.have.length(1);
      // The network asks about one batch at most once per syncMinIntervalMs; blocks here come faster than that.
      await new Promise((r) => setTimeout(r, defaultNetworkOpts.syncMinIntervalMs));
      await networkHelpers.mine(1);
      await node.follower.poll();
      await until(() => node.aggregator.outcome(1n) !== undefined);
      const rounds = lines.objects().filter((l) => l.event === "batch_synced");
      expect(rounds[1]).to.include({ batch: "1", asked: 1, answered: 1, messages: 4, accepted: 4 });
      expect(node.aggregator.outcome(1n)?.kind).to.equal("submitted");
      expect((await s.serviceManager.read.getBatch([1n])).status).to.equal(2);
      expect(lines.objects().find((l) => l.event === "batch_submitted")).to.include({ signers: 4, nonSigners: 0 });
    } finally {
      await operator.stop();
      await node.stop();
      await wallet.dir.remove();
    }
  });

  it("given partials over libp2p but no seed message (missed) → it should take the seed from the partials' proof and submit with every signer", async () => {
    const s = await networkHelpers.loadFixture(closedBatch);
    const { node, wallet, lines, metrics } = await startNode(s, LOCAL_P2P);
    const peer = await publishingPeer(s, node);
    try {
      const seed = await leaderSeed(s, 1n);
      const view = await operatorView(s, 1n, seed.seed);
      await until(() => peer.subscribers(GossipTopicName.Partial).length === 1);
      expect(node.batchTable.seeds(1n)).to.deep.equal([]);
      for (const o of s.ops) {
        await peer.publishPartial(operatorPartial(o, view, seed));
      }
      await until(() => node.aggregator.outcome(1n) !== undefined);
      expect(node.aggregator.outcome(1n)?.kind).to.equal("submitted");
      const b = await s.serviceManager.read.getBatch([1n]);
      expect([b.status, b.seed]).to.deep.equal([2, seed.seed]);
      expect(lines.objects().find((l) => l.event === "batch_submitted")).to.include({ signers: 4, nonSigners: 0 });
      // The leader's signature was paired once, by the first partial; the other three found the seed verified.
      const seedChecks = (await metrics.blsVerifySeconds.get()).values.find((v) => v.metricName === "matchnet_bls_verify_seconds_count" && v.labels.kind === "seed");
      expect(seedChecks?.value).to.equal(1);
    } finally {
      await peer.stop();
      await node.stop();
      await wallet.dir.remove();
    }
  });

  describe("given a peer banned for forged partials, then the aggregator restarted on the same data dir", () => {
    const refusals = async (m: Metrics, reason: string) => (await m.p2pRefusals.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;

    it("→ the restarted aggregator should refuse the banned identity at once, and a fresh identity connects", async () => {
      const s = await networkHelpers.loadFixture(closedBatch);
      const dir = await makeTempDir("agg-bans");
      const dbPath = `${dir.path}/db`;
      let db = await LevelDbController.open({ path: dbPath });
      const peers: MatchnetNetwork<unknown>[] = [];
      let running: Awaited<ReturnType<typeof startNode>> | null = null;
      try {
        running = await startNode(s, LOCAL_P2P, undefined, new BanRepository(db));
        const attacker = await publishingPeer(s, running.node);
        peers.push(attacker);
        await until(() => attacker.subscribers(GossipTopicName.Partial).length === 1);
        // Each partial carries the leader's real seed proof and the operator's signature over another message: it
        // passes every cheap check and fails the pairing (REJECT InvalidSignature).
        const seed = await leaderSeed(s, 1n);
        for (let i = 0; i < defaultPeerGuardOpts.rejectsBeforeBan; i++) {
          const view = { assignmentsHash: keccak256(toHex(`forged ${i}`)), digest: keccak256(toHex(`not the result message ${i}`)) };
          await attacker.publishPartial(operatorPartial(s.ops[i % s.ops.length]!, view, seed)).catch(() => 0);
        }
        const first = running.metrics;
        await until(async () => (await refusals(first, "ban")) === 1);
        await running.node.stop();
        await running.wallet.dir.remove();
        running = null;
        await db.close();

        db = await LevelDbController.open({ path: dbPath });
        running = await startNode(s, LOCAL_P2P, undefined, new BanRepository(db));
        const restarted = running.metrics;
        await attacker.libp2p.dial(multiaddr(running.node.network!.multiaddrs()[0]!)).catch(() => null);
        await until(async () => (await refusals(restarted, "conn_peer_banned")) >= 1);
        await until(() => running!.node.network!.peerCount() === 0);
        const fresh = await publishingPeer(s, running.node);
        peers.push(fresh);
        await until(() => fresh.peerCount() === 1);
      } finally {
        for (const p of peers) await p.stop();
        if (running) {
          await running.node.stop();
          await running.wallet.dir.remove();
        }
        await db.close();
        await dir.remove();
      }
    });
  });
});
