import { expect } from "chai";
import { encodeAbiParameters, keccak256, toBytes, type Hex } from "viem";
import {
  EQUIVOCATION_BOUNTY_BPS,
  EQUIVOCATION_SLASH_BPS,
  STAKE_UNIT,
  deployAvs,
  makeOperator,
  register,
  type Avs,
  type TestOperator,
} from "../support/avs.js";
import { RESULT_DOMAIN } from "../../protocol/bls/index.js";

describe("EquivocationSlasher (through the service-manager stand-in)", function () {
  let avs: Avs;
  let ops: TestOperator[];
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
  async function signed(op: TestOperator, assignmentsHash: Hex, at = R) {
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

  describe("given two different results signed by one operator for one batch", () => {
    it("should slash equivocationSlashBps, jail the operator and pay the submitter the bounty", async () => {
      const op = ops[0]!;
      const submitter = avs.wallets[9]!;
      const a = await signed(op, resultA);
      const b = await signed(op, resultB);
      const slashed = (stake * EQUIVOCATION_SLASH_BPS) / 10_000n;
      const bounty = (slashed * EQUIVOCATION_BOUNTY_BPS) / 10_000n;
      const mA = await avs.avs.read.resultMessageHash([batch, R, seed, resultA]);
      const mB = await avs.avs.read.resultMessageHash([batch, R, seed, resultB]);
      await avs.viem.assertions.emitWithArgs(
        avs.avs.write.slashEquivocation([op.id, batch, R, seed, a, b], { account: submitter.account }),
        avs.avs,
        "EquivocationSlashed",
        [op.id, `0x${batch.toString(16).padStart(64, "0")}`, mA, mB, submitter.account.address, slashed, bounty],
      );
      const rec = await avs.registry.read.getOperator([op.id]);
      expect(rec.stake).to.equal(stake - slashed);
      expect(rec.status).to.equal(2); // Jailed
      expect(rec.timesSlashed).to.equal(1);
      expect(await avs.token.read.balanceOf([submitter.account.address])).to.equal(bounty);
      expect(await avs.token.read.balanceOf([avs.treasury.account.address])).to.equal(slashed - bounty);
      expect(await avs.registry.read.currentStake([op.id])).to.equal(0n);
      expect(await avs.avs.read.equivocationSlashed([op.id, `0x${batch.toString(16).padStart(64, "0")}`])).to.equal(true);
    });

    it("a second proof for the same batch → it should revert with EquivocationSlasherAlreadySlashed", async () => {
      const op = ops[0]!;
      await avs.avs.write.slashEquivocation([op.id, batch, R, seed, await signed(op, resultA), await signed(op, resultB)]);
      const c = await signed(op, keccak256(toBytes("assignments C")));
      await avs.viem.assertions.revertWithCustomError(
        avs.avs.write.slashEquivocation([op.id, batch, R, seed, await signed(op, resultA), c]),
        avs.avs,
        "EquivocationSlasherAlreadySlashed",
      );
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
