import { expect } from "chai";
import { createMetrics } from "../../protocol/metrics/metrics.js";
import { PeerGuard, defaultPeerGuardOpts, type PeerGuardOpts } from "../../protocol/p2p/peerGuard.js";

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
