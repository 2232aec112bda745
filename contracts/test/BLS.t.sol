// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BN254} from "../libraries/BN254.sol";
import {BLS} from "../libraries/BLS.sol";

/// @notice Solidity-side checks of BN254 and BLS that need no TypeScript: group laws through the precompiles,
/// hashToG1 edge cases, and signatures made on-chain by scalar multiplication under a key whose G2 half was computed
/// with noble-curves (sk below).
contract BLSTest {
    using BN254 for BN254.G1Point;

    uint256 private constant SK = 1197837976857542815711078652729824860851083677016392406492640518423683650549;

    function _pkG2() private pure returns (BN254.G2Point memory) {
        return BN254.G2Point(
            [
                12440999675379840902468388669235428966820547434530841600447826619321008217539,
                1699128635378408465083475197605269680014139448868104280993346544394025994615
            ],
            [
                11873302725377724194936774412067705721708921564582588632904063808307506409180,
                3005365178641976045375294852220192461066024142490746759284067016408255418572
            ]
        );
    }

    /// @dev x = 2 + u lies on the twist but not in the order-r subgroup (found with noble-curves).
    function _twistPointOutsideSubgroup() private pure returns (BN254.G2Point memory) {
        return BN254.G2Point(
            [uint256(1), 2],
            [
                19659275751359636165940301690575149581329631496732780143538578556285923319774,
                7292567877523311580221095596750716176434782432868683424513645834767876293070
            ]
        );
    }

    function _eq(BN254.G1Point memory a, BN254.G1Point memory b) private pure returns (bool) {
        return a.X == b.X && a.Y == b.Y;
    }

    function test_generatorsAreOnTheirCurves() public pure {
        require(BN254.generatorG1().isOnCurve(), "G1 generator off curve");
        require(BN254.isOnCurve(BN254.generatorG2()), "G2 generator off curve");
        require(BN254.isOnCurve(BN254.negGeneratorG2()), "-G2 off curve");
        require(BN254.isOnCurve(_pkG2()), "pkG2 off curve");
        require(BN254.isOnCurve(_twistPointOutsideSubgroup()), "twist point should be on the curve");
    }

    function test_infinityAndUnreducedPointsAreNotOnCurve() public pure {
        require(!BN254.G1Point(0, 0).isOnCurve(), "infinity accepted");
        require(!BN254.G1Point(1, 3).isOnCurve(), "(1,3) accepted");
        require(!BN254.G1Point(1 + BN254.FP_MODULUS, 2).isOnCurve(), "unreduced x accepted");
        BN254.G2Point memory inf;
        require(!BN254.isOnCurve(inf), "G2 infinity accepted");
        BN254.G2Point memory bad = BN254.generatorG2();
        bad.Y[0] = addmod(bad.Y[0], 1, BN254.FP_MODULUS);
        require(!BN254.isOnCurve(bad), "tampered G2 accepted");
    }

    function test_addAndMulAgree() public view {
        BN254.G1Point memory g = BN254.generatorG1();
        BN254.G1Point memory twoG = g.plus(g);
        require(_eq(twoG, g.scalarMul(2)), "G+G != 2G");
        BN254.G1Point memory threeG = twoG.plus(g);
        require(_eq(threeG, g.scalarMul(3)), "2G+G != 3G");
        require(BN254.isInfinity(g.plus(g.negate())), "G-G != 0");
        require(BN254.isInfinity(g.scalarMul(BN254.FR_MODULUS)), "rG != 0");
        require(_eq(BN254.negate(BN254.G1Point(0, 0)), BN254.G1Point(0, 0)), "-0 != 0");
    }

    function test_pairingBilinearity() public view {
        BN254.G1Point memory g = BN254.generatorG1();
        // e(sk·G1, −G2) · e(G1, sk·G2) == 1
        require(BN254.pairing(g.scalarMul(SK), BN254.negGeneratorG2(), g, _pkG2()), "bilinearity");
        require(!BN254.pairing(g.scalarMul(SK + 1), BN254.negGeneratorG2(), g, _pkG2()), "wrong scalar accepted");
    }

    function test_multiPairingAgreesWithTwoPairCheck() public view {
        BN254.G1Point memory g = BN254.generatorG1();
        BN254.G1Point[] memory g1 = new BN254.G1Point[](3);
        BN254.G2Point[] memory g2 = new BN254.G2Point[](3);
        // e(2·sk·G1, −G2) · e(sk·G1, G2) · e(G1, sk·G2) == 1
        g1[0] = g.scalarMul(2 * SK);
        g2[0] = BN254.negGeneratorG2();
        g1[1] = g.scalarMul(SK);
        g2[1] = BN254.generatorG2();
        g1[2] = g;
        g2[2] = _pkG2();
        (bool ok, bool callOk) = BN254.safeMultiPairing(g1, g2, 200_000);
        require(ok && callOk, "3-pair identity refused");
        g1[2] = g.scalarMul(2);
        (ok, callOk) = BN254.safeMultiPairing(g1, g2, 200_000);
        require(!ok && callOk, "wrong 3-pair product accepted");
        BN254.G2Point[] memory short = new BN254.G2Point[](2);
        (ok, callOk) = BN254.safeMultiPairing(g1, short, 200_000);
        require(!ok && !callOk, "length mismatch accepted");
    }

    function test_pairingRefusesG2OutsideSubgroup() public view {
        BN254.G1Point memory g = BN254.generatorG1();
        (bool ok, bool callOk) =
            BN254.safePairing(g, BN254.negGeneratorG2(), g, _twistPointOutsideSubgroup(), BLS.PAIRING_GAS_CAP);
        require(!callOk && !ok, "precompile accepted a G2 point outside the subgroup");
    }

    function test_pairingGasCapTooLowFailsTheCall() public view {
        BN254.G1Point memory g = BN254.generatorG1();
        (bool ok, bool callOk) = BN254.safePairing(g, BN254.negGeneratorG2(), g, BN254.generatorG2(), 100_000);
        require(!callOk && !ok, "pairing ran below its cost");
    }

    function test_hashToG1EdgeDigestsMapToTheGenerator() public view {
        // x = 0: 0³+3 = 3 is not a square mod p, so x becomes 1, and 1³+3 = 4 = 2².
        require(_eq(BN254.hashToG1(bytes32(0)), BN254.generatorG1()), "H(0)");
        require(_eq(BN254.hashToG1(bytes32(uint256(1))), BN254.generatorG1()), "H(1)");
        require(_eq(BN254.hashToG1(bytes32(BN254.FP_MODULUS)), BN254.generatorG1()), "H(p)");
    }

    function testFuzz_hashToG1IsOnCurve(bytes32 digest) public view {
        BN254.G1Point memory h = BN254.hashToG1(digest);
        require(h.isOnCurve(), "hash off curve");
        // The x found is the first one at or after digest mod p for which x³+3 is a square.
        uint256 x0 = uint256(digest) % BN254.FP_MODULUS;
        require(h.X >= x0 ? h.X - x0 < 64 : true, "too many increments");
    }

    function testFuzz_signAndVerify(bytes32 msgHash) public view {
        BN254.G1Point memory sigma = BN254.hashToG1(msgHash).scalarMul(SK);
        require(BLS.verify(_pkG2(), msgHash, sigma), "valid signature refused");
        require(!BLS.verify(_pkG2(), keccak256(abi.encode(msgHash)), sigma), "wrong message accepted");
        BN254.G1Point memory pkG1 = BN254.generatorG1().scalarMul(SK);
        (bool ok, bool callOk) = BLS.verifyBound(msgHash, pkG1, _pkG2(), sigma, BLS.PAIRING_GAS_CAP);
        require(ok && callOk, "bound check refused");
    }

    function test_verifyRefusesInfinityAndTampering() public view {
        bytes32 m = keccak256("matchnet");
        BN254.G1Point memory sigma = BN254.hashToG1(m).scalarMul(SK);
        BN254.G1Point memory inf;
        BN254.G2Point memory infG2;
        require(!BLS.verify(infG2, m, inf), "infinity key and signature accepted");
        require(!BLS.verify(_pkG2(), m, inf), "infinity signature accepted");
        require(!BLS.verify(BN254.generatorG2(), m, sigma), "wrong key accepted");
        require(!BLS.verify(_pkG2(), m, sigma.plus(BN254.generatorG1())), "tampered signature accepted");
        require(!BLS.verify(_pkG2(), m, BN254.G1Point(sigma.X, sigma.Y + 1)), "off-curve signature accepted");
        require(!BLS.verify(_twistPointOutsideSubgroup(), m, sigma), "key outside subgroup accepted");
    }

    function test_verifyBoundRefusesMismatchedKeys() public view {
        bytes32 m = keccak256("matchnet");
        BN254.G1Point memory sigma = BN254.hashToG1(m).scalarMul(SK);
        BN254.G1Point memory pkG1 = BN254.generatorG1().scalarMul(SK);
        BN254.G1Point memory inf;
        BN254.G2Point memory infG2;
        (bool ok,) = BLS.verifyBound(m, pkG1.plus(BN254.generatorG1()), _pkG2(), sigma, BLS.PAIRING_GAS_CAP);
        require(!ok, "G1 key not matching the G2 key accepted");
        (ok,) = BLS.verifyBound(keccak256("other"), pkG1, _pkG2(), sigma, BLS.PAIRING_GAS_CAP);
        require(!ok, "wrong message accepted");
        bool callOk;
        (ok, callOk) = BLS.verifyBound(m, inf, infG2, inf, BLS.PAIRING_GAS_CAP);
        require(!ok && !callOk, "all-infinity accepted");
        (ok, callOk) = BLS.verifyBound(m, pkG1, _twistPointOutsideSubgroup(), sigma, BLS.PAIRING_GAS_CAP);
        require(!ok && !callOk, "G2 key outside subgroup accepted");
    }
}
