/**
 * Multi-process end to end: real `hardhat node`, real operator and aggregator processes (libp2p on
 * 127.0.0.1, LevelDB in temp dirs), driven through the devnet library. One chain is shared by every test, in order:
 * the happy path (3 batches, leases = the TypeScript matcher's output), two aggregators racing, one operator down,
 * two down and one back, and a crash between storing a signature and gossiping it.
 */
import { expect } from "chai";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Hex } from "viem";
import { Devnet } from "../../deploy/devnet/devnet.js";
import { readLogLines } from "../../deploy/devnet/processes.js";
import type { DevnetBatchReport } from "../../deploy/devnet/batch.js";
import { marketplaceAbi, serviceManagerAbi } from "../../protocol/chain/abi.js";
import { LevelDbController } from "../../protocol/db/controller.js";
import { SlashingProtection, SigningDuty } from "../../operator/slashing-protection/slashingProtection.js";
import { SlashingProtectionError } from "../../operator/slashing-protection/errors.js";
import { silentLogger } from "../../protocol/log/logger.js";
import { keccak256, toBytes } from "viem";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const ORDERS = 6;

/**
 * What every process logged about one batch, oldest first, one line each: the evidence a failed run in CI leaves
 * (the devnet's temp dir is gone by then).
 */
async function batchStory(dn: Devnet, batch: bigint): Promise<string> {
  const files = [...dn.operators.map((o) => ({ name: o.name, file: o.logFile })), ...dn.aggregators.map((a) => ({ name: a.name, file: a.logFile }))];
  const lines: { time: number; text: string }[] = [];
  for (const { name, file } of files) {
    for (const l of await readLogLines(file)) {
      if (String(l.batch) !== String(batch) && (l.level as number) < 40) continue;
      const { level, time, pid, hostname, name: _n, msg, ...rest } = l;
      lines.push({ time: Number(time), text: `${name} L${String(level)} ${String(msg)} ${JSON.stringify(rest).slice(0, 240)}` });
    }
  }
  lines.sort((a, b) => a.time - b.time);
  const t0 = lines[0]?.time ?? 0;
  const shown = lines.slice(-300);
  return `${lines.length > shown.length ? `(the last ${shown.length} of ${lines.length} lines)\n` : ""}${shown.map((l) => `+${l.time - t0} ms ${l.text}`).join("\n")}`;
}

/** A batch's report must be final and its leases the matcher's output; when it is not final, the logs say why. */
async function expectFinalAsMatcherOutput(dn: Devnet, r: DevnetBatchReport): Promise<void> {
  if (r.status !== "final") expect.fail(`batch ${r.batch} is ${r.status}; the processes logged:\n${await batchStory(dn, r.batch)}`);
  expectLeasesAreMatcherOutput(r);
}

function expectLeasesAreMatcherOutput(r: DevnetBatchReport): void {
  expect(r.status, `batch ${r.batch} status`).to.equal("final");
  expect(r.matcherAgrees, `batch ${r.batch}: signed result = TypeScript matcher at R_b`).to.equal(true);
  expect(r.skipped, `batch ${r.batch}: skipped assignments`).to.equal(0);
  expect(r.applied).to.deep.equal(r.expected.map((a) => ({ orderId: a.orderId, offerVersionId: a.offerVersionId, pricePerGpuHour: a.pricePerGpuHour })));
}

