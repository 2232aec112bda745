import { expect } from "chai";
import { FP_MODULUS, G1_GENERATOR, aggregateG1, type G1Point, type G2Point, type Hex } from "../../protocol/bls/index.js";
import { digestOf, offCurveG2, wrongSubgroupG2 } from "../support/bls.js";
import {
  MIN_STAKE,
  STAKE_UNIT,
  aggregateFor,
  deployAvs,
  hintsFor,
  makeOperator,
  register,
  sortedNonSignerKeys,
  type Avs,
  type AvsOperator,
} from "../support/avs.js";

describe("BLSSignatureChecker", function () {
  let avs: Avs;
  let ops: AvsOperator[];
  let R: number; // reference block: all four operators registered, nothing after
  const stakes = [100n, 200n, 300n, 400n].map((s) => s * STAKE_UNIT);
  const total = 1_000n * STAKE_UNIT;
  const msg = digestOf("batch 1 result");

  before(async () => {
    avs = await deployAvs();
    ops = [0, 1, 2, 3, 4].map((i) => makeOperator(avs, i));
    for (let i = 0; i < 4; i++) await register(avs, ops[i]!, stakes[i]);
    R = Number(await avs.publicClient.getBlockNumber());
    await avs.networkHelpers.mine(1);
  });

  /** checkSignatures with the hints the contract's own view computes. */
  const checkRaw = async (digest: Hex, at: number, nonSignerKeys: G1Point[], apkG2: G2Point, sigma: G1Point) =>
    avs.avs.read.checkSignatures([digest, at, { nonSignerPubkeys: nonSignerKeys, apkG2, sigma, hints: await hintsFor(avs, digest, at, nonSignerKeys) }]);

  const check = (signers: AvsOperator[], nonSignerKeys: G1Point[], at = R, digest = msg) => {
    const { sigma, apkG2 } = aggregateFor(signers, digest);
    return checkRaw(digest, at, nonSignerKeys, apkG2, sigma);
  };

  /** _checkSignaturesAndOne with the hints of the quorum's message. */
  const checkAndOne = async (apkG2: G2Point, sigma: G1Point, operatorId: Hex, extraMsg: Hex, extraSigma: G1Point) =>
    avs.avs.read.checkSignaturesAndOne([msg, R, { nonSignerPubkeys: [], apkG2, sigma, hints: await hintsFor(avs, msg, R, []) }, operatorId, extraMsg, extraSigma]);

  describe("given 4 operators with keys made in TypeScript", () => {
    it("all four signing → it should return the whole stake as signed", async () => {
      expect(await check(ops.slice(0, 4), [])).to.deep.equal([total, total]);
    });

    it("one non-signer → it should subtract its key from apk(R) and its stake from the total", async () => {
      const [a, b, c, d] = ops as [AvsOperator, AvsOperator, AvsOperator, AvsOperator];
      expect(await check([a, b, c], [d.pkG1])).to.deep.equal([total - stakes[3]!, total]);
      expect(await check([b, c, d], [a.pkG1])).to.deep.equal([total - stakes[0]!, total]);
    });

    it("two non-signers sorted by operator id → it should accept them", async () => {
      const [a, b, c, d] = ops as [AvsOperator, AvsOperator, AvsOperator, AvsOperator];
      expect(await check([a, c], sortedNonSignerKeys([b, d]))).to.deep.equal([stakes[0]! + stakes[2]!, total]);
    });
  });

  describe("given a malformed non-signer list", () => {
    it("unsorted → it should revert with BLSSignatureCheckerNonSignersNotSorted", async () => {
      const [a, b, c, d] = ops as [AvsOperator, AvsOperator, AvsOperator, AvsOperator];
      const keys = sortedNonSignerKeys([b, d]).reverse();
      await avs.viem.assertions.revertWithCustomError(check([a, c], keys), avs.avs, "BLSSignatureCheckerNonSignersNotSorted");
    });

    it("with a duplicate → it should revert with BLSSignatureCheckerDuplicateNonSigner", async () => {
      const [a, b, c, d] = ops as [AvsOperator, AvsOperator, AvsOperator, AvsOperator];
      await avs.viem.assertions.revertWithCustomError(
        check([a, b, c], [d.pkG1, d.pkG1]),
        avs.avs,
        "BLSSignatureCheckerDuplicateNonSigner",
      );
    });

    it("with a key outside the set → it should revert with BLSSignatureCheckerUnknownNonSigner", async () => {
      await avs.viem.assertions.revertWithCustomError(
        check(ops.slice(0, 4), [G1_GENERATOR]),
        avs.avs,
        "BLSSignatureCheckerUnknownNonSigner",
      );
    });

    it("listing every operator → it should revert with BLSSignatureCheckerNoSigners", async () => {
      const { sigma, apkG2 } = aggregateFor(ops.slice(0, 1), msg);
      await avs.viem.assertions.revertWithCustomError(
        checkRaw(msg, R, sortedNonSignerKeys(ops.slice(0, 4)), apkG2, sigma),
        avs.avs,
        "BLSSignatureCheckerNoSigners",
      );
    });
  });

  describe("given a bad signature", () => {
    it("on another message → it should revert with BLSSignatureCheckerPairingFailed", async () => {
      const { sigma, apkG2 } = aggregateFor(ops.slice(0, 4), digestOf("another result"));
      await avs.viem.assertions.revertWithCustomError(
        checkRaw(msg, R, [], apkG2, sigma),
        avs.avs,
        "BLSSignatureCheckerPairingFailed",
      );
    });

    it("missing a signer that is not listed as non-signer → it should revert with BLSSignatureCheckerPairingFailed", async () => {
      await avs.viem.assertions.revertWithCustomError(check(ops.slice(0, 3), []), avs.avs, "BLSSignatureCheckerPairingFailed");
    });

    it("with apkG2 not matching the signers' G1 keys → it should revert with BLSSignatureCheckerPairingFailed", async () => {
      const { sigma } = aggregateFor(ops.slice(0, 4), msg);
      const { apkG2 } = aggregateFor(ops.slice(0, 3), msg);
      await avs.viem.assertions.revertWithCustomError(
        checkRaw(msg, R, [], apkG2, sigma),
        avs.avs,
        "BLSSignatureCheckerPairingFailed",
      );
    });

    it("at infinity, off the curve or (apkG2) outside the subgroup → it should revert with BLSSignatureCheckerInvalidPoint", async () => {
      const { sigma, apkG2 } = aggregateFor(ops.slice(0, 4), msg);
      for (const bad of [{ X: 0n, Y: 0n }, { X: sigma.X, Y: sigma.Y + 1n }]) {
        await avs.viem.assertions.revertWithCustomError(
          checkRaw(msg, R, [], apkG2, bad),
          avs.avs,
          "BLSSignatureCheckerInvalidPoint",
        );
      }
      for (const badKey of [{ X: [0n, 0n], Y: [0n, 0n] } as const, offCurveG2(), wrongSubgroupG2()]) {
        await avs.viem.assertions.revertWithCustomError(
          checkRaw(msg, R, [], badKey, sigma),
          avs.avs,
          "BLSSignatureCheckerInvalidPoint",
        );
      }
    });
  });

  describe("given a second signature folded into the same multi-pairing (_checkSignaturesAndOne)", () => {
    const seedMsg = digestOf("seed of batch 1");

    it("both valid → it should return the stakes", async () => {
      const { sigma, apkG2 } = aggregateFor(ops.slice(0, 4), msg);
      const leader = ops[2]!;
      const [signed, tot] = await checkAndOne(apkG2, sigma, leader.id, seedMsg, leader.sk.sign(seedMsg));
      expect([signed, tot]).to.deep.equal([total, total]);
    });

    it("a bad extra signature or a bad quorum signature → it should revert with BLSSignatureCheckerPairingFailed", async () => {
      const { sigma, apkG2 } = aggregateFor(ops.slice(0, 4), msg);
      const leader = ops[2]!;
      const cases = [
        // the extra signature by another operator than the one named
        () => checkAndOne(apkG2, sigma, leader.id, seedMsg, ops[1]!.sk.sign(seedMsg)),
        // the extra signature on another message
        () => checkAndOne(apkG2, sigma, leader.id, seedMsg, leader.sk.sign(msg)),
        // a valid extra signature does not rescue a quorum signature missing a signer
        () => {
          const partial = aggregateFor(ops.slice(0, 3), msg);
          return checkAndOne(partial.apkG2, partial.sigma, leader.id, seedMsg, leader.sk.sign(seedMsg));
        },
      ];
      for (const send of cases) {
        await avs.viem.assertions.revertWithCustomError(send(), avs.avs, "BLSSignatureCheckerPairingFailed");
      }
    });

    it("an extra signature at infinity → it should revert with BLSSignatureCheckerInvalidPoint", async () => {
      const { sigma, apkG2 } = aggregateFor(ops.slice(0, 4), msg);
      await avs.viem.assertions.revertWithCustomError(
        checkAndOne(apkG2, sigma, ops[2]!.id, seedMsg, { X: 0n, Y: 0n }),
        avs.avs,
        "BLSSignatureCheckerInvalidPoint",
      );
    });
  });

  describe("given hints", () => {
    it("a stake hint that is not the non-signer's entry at R → it should revert with OperatorRegistryWrongStakeHint", async () => {
      const [a, b, c, d] = ops as [AvsOperator, AvsOperator, AvsOperator, AvsOperator];
      const { sigma, apkG2 } = aggregateFor([a, b, c], msg);
      const hints = await hintsFor(avs, msg, R, [d.pkG1]);
      const wrong = { ...hints, history: { ...hints.history, nonSignerStakeIndices: [hints.history.nonSignerStakeIndices[0]! + 1] } };
      await avs.viem.assertions.revertWithCustomError(
        avs.avs.read.checkSignatures([msg, R, { nonSignerPubkeys: [d.pkG1], apkG2, sigma, hints: wrong }]),
        avs.avs,
        "OperatorRegistryWrongStakeHint",
      );
    });

    it("a message-point witness that is not H(msg)'s (or none) → it should give the same result, computing H(msg) at more gas", async () => {
      const { sigma, apkG2 } = aggregateFor(ops.slice(0, 4), msg);
      const hints = await hintsFor(avs, msg, R, []);
      const w = hints.messagePointWitness;
      const [, , witnessedGas] = await avs.avs.read.measureCheckSignatures([msg, R, { nonSignerPubkeys: [], apkG2, sigma, hints }]);
      const witnesses = [
        [], // none
        [...w.slice(0, -2), FP_MODULUS - w[w.length - 2]!, w[w.length - 1]!], // the other root of x³ + 3
        (await hintsFor(avs, digestOf("another message"), R, [])).messagePointWitness, // another message's
      ];
      for (const messagePointWitness of witnesses) {
        const [signed, tot, gas] = await avs.avs.read.measureCheckSignatures([msg, R, { nonSignerPubkeys: [], apkG2, sigma, hints: { ...hints, messagePointWitness } }]);
        expect([signed, tot]).to.deep.equal([total, total]);
        expect(gas > witnessedGas + 3_000n, `gas ${gas} without a right witness, ${witnessedGas} with`).to.equal(true);
      }
      // …and a bad signature still fails the same way.
      const other = aggregateFor(ops.slice(0, 4), digestOf("another result"));
      await avs.viem.assertions.revertWithCustomError(
        avs.avs.read.checkSignatures([msg, R, { nonSignerPubkeys: [], apkG2: other.apkG2, sigma: other.sigma, hints: { ...hints, messagePointWitness: [] } }]),
        avs.avs,
        "BLSSignatureCheckerPairingFailed",
      );
    });
  });

  describe("given the reference block", () => {
    it("not strictly below the current block → it should revert with BLSSignatureCheckerFutureReferenceBlock", async () => {
      const now = Number(await avs.publicClient.getBlockNumber());
      for (const at of [now + 1, now + 100]) {
        await avs.viem.assertions.revertWithCustomError(check(ops.slice(0, 4), [], at), avs.avs, "BLSSignatureCheckerFutureReferenceBlock");
      }
    });

    it("before any registration → it should revert with BLSSignatureCheckerEmptyOperatorSet", async () => {
      await avs.viem.assertions.revertWithCustomError(check(ops.slice(0, 4), [], 1), avs.avs, "BLSSignatureCheckerEmptyOperatorSet");
    });

    it("an operator registered after R → it should be neither a signer nor a non-signer at R", async () => {
      const late = ops[4]!;
      await register(avs, late, MIN_STAKE);
      await avs.networkHelpers.mine(1);
      // Its signature added to the quorum's breaks the check at R…
      await avs.viem.assertions.revertWithCustomError(check(ops.slice(0, 5), []), avs.avs, "BLSSignatureCheckerPairingFailed");
      // …and it cannot be listed as a non-signer at R.
      const keys = sortedNonSignerKeys([late, ops[3]!]);
      await avs.viem.assertions.revertWithCustomError(check(ops.slice(0, 3), keys), avs.avs, "BLSSignatureCheckerUnknownNonSigner");
      // At R the four original operators still verify, however the set changed since.
      expect(await check(ops.slice(0, 4), [])).to.deep.equal([total, total]);
      // At a later block the fifth operator is part of the set.
      const later = Number(await avs.publicClient.getBlockNumber()) - 1;
      expect(await check(ops.slice(0, 5), [], later)).to.deep.equal([total + MIN_STAKE, total + MIN_STAKE]);
    });

    it("after a deregistration → it should still verify batches whose R precedes it", async () => {
      await avs.registry.write.deregister({ account: ops[1]!.wallet.account });
      await avs.networkHelpers.mine(1);
      expect(await check(ops.slice(0, 4), [])).to.deep.equal([total, total]);
      const now = Number(await avs.publicClient.getBlockNumber()) - 1;
      const [a, , c, d, e] = ops as AvsOperator[];
      const signers = [a!, c!, d!, e!];
      const expected = total - stakes[1]! + MIN_STAKE;
      expect(await check(signers, [], now)).to.deep.equal([expected, expected]);
      expect(await avs.registry.read.apkAt([now])).to.deep.equal(aggregateG1(signers.map((s) => s.pkG1)));
    });
  });
});
