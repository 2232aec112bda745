import { expect } from "chai";
import { network } from "hardhat";
import type { PublicClient } from "viem";
import { ChainSubmitter, checkSubmission, fetchSignatureCheckHints, submitResultArgs } from "../../aggregator/index.js";
import { serviceManagerAbi } from "../../protocol/chain/abi.js";
import { deploySystem, orders, providerOffer, USD, type System } from "../support/serviceManager.js";
import { keystoreWallet, operatorSetAt, poolSubmission } from "../support/aggregatorChain.js";

const connection = await network.create();
const { networkHelpers } = connection;

/** Batch 1 closed over 2 orders and one offer; rows are what a matcher would assign. */
async function closedBatch() {
  const s = await deploySystem(connection);
  const versionId = await providerOffer(s, 0);
  const ids = await orders(s, 2);
  await s.serviceManager.write.closeBatch();
  const rows = ids.map((orderId) => ({ orderId, offerVersionId: versionId, gpuCount: 2, pricePerGpuHour: 2n * USD }));
  return { s, rows };
}

function submitterFor(s: System, wallet: Awaited<ReturnType<typeof keystoreWallet>>) {
  return new ChainSubmitter({ serviceManager: s.serviceManager.address }, { publicClient: s.publicClient as PublicClient, walletClient: wallet.walletClient });
}

