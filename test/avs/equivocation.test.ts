import { expect } from "chai";
import { encodeAbiParameters, keccak256, toBytes, type Hex } from "viem";

/** EquivocationSlasher.BOUNTY_CLAIM_BLOCKS. */
const BOUNTY_CLAIM_BLOCKS = 256n;
import {
  EQUIVOCATION_BOUNTY_BPS,
  EQUIVOCATION_SLASH_BPS,
  STAKE_UNIT,
  deployAvs,
  makeOperator,
  register,
  type Avs,
  type AvsOperator,
  type Wallet,
} from "../support/avs.js";
import { RESULT_DOMAIN } from "../../protocol/bls/index.js";

describe("EquivocationSlasher (through the service-manager stand-in)", function () {
  let avs: Avs;
  let ops: AvsOperator[];
  let R: number;
  const stake = 1_000n * STAKE_UNIT;
  const batch = 7n;
  const seed = keccak256(toBytes("seed 7"));
  const resultA = keccak256(toBytes("assignments A"));
  const resultB = keccak256(toBytes("assignments B"));

  beforeEach(async () => {
    avs = await deployAvs();
    ops = [0, 1, 2].map((i) => makeOperator(avs, i));
    for (const op of ops) await register(avs, op, stake);
    await avs.registry.write.setSlasher([avs.avs.address]);
    R = Number(await avs.publicClient.getBlockNumber());
    await avs.networkHelpers.mine(1);
  });

  /** The operator's signed result: sk·H(resultMessageHash(...)), the message built by the contract itself. */
  async function signed(op: AvsOperator, assignmentsHash: Hex, at = R) {
    const m = await avs.avs.read.resultMessageHash([batch, at, seed, assignmentsHash]);
    return { assignmentsHash, sigma: op.sk.sign(m) };
  }

  it("given the result message → it should hash (RESULT_DOMAIN, chainId, manager, batch, R_b, seed_b, assignments)", async () => {
    expect(await avs.avs.read.RESULT_DOMAIN()).to.equal(RESULT_DOMAIN);
    const expected = keccak256(
      encodeAbiParameters(
        [{ type: "bytes32" }, { type: "uint256" }, { type: "address" }, { type: "uint256" }, { type: "uint32" }, { type: "bytes32" }, { type: "bytes32" }],
        [RESULT_DOMAIN, avs.chainId, avs.avs.address, batch, R, seed, resultA],
      ),
    );
    expect(await avs.avs.read.resultMessageHash([batch, R, seed, resultA])).to.equal(expected);
  });

  const duty = `0x${batch.toString(16).padStart(64, "0")}` as Hex;
  const slashed = (stake * EQUIVOCATION_SLASH_BPS) / 10_000n;
  const bounty = (slashed * EQUIVOCATION_BOUNTY_BPS) / 10_000n;

  /** The proof (A, B) against `op` as slashEquivocation takes it, and as the commitment hashes it. */
  async function proof(op: AvsOperator) {
    const a = await signed(op, resultA);
    const b = await signed(op, resultB);
    const mA = await avs.avs.read.resultMessageHash([batch, R, seed, resultA]);
    const mB = await avs.avs.read.resultMessageHash([batch, R, seed, resultB]);
    return { a, b, mA, mB, args: [op.id, batch, R, seed, a, b] as const };
  }

  /** `reporter` commits to `op`'s proof; returns the commit's block. */
  async function commit(reporter: Wallet, op: AvsOperator, p: Awaited<ReturnType<typeof proof>>) {
    const commitment = await avs.avs.read.equivocationCommitment([
      reporter.account.address,
      op.id,
      duty,
      { msgHash: p.mA, sigma: p.a.sigma },
      { msgHash: p.mB, sigma: p.b.sigma },
    ]);
    const hash = await avs.avs.write.commitEquivocation([commitment], { account: reporter.account });
    return { commitment, block: (await avs.publicClient.waitForTransactionReceipt({ hash })).blockNumber };
  }

  const balance = (w: Wallet) => avs.token.read.balanceOf([w.account.address]);

  /** Sends the transactions in order into one block (automine off, explicit gas, falling tips), then mines it. */
  async function oneBlock(sends: ((tip: bigint) => Promise<Hex>)[]) {
    await avs.connection.provider.request({ method: "evm_setAutomine", params: [false] });
    try {
      const hashes: Hex[] = [];
      for (let i = 0; i < sends.length; i++) hashes.push(await sends[i]!(BigInt(sends.length - i) * 10n ** 10n));
      await avs.networkHelpers.mine(1);
      return Promise.all(hashes.map((hash) => avs.publicClient.waitForTransactionReceipt({ hash })));
    } finally {
      await avs.connection.provider.request({ method: "evm_setAutomine", params: [true] });
    }
  }
  const txOpts = (w: Wallet, tip: bigint) => ({ account: w.account, gas: 2_000_000n, maxPriorityFeePerGas: tip, maxFeePerGas: 10n ** 12n });

  describe("given two different results signed by one operator for one batch", () => {
    it("revealed in a block after the reporter's commitment → it should slash equivocationSlashBps, jail the operator and pay the reporter the bounty", async () => {
      const op = ops[0]!;
      const reporter = avs.wallets[9]!;
      const p = await proof(op);
      const { block } = await commit(reporter, op, p);
      expect(await avs.avs.read.commitmentBlock([(await commit(avs.wallets[8]!, op, p)).commitment])).to.equal(block + 1n);
      await avs.viem.assertions.emitWithArgs(avs.avs.write.slashEquivocation(p.args, { account: reporter.account }), avs.avs, "EquivocationSlashed", [
        op.id,
        duty,
        p.mA,
        p.mB,
        reporter.account.address,
        slashed,
        bounty,
      ]);
      const rec = await avs.registry.read.getOperator([op.id]);
      expect(rec.stake).to.equal(stake - slashed);
      expect(rec.status).to.equal(2); // Jailed
      expect(rec.timesSlashed).to.equal(1);
      expect(await balance(reporter)).to.equal(bounty);
      expect(await avs.token.read.balanceOf([avs.treasury.account.address])).to.equal(slashed - bounty);
      expect(await avs.token.read.balanceOf([avs.avs.address])).to.equal(0n);
      expect(await avs.registry.read.currentStake([op.id])).to.equal(0n);
      expect(await avs.avs.read.equivocationSlashed([op.id, duty])).to.equal(true);
    });

    it("revealed in the same block as the commitment → it should slash and withhold the bounty", async () => {
      const op = ops[0]!;
      const reporter = avs.wallets[9]!;
      const p = await proof(op);
      const commitment = await avs.avs.read.equivocationCommitment([reporter.account.address, op.id, duty, { msgHash: p.mA, sigma: p.a.sigma }, { msgHash: p.mB, sigma: p.b.sigma }]);
      const [c, r] = await oneBlock([
        (tip) => avs.avs.write.commitEquivocation([commitment], txOpts(reporter, tip)),
        (tip) => avs.avs.write.slashEquivocation(p.args, txOpts(reporter, tip)),
      ]);
      expect([c!.status, r!.status]).to.deep.equal(["success", "success"]);
      expect(c!.blockNumber).to.equal(r!.blockNumber);
      expect(await balance(reporter)).to.equal(0n);
      expect(await avs.avs.read.withheldBounty([op.id, duty])).to.deep.equal({ amount: bounty, slashedAt: r!.blockNumber });
      expect((await avs.registry.read.getOperator([op.id])).stake).to.equal(stake - slashed);
    });

    it("copied by a front-runner into the same block ahead of the reporter's reveal → the copy should slash without bounty, and the reporter should get the bounty", async () => {
      const op = ops[0]!;
      const [reporter, frontRunner] = [avs.wallets[9]!, avs.wallets[8]!];
      const p = await proof(op);
      await commit(reporter, op, p);
      const [copy, reveal] = await oneBlock([
        (tip) => avs.avs.write.slashEquivocation(p.args, txOpts(frontRunner, tip)),
        (tip) => avs.avs.write.slashEquivocation(p.args, txOpts(reporter, tip)),
      ]);
      expect([copy!.status, reveal!.status]).to.deep.equal(["success", "success"]);
      expect(copy!.transactionIndex).to.be.lessThan(reveal!.transactionIndex);
      expect(await balance(frontRunner)).to.equal(0n);
      expect(await balance(reporter)).to.equal(bounty);
      expect(await avs.avs.read.withheldBounty([op.id, duty])).to.deep.equal({ amount: 0n, slashedAt: 0n });
      const claimed = await avs.publicClient.getContractEvents({ address: avs.avs.address, abi: avs.avs.abi, eventName: "EquivocationBountyClaimed", blockHash: reveal!.blockHash });
      expect(claimed.map((e) => [e.args.reporter!.toLowerCase(), e.args.amount])).to.deep.equal([[reporter.account.address.toLowerCase(), bounty]]);
      // Nothing is left to claim, by anyone.
      await avs.viem.assertions.revertWithCustomError(avs.avs.write.slashEquivocation(p.args, { account: frontRunner.account }), avs.avs, "EquivocationSlasherAlreadySlashed");
    });

    it("reported by the offender itself from another account → it should lose slash − bounty > 0 stake tokens", async () => {
      const op = ops[0]!;
      const alias = avs.wallets[9]!; // an account the offender controls
      const heldBefore = (await avs.registry.read.getOperator([op.id])).stake;
      const ownedBefore = heldBefore + (await balance(op.wallet)) + (await balance(alias));
      const p = await proof(op);
      await commit(alias, op, p);
      await avs.avs.write.slashEquivocation(p.args, { account: alias.account });
      const ownedAfter = (await avs.registry.read.getOperator([op.id])).stake + (await balance(op.wallet)) + (await balance(alias));
      expect(ownedBefore - ownedAfter).to.equal(slashed - bounty);
      expect(slashed - bounty).to.equal(450n * STAKE_UNIT);
    });

    it("a second proof for the same batch → it should revert with EquivocationSlasherAlreadySlashed", async () => {
      const op = ops[0]!;
      const p = await proof(op);
      await commit(avs.wallets[9]!, op, p);
      await avs.avs.write.slashEquivocation(p.args, { account: avs.wallets[9]!.account });
      const c = await signed(op, keccak256(toBytes("assignments C")));
      await avs.viem.assertions.revertWithCustomError(
        avs.avs.write.slashEquivocation([op.id, batch, R, seed, await signed(op, resultA), c]),
        avs.avs,
        "EquivocationSlasherAlreadySlashed",
      );
    });

    it("a commitment made twice → it should revert with EquivocationSlasherAlreadyCommitted", async () => {
      const p = await proof(ops[0]!);
      const { commitment } = await commit(avs.wallets[9]!, ops[0]!, p);
      await avs.viem.assertions.revertWithCustomErrorWithArgs(avs.avs.write.commitEquivocation([commitment]), avs.avs, "EquivocationSlasherAlreadyCommitted", [commitment]);
    });
  });

  describe("given a bounty withheld by a reveal without commitment", () => {
    async function slashUncommitted(op: AvsOperator) {
      const p = await proof(op);
      const hash = await avs.avs.write.slashEquivocation(p.args, { account: avs.wallets[8]!.account });
      const rc = await avs.publicClient.waitForTransactionReceipt({ hash });
      return { p, slashedAt: rc.blockNumber };
    }

    it("should emit EquivocationBountyWithheld and keep the bounty in the slasher", async () => {
      const op = ops[0]!;
      const p = await proof(op);
      await avs.viem.assertions.emitWithArgs(avs.avs.write.slashEquivocation(p.args, { account: avs.wallets[8]!.account }), avs.avs, "EquivocationBountyWithheld", [
        op.id,
        duty,
        bounty,
        (await avs.publicClient.getBlockNumber()) + 1n + BOUNTY_CLAIM_BLOCKS, // mined in the next block
      ]);
      expect(await balance(avs.wallets[8]!)).to.equal(0n);
      expect(await avs.token.read.balanceOf([avs.avs.address])).to.equal(bounty);
    });

    it("a reporter that committed only after the slash → it should revert with EquivocationSlasherAlreadySlashed", async () => {
      const op = ops[0]!;
      const { p } = await slashUncommitted(op);
      await commit(avs.wallets[9]!, op, p);
      await avs.networkHelpers.mine(1);
      await avs.viem.assertions.revertWithCustomError(avs.avs.write.slashEquivocation(p.args, { account: avs.wallets[9]!.account }), avs.avs, "EquivocationSlasherAlreadySlashed");
    });

    it("a reporter that committed before → it should claim it on the last block of the window, not one block later", async () => {
      for (const late of [0n, 1n]) {
        avs = await deployAvs();
        ops = [0, 1, 2].map((i) => makeOperator(avs, i));
        for (const op of ops) await register(avs, op, stake);
        await avs.registry.write.setSlasher([avs.avs.address]);
        R = Number(await avs.publicClient.getBlockNumber());
        await avs.networkHelpers.mine(1);
        const op = ops[0]!;
        const reporter = avs.wallets[9]!;
        const p = await proof(op);
        await commit(reporter, op, p);
        await avs.networkHelpers.mine(1);
        const { slashedAt } = await slashUncommitted(op);
        // The claim transaction is mined in the block after the current one.
        await avs.networkHelpers.mine(Number(slashedAt + BOUNTY_CLAIM_BLOCKS + late - (await avs.publicClient.getBlockNumber())) - 1);
        const claim = avs.avs.write.slashEquivocation(p.args, { account: reporter.account });
        if (late === 0n) {
          await avs.viem.assertions.emitWithArgs(claim, avs.avs, "EquivocationBountyClaimed", [op.id, duty, reporter.account.address, bounty]);
          expect(await balance(reporter)).to.equal(bounty);
        } else {
          await avs.viem.assertions.revertWithCustomError(claim, avs.avs, "EquivocationSlasherAlreadySlashed");
        }
      }
    });

    it("releaseWithheldBounty → it should refuse on the window's last block and pay the treasury one block later", async () => {
      const op = ops[0]!;
      const { slashedAt } = await slashUncommitted(op);
      const treasuryBefore = await avs.token.read.balanceOf([avs.treasury.account.address]);
      await avs.networkHelpers.mine(Number(slashedAt + BOUNTY_CLAIM_BLOCKS - (await avs.publicClient.getBlockNumber())) - 1);
      await avs.viem.assertions.revertWithCustomErrorWithArgs(avs.avs.write.releaseWithheldBounty([op.id, duty]), avs.avs, "EquivocationSlasherClaimWindowOpen", [
        op.id,
        duty,
        slashedAt + BOUNTY_CLAIM_BLOCKS,
      ]);
      await avs.networkHelpers.mine(1); // the refused call mined no block
      await avs.viem.assertions.emitWithArgs(avs.avs.write.releaseWithheldBounty([op.id, duty]), avs.avs, "EquivocationBountyReleased", [
        op.id,
        duty,
        avs.treasury.account.address,
        bounty,
      ]);
      expect((await avs.token.read.balanceOf([avs.treasury.account.address])) - treasuryBefore).to.equal(bounty);
      await avs.viem.assertions.revertWithCustomError(avs.avs.write.releaseWithheldBounty([op.id, duty]), avs.avs, "EquivocationSlasherNoWithheldBounty");
    });
  });

  describe("given the same result twice", () => {
    it("should revert with EquivocationSlasherSameMessage and slash nothing", async () => {
      const op = ops[1]!;
      const a = await signed(op, resultA);
      await avs.viem.assertions.revertWithCustomError(
        avs.avs.write.slashEquivocation([op.id, batch, R, seed, a, a]),
        avs.avs,
        "EquivocationSlasherSameMessage",
      );
      const rec = await avs.registry.read.getOperator([op.id]);
      expect(rec.stake).to.equal(stake);
      expect(rec.status).to.equal(1); // Active
      expect(rec.timesSlashed).to.equal(0);
    });
  });

  describe("given a signature that is not the operator's", () => {
    it("should revert with EquivocationSlasherInvalidSignature", async () => {
      const [op, other] = [ops[0]!, ops[1]!];
      await avs.viem.assertions.revertWithCustomError(
        avs.avs.write.slashEquivocation([op.id, batch, R, seed, await signed(op, resultA), await signed(other, resultB)]),
        avs.avs,
        "EquivocationSlasherInvalidSignature",
      );
      await avs.viem.assertions.revertWithCustomError(
        avs.avs.write.slashEquivocation([op.id, batch, R, seed, { assignmentsHash: resultA, sigma: { X: 0n, Y: 0n } }, await signed(op, resultB)]),
        avs.avs,
        "EquivocationSlasherInvalidSignature",
      );
    });

    it("signed for another batch → it should revert with EquivocationSlasherInvalidSignature", async () => {
      const op = ops[0]!;
      const mOther = await avs.avs.read.resultMessageHash([batch + 1n, R, seed, resultB]);
      await avs.viem.assertions.revertWithCustomError(
        avs.avs.write.slashEquivocation([op.id, batch, R, seed, await signed(op, resultA), { assignmentsHash: resultB, sigma: op.sk.sign(mOther) }]),
        avs.avs,
        "EquivocationSlasherInvalidSignature",
      );
    });
  });

  describe("given an operator not in the set at R_b", () => {
    it("should revert with BLSSignatureCheckerOperatorNotInSet", async () => {
      const late = makeOperator(avs, 3);
      await register(avs, late, stake);
      await avs.networkHelpers.mine(1);
      await avs.viem.assertions.revertWithCustomError(
        avs.avs.write.slashEquivocation([late.id, batch, R, seed, await signed(late, resultA), await signed(late, resultB)]),
        avs.avs,
        "BLSSignatureCheckerOperatorNotInSet",
      );
    });
  });

  describe("given the verifyOperatorSignature building block", () => {
    it("should accept the operator's own signature and refuse another's", async () => {
      const m = keccak256(toBytes("any duty"));
      expect(await avs.avs.read.checkOperatorSignature([ops[0]!.id, m, ops[0]!.sk.sign(m), R])).to.equal(true);
      expect(await avs.avs.read.checkOperatorSignature([ops[0]!.id, m, ops[1]!.sk.sign(m), R])).to.equal(false);
    });
  });
});
