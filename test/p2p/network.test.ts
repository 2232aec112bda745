import { createServer } from "node:net";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { expect } from "chai";
import type { Hex } from "viem";
import { createLogger, silentLogger } from "../../protocol/log/logger.js";
import { createMetrics, type Metrics } from "../../protocol/metrics/metrics.js";
import { GossipErrorCode } from "../../protocol/p2p/errors.js";
import { encodePartialSignatureMessage } from "../../protocol/p2p/messages.js";
import { MatchnetNetwork, NetworkError, defaultNetworkOpts, type GossipProcessors } from "../../protocol/p2p/network.js";
import { GossipTopicName } from "../../protocol/p2p/topics.js";
import type { ValidatedPartial } from "../../protocol/p2p/validation/partial.js";
import { assignmentsHash as hashAssignments } from "../../protocol/matching/encode.js";
import { MemoryLines } from "../support/memory-stream.js";
import { TestOperatorSet, closeBatch, testBatchTable, testOperator, testPartial, testSeedProof, testVerifier, type PK } from "../support/p2p-fixtures.js";
const CHAIN_ID = 31337;
const RESULT: Hex = `0x${"a1".repeat(32)}`;

async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A TCP port free right now on 127.0.0.1 (bound and released), for a node whose address must be known before it starts. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

async function verdictCount(m: Metrics, topic: string, verdict: string, code: string): Promise<number> {
  return (await m.gossipValidation.get()).values.find((v) => v.labels.topic === topic && v.labels.verdict === verdict && v.labels.code === code)?.value ?? 0;
}

