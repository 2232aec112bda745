/**
 * Hostile peers against real nodes: real libp2p and gossipsub on 127.0.0.1, real BN254 signatures checked by the
 * mcl verifier, the real BatchTable. Each case is what a fuzzing peer did to a node, and what the node must bound.
 */
import { connect, type Socket } from "node:net";
import { multiaddr } from "@multiformats/multiaddr";
import { expect } from "chai";
import type { Libp2p } from "libp2p";
import type { Hex } from "viem";
import { batchSyncProtocol, encodeSyncResponse } from "../../protocol/p2p/batchSync.js";
import { encodePartialSignatureMessage } from "../../protocol/p2p/messages.js";
import type { MatchnetNetwork } from "../../protocol/p2p/network.js";
import { GossipTopicName } from "../../protocol/p2p/topics.js";
import { defaultPeerGuardOpts } from "../../protocol/p2p/peerGuard.js";
import { BanRepository } from "../../protocol/p2p/banStore.js";
import { LevelDbController } from "../../protocol/db/controller.js";
import { makeTempDir } from "../support/tempdir.js";
import { assignmentsHash } from "../../protocol/matching/encode.js";
import type { Metrics } from "../../protocol/metrics/metrics.js";
import { CHAIN_ID, aliceId, bobId, bobSk, closedBatchTable, forgedPartial, honestPartial, pairings, refusals, startBareNode, startVictim, until, type Victim } from "../support/hostile-p2p.js";

const RESULT: Hex = `0x${"a1".repeat(32)}`;

async function verdict(m: Metrics, topic: string, v: string, code: string): Promise<number> {
  return (await m.gossipValidation.get()).values.find((x) => x.labels.topic === topic && x.labels.verdict === v && x.labels.code === code)?.value ?? 0;
}

