import { expect } from "chai";
import { createMetrics } from "../../protocol/metrics/metrics.js";
import { PeerGuard, defaultPeerGuardOpts, type PeerGuardOpts } from "../../protocol/p2p/peerGuard.js";
import { BanRepository } from "../../protocol/p2p/banStore.js";
import { Bucket } from "../../protocol/db/buckets.js";
import { LevelDbController } from "../../protocol/db/controller.js";
import { makeTempDir } from "../support/tempdir.js";

function guard(opts: Partial<PeerGuardOpts> = {}, allowed: string[] = []) {
  const clock = { now: 1_000_000 };
  const metrics = createMetrics();
  const banned: string[] = [];
  const g = new PeerGuard({ ...defaultPeerGuardOpts, ...opts }, { metrics, now: () => clock.now, onBan: (p) => banned.push(p), allowed: (ip) => allowed.includes(ip) });
  return { g, clock, metrics, banned };
}

async function refusals(m: ReturnType<typeof createMetrics>, reason: string): Promise<number> {
  return (await m.p2pRefusals.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

describe("protocol/p2p PeerGuard", () => {
  describe("given rejectsBeforeBan = 3", () => {
    it("2 rejects → not banned; the 3rd → banned, onBan called, counted", async () => {
      const { g, banned, metrics } = guard();
      expect(g.recordReject("p", "10.0.0.1")).to.equal(false);
      expect(g.recordReject("p", "10.0.0.1")).to.equal(false);
      expect(g.isBanned("p")).to.equal(false);
      expect(g.recordReject("p", "10.0.0.1")).to.equal(true);
      expect(g.isBanned("p")).to.equal(true);
      expect(banned).to.deep.equal(["p"]);
      expect(await refusals(metrics, "ban")).to.equal(1);
    });
  });

  describe("given a ban of banMs", () => {
    it("→ it should hold at banMs − 1 and lift at banMs, with a clean record afterwards", () => {
      const { g, clock } = guard({ banMs: 1_000 });
      g.ban("p");
      clock.now += 999;
      expect(g.isBanned("p")).to.equal(true);
      clock.now += 1;
      expect(g.isBanned("p")).to.equal(false);
      expect(g.recordReject("p")).to.equal(false);
    });
  });

  describe("given bansBeforeIpBan = 2", () => {
    it("→ one banned identity leaves the IP open, the second closes it; an allow-listed IP never closes", () => {
      const { g } = guard({}, ["10.0.0.9"]);
      g.ban("a", "10.0.0.1");
      expect(g.isIpBanned("10.0.0.1")).to.equal(false);
      expect(g.admitInbound("10.0.0.1").admitted).to.equal(true);
      g.ban("b", "10.0.0.1");
      expect(g.isIpBanned("10.0.0.1")).to.equal(true);
      expect(g.admitInbound("10.0.0.1").admitted).to.equal(false);
      g.ban("c", "10.0.0.9");
      g.ban("d", "10.0.0.9");
      expect(g.isIpBanned("10.0.0.9")).to.equal(false);
    });
  });

  describe("given maxPendingPerIp = 4", () => {
    it("→ it should admit 4 handshakes from one IP, refuse the 5th, admit again once one ends, and not limit an allow-listed IP", async () => {
      const { g, metrics } = guard({ maxPendingPerIp: 4 }, ["10.0.0.9"]);
      const admitted = Array.from({ length: 4 }, () => g.admitInbound("10.0.0.1"));
      expect(admitted.every((a) => a.admitted)).to.equal(true);
      expect(g.admitInbound("10.0.0.1").admitted).to.equal(false);
      expect(g.admitInbound("10.0.0.2").admitted).to.equal(true);
      const first = admitted[0]!;
      if (first.admitted) {
        first.done();
        first.done(); // a second release changes nothing
      }
      expect(g.admitInbound("10.0.0.1").admitted).to.equal(true);
      expect(g.admitInbound("10.0.0.1").admitted).to.equal(false);
      for (let i = 0; i < 10; i++) expect(g.admitInbound("10.0.0.9").admitted).to.equal(true);
      expect(await refusals(metrics, "conn_ip_pending")).to.equal(2);
    });
  });

  describe("given maxPendingTotal = 3 (handshakes from all addresses outside the allow list)", () => {
    it("→ it should admit 3 from different IPs, refuse the 4th, admit again once one ends, and admit allow-listed IPs past it", async () => {
      const { g, metrics } = guard({ maxPendingTotal: 3 }, ["10.0.0.9"]);
      const admitted = ["10.0.0.1", "10.0.0.2", "10.0.0.3"].map((ip) => g.admitInbound(ip));
      expect(admitted.every((a) => a.admitted)).to.equal(true);
      expect(g.admitInbound("10.0.0.4").admitted).to.equal(false);
      expect(g.admitInbound("10.0.0.9").admitted).to.equal(true);
      const first = admitted[0]!;
      if (first.admitted) {
        first.done();
        first.done(); // a second release frees one slot, not two
      }
      expect(g.admitInbound("10.0.0.4").admitted).to.equal(true);
      expect(g.admitInbound("10.0.0.5").admitted).to.equal(false);
      expect(await refusals(metrics, "conn_pending_full")).to.equal(2);
    });
  });

  describe("given maxValidationsPerPeer = 2 and maxQueuedPerPeer = 1", () => {
    it("→ it should run 2 at once, queue the 3rd, refuse the 4th as busy, and drop the queued one unrun once the peer is banned", async () => {
      const { g, metrics } = guard({ maxValidationsPerPeer: 2, maxQueuedPerPeer: 1 });
      const started: number[] = [];
      const releases: (() => void)[] = [];
      const job = (i: number) => () =>
        new Promise<number>((resolve) => {
          started.push(i);
          releases.push(() => resolve(i));
        });
      const runs = [g.run("p", job(1)), g.run("p", job(2)), g.run("p", job(3))];
      expect(await g.run("p", job(4))).to.deep.equal({ refused: "peer_busy" });
      await new Promise((r) => setImmediate(r));
      expect(started).to.deep.equal([1, 2]);
      g.ban("p");
      releases[0]!();
      releases[1]!();
      expect(await Promise.all(runs)).to.deep.equal([{ value: 1 }, { value: 2 }, { refused: "peer_banned" }]);
      expect(started).to.deep.equal([1, 2]);
      expect(await g.run("p", job(5))).to.deep.equal({ refused: "peer_banned" });
      expect(await refusals(metrics, "peer_busy")).to.equal(1);
      expect(await refusals(metrics, "peer_banned")).to.equal(2);
    });

    it("→ a queued validation should run when a slot frees, never more than 2 at once", async () => {
      const { g } = guard({ maxValidationsPerPeer: 2, maxQueuedPerPeer: 8 });
      let active = 0;
      let peak = 0;
      const job = () => async () => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
        return true;
      };
      const out = await Promise.all(Array.from({ length: 8 }, () => g.run("p", job())));
      expect(out.every((o) => "value" in o)).to.equal(true);
      expect(peak).to.equal(2);
    });
  });
});

describe("protocol/p2p PeerGuard bans across a restart (real LevelDB)", () => {
  let dir: { path: string; remove: () => Promise<void> };
  const dbs: LevelDbController[] = [];
  beforeEach(async () => (dir = await makeTempDir("bans")));
  afterEach(async () => {
    for (const db of dbs.splice(0)) await db.close();
    await dir.remove();
  });
  async function open(): Promise<LevelDbController> {
    const db = await LevelDbController.open({ path: dir.path });
    dbs.push(db);
    return db;
  }
  /** A guard on a store in `db` whose clock reads `clock.now`, as a node builds it at start. */
  async function restarted(db: LevelDbController, clock: { now: number }, opts: Partial<PeerGuardOpts> = {}) {
    const metrics = createMetrics();
    const g = new PeerGuard({ ...defaultPeerGuardOpts, ...opts }, { metrics, now: () => clock.now, store: new BanRepository(db) });
    const restored = await g.restore();
    return { g, metrics, restored };
  }

  describe("given a peer banned and an IP banned (banMs = 1 000), then the database closed and opened again", () => {
    it("→ both should still be refused at ban end − 1 ms and admitted at the ban end", async () => {
      const clock = { now: 5_000_000 };
      const first = await restarted(await open(), clock, { banMs: 1_000, bansBeforeIpBan: 1 });
      first.g.ban("peer-a", "10.0.0.1");
      expect(first.g.isIpBanned("10.0.0.1")).to.equal(true);
      await first.g.settled();
      await dbs.pop()!.close();

      clock.now += 999;
      const before = await restarted(await open(), clock);
      expect(before.restored).to.deep.equal({ peers: 1, ips: 1 });
      expect(before.g.isBanned("peer-a")).to.equal(true);
      expect(before.g.isIpBanned("10.0.0.1")).to.equal(true);
      expect(before.g.admitInbound("10.0.0.1").admitted).to.equal(false);
      expect(await before.g.run("peer-a", async () => 1)).to.deep.equal({ refused: "peer_banned" });
      expect(await refusals(before.metrics, "conn_ip_banned")).to.equal(1);
      await dbs.pop()!.close();

      clock.now += 1;
      const after = await restarted(await open(), clock);
      expect(after.restored).to.deep.equal({ peers: 0, ips: 0 });
      expect(after.g.isBanned("peer-a")).to.equal(false);
      expect(after.g.admitInbound("10.0.0.1").admitted).to.equal(true);
    });

    it("→ expired bans should be deleted from the database at start, live ones kept", async () => {
      const clock = { now: 5_000_000 };
      const db = await open();
      const g = (await restarted(db, clock, { banMs: 1_000 })).g;
      g.ban("old");
      clock.now += 500;
      g.ban("young");
      await g.settled();
      clock.now += 500;
      await restarted(db, clock);
      const left = [];
      for await (const { id, value } of new BanRepository(db).entries()) left.push({ ...id, until: value });
      expect(left).to.deep.equal([{ kind: "peer", id: "young", until: 5_001_500 }]);
    });
  });

  describe("given a ban record this build cannot read", () => {
    it("→ restore should fail naming the record, not guess", async () => {
      const db = await open();
      await db.put(Uint8Array.of(Bucket.PeerBan, 7, 0x61), Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0, 1));
      const g = new PeerGuard(defaultPeerGuardOpts, { metrics: null, store: new BanRepository(db) });
      let error: unknown;
      await g.restore().catch((e: unknown) => (error = e));
      expect((error as Error).message).to.equal("peer ban record corrupt: kind byte 7");
    });
  });

  describe("given a store whose write fails", () => {
    it("→ the ban should hold in memory and the failure be reported once", async () => {
      const errors: unknown[] = [];
      const db = await open();
      const g = new PeerGuard(defaultPeerGuardOpts, { metrics: null, store: new BanRepository(db), onStoreError: (e) => errors.push(e) });
      await db.close();
      g.ban("p");
      await g.settled();
      expect(g.isBanned("p")).to.equal(true);
      expect(errors.map((e) => (e as Error).message)).to.deep.equal(["database is closed"]);
    });
  });
});