describe("protocol/p2p network (real libp2p nodes on 127.0.0.1)", function () {
  this.timeout(30_000);
  const [alice, bob, carol, dave] = [testOperator(1), testOperator(2), testOperator(3), testOperator(4)];
  const batches = testBatchTable();
  const operators = new TestOperatorSet();
  operators.add(alice!);
  operators.add(bob!);
  operators.failLookupsOf(dave!.id);
  // Alice leads both batches; batch 1's seed is verified up front, batch 2 is final.
  const proof = (batch: bigint) => testSeedProof(alice!, batch);
  closeBatch(batches, 1n, { seeds: [proof(1n).seed], leaderOrder: [alice!.id] });
  closeBatch(batches, 2n, { seeds: [proof(2n).seed], leaderOrder: [alice!.id] });
  batches.markFinal(2n);

  interface TestNode {
    net: MatchnetNetwork<PK>;
    metrics: Metrics;
    partials: ValidatedPartial<PK>[];
  }
  const started: MatchnetNetwork<PK>[] = [];

  async function startNode(
    bootstrap: string[],
    processors: Partial<GossipProcessors<PK>> = {},
    extra: { publishTimeoutMs?: number; logger?: ReturnType<typeof silentLogger>; listen?: string; privateKey?: Awaited<ReturnType<typeof generateKeyPair>>; redialIntervalMs?: number } = {},
  ): Promise<TestNode> {
    const metrics = createMetrics();
    const partials: ValidatedPartial<PK>[] = [];
    const net = await MatchnetNetwork.start<PK>(
      {
        ...defaultNetworkOpts,
        chainId: CHAIN_ID,
        listen: [extra.listen ?? "/ip4/127.0.0.1/tcp/0"],
        bootstrap,
        publishTimeoutMs: extra.publishTimeoutMs ?? 5_000,
        redialIntervalMs: extra.redialIntervalMs ?? defaultNetworkOpts.redialIntervalMs,
        ...(extra.privateKey ? { privateKey: extra.privateKey } : {}),
      },
      {
        batches,
        operators,
        verifier: await testVerifier(),
        logger: extra.logger ?? silentLogger(),
        metrics,
        processors: { partial: (v) => void partials.push(v), ...processors },
      },
    );
    started.push(net);
    return { net, metrics, partials };
  }

  const validPartial = (op = alice!, batch = 1n) => testPartial(op, batch, RESULT, proof(batch));

  let a: TestNode, b: TestNode, c: TestNode;
  let cLog: MemoryLines;

  before(async () => {
    a = await startNode([]);
    b = await startNode(a.net.multiaddrs());
    cLog = new MemoryLines();
    c = await startNode([...a.net.multiaddrs(), ...b.net.multiaddrs()], {
      partial: () => {
        throw new Error("processing blew up");
      },
    }, { logger: createLogger({ level: "warn", destination: cLog }) });
    await until(() => [a, b, c].every((n) => n.net.subscribers(GossipTopicName.Partial).length === 2), "three nodes subscribed to each other");
  });

  after(async () => {
    for (const net of started.reverse()) await net.stop();
    for (const net of started) expect(net.libp2p.status).to.equal("stopped");
  });

  describe("given a valid partial published by one node", () => {
    it("should deliver, validate and process it on the other two, counting accepts and peers", async () => {
      const recipients = await a.net.publishPartial(validPartial());
      expect(recipients).to.equal(2);
      await until(() => b.partials.length === 1, "delivery to b");
      expect(b.partials[0]!.message.operatorId).to.equal(alice!.id);
      expect(b.partials[0]!.operator.stake).to.equal(100n);
      await until(async () => (await verdictCount(c.metrics, "partial", "accept", "ok")) === 1, "accept counted on c");
      expect((await b.metrics.peers.get()).values[0]?.value).to.equal(2);
    });

    it("should log and count a processing failure without turning it into a reject", async () => {
      await until(async () => (await c.metrics.gossipProcessErrors.get()).values[0]?.value === 1, "process error counted on c");
      expect(await verdictCount(c.metrics, "partial", "reject", GossipErrorCode.InvalidSignature)).to.equal(0);
      expect(cLog.objects().some((l) => l.event === "gossip_processing_failed")).to.equal(true);
    });

    it("should deliver a result list and a seed as well", async () => {
      const assignments = [{ orderId: 1n, offerVersionId: 2n, gpuCount: 1, pricePerGpuHour: 7n }];
      await b.net.publishResultList({ ...testPartial(bob!, 1n, hashAssignments(assignments), proof(1n)), assignments });
      await b.net.publishSeed({ batch: 1n, signer: alice!.id, signature: alice!.sk.sign(batches.batch(1n)!.seedMessageHash) });
      await until(async () => (await verdictCount(a.metrics, "result-list", "accept", "ok")) === 1, "result list accepted on a");
      await until(async () => (await verdictCount(a.metrics, "seed", "accept", "ok")) === 1, "seed accepted on a");
    });
  });

  describe("given a peer sending bad messages", () => {
    const cases: { name: string; bytes: () => Uint8Array; verdict: "reject" | "ignore"; code: GossipErrorCode }[] = [
      { name: "malformed (truncated)", bytes: () => encodePartialSignatureMessage(validPartial(bob!)).subarray(0, 100), verdict: "reject", code: GossipErrorCode.Malformed },
      { name: "oversized", bytes: () => new Uint8Array(4_096).fill(1), verdict: "reject", code: GossipErrorCode.TooLarge },
      { name: "stale (batch final)", bytes: () => encodePartialSignatureMessage(validPartial(bob!, 2n)), verdict: "ignore", code: GossipErrorCode.BatchFinal },
      { name: "from an unknown sender", bytes: () => encodePartialSignatureMessage(validPartial(carol!)), verdict: "reject", code: GossipErrorCode.UnknownOperator },
      {
        name: "with a bad signature",
        bytes: () => encodePartialSignatureMessage(testPartial(bob!, 1n, RESULT, proof(1n), carol!.sk)),
        verdict: "reject",
        code: GossipErrorCode.InvalidSignature,
      },
      {
        name: "whose sender cannot be looked up (our RPC failing)",
        bytes: () => encodePartialSignatureMessage(validPartial(dave!)),
        verdict: "ignore",
        code: GossipErrorCode.ValidatorFailed,
      },
    ];

    for (const tc of cases) {
      it(`${tc.name} → it should ${tc.verdict} it with ${tc.code}, count it, ${tc.verdict === "reject" ? "lower the sender's score" : "not penalize the sender"}, and keep running`, async () => {
        const attacker = await startNode(b.net.multiaddrs());
        await until(() => attacker.net.subscribers(GossipTopicName.Partial).includes(b.net.peerId.toString()), "attacker sees b subscribed");
        await attacker.net.publishRaw(GossipTopicName.Partial, tc.bytes());
        await until(async () => (await verdictCount(b.metrics, "partial", tc.verdict, tc.code)) === 1, `${tc.code} counted on b`);
        const stats = (b.net.libp2p.services.pubsub as unknown as { dumpPeerScoreStats(): Record<string, { topics: Record<string, { invalidMessageDeliveries: number }> }> })
          .dumpPeerScoreStats()[attacker.net.peerId.toString()]!.topics[b.net.topic(GossipTopicName.Partial)]!;
        if (tc.verdict === "reject") {
          // One invalid delivery, possibly already decayed by a heartbeat (× 0.99 per second).
          expect(stats.invalidMessageDeliveries).to.be.within(0.9, 1);
          // gossipsub caches a peer's score for one heartbeat (1 s), so the drop shows within about that long.
          await until(() => b.net.peerScore(attacker.net.peerId) < 0, "attacker's score below 0 on b", 3_000);
        } else {
          expect(stats.invalidMessageDeliveries).to.equal(0);
        }
        await attacker.net.stop();
      });
    }

    it("should still accept valid messages afterwards (no node crashed)", async () => {
      const before = b.partials.length;
      await c.net.publishPartial(validPartial(bob!));
      await until(() => b.partials.length === before + 1, "valid partial after the bad ones");
      expect(b.net.libp2p.status).to.equal("started");
    });
  });

  describe("given no subscriber yet", () => {
    it("should wait for one before publishing", async () => {
      const lonely = await startNode([]);
      const publishing = lonely.net.publishPartial(validPartial(bob!, 1n));
      await new Promise((r) => setTimeout(r, 100));
      const late = await startNode(lonely.net.multiaddrs());
      expect(await publishing).to.equal(1);
      await until(() => late.partials.length === 1, "delivery to the late subscriber");
    });

    it("should give up with PublishTimeout when none comes", async () => {
      const alone = await startNode([], {}, { publishTimeoutMs: 150 });
      try {
        await alone.net.publishPartial(validPartial());
        expect.fail("expected PublishTimeout");
      } catch (err) {
        expect(err).to.be.instanceOf(NetworkError);
        expect((err as NetworkError).code).to.equal("PublishTimeout");
      }
    });
  });

  describe("given a bootstrap peer that is down at start and restarts later", () => {
    it("should keep dialling it and reconnect each time it comes back with the same identity", async () => {
      const key = await generateKeyPair("Ed25519");
      const port = await freePort();
      const listen = `/ip4/127.0.0.1/tcp/${port}`;
      const address = `${listen}/p2p/${peerIdFromPrivateKey(key).toString()}`;
      const follower = await startNode([address], {}, { redialIntervalMs: 100 });
      expect(follower.net.peerCount()).to.equal(0);

      const first = await startNode([], {}, { listen, privateKey: key });
      await until(() => follower.net.peerCount() === 1, "follower connected to the late bootstrap peer");
      await first.net.stop();
      await until(() => follower.net.peerCount() === 0 && follower.net.subscribers(GossipTopicName.Partial).length === 0, "disconnect seen, by gossipsub too");

      const second = await startNode([], {}, { listen, privateKey: key });
      await until(() => follower.net.peerCount() === 1, "follower reconnected after the restart");
      await until(() => follower.net.subscribers(GossipTopicName.Partial).length === 1, "subscription after reconnect");
      expect(await follower.net.publishPartial(validPartial(bob!))).to.equal(1, "recipients of the publish");
      await until(() => second.partials.length === 1, "delivery after reconnect");
    });
  });
});
