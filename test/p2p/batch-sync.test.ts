import { expect } from "chai";
import type { Hex } from "viem";
import { silentLogger } from "../../protocol/log/logger.js";
import { createMetrics, type Metrics } from "../../protocol/metrics/metrics.js";
import {
  BatchSyncError,
  MAX_SYNC_MESSAGES,
  SyncStore,
  decodeSyncRequest,
  decodeSyncResponse,
  encodeSyncRequest,
  encodeSyncResponse,
} from "../../protocol/p2p/batchSync.js";
import { encodePartialSignatureMessage, encodeSeedMessage, PARTIAL_MESSAGE_BYTES } from "../../protocol/p2p/messages.js";
import { MatchnetNetwork, defaultNetworkOpts } from "../../protocol/p2p/network.js";
import { GossipTopicName } from "../../protocol/p2p/topics.js";
import type { ValidatedPartial } from "../../protocol/p2p/validation/partial.js";
import type { ValidatedSeed } from "../../protocol/p2p/validation/seed.js";
import type { BatchTable } from "../../protocol/p2p/batchTable.js";
import { TestOperatorSet, closeBatch, testBatchTable, testOperator, testPartial, testSeedMessageHash, testSeedProof, testVerifier, type PK } from "../support/p2p-fixtures.js";
const RESULT: Hex = `0x${"a1".repeat(32)}`;