/** Resolves once `address` has a transaction in the pending block. */
async function pendingTx(s: System, address: `0x${string}`): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if ((await s.publicClient.getTransactionCount({ address, blockTag: "pending" })) === 1) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no pending transaction from ${address}`);
}

describe("aggregator ChainSubmitter (viem, real ServiceManager)", function () {
  this.timeout(60_000);

  describe("given a quorum submission built by the pool and an account from a keystore", () => {
    it("→ it should land the batch, report gasUsed, and the leases should exist", async () => {
      const { s, rows } = await networkHelpers.loadFixture(closedBatch);
      const [, b, c, d] = s.ops;
      const sub = await poolSubmission(s, 1n, rows, [b!, c!, d!]); // 900 of 1000 stake
      expect(sub).to.not.equal(null);
      expect(sub!.nonSignerIds).to.deep.equal([s.ops[0]!.id.toLowerCase()]);
      const wallet = await keystoreWallet(s);
      const outcome = await submitterFor(s, wallet).submit(sub!);
      expect(outcome.kind).to.equal("submitted");
      if (outcome.kind !== "submitted") return;
      const receipt = await s.publicClient.getTransactionReceipt({ hash: outcome.txHash });
      expect(receipt.from.toLowerCase()).to.equal(wallet.address.toLowerCase());
      expect(outcome.gasUsed).to.equal(receipt.gasUsed);
      expect(outcome.gasUsed > 100_000n).to.equal(true);
      const batch = await s.serviceManager.read.getBatch([1n]);
      expect(batch.status).to.equal(2); // Final
      expect(batch.resultHash).to.equal(sub!.resultHash);
      for (const r of rows) {
        const lease = await s.marketplace.read.getLease([r.orderId]);
        expect(lease.status).to.equal(1); // Active
        expect(lease.offerVersionId).to.equal(r.offerVersionId);
      }
      await wallet.dir.remove();
    });
  });

  describe("given a result of three pages (260 assignments)", () => {
    async function threePages() {
      const s = await deploySystem(connection);
      const versionId = await providerOffer(s, 0, 600);
      const ids = await orders(s, 260);
      await s.serviceManager.write.closeBatch();
      const rows = ids.map((orderId) => ({ orderId, offerVersionId: versionId, gpuCount: 2, pricePerGpuHour: 2n * USD }));
      return { s, rows };
    }

    it("→ it should submit page 0, apply pages 1 and 2 itself, and every lease should exist", async () => {
      const { s, rows } = await networkHelpers.loadFixture(threePages);
      const sub = await poolSubmission(s, 1n, rows, s.ops);
      const wallet = await keystoreWallet(s);
      const outcome = await submitterFor(s, wallet).submit(sub!);
      expect(outcome).to.deep.include({ kind: "submitted", pagesApplied: 2 });
      const b = await s.serviceManager.read.getBatch([1n]);
      expect([b.pagesApplied, b.pendingPages]).to.deep.equal([3, `0x${"0".repeat(64)}`]);
      for (const r of [rows[0]!, rows[128]!, rows[259]!]) expect((await s.marketplace.read.getLease([r.orderId])).status).to.equal(1);
      await wallet.dir.remove();
    });

    it("and the winner stopped after finalizing → the loser should apply every pending page", async () => {
      const { s, rows } = await networkHelpers.loadFixture(threePages);
      const sub = await poolSubmission(s, 1n, rows, s.ops);
      const args = [...submitResultArgs(sub!, await fetchSignatureCheckHints(s.publicClient as PublicClient, s.serviceManager.address, sub!))] as unknown[];
      args[1] = [];
      args[2] = sub!.assignmentsHash; // the commitment alone: no page applied
      await s.serviceManager.write.submitResult(args as unknown as ReturnType<typeof submitResultArgs>);
      expect((await s.serviceManager.read.getBatch([1n])).pagesApplied).to.equal(0);
      const wallet = await keystoreWallet(s);
      const outcome = await submitterFor(s, wallet).submit(sub!);
      expect(outcome).to.deep.equal({ kind: "alreadyFinal", errorName: "ServiceManagerBatchAlreadyFinal", pagesApplied: 3 });
      expect((await s.serviceManager.read.getBatch([1n])).pagesApplied).to.equal(3);
      for (const r of rows) expect((await s.marketplace.read.getOrder([r.orderId])).status).to.equal(2); // Matched
      await wallet.dir.remove();
    });
  });

  describe("given two aggregators racing on one batch", () => {
    it("→ the second should get the lost-race outcome by error name, send nothing, and nothing should be paid twice", async () => {
      const { s, rows } = await networkHelpers.loadFixture(closedBatch);
      const sub = await poolSubmission(s, 1n, rows, s.ops);
      const [w1, w2] = [await keystoreWallet(s), await keystoreWallet(s)];
      const first = await submitterFor(s, w1).submit(sub!);
      expect(first.kind).to.equal("submitted");
      const totalsAfterWinner = await s.marketplace.read.moneyTotals([s.paymentToken.address]);
      const renterBalance = await s.paymentToken.read.balanceOf([s.wallets[3]!.account.address]);

      const second = await submitterFor(s, w2).submit(sub!);
      expect(second).to.deep.equal({ kind: "alreadyFinal", errorName: "ServiceManagerBatchAlreadyFinal", pagesApplied: 0 }); // one page: the winner applied it
      expect(await s.marketplace.read.moneyTotals([s.paymentToken.address])).to.deep.equal(totalsAfterWinner);
      expect(await s.paymentToken.read.balanceOf([s.wallets[3]!.account.address])).to.equal(renterBalance);
      // Refused in simulation: the loser never sent a transaction (no gas spent either).
      expect(await s.publicClient.getTransactionCount({ address: w2.address })).to.equal(0);
      await Promise.all([w1.dir.remove(), w2.dir.remove()]);
    });

    it("given the winner's transaction pending when the loser estimates gas → it should be a lost race by name, nothing sent", async () => {
      const { s, rows } = await networkHelpers.loadFixture(closedBatch);
      const sub = await poolSubmission(s, 1n, rows, s.ops);
      const [w1, w2] = [await keystoreWallet(s), await keystoreWallet(s)];
      await connection.provider.request({ method: "evm_setAutomine", params: [false] });
      try {
        const p1 = submitterFor(s, w1).submit(sub!);
        await pendingTx(s, w1.address);
        // The batch is still open in the latest block, so the loser's simulation passes; its gas estimation runs on
        // the pending state, where the winner already finalized the batch.
        const p2 = submitterFor(s, w2).submit(sub!);
        const lost = await p2;
        await networkHelpers.mine(1);
        expect((await p1).kind).to.equal("submitted");
        expect(lost).to.deep.equal({ kind: "alreadyFinal", errorName: "ServiceManagerBatchAlreadyFinal", pagesApplied: 0 }); // one page: the winner applied it
        expect(await s.publicClient.getTransactionCount({ address: w2.address })).to.equal(0);
      } finally {
        await connection.provider.request({ method: "evm_setAutomine", params: [true] });
        await Promise.all([w1.dir.remove(), w2.dir.remove()]);
      }
    });

    it("given the winner ordered first in the same block → the loser's mined revert should be decoded by replay as a lost race", async () => {
      const { s, rows } = await networkHelpers.loadFixture(closedBatch);
      const sub = await poolSubmission(s, 1n, rows, s.ops);
      const [w1, w2] = [await keystoreWallet(s), await keystoreWallet(s)];
      await connection.provider.request({ method: "evm_setAutomine", params: [false] });
      try {
        const loserP = submitterFor(s, w2).submit(sub!);
        await pendingTx(s, w2.address);
        // Another aggregator's transaction with a higher tip (explicit gas: its estimation would see ours pending)
        // is ordered first in the block.
        const block = await s.publicClient.getBlock();
        const winnerHash = await w1.walletClient.writeContract({
          address: s.serviceManager.address,
          abi: serviceManagerAbi,
          functionName: "submitResult",
          args: submitResultArgs(sub!, await fetchSignatureCheckHints(s.publicClient, s.serviceManager.address, sub!)),
          gas: 3_000_000n,
          maxPriorityFeePerGas: 10n ** 11n,
          maxFeePerGas: block.baseFeePerGas! * 2n + 10n ** 11n,
        });
        await networkHelpers.mine(1);
        const lost = await loserP;
        expect(lost).to.deep.equal({ kind: "alreadyFinal", errorName: "ServiceManagerBatchAlreadyFinal", pagesApplied: 0 }); // one page: the winner applied it
        expect((await s.publicClient.getTransactionReceipt({ hash: winnerHash })).status).to.equal("success");
        // The loser's transaction really was mined, and reverted: the path under test is the replay.
        expect(await s.publicClient.getTransactionCount({ address: w2.address })).to.equal(1);
        const mined = await s.publicClient.getBlock({ includeTransactions: true });
        expect(mined.transactions.map((t) => t.from.toLowerCase())).to.deep.equal([w1.address.toLowerCase(), w2.address.toLowerCase()]);
        const leases = await Promise.all(rows.map((r) => s.marketplace.read.getLease([r.orderId])));
        expect(leases.map((l) => l.status)).to.deep.equal([1, 1]);
      } finally {
        await connection.provider.request({ method: "evm_setAutomine", params: [true] });
        await Promise.all([w1.dir.remove(), w2.dir.remove()]);
      }
    });
  });

  describe("given signers below the quorum threshold", () => {
    it("→ the pool should release nothing, and a hand-built submission should fail the local check before any gas is spent", async () => {
      const { s, rows } = await networkHelpers.loadFixture(closedBatch);
      const [a, b, c, d] = s.ops;
      // 100 + 200 + 300 = 600 of 1000 stake < 6 667 bps.
      expect(await poolSubmission(s, 1n, rows, [a!, b!, c!])).to.equal(null);
      const full = await poolSubmission(s, 1n, rows, [a!, b!, c!, d!]);
      const set = await operatorSetAt(s, full!.referenceBlock);
      // Claiming only 60 % signed stake: the local re-run of checkSignatures refuses it.
      expect(() => checkSubmission({ ...full!, signedStake: 600n * 10n ** 18n }, set, 6667)).to.throw(/signed stake/);
      expect((await s.serviceManager.read.getBatch([1n])).status).to.equal(1); // still Closed
    });
  });
});