describe("e2e: operators and aggregators as separate processes on hardhat node", function () {
  this.timeout(600_000);
  let dn: Devnet;

  before(async function () {
    dn = await Devnet.start({ root, operators: 4, aggregators: 2, mode: "processes", port: 0, seed: 7, intervalMiningMs: 1_000, keep: process.env.MATCHNET_E2E_KEEP === "1" });
  });

  after(async function () {
    if (dn !== undefined) await dn.stop();
  });

  /** Operators `down` stopped and every other one running: each `describe` starts from the state it names. */
  async function withOperatorsDown(down: readonly number[]): Promise<void> {
    for (let i = 0; i < dn.operators.length; i++) {
      if (down.includes(i)) await dn.stopOperator(i);
      else if (dn.operatorChild(i) === undefined) await dn.startOperator(i);
    }
  }

  const aggregatorLines = async (event: string) => (await Promise.all(dn.aggregators.map((a) => readLogLines(a.logFile)))).map((lines) => lines.filter((l) => l.event === event));

  describe("given 4 operators and 2 aggregators all up", function () {
    const reports: DevnetBatchReport[] = [];

    before(async function () {
      await withOperatorsDown([]);
      for (let k = 0; k < 3; k++) reports.push(await dn.runBatch(ORDERS));
    });

    it("→ it should finalize 3 batches with a quorum of signers and the leases exactly the matcher's output", async function () {
      for (const r of reports) {
        await expectFinalAsMatcherOutput(dn, r);
        // The aggregator submits at quorum after its quorum wait (1 block), so a slow fourth partial may miss it.
        expect(r.signers).to.be.within(3, 4);
        expect(r.signedStakeBps).to.be.at.least(6_667);
      }
      expect(reports.reduce((s, r) => s + r.matched, 0), "leases started over 3 batches").to.be.greaterThan(0);
    });

    it("→ it should land one submission per batch, the other aggregator logging the lost race, and pay nothing twice", async function () {
      const submitted = await aggregatorLines("batch_submitted");
      const lost = await aggregatorLines("lost_race");
      for (const r of reports) {
        const wins = submitted.flat().filter((l) => String(l.batch) === String(r.batch));
        expect(wins, `"batch submitted" lines for batch ${r.batch}`).to.have.length(1);
        expect(String(wins[0]!.txHash).toLowerCase()).to.equal(r.txHash!.toLowerCase());
        const finalized = await dn.chain.publicClient.getContractEvents({ address: dn.addrs.serviceManager, abi: serviceManagerAbi, eventName: "BatchFinalized", args: { batch: r.batch }, fromBlock: 0n });
        expect(finalized, `BatchFinalized events of batch ${r.batch}`).to.have.length(1);
      }
      expect(lost.flat().length, "lost-race lines over the batches (both aggregators saw every quorum)").to.be.greaterThan(0);
      const applied = await dn.chain.publicClient.getContractEvents({ address: dn.deployment.contracts.marketplace, abi: marketplaceAbi, eventName: "AssignmentApplied", fromBlock: 0n });
      const orderIds = applied.map((l) => l.args.orderId!);
      expect(new Set(orderIds).size, "each order leased once").to.equal(orderIds.length);
      const t = await dn.chain.publicClient.readContract({ address: dn.deployment.contracts.marketplace, abi: marketplaceAbi, functionName: "moneyTotals", args: [dn.deployment.contracts.paymentToken] });
      expect(t.escrowed + t.earned + t.refundable + t.withdrawn, "money conserved").to.equal(t.deposited);
    });
  });

  describe("given one operator down (25 % of the stake)", function () {
    before(() => withOperatorsDown([3]));

    it("→ it should still finalize batches, with that operator as the only non-signer", async function () {
      // Every batch final, with exactly the down operator as its only non-signer and the matcher's output as leases.
      for (let k = 0; k < 2; k++) {
        const r = await dn.runBatch(ORDERS);
        await expectFinalAsMatcherOutput(dn, r);
        expect(r.signers).to.equal(3);
        expect(r.signedStakeBps).to.equal(7_500);
        expect(r.nonSignerIds.map((x) => x.toLowerCase())).to.deep.equal([dn.operators[3]!.operatorId.toLowerCase()]);
      }
    });
  });

  describe("given two operators down (50 %), then one back", function () {
    before(() => withOperatorsDown([2, 3]));

    it("→ it should not finalize while two are down, and finalize again once one returns", async function () {
      await dn.placeOrders(ORDERS);
      const closed = await dn.closeBatch();
      // Several blocks with only half the stake up: no quorum, so the batch stays closed.
      await dn.waitForBlock(closed.closedAt + 5n);
      const b = await dn.chain.publicClient.readContract({ address: dn.addrs.serviceManager, abi: serviceManagerAbi, functionName: "getBatch", args: [closed.batch] });
      expect(b.status, "batch status with 50 % of the stake up (1 = Closed)").to.equal(1);
      await dn.startOperator(3);
      // The returning operator missed the batch's gossip; it fetches the seed and the partials from its peers
      // (batch sync) and signs the same result, which gives the quorum for the batch closed while it was down. (If it
      // is the first leader and no fallback seed went round yet, its own seed is the one, and the others adopt it.)
      const r = await dn.settle(closed);
      await expectFinalAsMatcherOutput(dn, r);
      expect(r.signers).to.equal(3);
      expect(r.nonSignerIds.map((x) => x.toLowerCase())).to.deep.equal([dn.operators[2]!.operatorId.toLowerCase()]);
      const op3Log = await readLogLines(dn.operators[3]!.logFile);
      const synced = op3Log.filter((l) => l.event === "batch_synced" && String(l.batch) === String(closed.batch));
      expect(synced.length, "the returning operator synced the open batch").to.be.greaterThan(0);
    });
  });

  describe("given an operator killed (SIGKILL) after storing its signature and before gossiping it", function () {
    before(() => withOperatorsDown([2]));

    it("→ it should, once restarted, serve the same stored signature and never a second one; a different result is refused", async function () {
      // op2 is down already; op1 crashes in the next batch, so only 50 % can sign until it is back.
      const first = (await dn.chain.publicClient.readContract({ address: dn.addrs.serviceManager, abi: serviceManagerAbi, functionName: "batchCount" })) + 1n;
      const op1 = dn.operators[1]!;
      await dn.stopOperator(1);
      // The operator's own main with an afterSign hook injected by a test entry (no such hook in production).
      const crashing = await dn.startOperator(1, {}, { nodeArgs: ["--import", "tsx"], entry: join(root, "test", "support", "crashing-operator.ts"), args: ["--crash-after-sign-batch", String(first)] });
      const beforeCrash = (await readLogLines(op1.logFile)).length;
      // The hook fires on the first batch ≥ `first` that op1 signs: the very next one.
      await dn.placeOrders(ORDERS);
      const closed = await dn.closeBatch();
      const exit = await Promise.race([crashing!.exited, dn.settle(closed).then(() => "settled without a crash", (e: unknown) => `settle failed: ${String(e)}`)]);
      expect(exit, "the crash hook kills the process right after the signature is stored").to.equal("SIGKILL");
      const crashed = closed;
      const next = crashed.batch;
      expect(next).to.equal(first);
      const crashLog = (await readLogLines(op1.logFile)).slice(beforeCrash);
      const signed = crashLog.filter((l) => l.event === "result_signed" && String(l.batch) === String(next));
      expect(signed, "one fresh signature before the crash").to.have.length(1);
      const signedMessage = String(signed[0]!.messageHash).toLowerCase();
      const mid = await dn.chain.publicClient.readContract({ address: dn.addrs.serviceManager, abi: serviceManagerAbi, functionName: "getBatch", args: [crashed.batch] });
      expect(mid.status, "without op1's partial only 50 % can sign (1 = Closed)").to.equal(1);

      const beforeRestart = (await readLogLines(op1.logFile)).length;
      await dn.startOperator(1);
      const r = await dn.settle(crashed);
      const restartLog = (await readLogLines(op1.logFile)).slice(beforeRestart);
      const reserved = restartLog.filter((l) => l.event === "result_reserved" && String(l.batch) === String(next));
      expect(reserved.length, "the stored signature is re-served after the restart").to.be.greaterThan(0);
      expect(reserved.every((l) => l.fresh === false)).to.equal(true);
      const signedAgain = restartLog.filter((l) => l.event === "result_signed" && String(l.batch) === String(next) && l.fresh !== false);
      expect(signedAgain, "no fresh signature for the crashed batch after the restart").to.have.length(0);
      if (r.status === "final") {
        expectLeasesAreMatcherOutput(r);
        // op1 counts as a signer exactly when the message it stored before the crash is the one the quorum signed.
        const fin = await dn.chain.publicClient.readContract({ address: dn.addrs.serviceManager, abi: serviceManagerAbi, functionName: "getBatch", args: [crashed.batch] });
        const isSigner = !r.nonSignerIds.map((x) => x.toLowerCase()).includes(op1.operatorId.toLowerCase());
        expect(isSigner).to.equal(fin.resultHash.toLowerCase() === signedMessage);
      }

      // The store the crash left behind holds exactly that one decision, and refuses any other result for the batch.
      await dn.stopOperator(1);
      const db = await LevelDbController.open({ path: join(op1.dataDir, "db") });
      try {
        const sp = new SlashingProtection({}, { db, logger: silentLogger(), metrics: null });
        const mine = await sp.get(SigningDuty.Result, { operatorId: op1.operatorId as Hex, batch: next });
        expect(mine?.messageHash.toLowerCase(), "stored message = the one signed before the crash").to.equal(signedMessage);
        let refused: unknown = null;
        await sp
          .sign(SigningDuty.Result, { operatorId: op1.operatorId as Hex, batch: next }, keccak256(toBytes("another result")), () => {
            throw new Error("the signer must not be called");
          })
          .catch((err: unknown) => (refused = err));
        expect(refused).to.be.instanceOf(SlashingProtectionError);
      } finally {
        await db.close();
      }
    });
  });
});