async function until(cond: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function verdicts(m: Metrics, topic: string): Promise<[string, string, number][]> {
  return (await m.gossipValidation.get()).values.filter((v) => v.labels.topic === topic).map((v) => [String(v.labels.verdict), String(v.labels.code), v.value]);
}

describe("protocol/p2p batch sync", function () {
  this.timeout(30_000);
  const [leader, alice, bob] = [testOperator(1), testOperator(2), testOperator(3)];
  const seedBytes = (batch: bigint) => encodeSeedMessage({ batch, signer: leader.id, signature: testSeedProof(leader, batch).seedSignature });
  const partialBytes = (op: typeof alice, batch: bigint) => encodePartialSignatureMessage(testPartial(op, batch, RESULT, testSeedProof(leader, batch)));

  describe("given the wire formats", () => {
    it("should round-trip a request, and refuse another length or version with a BatchSyncError", () => {
      expect(decodeSyncRequest(encodeSyncRequest((1n << 64n) - 1n))).to.equal((1n << 64n) - 1n);
      expect(() => decodeSyncRequest(new Uint8Array(8))).to.throw(BatchSyncError, /9/);
      const v2 = encodeSyncRequest(1n);
      v2[0] = 2;
      expect(() => decodeSyncRequest(v2)).to.throw(BatchSyncError, /version 2/);
    });

    it("should round-trip a response with seeds put before partials", () => {
      const messages = [
        { topic: GossipTopicName.Partial, data: partialBytes(alice, 4n) },
        { topic: GossipTopicName.Seed, data: seedBytes(4n) },
      ];
      expect(decodeSyncResponse(encodeSyncResponse(messages))).to.deep.equal([messages[1], messages[0]]);
      expect(decodeSyncResponse(encodeSyncResponse([]))).to.deep.equal([]);
    });

    it("should refuse truncated, padded, unknown-topic and over-long responses", () => {
      const good = encodeSyncResponse([{ topic: GossipTopicName.Partial, data: partialBytes(alice, 4n) }]);
      expect(() => decodeSyncResponse(good.subarray(0, good.length - 1))).to.throw(BatchSyncError, /truncated/);
      expect(() => decodeSyncResponse(Uint8Array.from([...good, 0]))).to.throw(BatchSyncError, /after its 1 messages/);
      const badTag = Uint8Array.from(good);
      badTag[3] = 9;
      expect(() => decodeSyncResponse(badTag)).to.throw(BatchSyncError, /unknown topic tag 9/);
      const tooMany = Uint8Array.from(good);
      new DataView(tooMany.buffer).setUint16(1, MAX_SYNC_MESSAGES + 1, false);
      expect(() => decodeSyncResponse(tooMany)).to.throw(BatchSyncError, /more than/);
      expect(() => decodeSyncResponse(new Uint8Array(2))).to.throw(BatchSyncError, /header/);
      expect(() => encodeSyncResponse([{ topic: GossipTopicName.Partial, data: new Uint8Array(PARTIAL_MESSAGE_BYTES - 1) }])).to.throw(RangeError);
    });
  });

  describe("given the store of servable messages", () => {
    it("should keep each message once per batch, only for seeds and partials, and forget the oldest batches", () => {
      const store = new SyncStore(2);
      store.add(GossipTopicName.Seed, seedBytes(1n));
      store.add(GossipTopicName.Seed, seedBytes(1n));
      store.add(GossipTopicName.Partial, partialBytes(alice, 1n));
      store.add(GossipTopicName.ResultList, new Uint8Array(45));
      expect(store.messages(1n).map((m) => m.topic)).to.deep.equal([GossipTopicName.Seed, GossipTopicName.Partial]);
      store.add(GossipTopicName.Seed, seedBytes(2n));
      store.add(GossipTopicName.Seed, seedBytes(3n));
      expect(store.messages(1n)).to.deep.equal([]);
      store.add(GossipTopicName.Seed, seedBytes(1n)); // older than everything kept: not stored
      expect(store.messages(1n)).to.deep.equal([]);
      expect(store.messages(3n)).to.have.length(1);
    });
  });

  describe("given real libp2p nodes, one joining after a batch's gossip went round", () => {
    const started: MatchnetNetwork<PK>[] = [];
    after(async () => {
      for (const n of started) await n.stop();
    });

    async function startNode(batches: BatchTable, bootstrap: string[], seen: { seeds: ValidatedSeed<PK>[]; partials: ValidatedPartial<PK>[] }, publishTimeoutMs = 10_000) {
      const operators = new TestOperatorSet();
      for (const op of [leader, alice, bob]) operators.add(op);
      const metrics = createMetrics();
      const net = await MatchnetNetwork.start<PK>(
        { ...defaultNetworkOpts, chainId: 31337, listen: ["/ip4/127.0.0.1/tcp/0"], bootstrap, publishTimeoutMs },
        {
          batches,
          operators,
          verifier: await testVerifier(),
          logger: silentLogger(),
          metrics,
          processors: { seed: (v) => void seen.seeds.push(v), partial: (v) => void seen.partials.push(v) },
        },
      );
      started.push(net);
      return { net, metrics };
    }

    it("→ the late node should get the seed and the partials by request, validated and processed like gossip", async () => {
      const openBatch = () => {
        const table = testBatchTable();
        closeBatch(table, 1n, { leaderOrder: [leader.id] });
        return table;
      };
      const seenA = { seeds: [] as ValidatedSeed<PK>[], partials: [] as ValidatedPartial<PK>[] };
      const a = await startNode(openBatch(), [], seenA);
      const b = await startNode(openBatch(), a.net.multiaddrs(), { seeds: [], partials: [] });
      await until(() => b.net.subscribers(GossipTopicName.Seed).length === 1, "b subscribed at a");
      // b publishes (the leader's seed and alice's partial); a accepts both.
      await b.net.publishRaw(GossipTopicName.Seed, seedBytes(1n));
      await b.net.publishRaw(GossipTopicName.Partial, partialBytes(alice, 1n));
      await until(() => seenA.seeds.length === 1 && seenA.partials.length === 1, "gossip accepted at a");

      // c joins afterwards: gossip has no history, so it asks.
      const seenC = { seeds: [] as ValidatedSeed<PK>[], partials: [] as ValidatedPartial<PK>[] };
      const c = await startNode(openBatch(), [...a.net.multiaddrs(), ...b.net.multiaddrs()], seenC);
      await until(() => c.net.peerCount() === 2, "c connected to a and b");
      const outcome = await c.net.requestBatch(1n);
      // Both peers hold the two messages (a accepted them, b published them); the second copies are AlreadySeen.
      expect(outcome).to.deep.equal({ asked: 2, answered: 2, messages: 4, accepted: 2, dropped: 0 });
      await until(() => seenC.seeds.length === 1 && seenC.partials.length === 1, "processed at c");
      expect(seenC.partials[0]!.message.operatorId).to.equal(alice.id);
      expect(await verdicts(c.metrics, "seed")).to.deep.include.members([["accept", "ok", 1], ["ignore", "AlreadySeen", 1]]);
      // A batch nobody holds: answered, empty.
      expect(await c.net.requestBatch(7n)).to.deep.equal({ asked: 2, answered: 2, messages: 0, accepted: 0, dropped: 0 });
    });

    it("→ a forged message in a response should be rejected by the validator, not processed, and its sender dropped", async () => {
      const view = testBatchTable();
      closeBatch(view, 1n, { leaderOrder: [leader.id] });
      const liar = await startNode(view, [], { seeds: [], partials: [] }, 50);
      // The liar publishes a seed signed by the wrong key (its own validator never sees its own publication).
      const forged = encodeSeedMessage({ batch: 1n, signer: leader.id, signature: bob.sk.sign(testSeedMessageHash(1n)) });
      await liar.net.publishRaw(GossipTopicName.Seed, forged).catch(() => 0); // no subscriber yet: stored all the same
      const seen = { seeds: [] as ValidatedSeed<PK>[], partials: [] as ValidatedPartial<PK>[] };
      const victimView = testBatchTable();
      closeBatch(victimView, 1n, { leaderOrder: [leader.id] });
      const victim = await startNode(victimView, liar.net.multiaddrs(), seen);
      await until(() => victim.net.peerCount() === 1, "victim connected");
      expect(await victim.net.requestBatch(1n)).to.deep.equal({ asked: 1, answered: 1, messages: 1, accepted: 0, dropped: 1 });
      expect(await verdicts(victim.metrics, "seed")).to.deep.equal([["reject", "InvalidSignature", 1]]);
      await new Promise((r) => setImmediate(r));
      expect(seen.seeds).to.have.length(0);
    });
  });
});
