import { describe, it } from "mocha";
import { expect } from "chai";
import { network } from "hardhat";
import type { PublicClient } from "viem";
import { Enforcer, type EnforcerOpts } from "../../aggregator/enforcer.js";
import { SendLock } from "../../aggregator/sendLock.js";
import { createLogger } from "../../protocol/log/logger.js";
import { toOperatorId } from "../../protocol/chain/ids.js";
import { USD, batchSignedBy, buildSubmission, deploySystem, orders, providerOffer, type Op, type System } from "../support/serviceManager.js";

const connection = await network.create();
const { networkHelpers } = connection;
const JAILED = 2;
const ACTIVE = 1;

/** An enforcer on the system's chain, paying from wallet 18, with its log lines and metric counts recorded. */
function enforcerOf(s: System, opts: Partial<EnforcerOpts> = {}) {
  const lines: Record<string, unknown>[] = [];
  const counts: string[] = [];
  const logger = createLogger({ level: "debug", destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } });
  const enforcer = new Enforcer(
    { serviceManager: s.serviceManager.address, operatorRegistry: s.operatorRegistry.address, slashInvalidResults: true, ejectInactive: true, ...opts },
    {
      publicClient: s.publicClient as unknown as PublicClient,
      walletClient: s.wallets[18]! as never,
      sendLock: new SendLock(),
      logger,
      metrics: { inc: ({ action, outcome }) => void counts.push(`${action}:${outcome}`) },
    },
  );
  return { enforcer, lines, counts, events: (name: string) => lines.filter((l) => l.event === name) };
}

async function statusOf(s: System, op: Op): Promise<number> {
  return (await s.operatorRegistry.read.getOperator([op.id])).status;
}

async function head(s: System): Promise<bigint> {
  return s.publicClient.getBlockNumber();
}

