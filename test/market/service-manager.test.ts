import { describe, it } from "mocha";
import { expect } from "chai";
import { network } from "hardhat";
import { encodeAbiParameters, encodeFunctionData, keccak256, parseEventLogs, toBytes, type Hex } from "viem";
import { SERVICE_MANAGER_DEFAULTS } from "../../deploy/parameters.js";
import { G1_GENERATOR } from "../../protocol/bls/index.js";
import {
  OPERATOR_STAKES, STAKE, USD, ZERO_HASH, assignmentsHash, buildSubmission, deploySystem, orders, providerOffer, registerOperator, resultMessage, sortedKeys,
  type Op, type System,
} from "../support/serviceManager.js";
import { SkipReason } from "../support/market.js";

const connection = await network.create();
const { networkHelpers, viem } = connection;
const fixture = () => deploySystem(connection);

/** Batch 1 closed over 2 open orders and one offer; returns the rows a matcher would output. */
async function closedBatchFixture() {
  const s = await deploySystem(connection);
  const versionId = await providerOffer(s, 0);
  const ids = await orders(s, 2);
  await s.serviceManager.write.closeBatch();
  const rows = ids.map((orderId) => ({ orderId, offerVersionId: versionId, gpuCount: 2, pricePerGpuHour: 2n * USD }));
  return { s, rows, versionId };
}

const LEADER_DOMAIN = keccak256(toBytes("matchnet/leader/v1"));
const MAX = 2n ** 256n - 1n;

/**
 * The leader draw of docs/protocol.md §3.2, written from the spec: key = keccak(LEADER_DOMAIN, drawSeed, b);
 * position p draws uniformly (rejection sampling on keccak(key, p, attempt)) over the stake of the members not drawn
 * yet, walked in registration order; once every member was drawn, all are eligible again.
 */
function leaderTs(drawSeed: Hex, batch: bigint, index: bigint, ids: Hex[], stakes: bigint[]): Hex {
  const key = keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "bytes32" }, { type: "uint64" }], [LEADER_DOMAIN, drawSeed, batch]));
  const total = stakes.reduce((a, b) => a + b, 0n);
  let drawn = new Set<number>();
  let leader: Hex = "0x";
  for (let p = 0n; p <= index; p++) {
    if (drawn.size === ids.length) drawn = new Set();
    const remaining = total - [...drawn].reduce((a, i) => a + stakes[i]!, 0n);
    const limit = MAX - (MAX % remaining);
    let draw = 0n;
    for (let attempt = 0n; ; attempt++) {
      draw = BigInt(keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "uint256" }, { type: "uint256" }], [key, p, attempt])));
      if (draw < limit) break;
    }
    let target = draw % remaining;
    for (let i = 0; i < ids.length; i++) {
      if (drawn.has(i)) continue;
      if (target < stakes[i]!) {
        drawn.add(i);
        leader = ids[i]!;
        break;
      }
      target -= stakes[i]!;
    }
  }
  return leader;
}

/** The draw seed of a batch whose draw block is its own R_b (genesis, or after an abandoned batch). */
const freshDrawSeed = (previousSeed: Hex, referenceBlockHash: Hex) =>
  keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "bytes32" }], [previousSeed, referenceBlockHash]));

async function submit(s: System, args: Awaited<ReturnType<typeof buildSubmission>>["args"]) {
  return s.serviceManager.write.submitResult(args);
}

