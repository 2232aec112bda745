import { describe, it } from "mocha";
import { expect } from "chai";
import { network } from "hardhat";
import { encodeAbiParameters, keccak256, parseEventLogs, toBytes, type Hex } from "viem";
import { G1_GENERATOR } from "../../protocol/bls/index.js";
import {
  OPERATOR_STAKES, USD, assignmentsHash, buildSubmission, deploySystem, orders, providerOffer, registerOperator, resultMessage, sortedKeys,
  type System,
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

/** The leader draw of docs/contracts.md, in TypeScript: rejection sampling, then a walk in registration order. */
function leaderTs(previousSeed: Hex, batch: bigint, index: bigint, ids: Hex[], stakes: bigint[]): Hex {
  const total = stakes.reduce((a, b) => a + b, 0n);
  const limit = MAX - (MAX % total);
  let draw = 0n;
  for (let attempt = 0n; ; attempt++) {
    draw = BigInt(keccak256(encodeAbiParameters(
      [{ type: "bytes32" }, { type: "bytes32" }, { type: "uint64" }, { type: "uint256" }, { type: "uint256" }],
      [LEADER_DOMAIN, previousSeed, batch, index, attempt])));
    if (draw < limit) break;
  }
  const target = draw % total;
  let cumulative = 0n;
  for (let i = 0; i < ids.length; i++) {
    cumulative += stakes[i]!;
    if (target < cumulative) return ids[i]!;
  }
  throw new Error("unreachable");
}

async function submit(s: System, args: Awaited<ReturnType<typeof buildSubmission>>["args"]) {
  return s.serviceManager.write.submitResult(args);
}

describe("ServiceManager", () => {
  describe("given closeBatch", () => {
    it("→ it should record R_b = block − 1, seed_{b−1}, and a stake-weighted leader that off-chain code can recompute", async () => {
      const s = await networkHelpers.loadFixture(fixture);
      const hash = await s.serviceManager.write.closeBatch();
      const receipt = await s.publicClient.waitForTransactionReceipt({ hash });
      const b = await s.serviceManager.read.getBatch([1n]);
      expect(b.status).to.equal(1);
      expect(BigInt(b.referenceBlock)).to.equal(receipt.blockNumber - 1n);
      expect(b.previousSeed).to.equal(await s.serviceManager.read.latestSeed());
      const [ev] = parseEventLogs({ abi: s.serviceManager.abi, logs: receipt.logs, eventName: "BatchClosed" });
      expect(ev!.args.leader).to.equal(await s.serviceManager.read.leaderOf([1n, 0n]));
      const ids = s.ops.map((o) => o.id);
      const counts = new Map<Hex, number>();
      for (let k = 0n; k < 40n; k++) {
        const onChain = await s.serviceManager.read.leaderOf([1n, k]);
        expect(onChain).to.equal(leaderTs(b.previousSeed, 1n, k, ids, OPERATOR_STAKES));
        counts.set(onChain, (counts.get(onChain) ?? 0) + 1);
      }
      expect(counts.size).to.be.greaterThan(1); // the fallback order is not one operator repeated
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
      expect(await s.serviceManager.read.resultMessageHash([1n, sub.seed, keccak256(encodeAbiParameters([{ type: "tuple[]", components: [
        { name: "orderId", type: "uint64" }, { name: "offerVersionId", type: "uint64" }, { name: "gpuCount", type: "uint32" }, { name: "pricePerGpuHour", type: "uint128" },
      ] }], [rows]))])).to.equal(sub.msg);
      const total = OPERATOR_STAKES.reduce((a, b) => a + b, 0n);
      await viem.assertions.emitWithArgs(submit(s, sub.args), s.serviceManager, "BatchFinalized", [1n, sub.seed, sub.msg, total, total, 2n]);
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
    it("→ it should expose documented defaults and set each with an event", async () => {
      const s = await networkHelpers.loadFixture(fixture);
      expect(await s.serviceManager.read.batchTiming()).to.deep.equal({ batchInterval: 10, seedTimeout: 5, batchTimeout: 40 });
      expect(await s.serviceManager.read.quorumThresholdBps()).to.equal(6_667);
      const w = await s.serviceManager.read.matchingWeights();
      expect(Object.values(w).reduce((a, b) => a + b, 0)).to.equal(10_000);
      expect(await s.serviceManager.read.slashFractions()).to.deep.equal([5_000, 1_000, 5_000]);
      await viem.assertions.emitWithArgs(s.serviceManager.write.setQuorumThresholdBps([7_500]), s.serviceManager, "QuorumThresholdSet", [7_500]);
      await viem.assertions.emitWithArgs(s.serviceManager.write.setBatchTiming([{ batchInterval: 3, seedTimeout: 2, batchTimeout: 9 }]), s.serviceManager, "BatchTimingSet", [3, 2, 9]);
      await viem.assertions.emit(s.serviceManager.write.setMatchingWeights([{ ...w, region: w.region + 100, price: w.price - 100 }]), s.serviceManager, "MatchingWeightsSet");
      await viem.assertions.emitWithArgs(s.serviceManager.write.setSlashFractions([1, 2, 3]), s.serviceManager, "SlashFractionsSet", [1, 2, 3]);
      await viem.assertions.emitWithArgs(s.serviceManager.write.setProtocolFeeBps([50]), s.serviceManager, "ProtocolFeeSet", [50]);
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
      await viem.assertions.revertWithCustomError(s.serviceManager.write.setProtocolFeeBps([1_001]), s.serviceManager, bad);
      const stranger = s.wallets[19]!.account;
      await viem.assertions.revertWithCustomError(s.serviceManager.write.setQuorumThresholdBps([7_000], { account: stranger }), s.serviceManager, "OwnableUnauthorizedAccount");
      await viem.assertions.revertWithCustomError(s.serviceManager.write.setProtocolFeeBps([1], { account: stranger }), s.serviceManager, "OwnableUnauthorizedAccount");
      await viem.assertions.revertWithCustomError(s.serviceManager.write.setBatchTiming([{ batchInterval: 3, seedTimeout: 2, batchTimeout: 9 }], { account: stranger }), s.serviceManager, "OwnableUnauthorizedAccount");
      await viem.assertions.revertWithCustomError(s.serviceManager.write.setMatchingWeights([w], { account: stranger }), s.serviceManager, "OwnableUnauthorizedAccount");
      await viem.assertions.revertWithCustomError(s.serviceManager.write.setSlashFractions([1, 1, 1], { account: stranger }), s.serviceManager, "OwnableUnauthorizedAccount");
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