describe("aggregator enforcement duty (aggregator/enforcer.ts, docs/protocol.md §5)", () => {
  describe("given an operator that signs nothing", () => {
    it("→ it should be left alone after 4 final batches and ejected after the 5th (the default streak), by proof of its non-signatures", async () => {
      const s = await deploySystem(connection);
      const [silent, ...others] = s.ops as [Op, ...Op[]];
      const { enforcer, events, counts } = enforcerOf(s);
      for (let i = 1; i <= 4; i++) await batchSignedBy(s, others);
      enforcer.onFinalized(4n);
      await enforcer.idle();
      expect(await statusOf(s, silent)).to.equal(ACTIVE);
      expect(counts).to.deep.equal([]);
      await batchSignedBy(s, others);
      enforcer.onFinalized(5n);
      await enforcer.idle();
      expect(await statusOf(s, silent)).to.equal(JAILED);
      const ejected = await s.serviceManager.getEvents.OperatorEjected({}, { fromBlock: 0n });
      expect(ejected.map((l) => [l.args.operatorId, l.args.lastBatch])).to.deep.equal([[silent.id, 5n]]);
      expect(events("operator_ejected").map((l) => l.batches)).to.deep.equal([["1", "2", "3", "4", "5"]]);
      expect(counts).to.deep.equal(["eject:sent"]);
      for (const o of others) expect(await statusOf(s, o)).to.equal(ACTIVE);
    });

    it("→ one signed batch inside the last 5 should keep it active until 5 silent batches follow it", async () => {
      const s = await deploySystem(connection);
      const [silent, ...others] = s.ops as [Op, ...Op[]];
      const { enforcer } = enforcerOf(s);
      for (let i = 1; i <= 5; i++) await batchSignedBy(s, i === 3 ? s.ops : others);
      enforcer.onFinalized(5n);
      await enforcer.idle();
      expect(await statusOf(s, silent)).to.equal(ACTIVE);
      await batchSignedBy(s, others);
      enforcer.onFinalized(6n);
      await enforcer.idle();
      expect(await statusOf(s, silent)).to.equal(ACTIVE); // the row 2 … 6 holds batch 3, which it signed
      for (let i = 7; i <= 8; i++) await batchSignedBy(s, others);
      enforcer.onFinalized(8n);
      await enforcer.idle();
      expect(await statusOf(s, silent)).to.equal(JAILED); // batches 4 … 8
    });

    it("switched off (ejectInactive false) → it should send nothing", async () => {
      const s = await deploySystem(connection);
      const [silent, ...others] = s.ops as [Op, ...Op[]];
      const { enforcer, counts } = enforcerOf(s, { ejectInactive: false });
      for (let i = 1; i <= 5; i++) await batchSignedBy(s, others);
      enforcer.onFinalized(5n);
      await enforcer.idle();
      expect([await statusOf(s, silent), counts.length]).to.deep.equal([ACTIVE, 0]);
    });
  });

  describe("given an operator missing from 5 accepted submissions while the node listens to gossip", () => {
    /** Five final batches signed by the others; the enforcer listened from `from` and heard the slow one in `heardIn`. */
    async function run(from: bigint, heardIn: readonly bigint[], heardOther = false) {
      const s = await deploySystem(connection);
      const [slow, ...others] = s.ops as [Op, ...Op[]];
      const r = enforcerOf(s);
      r.enforcer.listeningFrom(from);
      for (let i = 1; i <= 5; i++) await batchSignedBy(s, others);
      for (const b of heardIn) r.enforcer.heard(b, toOperatorId(slow.id));
      if (heardOther) for (let b = 1n; b <= 5n; b++) r.enforcer.heard(b, toOperatorId(others[0]!.id));
      r.enforcer.onFinalized(5n);
      await r.enforcer.idle();
      return { ...r, status: await statusOf(s, slow), slow };
    }

    for (const b of [1n, 3n, 5n]) {
      it(`heard (a partial after the quorum was submitted) in batch ${b} of the row 1 … 5 → it should not eject it`, async () => {
        const { status, counts, events, slow } = await run(1n, [b]);
        expect(status).to.equal(ACTIVE);
        expect(counts).to.deep.equal(["eject:spared"]);
        expect(events("ejection_spared").map((l) => [l.operatorId, l.reason, l.heardIn])).to.deep.equal([[slow.id, "heard", String(b)]]);
      });
    }

    it("heard only in batch 6, after the row → it should eject it", async () => {
      const { status, counts } = await run(1n, [6n]);
      expect([status, counts]).to.deep.equal([JAILED, ["eject:sent"]]);
    });

    it("never heard, others heard in every batch → it should eject it", async () => {
      const { status, counts } = await run(1n, [], true);
      expect([status, counts]).to.deep.equal([JAILED, ["eject:sent"]]);
    });

    for (const [from, ejected] of [[1n, true], [2n, false]] as const) {
      it(`never heard, listening from batch ${from} (the row starts at 1) → it should ${ejected ? "eject it" : "not eject it (part of the row was not followed)"}`, async () => {
        const { status, counts, events } = await run(from, []);
        expect(status).to.equal(ejected ? JAILED : ACTIVE);
        expect(counts).to.deep.equal([ejected ? "eject:sent" : "eject:spared"]);
        if (!ejected) expect(events("ejection_spared").map((l) => l.reason)).to.deep.equal(["row_not_followed"]);
      });
    }
  });

  describe("given a leader whose seed turn passed unsigned, then a batch it did not sign (streak 2)", () => {
    async function seedMissFixture() {
      const s = await deploySystem(connection);
      await s.serviceManager.write.setEjectionParameters([{ streak: 2, rateBps: 10_000, window: 100 }]);
      await s.serviceManager.write.setQuorumThresholdBps([5_001]);
      await s.serviceManager.write.closeBatch();
      const leaderId = await s.serviceManager.read.leaderOf([1n, 0n]);
      const l = s.ops.find((o) => o.id === leaderId)!;
      await networkHelpers.mine(5);
      // Batch 1: the leader signs the result, but the seed comes from position 1.
      const sub = await buildSubmission(s, 1n, [], { seedIndex: 1n });
      await s.serviceManager.write.submitResult(sub.args as never);
      await batchSignedBy(s, s.ops.filter((o) => o !== l));
      const b1 = await s.serviceManager.read.getBatch([1n]);
      const timing = await s.serviceManager.read.batchTiming();
      return { s, leader: l, stableUntil: BigInt(b1.closedAt + 3 * timing.batchTimeout) };
    }

    for (const [label, landsAt, ejected] of [["at", 0n, true], ["one block after", 1n, false]] as const) {
      it(`the ejection landing ${label} closedAt + 3 × batchTimeout → it should ${ejected ? "eject it with a seed-turn proof" : "not try (the draw is no longer provable)"}`, async () => {
        const { s, leader, stableUntil } = await networkHelpers.loadFixture(seedMissFixture);
        await networkHelpers.mine(Number(stableUntil + landsAt - (await head(s)) - 1n));
        const { enforcer, counts, events } = enforcerOf(s);
        enforcer.onFinalized(2n);
        await enforcer.idle();
        expect(await statusOf(s, leader)).to.equal(ejected ? JAILED : ACTIVE);
        expect(counts).to.deep.equal(ejected ? ["eject:sent"] : []);
        if (ejected) expect(events("operator_ejected").map((l) => l.batches)).to.deep.equal([["1", "2"]]);
      });
    }
  });

  it("given two silent operators and a rate cap that fits one → it should eject the first, log the cap for the second and keep it active", async () => {
    const s = await deploySystem(connection);
    await s.serviceManager.write.setEjectionParameters([{ streak: 2, rateBps: 1_000, window: 1_000 }]);
    const [o0, o1, o2, o3] = s.ops as [Op, Op, Op, Op];
    for (let i = 0; i < 2; i++) await batchSignedBy(s, [o2, o3]);
    const { enforcer, counts, events } = enforcerOf(s);
    enforcer.onFinalized(2n);
    await enforcer.idle();
    const statuses = [await statusOf(s, o0), await statusOf(s, o1)];
    expect(statuses.filter((x) => x === JAILED)).to.have.length(1);
    expect(counts).to.deep.equal(["eject:sent", "eject:deferred"]);
    expect(events("ejection_rate_reached")).to.have.length(1);
  });

  describe("given a final result proven invalid at application (a row for an order that never existed), signed by 3 of 4", () => {
    async function invalidFixture() {
      const s = await deploySystem(connection);
      const versionId = await providerOffer(s, 0);
      const ids = await orders(s, 2);
      await s.serviceManager.write.closeBatch();
      const rows = [...ids, 99n].map((orderId) => ({ orderId, offerVersionId: versionId, gpuCount: 2, pricePerGpuHour: 2n * USD }));
      const [a, b, c, d] = s.ops as [Op, Op, Op, Op];
      const sub = await buildSubmission(s, 1n, rows, { signers: [b, c, d] });
      await s.serviceManager.write.submitResult(sub.args as never);
      const batch = await s.serviceManager.read.getBatch([1n]);
      const timing = await s.serviceManager.read.batchTiming();
      return { s, a, b, c, d, nonSigners: sub.args[5].nonSignerPubkeys, deadline: BigInt(batch.invalidAt + timing.batchTimeout) };
    }

    it("→ it should slash each signer once (one already slashed by someone else is skipped), never the non-signer, and do nothing on the next block", async () => {
      const { s, a, b, c, d, nonSigners } = await networkHelpers.loadFixture(invalidFixture);
      await s.serviceManager.write.slashInvalidResultSigner([1n, c.id, nonSigners]);
      const { enforcer, counts, events } = enforcerOf(s);
      enforcer.onBlock(await head(s));
      await enforcer.idle();
      const slashed = await s.serviceManager.getEvents.InvalidResultSignerSlashed({ batch: 1n }, { fromBlock: 0n });
      expect(slashed.map((l) => l.args.operatorId).sort()).to.deep.equal([b.id, c.id, d.id].sort());
      expect(await statusOf(s, a)).to.equal(ACTIVE);
      expect(counts).to.deep.equal(["slash_invalid:sent", "slash_invalid:sent"]);
      expect(events("invalid_result_signer_slashed").map((l) => l.operatorId).sort()).to.deep.equal([b.id, d.id].sort());
      await networkHelpers.mine(1);
      enforcer.onBlock(await head(s));
      await enforcer.idle();
      expect(counts).to.have.length(2);
    });

    for (const [label, landsAt, sent] of [["at", 0n, 3], ["one block after", 1n, 0]] as const) {
      it(`an enforcer started when its slash would land ${label} the deadline (invalidAt + batchTimeout) → it should ${sent > 0 ? "slash the 3 signers" : "say the window closed and send nothing"}`, async () => {
        const { s, deadline } = await networkHelpers.loadFixture(invalidFixture);
        await networkHelpers.mine(Number(deadline + landsAt - (await head(s)) - 1n));
        const { enforcer, counts, events } = enforcerOf(s);
        enforcer.onBlock(await head(s));
        await enforcer.idle();
        // Each slash is its own block: only the first is sure to land by the deadline.
        if (sent > 0) expect(counts[0]).to.equal("slash_invalid:sent");
        else expect([counts, events("slash_window_closed").length]).to.deep.equal([[], 1]);
      });
    }
  });

  it("given a final batch whose every operator signed → it should eject nobody and scan for invalid results without sending", async () => {
    const s = await deploySystem(connection);
    for (let i = 1; i <= 5; i++) await batchSignedBy(s, s.ops);
    const { enforcer, counts } = enforcerOf(s);
    enforcer.onFinalized(5n);
    enforcer.onBlock(await head(s));
    await enforcer.idle();
    expect(counts).to.deep.equal([]);
  });
});

describe("SendLock (aggregator/sendLock.ts)", () => {
  it("→ it should run sends one at a time in call order, and a failed send should not stop the next", async () => {
    const lock = new SendLock();
    const order: string[] = [];
    let running = 0;
    const send = (name: string, fail = false) =>
      lock.run(async () => {
        running++;
        expect(running).to.equal(1);
        await new Promise((r) => setTimeout(r, 5));
        order.push(name);
        running--;
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([send("a"), send("b", true), send("c")]);
    expect(order).to.deep.equal(["a", "b", "c"]);
    expect(results.map((r) => r.status)).to.deep.equal(["fulfilled", "rejected", "fulfilled"]);
  });
});