describe("ServiceManager", () => {
  describe("given closeBatch", () => {
    it("→ it should record R_b = block − 1, seed_{b−1}, and a fallback order of distinct operators that off-chain code can recompute", async () => {
      const s = await networkHelpers.loadFixture(fixture);
      const hash = await s.serviceManager.write.closeBatch();
      const receipt = await s.publicClient.waitForTransactionReceipt({ hash });
      const b = await s.serviceManager.read.getBatch([1n]);
      expect(b.status).to.equal(1);
      expect(BigInt(b.referenceBlock)).to.equal(receipt.blockNumber - 1n);
      expect(b.previousSeed).to.equal(await s.serviceManager.read.latestSeed());
      expect(b.drawBlock).to.equal(b.referenceBlock); // genesis: no final batch yet
      expect(b.referenceBlockHash).to.equal((await s.publicClient.getBlock({ blockNumber: BigInt(b.referenceBlock) })).hash);
      const [ev] = parseEventLogs({ abi: s.serviceManager.abi, logs: receipt.logs, eventName: "BatchClosed" });
      expect(ev!.args).to.deep.equal({ batch: 1n, referenceBlock: b.referenceBlock, previousSeed: b.previousSeed, drawBlock: b.drawBlock });
      const ids = s.ops.map((o) => o.id);
      const length = await s.serviceManager.read.fallbackLength();
      expect(length).to.equal(40n / 5n + 1n);
      const order: Hex[] = [];
      for (let k = 0n; k < length; k++) {
        const onChain = await s.serviceManager.read.leaderOf([1n, k]);
        expect(onChain).to.equal(leaderTs(freshDrawSeed(b.previousSeed, b.referenceBlockHash), 1n, k, ids, OPERATOR_STAKES));
        order.push(onChain);
      }
      // 4 operators: positions 0–3 are all of them, 4–7 all of them again, 8 starts a third round.
      expect(new Set(order.slice(0, 4)).size).to.equal(4);
      expect(new Set(order.slice(4, 8)).size).to.equal(4);
      await viem.assertions.revertWithCustomError(s.serviceManager.read.leaderOf([1n, length]), s.serviceManager, "ServiceManagerSeedSignerNotYetAllowed");
    });

    it("→ it should draw batch b's leaders on the stakes at R_{b−1}: a top-up after seed_{b−1} is known changes none of them", async () => {
      const { s, rows } = await networkHelpers.loadFixture(closedBatchFixture);
      await submit(s, (await buildSubmission(s, 1n, rows)).args);
      const b1 = await s.serviceManager.read.getBatch([1n]);
      await networkHelpers.mine(10);
      // Without a top-up, and with an operator topping up 100× its stake once seed_1 is public (before R_2).
      const snapshot = await networkHelpers.takeSnapshot();
      await s.serviceManager.write.closeBatch();
      const plain: Hex[] = [];
      for (let k = 0n; k < 9n; k++) plain.push(await s.serviceManager.read.leaderOf([2n, k]));
      await snapshot.restore();
      const grinder = s.ops[0]!;
      const wallet = s.wallets[10]!;
      const extra = OPERATOR_STAKES[0]! * 100n;
      await s.stakeToken.write.mint([wallet.account.address, extra]);
      await s.stakeToken.write.approve([s.operatorRegistry.address, extra], { account: wallet.account });
      await s.operatorRegistry.write.topUp([extra], { account: wallet.account });
      await s.serviceManager.write.closeBatch();
      const b2 = await s.serviceManager.read.getBatch([2n]);
      expect(b2.drawBlock).to.equal(b1.referenceBlock);
      const ground: Hex[] = [];
      for (let k = 0n; k < 9n; k++) ground.push(await s.serviceManager.read.leaderOf([2n, k]));
      expect(ground).to.deep.equal(plain);
      expect(ground).to.deep.equal([...Array(9).keys()].map((k) => leaderTs(b1.seed, 2n, BigInt(k), s.ops.map((o) => o.id), OPERATOR_STAKES)));
      expect(await s.operatorRegistry.read.currentStake([grinder.id])).to.equal(OPERATOR_STAKES[0]! + extra);
    });

    it("→ it should fix R_b by the chain's history: closing later gives the same R_b (the closer cannot pick the seed's block)", async () => {
      const { s, rows } = await networkHelpers.loadFixture(closedBatchFixture);
      await submit(s, (await buildSubmission(s, 1n, rows)).args);
      const b1 = await s.serviceManager.read.getBatch([1n]);
      const earliest = Math.max(b1.closedAt + 10, b1.pagesDoneAt + 1);
      const head = Number(await s.publicClient.getBlockNumber());
      await networkHelpers.mine(earliest - head - 1 + 17); // 17 blocks after the close was allowed
      await s.serviceManager.write.closeBatch();
      expect((await s.serviceManager.read.getBatch([2n])).referenceBlock).to.equal(earliest - 1);
    });

    it("→ it should take R_b = block − 1 once blockhash no longer reaches the earliest close (256 blocks), not before", async () => {
      for (const late of [256, 257]) {
        const { s, rows } = await networkHelpers.loadFixture(closedBatchFixture);
        await submit(s, (await buildSubmission(s, 1n, rows)).args);
        const b1 = await s.serviceManager.read.getBatch([1n]);
        const earliest = Math.max(b1.closedAt + 10, b1.pagesDoneAt + 1);
        const head = Number(await s.publicClient.getBlockNumber());
        // the close lands in block earliest − 1 + late, i.e. `late` blocks after R_b = earliest − 1
        await networkHelpers.mine(earliest - 1 + late - head - 1);
        const hash = await s.serviceManager.write.closeBatch();
        const closedAt = Number((await s.publicClient.waitForTransactionReceipt({ hash })).blockNumber);
        expect(closedAt).to.equal(earliest - 1 + late);
        const b2 = await s.serviceManager.read.getBatch([2n]);
        expect(b2.referenceBlock).to.equal(late === 256 ? earliest - 1 : closedAt - 1);
        expect(b2.referenceBlockHash).to.not.equal(`0x${"0".repeat(64)}`);
      }
    });

    for (const age of [255, 256, 257]) {
      it(`a close ${age} blocks after R_{b−1} → it should draw on ${age <= 256 ? "the stakes at R_{b−1}" : "the stakes at R_b, blockhash(R_b) mixed in (no member can have withdrawn before b's last draw)"}`, async () => {
        const { s, rows } = await networkHelpers.loadFixture(closedBatchFixture);
        await submit(s, (await buildSubmission(s, 1n, rows)).args);
        const b1 = await s.serviceManager.read.getBatch([1n]);
        const head = Number(await s.publicClient.getBlockNumber());
        await networkHelpers.mine(b1.referenceBlock + age - head - 1); // the close lands at R_1 + age
        const hash = await s.serviceManager.write.closeBatch();
        expect(Number((await s.publicClient.waitForTransactionReceipt({ hash })).blockNumber)).to.equal(b1.referenceBlock + age);
        const b2 = await s.serviceManager.read.getBatch([2n]);
        expect(b2.drawBlock).to.equal(age <= 256 ? b1.referenceBlock : b2.referenceBlock);
        const drawSeed = age <= 256 ? b1.seed : freshDrawSeed(b2.previousSeed, b2.referenceBlockHash);
        expect(await s.serviceManager.read.leaderOf([2n, 0n])).to.equal(leaderTs(drawSeed, 2n, 0n, s.ops.map((o) => o.id), OPERATOR_STAKES));
      });
    }

    it("→ it should draw over the operators holding stake only: 40 that registered and withdrew cost leaderOf no gas", async () => {
      const s = await deploySystem(connection);
      await s.serviceManager.write.closeBatch();
      const data = encodeFunctionData({ abi: s.serviceManager.abi, functionName: "leaderOf", args: [1n, 8n] });
      const draw = () => s.publicClient.estimateGas({ to: s.serviceManager.address, data });
      const before = await draw();
      const leaders = await Promise.all([...Array(9).keys()].map((k) => s.serviceManager.read.leaderOf([1n, BigInt(k)])));
      const churn: Op[] = [];
      for (let i = 4; i < 44; i++) churn.push(await registerOperator(connection, s, s.chainId, i, STAKE));
      for (const op of churn) await s.operatorRegistry.write.deregister({ account: op.address });
      await networkHelpers.mine(Number(await s.operatorRegistry.read.exitDelay()));
      for (const op of churn) await s.operatorRegistry.write.withdrawStake({ account: op.address });
      expect(await s.operatorRegistry.read.operatorCount()).to.equal(44n);
      expect(await Promise.all([...Array(9).keys()].map((k) => s.serviceManager.read.leaderOf([1n, BigInt(k)])))).to.deep.equal(leaders);
      // The walk touches no withdrawn entry: the same gas, not ≈ 9 000 more per entry ever registered.
      expect(Number((await draw()) - before)).to.be.within(-100, 100);
    });

    it("→ it should refuse to close again before batchInterval blocks, or with no operator stake", async () => {
      const s = await networkHelpers.loadFixture(fixture);
      await s.serviceManager.write.closeBatch();
      await viem.assertions.revertWithCustomError(s.serviceManager.write.closeBatch(), s.serviceManager, "ServiceManagerTooEarly");
      const empty = await deploySystem(await network.create(), 0);
      await viem.assertions.revertWithCustomError(empty.serviceManager.write.closeBatch(), empty.serviceManager, "ServiceManagerEmptyOperatorSet");
    });

    it("→ it should refuse to close while the previous batch is pending, and abandon it once timed out", async () => {
      const s = await networkHelpers.loadFixture(fixture);
      await s.serviceManager.write.closeBatch();
      await networkHelpers.mine(10);
      await viem.assertions.revertWithCustomError(s.serviceManager.write.closeBatch(), s.serviceManager, "ServiceManagerPreviousBatchPending");
      await networkHelpers.mine(40);
      const tx = s.serviceManager.write.closeBatch();
      await viem.assertions.emitWithArgs(tx, s.serviceManager, "BatchAbandoned", [1n]);
      expect((await s.serviceManager.read.getBatch([1n])).status).to.equal(3);
      expect(await s.serviceManager.read.batchCount()).to.equal(2n);
    });
  });

  describe("given 4 operators (keys made in TypeScript) sign a batch result", () => {
    it("→ it should verify the aggregate, finalize the batch, and create the leases", async () => {
      const { s, rows } = await networkHelpers.loadFixture(closedBatchFixture);
      const sub = await buildSubmission(s, 1n, rows);
      // One page: C_0 = keccak256(abi.encode(rows, bytes32(0))), as docs/protocol.md §3.7 defines it.
      const c0 = keccak256(encodeAbiParameters([{ type: "tuple[]", components: [
        { name: "orderId", type: "uint64" }, { name: "offerVersionId", type: "uint64" }, { name: "gpuCount", type: "uint32" }, { name: "pricePerGpuHour", type: "uint128" },
      ] }, { type: "bytes32" }], [rows, `0x${"0".repeat(64)}`]));
      expect(await s.serviceManager.read.resultMessageHash([1n, sub.seed, c0])).to.equal(sub.msg);
      const total = OPERATOR_STAKES.reduce((a, b) => a + b, 0n);
      await viem.assertions.emitWithArgs(submit(s, sub.args), s.serviceManager, "BatchFinalized", [1n, sub.seed, sub.msg, assignmentsHash(rows), total, total, 0n]);
      for (const r of rows) expect((await s.marketplace.read.getLease([r.orderId])).status).to.equal(1);
      const b = await s.serviceManager.read.getBatch([1n]);
      expect(b.status).to.equal(2);
      expect(await s.serviceManager.read.latestSeed()).to.equal(sub.seed);
      // the next batch chains the seed
      await networkHelpers.mine(10);
      await s.serviceManager.write.closeBatch();
      expect((await s.serviceManager.read.getBatch([2n])).previousSeed).to.equal(sub.seed);
    });

    it("→ it should accept one non-signer when the rest hold ≥ 6 667 bps, and skip a signed assignment that breaks a rule", async () => {
      const { s, rows } = await networkHelpers.loadFixture(closedBatchFixture);
      const [, b, c, d] = s.ops as [System["ops"][0], System["ops"][0], System["ops"][0], System["ops"][0]];
      const bad = [...rows, { orderId: 99n, offerVersionId: rows[0]!.offerVersionId, gpuCount: 2, pricePerGpuHour: 2n * USD }];
      const sub = await buildSubmission(s, 1n, bad, { signers: [b, c, d] }); // 900 of 1000
      const hash = await submit(s, sub.args);
      const receipt = await s.publicClient.waitForTransactionReceipt({ hash });
      const skipped = parseEventLogs({ abi: s.marketplace.abi, logs: receipt.logs, eventName: "AssignmentSkipped" });
      expect(skipped.map((l) => l.args)).to.deep.equal([{ batch: 1n, orderId: 99n, reason: SkipReason.UnknownOrder }]);
    });

    it("→ it should not let the next batch close in the block its result was applied (R_b must see the leases)", async () => {
      const { s, rows } = await networkHelpers.loadFixture(closedBatchFixture);
      await networkHelpers.mine(10);
      const sub = await buildSubmission(s, 1n, rows);
      await connection.provider.request({ method: "evm_setAutomine", params: [false] });
      try {
        const submitHash = await s.serviceManager.write.submitResult(sub.args, { gas: 5_000_000n });
        const closeHash = await s.serviceManager.write.closeBatch({ gas: 1_000_000n });
        await networkHelpers.mine(1);
        expect((await s.publicClient.getTransactionReceipt({ hash: submitHash })).status).to.equal("success");
        expect((await s.publicClient.getTransactionReceipt({ hash: closeHash })).status).to.equal("reverted");
      } finally {
        await connection.provider.request({ method: "evm_setAutomine", params: [true] });
      }
      await s.serviceManager.write.closeBatch();
      expect((await s.serviceManager.read.getBatch([2n])).referenceBlock).to.be.greaterThanOrEqual((await s.serviceManager.read.getBatch([1n])).finalizedAt);
    });

    it("→ it should revert a second submission with ServiceManagerBatchAlreadyFinal", async () => {
      const { s, rows } = await networkHelpers.loadFixture(closedBatchFixture);
      const sub = await buildSubmission(s, 1n, rows);
      await submit(s, sub.args);
      await viem.assertions.revertWithCustomError(submit(s, sub.args), s.serviceManager, "ServiceManagerBatchAlreadyFinal");
    });
  });

  describe("given a result of more than one page (docs/protocol.md §3.7)", () => {
    /** Batch 1 closed over 130 open orders (two pages: 128 + 2). */
    async function twoPagesFixture() {
      const s = await deploySystem(connection);
      const versionId = await providerOffer(s, 0);
      const ids = await orders(s, 130);
      await s.serviceManager.write.closeBatch();
      const rows = ids.map((orderId) => ({ orderId, offerVersionId: versionId, gpuCount: 2, pricePerGpuHour: 2n * USD }));
      return { s, rows };
    }

    it("→ it should finalize with page 0, hold the next close until anyone applies page 1 against the commitment, then refuse it twice", async () => {
      const { s, rows } = await networkHelpers.loadFixture(twoPagesFixture);
      const sub = await buildSubmission(s, 1n, rows);
      expect(sub.pages.map((p) => p.length)).to.deep.equal([128, 2]);
      const hash = await submit(s, sub.args);
      const logs = parseEventLogs({ abi: s.serviceManager.abi, logs: (await s.publicClient.waitForTransactionReceipt({ hash })).logs });
      expect(logs.filter((l) => l.eventName === "PageApplied").map((l) => l.args)).to.deep.equal([{ batch: 1n, index: 0n, assignments: 128n }]);
      let b = await s.serviceManager.read.getBatch([1n]);
      expect([b.status, b.assignmentsHash, b.pendingPages, b.pagesApplied, b.pagesDoneAt]).to.deep.equal([2, sub.commitments[0], sub.commitments[1], 1, 0]);
      expect((await s.marketplace.read.getOrder([rows[128]!.orderId])).status).to.equal(1); // still open
      await networkHelpers.mine(10);
      await viem.assertions.revertWithCustomError(s.serviceManager.write.closeBatch(), s.serviceManager, "ServiceManagerPreviousBatchPending");
      const stranger = s.wallets[19]!.account;
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.serviceManager.write.applyPage([1n, [rows[128]!], ZERO_HASH], { account: stranger }), s.serviceManager, "ServiceManagerPageMismatch", [1n, 1n]);
      const apply = s.serviceManager.write.applyPage([1n, sub.pages[1]!, ZERO_HASH], { account: stranger });
      await viem.assertions.emitWithArgs(apply, s.serviceManager, "BatchPagesApplied", [1n, 2n]);
      b = await s.serviceManager.read.getBatch([1n]);
      expect([b.pendingPages, b.pagesApplied]).to.deep.equal([ZERO_HASH, 2]);
      for (const r of [rows[0]!, rows[127]!, rows[128]!, rows[129]!]) expect((await s.marketplace.read.getLease([r.orderId])).status).to.equal(1);
      await viem.assertions.revertWithCustomError(s.serviceManager.write.applyPage([1n, sub.pages[1]!, ZERO_HASH]), s.serviceManager, "ServiceManagerNoPendingPages");
      await s.serviceManager.write.closeBatch();
      expect((await s.serviceManager.read.getBatch([2n])).referenceBlock).to.be.greaterThanOrEqual(b.pagesDoneAt);
    });

    it("→ it should let pages apply up to batchTimeout blocks after finalization, not one later, and then expire them at the next close", async () => {
      for (const lateBy of [0, 1]) {
        const { s, rows } = await networkHelpers.loadFixture(twoPagesFixture);
        const sub = await buildSubmission(s, 1n, rows);
        const commitmentOnly = [...sub.args] as unknown as unknown[];
        commitmentOnly[1] = [];
        commitmentOnly[2] = sub.commitments[0];
        await submit(s, commitmentOnly as unknown as typeof sub.args);
        const b = await s.serviceManager.read.getBatch([1n]);
        expect([b.pendingPages, b.pagesApplied]).to.deep.equal([sub.commitments[0], 0]);
        const head = Number(await s.publicClient.getBlockNumber());
        await networkHelpers.mine(b.finalizedAt + 40 + lateBy - head - 1); // the next tx lands at finalizedAt + 40 + lateBy
        const page0 = s.serviceManager.write.applyPage([1n, sub.pages[0]!, sub.commitments[1]!]);
        if (lateBy === 0) {
          await viem.assertions.emitWithArgs(page0, s.serviceManager, "PageApplied", [1n, 0n, 128n]);
          continue;
        }
        await viem.assertions.revertWithCustomError(page0, s.serviceManager, "ServiceManagerNoPendingPages");
        await viem.assertions.emitWithArgs(s.serviceManager.write.closeBatch(), s.serviceManager, "BatchPagesExpired", [1n, 0n]);
        expect((await s.serviceManager.read.getBatch([1n])).pendingPages).to.equal(ZERO_HASH);
        expect((await s.marketplace.read.getOrder([rows[0]!.orderId])).status).to.equal(1); // open again for batch 2
      }
    });

    it("an empty result → it should be final with every page applied at once (commitment 0)", async () => {
      const { s } = await networkHelpers.loadFixture(closedBatchFixture);
      const sub = await buildSubmission(s, 1n, []);
      expect(sub.commitments).to.deep.equal([ZERO_HASH]);
      await viem.assertions.emitWithArgs(submit(s, sub.args), s.serviceManager, "BatchPagesApplied", [1n, 0n]);
      await networkHelpers.mine(10);
      await viem.assertions.emit(s.serviceManager.write.closeBatch(), s.serviceManager, "BatchClosed");
    });
  });

  describe("given a signed result already wrong at R_b (docs/protocol.md §5)", () => {
    /** Batch 1 final with a row for an order that never existed, signed by b, c and d (a did not sign). */
    async function invalidResultFixture() {
      const { s, rows } = await closedBatchFixture();
      const bad = [...rows, { orderId: 99n, offerVersionId: rows[0]!.offerVersionId, gpuCount: 2, pricePerGpuHour: 2n * USD }];
      const [a, b, c, d] = s.ops as [System["ops"][0], System["ops"][0], System["ops"][0], System["ops"][0]];
      const sub = await buildSubmission(s, 1n, bad, { signers: [b, c, d] });
      const hash = await submit(s, sub.args);
      const receipt = await s.publicClient.waitForTransactionReceipt({ hash });
      return { s, a, b, c, d, nonSigners: sub.args[5].nonSignerPubkeys, receipt };
    }

    it("→ it should prove it invalid at application, and slash each signer once by invalidResultSlashBps and jail it", async () => {
      const { s, b, c, nonSigners, receipt } = await networkHelpers.loadFixture(invalidResultFixture);
      const proven = parseEventLogs({ abi: s.serviceManager.abi, logs: receipt.logs, eventName: "ResultProvenInvalid" });
      expect(proven.map((l) => l.args)).to.deep.equal([{ batch: 1n, orderId: 99n, reason: SkipReason.UnknownOrder }]);
      expect((await s.serviceManager.read.getBatch([1n])).invalidAt).to.equal(Number(receipt.blockNumber));
      for (const [op, stake] of [[b, OPERATOR_STAKES[1]!], [c, OPERATOR_STAKES[2]!]] as const) {
        const cut = stake * 5_000n / 10_000n; // invalidResultSlashBps defaults to 5 000
        await viem.assertions.emitWithArgs(s.serviceManager.write.slashInvalidResultSigner([1n, op.id, nonSigners]), s.serviceManager, "InvalidResultSignerSlashed", [1n, op.id, cut]);
        const after = await s.operatorRegistry.read.getOperator([op.id]);
        expect([after.stake, after.status]).to.deep.equal([stake - cut, 2]); // Jailed
      }
      await viem.assertions.revertWithCustomErrorWithArgs(s.serviceManager.write.slashInvalidResultSigner([1n, b.id, nonSigners]), s.serviceManager, "ServiceManagerSignerAlreadySlashed", [1n, b.id]);
    });

    it("→ it should refuse a non-signer, an operator without stake at R_b, and a non-signer list other than the submitted one", async () => {
      const { s, a, d, nonSigners } = await networkHelpers.loadFixture(invalidResultFixture);
      await viem.assertions.revertWithCustomErrorWithArgs(s.serviceManager.write.slashInvalidResultSigner([1n, a.id, nonSigners]), s.serviceManager, "ServiceManagerNotASigner", [1n, a.id]);
      const stranger = keccak256(toBytes("not an operator"));
      await viem.assertions.revertWithCustomErrorWithArgs(s.serviceManager.write.slashInvalidResultSigner([1n, stranger, nonSigners]), s.serviceManager, "ServiceManagerNotASigner", [1n, stranger]);
      // Dropping a from the list would make it look like a signer.
      await viem.assertions.revertWithCustomErrorWithArgs(s.serviceManager.write.slashInvalidResultSigner([1n, a.id, []]), s.serviceManager, "ServiceManagerNonSignersMismatch", [1n]);
      await viem.assertions.revertWithCustomErrorWithArgs(s.serviceManager.write.slashInvalidResultSigner([1n, d.id, [...nonSigners, d.pkG1]]), s.serviceManager, "ServiceManagerNonSignersMismatch", [1n]);
    });

    for (const late of [-1, 0, 1]) {
      it(`a proof ${late < 0 ? "one block before" : late > 0 ? "one block after" : "at"} batchTimeout blocks after the result was proven invalid → it should be ${late > 0 ? "refused" : "accepted"}`, async () => {
        const { s, b, nonSigners, receipt } = await networkHelpers.loadFixture(invalidResultFixture);
        const deadline = Number(receipt.blockNumber) + 40;
        await networkHelpers.mine(deadline + late - Number(await s.publicClient.getBlockNumber()) - 1); // the tx lands at deadline + late
        const slash = s.serviceManager.write.slashInvalidResultSigner([1n, b.id, nonSigners]);
        if (late > 0) await viem.assertions.revertWithCustomErrorWithArgs(slash, s.serviceManager, "ServiceManagerSlashWindowClosed", [1n, BigInt(deadline)]);
        else await viem.assertions.emit(slash, s.serviceManager, "InvalidResultSignerSlashed");
      });
    }

    it("a result whose only skip comes from a change after R_b (an order cancelled) → it should not be invalid, and nobody can be slashed", async () => {
      const { s, rows } = await networkHelpers.loadFixture(closedBatchFixture);
      await s.marketplace.write.cancelOrder([rows[1]!.orderId], { account: s.wallets[3]!.account });
      const sub = await buildSubmission(s, 1n, rows);
      const hash = await submit(s, sub.args);
      const logs = parseEventLogs({ abi: s.marketplace.abi, logs: (await s.publicClient.waitForTransactionReceipt({ hash })).logs, eventName: "AssignmentSkipped" });
      expect(logs.map((l) => l.args.reason)).to.deep.equal([SkipReason.OrderNotOpen]);
      expect((await s.serviceManager.read.getBatch([1n])).invalidAt).to.equal(0);
      await viem.assertions.revertWithCustomErrorWithArgs(s.serviceManager.write.slashInvalidResultSigner([1n, s.ops[0]!.id, []]), s.serviceManager, "ServiceManagerResultNotInvalid", [1n]);
    });

    it("a wrong row on a later page → it should be proven when anyone applies that page", async () => {
      const s = await deploySystem(connection);
      const versionId = await providerOffer(s, 0);
      const ids = await orders(s, 129);
      await s.serviceManager.write.closeBatch();
      const rows = [...ids, 999n].map((orderId) => ({ orderId, offerVersionId: versionId, gpuCount: 2, pricePerGpuHour: 2n * USD }));
      const sub = await buildSubmission(s, 1n, rows);
      await submit(s, sub.args);
      expect((await s.serviceManager.read.getBatch([1n])).invalidAt).to.equal(0);
      await viem.assertions.emitWithArgs(s.serviceManager.write.applyPage([1n, sub.pages[1]!, ZERO_HASH]), s.serviceManager, "ResultProvenInvalid", [1n, 999n, SkipReason.UnknownOrder]);
      await viem.assertions.emit(s.serviceManager.write.slashInvalidResultSigner([1n, s.ops[3]!.id, []]), s.serviceManager, "InvalidResultSignerSlashed");
    });
  });

  describe("given an invalid submission", () => {
    it("signers below the threshold → it should revert with ServiceManagerQuorumNotReached", async () => {
      const { s, rows } = await networkHelpers.loadFixture(closedBatchFixture);
      const sub = await buildSubmission(s, 1n, rows, { signers: [s.ops[1]!, s.ops[3]!] }); // 600 of 1000
      await viem.assertions.revertWithCustomError(submit(s, sub.args), s.serviceManager, "ServiceManagerQuorumNotReached");
    });

    it("non-signers unsorted or duplicated → it should revert with the checker's errors", async () => {
      const { s, rows } = await networkHelpers.loadFixture(closedBatchFixture);
      const [a, b, c, d] = s.ops as [System["ops"][0], System["ops"][0], System["ops"][0], System["ops"][0]];
      const unsorted = await buildSubmission(s, 1n, rows, { signers: [c, d], nonSigners: sortedKeys([a, b]).reverse() });
      await viem.assertions.revertWithCustomError(submit(s, unsorted.args), s.serviceManager, "BLSSignatureCheckerNonSignersNotSorted");
      const dup = await buildSubmission(s, 1n, rows, { signers: [b, c, d], nonSigners: [a.pkG1, a.pkG1] });
      await viem.assertions.revertWithCustomError(submit(s, dup.args), s.serviceManager, "BLSSignatureCheckerDuplicateNonSigner");
    });

    it("a tampered assignment list → it should revert with BLSSignatureCheckerPairingFailed", async () => {
      const { s, rows } = await networkHelpers.loadFixture(closedBatchFixture);
      const sub = await buildSubmission(s, 1n, rows);
      const tampered = [...sub.args] as unknown as typeof sub.args;
      (tampered as unknown as unknown[])[1] = [{ ...rows[0]!, pricePerGpuHour: 1n * USD }, rows[1]!];
      await viem.assertions.revertWithCustomError(submit(s, tampered), s.serviceManager, "BLSSignatureCheckerPairingFailed");
    });

    it("an operator registered after R_b → it should not count: its signature fails, and it cannot be a non-signer", async () => {
      const { s, rows } = await networkHelpers.loadFixture(closedBatchFixture);
      const late = await registerOperator(connection, s, s.chainId, 4, 1_000n * 10n ** 18n);
      const withLate = await buildSubmission(s, 1n, rows, { signers: [...s.ops, late], nonSigners: [] });
      await viem.assertions.revertWithCustomError(submit(s, withLate.args), s.serviceManager, "BLSSignatureCheckerPairingFailed");
      const lateAsNonSigner = await buildSubmission(s, 1n, rows, { signers: s.ops, nonSigners: [late.pkG1] });
      await viem.assertions.revertWithCustomError(submit(s, lateAsNonSigner.args), s.serviceManager, "BLSSignatureCheckerUnknownNonSigner");
    });

    it("a seed not signed by the expected leader → it should revert with ServiceManagerInvalidSeed", async () => {
      const { s, rows } = await networkHelpers.loadFixture(closedBatchFixture);
      const leader = await s.serviceManager.read.leaderOf([1n, 0n]);
      const other = s.ops.find((o) => o.id !== leader)!;
      const sub = await buildSubmission(s, 1n, rows, { seedSigner: other });
      await viem.assertions.revertWithCustomError(submit(s, sub.args), s.serviceManager, "ServiceManagerInvalidSeed");
    });

    it("a fallback leader's seed → it should be refused before seedTimeout blocks and accepted after", async () => {
      const { s, rows } = await networkHelpers.loadFixture(closedBatchFixture);
      const early = await buildSubmission(s, 1n, rows, { seedIndex: 1n });
      await viem.assertions.revertWithCustomError(submit(s, early.args), s.serviceManager, "ServiceManagerSeedSignerNotYetAllowed");
      await networkHelpers.mine(5);
      const late = await buildSubmission(s, 1n, rows, { seedIndex: 1n });
      await viem.assertions.emit(submit(s, late.args), s.serviceManager, "BatchFinalized");
    });

    it("an unknown, timed-out or abandoned batch → it should revert with the matching error", async () => {
      const { s, rows } = await networkHelpers.loadFixture(closedBatchFixture);
      const sub = await buildSubmission(s, 1n, rows);
      const unknown = [...sub.args] as unknown as unknown[];
      unknown[0] = 9n;
      await viem.assertions.revertWithCustomError(submit(s, unknown as unknown as typeof sub.args), s.serviceManager, "ServiceManagerUnknownBatch");
      await viem.assertions.revertWithCustomError(s.serviceManager.write.abandonBatch([1n]), s.serviceManager, "ServiceManagerCannotAbandon");
      await networkHelpers.mine(40);
      await viem.assertions.revertWithCustomError(submit(s, sub.args), s.serviceManager, "ServiceManagerBatchTimedOut");
      await viem.assertions.emitWithArgs(s.serviceManager.write.abandonBatch([1n]), s.serviceManager, "BatchAbandoned", [1n]);
      await viem.assertions.revertWithCustomError(submit(s, sub.args), s.serviceManager, "ServiceManagerBatchAbandoned");
      await viem.assertions.revertWithCustomError(s.serviceManager.write.abandonBatch([1n]), s.serviceManager, "ServiceManagerCannotAbandon");
    });
  });

  describe("given an operator signs two different results for one batch", () => {
    it("→ it should slash it, jail it and pay the submitter a bounty; the same result twice should not slash", async () => {
      const { s, rows } = await networkHelpers.loadFixture(closedBatchFixture);
      const op = s.ops[3]!;
      const sub = await buildSubmission(s, 1n, rows);
      const b = await s.serviceManager.read.getBatch([1n]);
      const other = [rows[0]!];
      const sigA = op.sk.sign(sub.msg);
      const msgB = resultMessage(s, 1n, b.referenceBlock, sub.seed, other);
      const sigB = op.sk.sign(msgB);
      const a = { seed: sub.seed, assignmentsHash: assignmentsHash(rows), sigma: sigA };
      const same = s.serviceManager.write.slashEquivocation([op.id, 1n, a, a]);
      await viem.assertions.revertWithCustomError(same, s.serviceManager, "EquivocationSlasherSameMessage");
      const bMsg = { seed: sub.seed, assignmentsHash: assignmentsHash(other), sigma: sigB };
      const hunter = s.wallets[1]!;
      // The bounty goes to a reporter that committed to the proof in an earlier block (docs/contracts-avs.md).
      const duty = `0x${"1".padStart(64, "0")}` as const;
      const commitment = await s.serviceManager.read.equivocationCommitment([hunter.account.address, op.id, duty, { msgHash: sub.msg, sigma: sigA }, { msgHash: msgB, sigma: sigB }]);
      await s.serviceManager.write.commitEquivocation([commitment], { account: hunter.account });
      await s.serviceManager.write.slashEquivocation([op.id, 1n, a, bMsg], { account: hunter.account });
      const rec = await s.operatorRegistry.read.getOperator([op.id]);
      expect(rec.status).to.equal(2); // Jailed
      expect(rec.stake).to.equal(OPERATOR_STAKES[3]! / 2n);
      expect(await s.stakeToken.read.balanceOf([hunter.account.address])).to.equal(OPERATOR_STAKES[3]! / 2n / 10n);
      const forged = { ...bMsg, sigma: G1_GENERATOR };
      await viem.assertions.revertWithCustomError(s.serviceManager.write.slashEquivocation([s.ops[2]!.id, 1n, a, forged]), s.serviceManager, "EquivocationSlasherInvalidSignature");
    });
  });

  describe("given the owner's parameters", () => {
    it("→ it should expose the defaults deploy/parameters.ts documents and set each with an event", async () => {
      const s = await networkHelpers.loadFixture(fixture);
      const d = SERVICE_MANAGER_DEFAULTS;
      expect(await s.serviceManager.read.batchTiming()).to.deep.equal(d.batchTiming);
      expect(await s.serviceManager.read.quorumThresholdBps()).to.equal(d.quorumThresholdBps);
      const w = await s.serviceManager.read.matchingWeights();
      expect({ ...w }).to.deep.equal(d.matchingWeights);
      expect(Object.values(w).reduce((a, b) => a + b, 0)).to.equal(10_000);
      const f = d.slashFractions;
      expect(await s.serviceManager.read.slashFractions()).to.deep.equal([f.equivocationSlashBps, f.equivocationBountyBps, f.invalidResultSlashBps]);
      await viem.assertions.emitWithArgs(s.serviceManager.write.setQuorumThresholdBps([7_500]), s.serviceManager, "QuorumThresholdSet", [7_500]);
      await viem.assertions.emitWithArgs(s.serviceManager.write.setBatchTiming([{ batchInterval: 3, seedTimeout: 2, batchTimeout: 9 }]), s.serviceManager, "BatchTimingSet", [3, 2, 9]);
      await viem.assertions.emit(s.serviceManager.write.setMatchingWeights([{ ...w, region: w.region + 100, price: w.price - 100 }]), s.serviceManager, "MatchingWeightsSet");
      await viem.assertions.emitWithArgs(s.serviceManager.write.setSlashFractions([1, 2, 3]), s.serviceManager, "SlashFractionsSet", [1, 2, 3]);
    });

    it("→ it should refuse out-of-range values and callers other than the owner", async () => {
      const s = await networkHelpers.loadFixture(fixture);
      const w = await s.serviceManager.read.matchingWeights();
      const bad = "ServiceManagerInvalidParameter";
      await viem.assertions.revertWithCustomError(s.serviceManager.write.setQuorumThresholdBps([5_000]), s.serviceManager, bad);
      await viem.assertions.revertWithCustomError(s.serviceManager.write.setQuorumThresholdBps([10_001]), s.serviceManager, bad);
      await viem.assertions.revertWithCustomError(s.serviceManager.write.setBatchTiming([{ batchInterval: 3, seedTimeout: 9, batchTimeout: 9 }]), s.serviceManager, bad);
      await viem.assertions.revertWithCustomError(s.serviceManager.write.setMatchingWeights([{ ...w, random: w.random + 1 }]), s.serviceManager, bad);
      await viem.assertions.revertWithCustomError(s.serviceManager.write.setSlashFractions([10_001, 0, 0]), s.serviceManager, bad);
      // The bounty stays below the whole cut: 9 999 accepted, 10 000 refused (self-reporting must cost the offender).
      await s.serviceManager.write.setSlashFractions([10_000, 9_999, 10_000]);
      await viem.assertions.revertWithCustomErrorWithArgs(s.serviceManager.write.setSlashFractions([10_000, 10_000, 10_000]), s.serviceManager, bad, ["equivocationBountyBps"]);
      const stranger = s.wallets[19]!.account;
      await viem.assertions.revertWithCustomError(s.serviceManager.write.setQuorumThresholdBps([7_000], { account: stranger }), s.serviceManager, "OwnableUnauthorizedAccount");
      await viem.assertions.revertWithCustomError(s.serviceManager.write.setBatchTiming([{ batchInterval: 3, seedTimeout: 2, batchTimeout: 9 }], { account: stranger }), s.serviceManager, "OwnableUnauthorizedAccount");
      await viem.assertions.revertWithCustomError(s.serviceManager.write.setMatchingWeights([w], { account: stranger }), s.serviceManager, "OwnableUnauthorizedAccount");
      await viem.assertions.revertWithCustomError(s.serviceManager.write.setSlashFractions([1, 1, 1], { account: stranger }), s.serviceManager, "OwnableUnauthorizedAccount");
    });

    it("→ it should keep the registry's exit delay ≥ slashingWindow (256 + 3 × batchTimeout) and at most 32 fallback positions", async () => {
      const s = await networkHelpers.loadFixture(fixture);
      expect(await s.operatorRegistry.read.exitDelay()).to.equal(400);
      expect(await s.serviceManager.read.slashingWindow()).to.equal(256n + 3n * 40n);
      // window = exit delay exactly: accepted; one block of batchTimeout more: refused, naming both numbers.
      await s.serviceManager.write.setBatchTiming([{ batchInterval: 10, seedTimeout: 2, batchTimeout: 48 }]);
      expect(await s.serviceManager.read.slashingWindow()).to.equal(400n);
      await viem.assertions.revertWithCustomErrorWithArgs(s.serviceManager.write.setBatchTiming([{ batchInterval: 10, seedTimeout: 2, batchTimeout: 49 }]),
        s.serviceManager, "ServiceManagerExitDelayTooShort", [400n, 403n]);
      // fallbackLength = batchTimeout / seedTimeout + 1: 32 accepted, 33 refused.
      await s.serviceManager.write.setBatchTiming([{ batchInterval: 10, seedTimeout: 1, batchTimeout: 31 }]);
      expect(await s.serviceManager.read.fallbackLength()).to.equal(32n);
      await viem.assertions.revertWithCustomErrorWithArgs(s.serviceManager.write.setBatchTiming([{ batchInterval: 10, seedTimeout: 1, batchTimeout: 32 }]),
        s.serviceManager, "ServiceManagerInvalidParameter", ["seedTimeout"]);
    });

    it("→ it should be wired as the marketplace's and registries' service manager and slasher", async () => {
      const s = await networkHelpers.loadFixture(fixture);
      expect((await s.marketplace.read.serviceManager()).toLowerCase()).to.equal(s.serviceManager.address.toLowerCase());
      expect((await s.registry.read.serviceManager()).toLowerCase()).to.equal(s.serviceManager.address.toLowerCase());
      expect((await s.operatorRegistry.read.slasher()).toLowerCase()).to.equal(s.serviceManager.address.toLowerCase());
      expect(s.deployment.contracts.serviceManager).to.equal(s.serviceManager.address);
    });
  });
});