describe("protocol/p2p under hostile peers (real libp2p, real BLS, real BatchTable)", function () {
  this.timeout(60_000);
  const nets: MatchnetNetwork<unknown>[] = [];
  const bare: Libp2p[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    for (const n of nets.splice(0).reverse()) await n.stop();
    for (const n of bare.splice(0)) await n.stop();
  });
  async function victim(...args: Parameters<typeof startVictim>): Promise<Victim> {
    const v = await startVictim(...args);
    nets.push(v.net as MatchnetNetwork<unknown>);
    return v;
  }

  describe("given a fresh identity flooding partials whose signatures do not verify", () => {
    it("→ it should check at most rejectsBeforeBan + maxValidationsPerPeer − 1 of them, disconnect the peer and refuse it, then the IP after two such identities", async () => {
      const target = await victim();
      let sent = 0;
      const flood = async () => {
        const attacker = await victim({ bootstrap: target.net.multiaddrs() });
        await until(() => attacker.net.subscribers(GossipTopicName.Partial).includes(target.net.peerId.toString()), "attacker sees the target subscribed");
        for (let i = 0; i < 100; i++) {
          await attacker.net.publishRaw(GossipTopicName.Partial, encodePartialSignatureMessage(forgedPartial(target.table, RESULT, sent++))).catch(() => 0);
        }
        return attacker;
      };
      const first = await flood();
      await until(() => target.net.peerCount() === 0, "the flooding peer disconnected");
      const bound = defaultPeerGuardOpts.rejectsBeforeBan + defaultPeerGuardOpts.maxValidationsPerPeer - 1;
      expect(await pairings(target.metrics, "partial")).to.be.within(defaultPeerGuardOpts.rejectsBeforeBan, bound);
      expect(await refusals(target.metrics, "ban")).to.equal(1);
      // Its dials back are refused after the handshake (its identity is banned).
      await until(() => first.net.peerCount() === 0, "the flooding peer saw the disconnect");
      // Refused once its identity is known (the end of the noise handshake); the dialer may see the connection
      // open for a moment before the close.
      await first.net.libp2p.dial(multiaddr(target.net.multiaddrs()[0]!)).catch(() => null);
      await until(() => first.net.peerCount() === 0 && target.net.peerCount() === 0, "the redial closed");
      expect(await refusals(target.metrics, "conn_peer_banned")).to.be.greaterThanOrEqual(1);

      // A second identity from the same (not allow-listed) IP: banned too, and with it the IP.
      await flood();
      await until(async () => (await refusals(target.metrics, "ip_ban")) === 1, "the IP banned");
      expect(await pairings(target.metrics, "partial")).to.be.at.most(2 * bound);
      const third = await victim();
      const refused = await third.net.libp2p.dial(multiaddr(target.net.multiaddrs()[0]!)).then(() => false, () => true);
      expect(refused).to.equal(true);
      expect(await refusals(target.metrics, "conn_ip_banned")).to.be.greaterThanOrEqual(1);
    });

    it("→ a peer from an allow-listed IP should be banned by identity but its IP never refused", async () => {
      const target = await victim({ allow: ["/ip4/127.0.0.1"] });
      for (let k = 0; k < 2; k++) {
        const attacker = await victim({ bootstrap: target.net.multiaddrs() });
        await until(() => attacker.net.subscribers(GossipTopicName.Partial).length === 1, "attacker sees the target subscribed");
        for (let i = 0; i < 10; i++) await attacker.net.publishRaw(GossipTopicName.Partial, encodePartialSignatureMessage(forgedPartial(target.table, RESULT, 100 * k + i))).catch(() => 0);
        await until(async () => (await refusals(target.metrics, "ban")) === k + 1, `identity ${k} banned`);
      }
      const honest = await victim({ bootstrap: target.net.multiaddrs() });
      await until(() => honest.net.peerCount() === 1, "a fresh peer from the allow-listed IP connects");
      expect(await refusals(target.metrics, "ip_ban")).to.equal(0);
    });
  });

  describe("given a peer banned for forged partials, then the node restarted on the same LevelDB", () => {
    it("→ the restarted node should refuse the banned identity's dial at once; a fresh identity connects", async () => {
      const dir = await makeTempDir("p2p-bans");
      let db = await LevelDbController.open({ path: dir.path });
      try {
        const first = await startVictim({}, {}, closedBatchTable(), new BanRepository(db));
        const attacker = await victim({ bootstrap: first.net.multiaddrs() });
        await until(() => attacker.net.subscribers(GossipTopicName.Partial).length === 1, "attacker sees the target subscribed");
        for (let i = 0; i < 10; i++) await attacker.net.publishRaw(GossipTopicName.Partial, encodePartialSignatureMessage(forgedPartial(first.table, RESULT, i))).catch(() => 0);
        await until(async () => (await refusals(first.metrics, "ban")) === 1, "the attacker banned");
        await first.net.stop();
        await db.close();

        db = await LevelDbController.open({ path: dir.path });
        const restarted = await victim({}, {}, closedBatchTable(), new BanRepository(db));
        await attacker.net.libp2p.dial(multiaddr(restarted.net.multiaddrs()[0]!)).catch(() => null);
        await until(async () => (await refusals(restarted.metrics, "conn_peer_banned")) >= 1, "the banned identity refused after the restart");
        await until(() => restarted.net.peerCount() === 0, "no connection left to the banned identity");
        const fresh = await victim({ bootstrap: restarted.net.multiaddrs() });
        await until(() => fresh.net.peerCount() === 1, "a fresh identity from the same address connects");
      } finally {
        for (const n of nets.splice(0).reverse()) await n.stop();
        await db.close();
        await dir.remove();
      }
    });
  });

  describe("given a peer publishing made-up result lists with a correct hash", () => {
    it("→ a relay should reject each one (not the publisher's signature), forward none, and still carry the operator's own list", async () => {
      const receiverLists: string[] = [];
      const relay = await victim();
      const receiver = await victim({ bootstrap: relay.net.multiaddrs() }, { resultList: (v) => void receiverLists.push(v.message.operatorId) });
      const attacker = await victim({ bootstrap: relay.net.multiaddrs() });
      const honest = await victim({ bootstrap: relay.net.multiaddrs() });
      await until(() => relay.net.subscribers(GossipTopicName.ResultList).length === 3, "three peers subscribed at the relay");
      const madeUp = (i: number) => [{ orderId: BigInt(i + 1), offerVersionId: 7n, gpuCount: 8, pricePerGpuHour: 1n }];
      for (let i = 0; i < 3; i++) {
        const assignments = madeUp(i);
        // Claims alice as its publisher, hashes right, but only bob's key signed it.
        const forged = { ...honestPartial(relay.table, assignmentsHash(assignments), bobSk, aliceId), assignments };
        await attacker.net.publishResultList(forged);
      }
      await until(async () => (await verdict(relay.metrics, "result-list", "reject", "InvalidSignature")) === 3, "three rejects at the relay");
      const real = [{ orderId: 4n, offerVersionId: 9n, gpuCount: 2, pricePerGpuHour: 1_500_000n }];
      await honest.net.publishResultList({ ...honestPartial(relay.table, assignmentsHash(real)), assignments: real });
      await until(() => receiverLists.length === 1, "the operator's list at the receiver");
      expect(receiverLists).to.deep.equal([aliceId]);
      expect(await verdict(receiver.metrics, "result-list", "reject", "InvalidSignature")).to.equal(0);
      expect(await verdict(relay.metrics, "result-list", "accept", "ok")).to.equal(1);
    });
  });

  describe("given a double signature gossiped after the batch is final", () => {
    it("→ it should check the conflicting partial in full and hand it on as late equivocation evidence, and still ignore other partials of the batch unchecked", async () => {
      const seen: { operatorId: Hex; equivocates?: Hex; late?: boolean }[] = [];
      const target = await victim({}, { partial: (v) => void seen.push({ operatorId: v.message.operatorId, equivocates: v.equivocates?.resultHash, late: v.late }) });
      const sender = await victim({ bootstrap: target.net.multiaddrs() });
      await until(() => sender.net.subscribers(GossipTopicName.Partial).length === 1, "sender sees the target subscribed");
      const RESULT_B: Hex = `0x${"b2".repeat(32)}`;
      await sender.net.publishPartial(honestPartial(target.table, RESULT));
      await until(() => seen.length === 1, "alice's partial while the batch is open");
      target.table.markFinal(1n);
      const checked = await pairings(target.metrics, "partial");
      await sender.net.publishPartial(honestPartial(target.table, RESULT, bobSk, bobId));
      await until(async () => (await verdict(target.metrics, "partial", "ignore", "BatchFinal")) === 1, "bob's first partial ignored: the batch is over");
      expect(await pairings(target.metrics, "partial")).to.equal(checked);
      await sender.net.publishPartial(honestPartial(target.table, RESULT_B));
      await until(() => seen.length === 2, "alice's second partial as evidence");
      expect(seen[1]).to.deep.equal({ operatorId: aliceId, equivocates: RESULT, late: true });
      expect(await pairings(target.metrics, "partial")).to.equal(checked + 1);
    });
  });

  describe("given a batch-sync responder answering with 2 048 believable fake partials", () => {
    it("→ it should stop at the first reject (one pairing), ban the responder and not ask it again", async () => {
      const requester = await victim();
      const liar = await startBareNode();
      bare.push(liar);
      let served = 0;
      // Identical bytes: a rejected partial is not remembered, so each copy used to cost its own pairing.
      const fake = encodePartialSignatureMessage(forgedPartial(requester.table, RESULT, 0));
      const fakes = Array.from({ length: 2_048 }, () => ({ topic: GossipTopicName.Partial, data: fake }));
      const answer = encodeSyncResponse(fakes);
      await liar.handle(batchSyncProtocol(CHAIN_ID), async (stream) => {
        served++;
        for await (const _ of stream) void _;
        stream.send(answer);
        await stream.close();
      });
      await requester.net.libp2p.dial(multiaddr(`${liar.getMultiaddrs()[0]!.toString()}`));
      const outcome = await requester.net.requestBatch(1n);
      expect(outcome).to.deep.equal({ asked: 1, answered: 1, messages: 1, accepted: 0, dropped: 1 });
      expect(await pairings(requester.metrics, "partial")).to.equal(1);
      expect(await refusals(requester.metrics, "sync_reject")).to.equal(1);
      await until(() => requester.net.peerCount() === 0, "the responder disconnected");
      await new Promise((r) => setTimeout(r, requester.net.opts.syncMinIntervalMs));
      expect(await requester.net.requestBatch(1n)).to.deep.include({ asked: 0 });
      expect(served).to.equal(1);
    });
  });

  describe("given one batch asked for many times at once (a node catching up on blocks)", () => {
    it("→ it should run one round, skip rounds within syncMinIntervalMs, and run again once it passed", async () => {
      const requester = await victim({ syncMinIntervalMs: 1_500 });
      const peer = await startBareNode();
      bare.push(peer);
      let served = 0;
      await peer.handle(batchSyncProtocol(CHAIN_ID), async (stream) => {
        served++;
        for await (const _ of stream) void _;
        stream.send(encodeSyncResponse([]));
        await stream.close();
      });
      await requester.net.libp2p.dial(peer.getMultiaddrs()[0]!);
      const rounds = await Promise.all(Array.from({ length: 20 }, () => requester.net.requestBatch(1n)));
      expect(new Set(rounds).size).to.equal(1);
      expect(served).to.equal(1);
      expect(await requester.net.requestBatch(1n)).to.deep.include({ asked: 0 });
      expect(await refusals(requester.metrics, "sync_round_skipped")).to.equal(1);
      await new Promise((r) => setTimeout(r, 1_500));
      expect(await requester.net.requestBatch(1n)).to.deep.include({ asked: 1, answered: 1 });
      expect(served).to.equal(2);
    });
  });

  describe("given ten silent TCP sockets from another address, reopened as they are closed", () => {
    it("→ a peer from an allow-listed address should still connect, and the silent ones be refused per IP", async function () {
      const target = await victim({ allow: ["/ip4/127.0.0.1"] });
      const port = Number(/\/tcp\/(\d+)/.exec(target.net.multiaddrs()[0]!)![1]);
      let stopped = false;
      const open = () => {
        if (stopped) return;
        const s = connect({ host: "127.0.0.1", port, localAddress: "127.0.0.2" });
        s.on("error", () => {});
        s.on("close", () => setTimeout(open, 20));
        sockets.push(s);
      };
      for (let i = 0; i < 10; i++) open();
      try {
        await until(async () => (await refusals(target.metrics, "conn_ip_pending")) > 0 || target.net.libp2p.getConnections().length > 0, "silent sockets at the target", 3_000).catch(() => {});
        const dialer = await victim({ bootstrap: target.net.multiaddrs(), redialIntervalMs: 200 });
        await until(() => dialer.net.peerCount() === 1, "the allow-listed peer connected", 8_000);
        expect(await refusals(target.metrics, "conn_ip_pending")).to.be.greaterThan(0);
      } finally {
        stopped = true;
      }
    });
  });

  describe("given libp2p's 64 handshake slots held by silent sockets from 20 other addresses", () => {
    it("→ a peer whose address joins the operator set after start should connect; before it joins, and after it leaves, it should not", async function () {
      // Redial is off for the test's length: the target must not dial the peer itself (an outbound connection passes
      // no inbound limit); every connection here is the peer's own dial.
      const target = await victim({ redialIntervalMs: 600_000 });
      const port = Number(/\/tcp\/(\d+)/.exec(target.net.multiaddrs()[0]!)![1]);
      let stopped = false;
      const open = (from: string) => {
        if (stopped) return;
        const s = connect({ host: "127.0.0.1", port, localAddress: from });
        s.on("error", () => {});
        s.on("close", () => setTimeout(() => open(from), 20));
        sockets.push(s);
      };
      const peer = await startBareNode();
      bare.push(peer);
      const addr = multiaddr(target.net.multiaddrs()[0]!);
      const dial = () => peer.dial(addr, { signal: AbortSignal.timeout(2_000) }).then(() => true, () => false);
      const hangUp = async () => {
        await peer.hangUp(target.net.peerId);
        await until(() => target.net.peerCount() === 0, "the peer's connection closed at the target");
      };
      try {
        // Four sockets from each of 20 addresses: within the per-address limits (8 handshakes, libp2p's 5 new
        // connections per second), 80 in all against libp2p's 64.
        for (let a = 10; a < 30; a++) for (let i = 0; i < 4; i++) open(`127.0.0.${a}`);
        const manager = (target.net.libp2p as unknown as { components: { connectionManager: { incomingPendingConnections: number } } }).components.connectionManager;
        await until(() => manager.incomingPendingConnections >= 64, "the silent sockets hold every handshake slot", 10_000);

        expect(await dial()).to.equal(false);
        expect(await dial()).to.equal(false);

        target.net.setChainPeers([`/ip4/127.0.0.1/tcp/1/p2p/${peer.peerId.toString()}`]);
        expect(await dial()).to.equal(true);
        await until(() => target.net.peerCount() === 1, "the peer connected at the target");
        await hangUp();

        target.net.setChainPeers([]);
        await until(() => manager.incomingPendingConnections >= 64, "the slots held again", 10_000);
        expect(await dial()).to.equal(false);
      } finally {
        stopped = true;
      }
    });
  });
});
