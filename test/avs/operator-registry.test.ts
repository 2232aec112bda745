import { expect } from "chai";
import { zeroAddress } from "viem";
import {
  FP_MODULUS,
  FR_MODULUS,
  G1_GENERATOR,
  aggregateG1,
  operatorId,
  popMessageHash,
  type G1Point,
  type G2Point,
} from "../../protocol/bls/index.js";
import { offCurveG2, wrongSubgroupG2 } from "../support/bls.js";
import {
  EXIT_DELAY,
  MIN_STAKE,
  SLASHING_WINDOW,
  STAKE_UNIT,
  deployAvs,
  makeOperator,
  operatorScalar,
  popFor,
  register,
  type Avs,
  type AvsOperator,
} from "../support/avs.js";

enum Status {
  None,
  Active,
  Jailed,
  Exiting,
  Withdrawn,
}

describe("OperatorRegistry", function () {
  let avs: Avs;
  let ops: AvsOperator[];

  beforeEach(async () => {
    avs = await deployAvs();
    ops = [0, 1, 2, 3, 4].map((i) => makeOperator(avs, i));
  });

  /** Mints and approves, then returns the promise of the register call (for revert assertions). */
  async function tryRegister(
    op: AvsOperator,
    overrides: { stake?: bigint; pkG1?: G1Point; pkG2?: G2Point; pop?: G1Point; socket?: string } = {},
  ) {
    const stake = overrides.stake ?? MIN_STAKE;
    await avs.token.write.mint([op.address, stake]);
    await avs.token.write.approve([avs.registry.address, stake], { account: op.wallet.account });
    return avs.registry.write.register(
      [
        stake,
        overrides.pkG1 ?? op.pkG1,
        overrides.pkG2 ?? op.pkG2,
        overrides.pop ?? popFor(avs, op.sk, op.address),
        overrides.socket ?? op.socket,
      ],
      { account: op.wallet.account },
    );
  }

  const blockNow = async () => avs.publicClient.getBlockNumber();

  describe("register", () => {
    describe("given a valid key, proof of possession, stake and socket", () => {
      it("should record the operator under keccak256(G1.X, G1.Y) and pull the stake", async () => {
        const op = ops[0]!;
        await avs.viem.assertions.emitWithArgs(tryRegister(op, { stake: 150n * STAKE_UNIT }), avs.registry, "OperatorRegistered", [
          op.id,
          op.address,
          150n * STAKE_UNIT,
          op.pkG1,
          op.pkG2,
          op.socket,
        ]);
        expect(await avs.registry.read.operatorIdOf([op.address])).to.equal(op.id);
        const rec = await avs.registry.read.getOperator([op.id]);
        expect(rec.operator).to.equal(op.address);
        expect(rec.status).to.equal(Status.Active);
        expect(rec.stake).to.equal(150n * STAKE_UNIT);
        expect(rec.pkG1).to.deep.equal(op.pkG1);
        expect(rec.pkG2).to.deep.equal(op.pkG2);
        expect(rec.socket).to.equal(op.socket);
        expect(await avs.token.read.balanceOf([avs.registry.address])).to.equal(150n * STAKE_UNIT);
        expect(await avs.registry.read.currentStake([op.id])).to.equal(150n * STAKE_UNIT);
        expect(await avs.registry.read.currentTotalStake()).to.equal(150n * STAKE_UNIT);
        expect(await avs.registry.read.currentApk()).to.deep.equal(op.pkG1);
        expect(await avs.registry.read.operatorCount()).to.equal(1n);
        expect(await avs.registry.read.operatorIdAt([0n])).to.equal(op.id);
      });

      it("should sign the PoP digest the TypeScript library computes", async () => {
        const op = ops[0]!;
        expect(await avs.registry.read.popMessageHash([op.address])).to.equal(
          popMessageHash({ chainId: avs.chainId, registry: avs.registry.address, operator: op.address }),
        );
      });
    });

    describe("given an address that is already registered", () => {
      it("should revert with OperatorRegistryAlreadyRegistered", async () => {
        await register(avs, ops[0]!);
        const again = { ...ops[1]!, wallet: ops[0]!.wallet, address: ops[0]!.address };
        await avs.viem.assertions.revertWithCustomError(tryRegister(again), avs.registry, "OperatorRegistryAlreadyRegistered");
      });
    });

    describe("given a G1 key someone already registered", () => {
      it("should revert with OperatorRegistryDuplicateKey", async () => {
        await register(avs, ops[0]!);
        const thief = { ...ops[0]!, wallet: ops[1]!.wallet, address: ops[1]!.address };
        await avs.viem.assertions.revertWithCustomError(tryRegister(thief), avs.registry, "OperatorRegistryDuplicateKey");
      });
    });

    describe("given the negation (X, p − Y) of a registered G1 key, with a valid proof of possession", () => {
      const negationOf = (i: number, wallet: number) => makeOperator(avs, wallet, FR_MODULUS - operatorScalar(i));

      it("alone → it should register (the key and its proof are valid)", async () => {
        const neg = negationOf(0, 1);
        expect(neg.pkG1.X).to.equal(ops[0]!.pkG1.X);
        expect(neg.pkG1.Y).to.equal(FP_MODULUS - ops[0]!.pkG1.Y);
        await register(avs, neg);
        expect((await avs.registry.read.getOperator([neg.id])).status).to.equal(Status.Active);
      });

      it("after the key itself → it should revert with OperatorRegistryNegatedKey and leave the set's apk and stake alone", async () => {
        await register(avs, ops[0]!, 1_000n * STAKE_UNIT);
        const neg = negationOf(0, 1);
        await avs.viem.assertions.revertWithCustomErrorWithArgs(tryRegister(neg, { stake: 900n * STAKE_UNIT }), avs.registry, "OperatorRegistryNegatedKey", [
          neg.id,
          ops[0]!.id,
        ]);
        expect(await avs.registry.read.currentApk()).to.deep.equal(ops[0]!.pkG1);
        expect(await avs.registry.read.currentTotalStake()).to.equal(1_000n * STAKE_UNIT);
        expect(await avs.registry.read.operatorIdOf([neg.address])).to.equal(`0x${"0".repeat(64)}`);
      });

      it("after the key left the set → it should still revert with OperatorRegistryNegatedKey (keys are never reusable)", async () => {
        await register(avs, ops[0]!);
        await avs.registry.write.deregister({ account: ops[0]!.wallet.account });
        await avs.viem.assertions.revertWithCustomError(tryRegister(negationOf(0, 1)), avs.registry, "OperatorRegistryNegatedKey");
      });

      it("an unrelated second key → it should register next to the first", async () => {
        await register(avs, ops[0]!);
        await register(avs, ops[1]!);
        expect(await avs.registry.read.currentApk()).to.deep.equal(aggregateG1([ops[0]!.pkG1, ops[1]!.pkG1]));
      });
    });

    describe("given malformed keys", () => {
      it("should revert with OperatorRegistryInvalidG1Key for infinity and off-curve G1 keys", async () => {
        const op = ops[0]!;
        for (const pkG1 of [{ X: 0n, Y: 0n }, { X: 1n, Y: 3n }]) {
          await avs.viem.assertions.revertWithCustomError(tryRegister(op, { pkG1 }), avs.registry, "OperatorRegistryInvalidG1Key");
        }
      });

      it("should revert with OperatorRegistryInvalidG2Key for infinity and off-twist G2 keys", async () => {
        const op = ops[0]!;
        for (const pkG2 of [{ X: [0n, 0n], Y: [0n, 0n] } as const, offCurveG2()]) {
          await avs.viem.assertions.revertWithCustomError(tryRegister(op, { pkG2 }), avs.registry, "OperatorRegistryInvalidG2Key");
        }
      });

      it("should revert with OperatorRegistryInvalidProofOfPossession for a G2 key outside the subgroup", async () => {
        await avs.viem.assertions.revertWithCustomError(
          tryRegister(ops[0]!, { pkG2: wrongSubgroupG2() }),
          avs.registry,
          "OperatorRegistryInvalidProofOfPossession",
        );
      });
    });

    describe("given a bad proof of possession", () => {
      it("should refuse a PoP signed for another operator address", async () => {
        const op = ops[0]!;
        await avs.viem.assertions.revertWithCustomError(
          tryRegister(op, { pop: popFor(avs, op.sk, ops[1]!.address) }),
          avs.registry,
          "OperatorRegistryInvalidProofOfPossession",
        );
      });

      it("should refuse a G2 key of another secret than the G1 key (rogue key)", async () => {
        const op = ops[0]!;
        await avs.viem.assertions.revertWithCustomError(
          tryRegister(op, { pkG2: ops[1]!.pkG2, pop: popFor(avs, ops[1]!.sk, op.address) }),
          avs.registry,
          "OperatorRegistryInvalidProofOfPossession",
        );
      });

      it("should refuse a PoP at infinity", async () => {
        await avs.viem.assertions.revertWithCustomError(
          tryRegister(ops[0]!, { pop: { X: 0n, Y: 0n } }),
          avs.registry,
          "OperatorRegistryInvalidProofOfPossession",
        );
      });
    });

    describe("given a stake below the minimum", () => {
      it("should revert with OperatorRegistryStakeTooLow", async () => {
        await avs.viem.assertions.revertWithCustomError(
          tryRegister(ops[0]!, { stake: MIN_STAKE - 1n }),
          avs.registry,
          "OperatorRegistryStakeTooLow",
        );
      });
    });

    describe("given an empty or over-long socket", () => {
      it("should revert with OperatorRegistryInvalidSocket", async () => {
        for (const socket of ["", "x".repeat(257)]) {
          await avs.viem.assertions.revertWithCustomError(tryRegister(ops[0]!, { socket }), avs.registry, "OperatorRegistryInvalidSocket");
        }
      });
    });
  });

  describe("history at reference blocks", () => {
    describe("given operators that join and leave over several blocks", () => {
      it("should read back each block's set, stakes, total stake and apk", async () => {
        const [a, b, c] = [ops[0]!, ops[1]!, ops[2]!];
        const before = await blockNow();
        const rA = await register(avs, a, 100n * STAKE_UNIT);
        const rB = await register(avs, b, 200n * STAKE_UNIT);
        await avs.networkHelpers.mine(3);
        const rC = await register(avs, c, 300n * STAKE_UNIT);
        const deregHash = await avs.registry.write.deregister({ account: b.wallet.account });
        const rDereg = (await avs.publicClient.waitForTransactionReceipt({ hash: deregHash })).blockNumber;
        await avs.networkHelpers.mine(1);

        const read = async (blk: bigint) => ({
          total: await avs.registry.read.totalStakeAt([Number(blk)]),
          apk: await avs.registry.read.apkAt([Number(blk)]),
          set: (await avs.registry.read.operatorsAt([Number(blk)])).map((o) => [o.operatorId, o.stake, o.socket]),
        });

        expect(await read(before)).to.deep.equal({ total: 0n, apk: { X: 0n, Y: 0n }, set: [] });
        expect(await read(rA)).to.deep.equal({ total: 100n * STAKE_UNIT, apk: a.pkG1, set: [[a.id, 100n * STAKE_UNIT, a.socket]] });
        const atB = await read(rB + 2n);
        expect(atB.total).to.equal(300n * STAKE_UNIT);
        expect(atB.apk).to.deep.equal(aggregateG1([a.pkG1, b.pkG1]));
        expect(atB.set.map((s) => s[0])).to.deep.equal([a.id, b.id]);
        const atC = await read(rC);
        expect(atC.total).to.equal(600n * STAKE_UNIT);
        expect(atC.apk).to.deep.equal(aggregateG1([a.pkG1, b.pkG1, c.pkG1]));
        const afterDereg = await read(rDereg);
        expect(afterDereg.total).to.equal(400n * STAKE_UNIT);
        expect(afterDereg.apk).to.deep.equal(aggregateG1([a.pkG1, c.pkG1]));
        expect(afterDereg.set.map((s) => s[0])).to.deep.equal([a.id, c.id]);

        expect(await avs.registry.read.isInSetAt([b.id, Number(rC)])).to.equal(true);
        expect(await avs.registry.read.isInSetAt([b.id, Number(rDereg)])).to.equal(false);
        expect(await avs.registry.read.stakeAt([c.id, Number(rB)])).to.equal(0n);
        const hints = await avs.registry.read.historyHints([Number(rB), [a.id, b.id, c.id]]);
        const inputs = await avs.registry.read.signatureCheckInputs([Number(rB), [a.id, b.id, c.id], hints]);
        expect(inputs).to.deep.equal([aggregateG1([a.pkG1, b.pkG1]), 300n * STAKE_UNIT, [100n * STAKE_UNIT, 200n * STAKE_UNIT, 0n]]);
      });

      it("should not count an operator registered after a reference block at that block", async () => {
        const rA = await register(avs, ops[0]!);
        const rB = await register(avs, ops[1]!);
        expect(rB > rA).to.equal(true);
        expect(await avs.registry.read.isInSetAt([ops[1]!.id, Number(rA)])).to.equal(false);
        expect((await avs.registry.read.operatorsAt([Number(rA)])).map((o) => o.operatorId)).to.deep.equal([ops[0]!.id]);
        expect(await avs.registry.read.totalStakeAt([Number(rA)])).to.equal(MIN_STAKE);
      });
    });
  });

  describe("signatureCheckInputs at hinted indexes", () => {
    /**
     * a registers (block rA: stake, total and apk entry 0), tops up (block rT: stake and total entry 1), b registers
     * (block rB: total entry 2, apk entry 1). Each hint is right exactly for the blocks from its entry's block to
     * the block before the next entry's.
     */
    async function history() {
      const [a, b] = [ops[0]!, ops[1]!];
      const rA = Number(await register(avs, a));
      await avs.token.write.mint([a.address, STAKE_UNIT]);
      await avs.token.write.approve([avs.registry.address, STAKE_UNIT], { account: a.wallet.account });
      await avs.registry.write.topUp([STAKE_UNIT], { account: a.wallet.account });
      const rT = Number(await blockNow());
      const rB = Number(await register(avs, b));
      await avs.networkHelpers.mine(1);
      return { a, b, rA, rT, rB };
    }
    const hintsAt = (apk: G1Point, apkIndex: number, totalStakeIndex: number, nonSignerStakeIndices: number[]) => ({ apk, apkIndex, totalStakeIndex, nonSignerStakeIndices });
    const NO_KEY = { X: 0n, Y: 0n };

    it("given a stake hint at its entry's first and last block → it should return the stake; one block outside → OperatorRegistryWrongStakeHint", async () => {
      const { a, rA, rT } = await history();
      const read = (R: number, index: number) => avs.registry.read.signatureCheckInputs([R, [a.id], hintsAt(a.pkG1, 0, R >= rT ? 1 : 0, [index])]);
      expect((await read(rA, 0))[2]).to.deep.equal([MIN_STAKE]); // entry 0's first block
      expect((await read(rT - 1, 0))[2]).to.deep.equal([MIN_STAKE]); // entry 0's last block
      expect((await read(rT, 1))[2]).to.deep.equal([MIN_STAKE + STAKE_UNIT]); // entry 1's first block
      await avs.viem.assertions.revertWithCustomErrorWithArgs(read(rT, 0), avs.registry, "OperatorRegistryWrongStakeHint", [a.id, rT, 0n]);
      await avs.viem.assertions.revertWithCustomErrorWithArgs(read(rT - 1, 1), avs.registry, "OperatorRegistryWrongStakeHint", [a.id, rT - 1, 1n]);
      await avs.viem.assertions.revertWithCustomError(read(rT, 2), avs.registry, "OperatorRegistryWrongStakeHint"); // past the end
    });

    it("given a block before an operator's first entry → index 0 should read stake 0 and index 1 should be refused", async () => {
      const { a, b, rA, rB } = await history();
      expect((await avs.registry.read.signatureCheckInputs([rB - 1, [b.id], hintsAt(a.pkG1, 0, 1, [0])]))[2]).to.deep.equal([0n]);
      expect((await avs.registry.read.signatureCheckInputs([rA - 1, [a.id], hintsAt(NO_KEY, 0, 0, [0])]))).to.deep.equal([NO_KEY, 0n, [0n]]);
      await avs.viem.assertions.revertWithCustomError(
        avs.registry.read.signatureCheckInputs([rA - 1, [a.id], hintsAt(NO_KEY, 0, 0, [1])]),
        avs.registry,
        "OperatorRegistryWrongStakeHint",
      );
    });

    it("given apk and total-stake hints one entry off → it should revert with OperatorRegistryWrongApkHint or OperatorRegistryWrongTotalStakeHint", async () => {
      const { a, b, rB } = await history();
      const ids = [a.id, b.id];
      const right = await avs.registry.read.historyHints([rB, ids]);
      expect(right).to.deep.equal(hintsAt(aggregateG1([a.pkG1, b.pkG1]), 1, 2, [1, 0]));
      const [apk, total] = await avs.registry.read.signatureCheckInputs([rB, ids, right]);
      expect(apk).to.deep.equal(aggregateG1([a.pkG1, b.pkG1]));
      expect(total).to.equal(2n * MIN_STAKE + STAKE_UNIT);
      await avs.viem.assertions.revertWithCustomErrorWithArgs(
        avs.registry.read.signatureCheckInputs([rB, ids, { ...right, apkIndex: 0 }]),
        avs.registry,
        "OperatorRegistryWrongApkHint",
        [rB, 0n],
      );
      // The right index with an apk other than the one recorded there (here: the apk of the update before).
      await avs.viem.assertions.revertWithCustomErrorWithArgs(
        avs.registry.read.signatureCheckInputs([rB, ids, { ...right, apk: a.pkG1 }]),
        avs.registry,
        "OperatorRegistryWrongApkHint",
        [rB, 1n],
      );
      await avs.viem.assertions.revertWithCustomErrorWithArgs(
        avs.registry.read.signatureCheckInputs([rB - 1, ids, { ...right, apk: a.pkG1, apkIndex: 0 }]),
        avs.registry,
        "OperatorRegistryWrongTotalStakeHint",
        [rB - 1, 2n],
      );
      await avs.viem.assertions.revertWithCustomErrorWithArgs(
        avs.registry.read.signatureCheckInputs([rB, ids, { ...right, nonSignerStakeIndices: [1] }]),
        avs.registry,
        "OperatorRegistryHintCountMismatch",
        [2n, 1n],
      );
    });

    it("given the histories grow after R → historyHints should not change and the inputs at R should stay the same", async () => {
      const { a, b, rB } = await history();
      const ids = [a.id, b.id];
      const before = await avs.registry.read.historyHints([rB, ids]);
      const inputs = await avs.registry.read.signatureCheckInputs([rB, ids, before]);
      await register(avs, ops[2]!);
      await avs.registry.write.deregister({ account: a.wallet.account });
      await avs.networkHelpers.mine(1);
      expect(await avs.registry.read.historyHints([rB, ids])).to.deep.equal(before);
      expect(await avs.registry.read.signatureCheckInputs([rB, ids, before])).to.deep.equal(inputs);
    });
  });

  describe("narrowing into the histories (SafeCast)", () => {
    const LIMIT = 2n ** 192n; // stake weights and the total are stored as uint192

    it("given a stake of 2^192 − 1 → it should register; 2^192 → it should revert with SafeCastOverflowedUintDowncast", async () => {
      await avs.viem.assertions.revertWithCustomErrorWithArgs(tryRegister(ops[0]!, { stake: LIMIT }), avs.registry, "SafeCastOverflowedUintDowncast", [192, LIMIT]);
      await register(avs, ops[1]!, LIMIT - 1n);
      expect(await avs.registry.read.currentTotalStake()).to.equal(LIMIT - 1n);
    });

    it("given a total that would reach 2^192 → the top-up should revert and leave the stake as it was; up to 2^192 − 1 it should pass", async () => {
      const [a, b] = [ops[0]!, ops[1]!];
      await register(avs, a, LIMIT - 1n - MIN_STAKE - 1n);
      await register(avs, b, MIN_STAKE);
      await avs.token.write.mint([b.address, 2n]);
      await avs.token.write.approve([avs.registry.address, 2n], { account: b.wallet.account });
      await avs.registry.write.topUp([1n], { account: b.wallet.account }); // total 2^192 − 1
      expect(await avs.registry.read.currentTotalStake()).to.equal(LIMIT - 1n);
      await avs.viem.assertions.revertWithCustomErrorWithArgs(
        avs.registry.write.topUp([1n], { account: b.wallet.account }),
        avs.registry,
        "SafeCastOverflowedUintDowncast",
        [192, LIMIT],
      );
      expect((await avs.registry.read.getOperator([b.id])).stake).to.equal(MIN_STAKE + 1n);
    });

    it("given block 2^32 − 1 → a top-up should be recorded; at block 2^32 → it should revert with SafeCastOverflowedUintDowncast", async () => {
      const a = ops[0]!;
      await register(avs, a);
      await avs.token.write.mint([a.address, 2n]);
      await avs.token.write.approve([avs.registry.address, 2n], { account: a.wallet.account });
      await avs.networkHelpers.mineUpTo(2n ** 32n - 2n);
      await avs.registry.write.topUp([1n], { account: a.wallet.account }); // mined in block 2^32 − 1
      expect(await avs.registry.read.stakeAt([a.id, 2 ** 32 - 1])).to.equal(MIN_STAKE + 1n);
      await avs.viem.assertions.revertWithCustomErrorWithArgs(
        avs.registry.write.topUp([1n], { account: a.wallet.account }),
        avs.registry,
        "SafeCastOverflowedUintDowncast",
        [32, 2n ** 32n],
      );
    });
  });

  describe("topUp", () => {
    describe("given an active operator", () => {
      it("should raise its stake weight and the total from this block on", async () => {
        const op = ops[0]!;
        const r0 = await register(avs, op);
        await avs.token.write.mint([op.address, 5n]);
        await avs.token.write.approve([avs.registry.address, 5n], { account: op.wallet.account });
        await avs.viem.assertions.emitWithArgs(
          avs.registry.write.topUp([5n], { account: op.wallet.account }),
          avs.registry,
          "OperatorStakeIncreased",
          [op.id, 5n, MIN_STAKE + 5n],
        );
        expect(await avs.registry.read.currentStake([op.id])).to.equal(MIN_STAKE + 5n);
        expect(await avs.registry.read.currentTotalStake()).to.equal(MIN_STAKE + 5n);
        expect(await avs.registry.read.stakeAt([op.id, Number(r0)])).to.equal(MIN_STAKE);
      });
    });

    describe("given a zero amount, a stranger or an exiting operator", () => {
      it("should revert with OperatorRegistryZeroAmount, OperatorRegistryNotRegistered, OperatorRegistryWrongStatus", async () => {
        const op = ops[0]!;
        await register(avs, op);
        await avs.viem.assertions.revertWithCustomError(
          avs.registry.write.topUp([0n], { account: op.wallet.account }),
          avs.registry,
          "OperatorRegistryZeroAmount",
        );
        await avs.viem.assertions.revertWithCustomError(
          avs.registry.write.topUp([1n], { account: ops[1]!.wallet.account }),
          avs.registry,
          "OperatorRegistryNotRegistered",
        );
        await avs.registry.write.deregister({ account: op.wallet.account });
        await avs.viem.assertions.revertWithCustomError(
          avs.registry.write.topUp([1n], { account: op.wallet.account }),
          avs.registry,
          "OperatorRegistryWrongStatus",
        );
      });
    });
  });

  describe("updateSocket", () => {
    describe("given an active operator and a valid socket", () => {
      it("should store it and emit OperatorSocketUpdated", async () => {
        const op = ops[0]!;
        await register(avs, op);
        const socket = "/dns4/op0.example/tcp/4001/p2p/12D3KooWTest";
        await avs.viem.assertions.emitWithArgs(
          avs.registry.write.updateSocket([socket], { account: op.wallet.account }),
          avs.registry,
          "OperatorSocketUpdated",
          [op.id, socket],
        );
        expect((await avs.registry.read.getOperator([op.id])).socket).to.equal(socket);
      });
    });

    describe("given an empty socket or a stranger", () => {
      it("should revert with OperatorRegistryInvalidSocket or OperatorRegistryNotRegistered", async () => {
        await register(avs, ops[0]!);
        await avs.viem.assertions.revertWithCustomError(
          avs.registry.write.updateSocket([""], { account: ops[0]!.wallet.account }),
          avs.registry,
          "OperatorRegistryInvalidSocket",
        );
        await avs.viem.assertions.revertWithCustomError(
          avs.registry.write.updateSocket(["/ip4/1.2.3.4/tcp/1"], { account: ops[1]!.wallet.account }),
          avs.registry,
          "OperatorRegistryNotRegistered",
        );
      });
    });
  });

  describe("deregister and withdrawStake", () => {
    describe("given an active operator that deregisters", () => {
      it("should leave the set at once and pay the stake back only after the exit delay", async () => {
        const op = ops[0]!;
        await register(avs, op);
        await register(avs, ops[1]!);
        const hash = await avs.registry.write.deregister({ account: op.wallet.account });
        const blk = (await avs.publicClient.waitForTransactionReceipt({ hash })).blockNumber;
        const exitableAt = Number(blk) + EXIT_DELAY;
        const rec = await avs.registry.read.getOperator([op.id]);
        expect(rec.status).to.equal(Status.Exiting);
        expect(rec.exitableAt).to.equal(exitableAt);
        expect(await avs.registry.read.currentApk()).to.deep.equal(ops[1]!.pkG1);
        expect(await avs.registry.read.currentTotalStake()).to.equal(MIN_STAKE);

        await avs.viem.assertions.revertWithCustomError(
          avs.registry.write.withdrawStake({ account: op.wallet.account }),
          avs.registry,
          "OperatorRegistryExitDelayNotPassed",
        );
        await avs.networkHelpers.mineUpTo(exitableAt - 1); // the withdrawal is mined in block exitableAt
        await avs.viem.assertions.emitWithArgs(
          avs.registry.write.withdrawStake({ account: op.wallet.account }),
          avs.registry,
          "OperatorStakeWithdrawn",
          [op.id, op.address, MIN_STAKE],
        );
        expect(await avs.token.read.balanceOf([op.address])).to.equal(MIN_STAKE);
        expect((await avs.registry.read.getOperator([op.id])).status).to.equal(Status.Withdrawn);
      });
    });

    describe("given a wrong state", () => {
      it("should revert with OperatorRegistryWrongStatus or OperatorRegistryNotRegistered", async () => {
        const op = ops[0]!;
        await avs.viem.assertions.revertWithCustomError(
          avs.registry.write.deregister({ account: op.wallet.account }),
          avs.registry,
          "OperatorRegistryNotRegistered",
        );
        await avs.viem.assertions.revertWithCustomError(
          avs.registry.write.withdrawStake({ account: op.wallet.account }),
          avs.registry,
          "OperatorRegistryNotRegistered",
        );
        await register(avs, op);
        await avs.viem.assertions.revertWithCustomError(
          avs.registry.write.withdrawStake({ account: op.wallet.account }),
          avs.registry,
          "OperatorRegistryWrongStatus",
        );
        await avs.registry.write.deregister({ account: op.wallet.account });
        await avs.viem.assertions.revertWithCustomError(
          avs.registry.write.deregister({ account: op.wallet.account }),
          avs.registry,
          "OperatorRegistryWrongStatus",
        );
        await avs.networkHelpers.mine(EXIT_DELAY);
        await avs.registry.write.withdrawStake({ account: op.wallet.account });
        await avs.viem.assertions.revertWithCustomError(
          avs.registry.write.withdrawStake({ account: op.wallet.account }),
          avs.registry,
          "OperatorRegistryWrongStatus",
        );
      });
    });
  });

  describe("slasher hooks", () => {
    // The stand-in service manager is the slasher; the tests act as it (an impersonated account) to call the hooks.
    let slasher: Avs["wallets"][number];
    beforeEach(async () => {
      await avs.registry.write.setSlasher([avs.avs.address]);
      await avs.networkHelpers.impersonateAccount(avs.avs.address);
      await avs.networkHelpers.setBalance(avs.avs.address, 10n ** 18n);
      slasher = await avs.viem.getWalletClient(avs.avs.address);
    });

    describe("setSlasher", () => {
      it("should be settable once, by the owner, to a non-zero address", async () => {
        expect((await avs.registry.read.slasher()).toLowerCase()).to.equal(slasher.account.address.toLowerCase());
        await avs.viem.assertions.revertWithCustomError(
          avs.registry.write.setSlasher([ops[0]!.address]),
          avs.registry,
          "OperatorRegistrySlasherAlreadySet",
        );
        const fresh = await deployAvs();
        await fresh.viem.assertions.revertWithCustomError(
          fresh.registry.write.setSlasher([zeroAddress]),
          fresh.registry,
          "OperatorRegistryZeroAddress",
        );
        await fresh.viem.assertions.revertWithCustomError(
          fresh.registry.write.setSlasher([ops[0]!.address], { account: fresh.wallets[3]!.account }),
          fresh.registry,
          "OwnableUnauthorizedAccount",
        );
      });
    });

    describe("jail", () => {
      it("given an active operator → it should take it out of the set and emit OperatorJailed", async () => {
        const op = ops[0]!;
        await register(avs, op);
        await avs.viem.assertions.emitWithArgs(
          avs.registry.write.jail([op.id], { account: slasher.account }),
          avs.registry,
          "OperatorJailed",
          [op.id],
        );
        expect((await avs.registry.read.getOperator([op.id])).status).to.equal(Status.Jailed);
        expect(await avs.registry.read.currentTotalStake()).to.equal(0n);
        expect(await avs.registry.read.currentApk()).to.deep.equal({ X: 0n, Y: 0n });
        // A jailed operator may still leave, and gets what is left after the delay.
        await avs.registry.write.deregister({ account: op.wallet.account });
        expect((await avs.registry.read.getOperator([op.id])).status).to.equal(Status.Exiting);
      });

      it("given another caller, an unknown id or a jailed operator → it should revert with the matching error", async () => {
        const op = ops[0]!;
        await register(avs, op);
        await avs.viem.assertions.revertWithCustomError(avs.registry.write.jail([op.id]), avs.registry, "OperatorRegistryNotSlasher");
        await avs.viem.assertions.revertWithCustomError(
          avs.registry.write.jail([ops[1]!.id], { account: slasher.account }),
          avs.registry,
          "OperatorRegistryUnknownOperator",
        );
        await avs.registry.write.jail([op.id], { account: slasher.account });
        await avs.viem.assertions.revertWithCustomError(
          avs.registry.write.jail([op.id], { account: slasher.account }),
          avs.registry,
          "OperatorRegistryWrongStatus",
        );
      });
    });

    describe("slash", () => {
      it("given an active operator → it should cut the stake, pay the bounty and the treasury, and jail it", async () => {
        const op = ops[0]!;
        const stake = 1_000n * STAKE_UNIT;
        await register(avs, op, stake);
        const beneficiary = ops[4]!.address;
        await avs.viem.assertions.emitWithArgs(
          avs.registry.write.slash([op.id, 2_500n, beneficiary, 2_000n], { account: slasher.account }),
          avs.registry,
          "OperatorSlashed",
          [op.id, 2_500n, 250n * STAKE_UNIT, beneficiary, 50n * STAKE_UNIT],
        );
        const rec = await avs.registry.read.getOperator([op.id]);
        expect(rec.stake).to.equal(750n * STAKE_UNIT);
        expect(rec.timesSlashed).to.equal(1);
        expect(rec.status).to.equal(Status.Jailed);
        expect(await avs.token.read.balanceOf([beneficiary])).to.equal(50n * STAKE_UNIT);
        expect(await avs.token.read.balanceOf([avs.treasury.account.address])).to.equal(200n * STAKE_UNIT);
        expect(await avs.token.read.balanceOf([avs.registry.address])).to.equal(750n * STAKE_UNIT);
        expect(await avs.registry.read.currentTotalStake()).to.equal(0n);
      });

      it("given an exiting operator → it should cut the held stake and leave it exiting", async () => {
        const op = ops[0]!;
        await register(avs, op);
        await avs.registry.write.deregister({ account: op.wallet.account });
        await avs.registry.write.slash([op.id, 10_000n, ops[4]!.address, 0n], { account: slasher.account });
        const rec = await avs.registry.read.getOperator([op.id]);
        expect(rec.stake).to.equal(0n);
        expect(rec.status).to.equal(Status.Exiting);
      });

      it("given a wrong caller or bad arguments → it should revert with the matching error", async () => {
        const op = ops[0]!;
        await register(avs, op);
        const b = ops[4]!.address;
        const account = slasher.account;
        const cases = [
          [() => avs.registry.write.slash([op.id, 1n, b, 0n]), "OperatorRegistryNotSlasher"],
          [() => avs.registry.write.slash([op.id, 10_001n, b, 0n], { account }), "OperatorRegistryInvalidBps"],
          [() => avs.registry.write.slash([op.id, 1n, b, 10_001n], { account }), "OperatorRegistryInvalidBps"],
          [() => avs.registry.write.slash([op.id, 1n, zeroAddress, 0n], { account }), "OperatorRegistryZeroAddress"],
          [() => avs.registry.write.slash([ops[1]!.id, 1n, b, 0n], { account }), "OperatorRegistryUnknownOperator"],
        ] as const;
        for (const [send, name] of cases) {
          await avs.viem.assertions.revertWithCustomError(send(), avs.registry, name);
        }
      });

      it("given a withdrawn operator → it should revert with OperatorRegistryWrongStatus", async () => {
        const op = ops[0]!;
        await register(avs, op);
        await avs.registry.write.deregister({ account: op.wallet.account });
        await avs.networkHelpers.mine(EXIT_DELAY);
        await avs.registry.write.withdrawStake({ account: op.wallet.account });
        await avs.viem.assertions.revertWithCustomError(
          avs.registry.write.slash([op.id, 1n, ops[4]!.address, 0n], { account: slasher.account }),
          avs.registry,
          "OperatorRegistryWrongStatus",
        );
      });
    });
  });

  describe("exit delay and the slasher's slashing window", () => {
    // EXIT_DELAY (50) against windows one below, at and one above it.
    it("given a slasher whose window is at most the exit delay → setSlasher should accept it; one block longer → OperatorRegistryExitDelayBelowSlashingWindow", async () => {
      for (const window of [BigInt(EXIT_DELAY) - 1n, BigInt(EXIT_DELAY)]) {
        const fresh = await deployAvs();
        await fresh.avs.write.setSlashingWindow([window]);
        await fresh.registry.write.setSlasher([fresh.avs.address]);
        expect((await fresh.registry.read.slasher()).toLowerCase()).to.equal(fresh.avs.address.toLowerCase());
      }
      await avs.avs.write.setSlashingWindow([BigInt(EXIT_DELAY) + 1n]);
      await avs.viem.assertions.revertWithCustomErrorWithArgs(
        avs.registry.write.setSlasher([avs.avs.address]),
        avs.registry,
        "OperatorRegistryExitDelayBelowSlashingWindow",
        [BigInt(EXIT_DELAY), BigInt(EXIT_DELAY) + 1n],
      );
      expect(await avs.registry.read.slasher()).to.equal(zeroAddress);
    });

    it("given a slasher set → setExitDelay should accept the window and one more, and refuse one less", async () => {
      await avs.registry.write.setSlasher([avs.avs.address]);
      await avs.registry.write.setExitDelay([Number(SLASHING_WINDOW) + 1]);
      await avs.viem.assertions.emitWithArgs(avs.registry.write.setExitDelay([Number(SLASHING_WINDOW)]), avs.registry, "ExitDelaySet", [
        Number(SLASHING_WINDOW),
      ]);
      await avs.viem.assertions.revertWithCustomErrorWithArgs(
        avs.registry.write.setExitDelay([Number(SLASHING_WINDOW) - 1]),
        avs.registry,
        "OperatorRegistryExitDelayBelowSlashingWindow",
        [SLASHING_WINDOW - 1n, SLASHING_WINDOW],
      );
      // The delay that let an operator withdraw before its equivocation could be proven: 5 blocks.
      await avs.viem.assertions.revertWithCustomError(avs.registry.write.setExitDelay([5]), avs.registry, "OperatorRegistryExitDelayBelowSlashingWindow");
      expect(await avs.registry.read.exitDelay()).to.equal(Number(SLASHING_WINDOW));
    });

    it("given a window that grew after the slasher was set → setExitDelay should follow the slasher's current window", async () => {
      await avs.registry.write.setSlasher([avs.avs.address]);
      await avs.avs.write.setSlashingWindow([60n]);
      await avs.viem.assertions.revertWithCustomErrorWithArgs(avs.registry.write.setExitDelay([59]), avs.registry, "OperatorRegistryExitDelayBelowSlashingWindow", [
        59n,
        60n,
      ]);
      await avs.registry.write.setExitDelay([60]);
    });

    it("given a slasher that cannot answer slashingWindow (an account without code, a contract without the function) → it should revert with OperatorRegistrySlasherWithoutWindow", async () => {
      for (const candidate of [avs.wallets[9]!.account.address, avs.token.address]) {
        await avs.viem.assertions.revertWithCustomError(avs.registry.write.setSlasher([candidate]), avs.registry, "OperatorRegistrySlasherWithoutWindow");
      }
    });

    it("given no slasher yet → setExitDelay should accept any delay", async () => {
      await avs.registry.write.setExitDelay([0]);
      expect(await avs.registry.read.exitDelay()).to.equal(0);
    });
  });

  describe("owner parameters", () => {
    describe("given the owner", () => {
      it("should set the minimum stake, exit delay and treasury with events", async () => {
        await avs.viem.assertions.emitWithArgs(avs.registry.write.setMinimumStake([7n]), avs.registry, "MinimumStakeSet", [7n]);
        await avs.viem.assertions.emitWithArgs(avs.registry.write.setExitDelay([9]), avs.registry, "ExitDelaySet", [9]);
        const t = ops[3]!.address;
        await avs.viem.assertions.emitWithArgs(avs.registry.write.setTreasury([t]), avs.registry, "TreasurySet", [t]);
        expect(await avs.registry.read.minimumStake()).to.equal(7n);
        expect(await avs.registry.read.exitDelay()).to.equal(9);
        expect((await avs.registry.read.treasury()).toLowerCase()).to.equal(t.toLowerCase());
        // The new minimum applies to the next registration.
        await register(avs, ops[0]!, 7n);
        expect(await avs.registry.read.currentTotalStake()).to.equal(7n);
      });
    });

    describe("given another caller or a zero treasury", () => {
      it("should revert with OwnableUnauthorizedAccount or OperatorRegistryZeroAddress", async () => {
        const account = ops[0]!.wallet.account;
        for (const send of [
          () => avs.registry.write.setMinimumStake([1n], { account }),
          () => avs.registry.write.setExitDelay([1], { account }),
          () => avs.registry.write.setTreasury([ops[0]!.address], { account }),
        ]) {
          await avs.viem.assertions.revertWithCustomError(send(), avs.registry, "OwnableUnauthorizedAccount");
        }
        await avs.viem.assertions.revertWithCustomError(
          avs.registry.write.setTreasury([zeroAddress]),
          avs.registry,
          "OperatorRegistryZeroAddress",
        );
      });
    });
  });

  describe("views", () => {
    it("given an unknown operator id → getOperator should revert with OperatorRegistryUnknownOperator", async () => {
      await avs.viem.assertions.revertWithCustomError(
        avs.registry.read.getOperator([operatorId(G1_GENERATOR)]),
        avs.registry,
        "OperatorRegistryUnknownOperator",
      );
    });
  });
});
