// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BN254} from "../libraries/BN254.sol";
import {BLS} from "../libraries/BLS.sol";

/// @title BLSHarness
/// @notice Test-only: exposes the BN254 and BLS libraries so that TypeScript tests and benchmarks can call them.
contract BLSHarness {
    function hashToG1(bytes32 digest) external view returns (BN254.G1Point memory) {
        return BN254.hashToG1(digest);
    }

    function hashToG1Witness(bytes32 digest) external view returns (uint256[] memory) {
        return BN254.hashToG1Witness(digest);
    }

    function hashToG1Witnessed(bytes32 digest, uint256[] calldata witness)
        external
        pure
        returns (bool ok, BN254.G1Point memory point)
    {
        return BN254.hashToG1Witnessed(digest, witness);
    }

    function isOnCurveG1(BN254.G1Point memory p) external pure returns (bool) {
        return BN254.isOnCurve(p);
    }

    function isOnCurveG2(BN254.G2Point memory p) external pure returns (bool) {
        return BN254.isOnCurve(p);
    }

    function plus(BN254.G1Point memory p, BN254.G1Point memory q) external view returns (BN254.G1Point memory) {
        return BN254.plus(p, q);
    }

    function scalarMul(BN254.G1Point memory p, uint256 s) external view returns (BN254.G1Point memory) {
        return BN254.scalarMul(p, s);
    }

    function negate(BN254.G1Point memory p) external pure returns (BN254.G1Point memory) {
        return BN254.negate(p);
    }

    function safePairing(
        BN254.G1Point memory a1,
        BN254.G2Point memory a2,
        BN254.G1Point memory b1,
        BN254.G2Point memory b2,
        uint256 pairingGas
    ) external view returns (bool pairingSuccessful, bool callOk) {
        return BN254.safePairing(a1, a2, b1, b2, pairingGas);
    }

    function verify(BN254.G2Point memory pkG2, bytes32 msgHash, BN254.G1Point memory sigma)
        external
        view
        returns (bool)
    {
        return BLS.verify(pkG2, msgHash, sigma);
    }

    function gamma(
        bytes32 msgHash,
        BN254.G1Point memory apkG1,
        BN254.G2Point memory apkG2,
        BN254.G1Point memory sigma
    ) external pure returns (uint256) {
        return BLS.gamma(msgHash, apkG1, apkG2, sigma);
    }

    /// @notice `BLS.verifyBound`, and the gas it used inside the contract (no transaction or calldata overhead), for
    /// the benchmark `bls.onchain_verify_gas`.
    function verifyBound(
        bytes32 msgHash,
        BN254.G1Point memory apkG1,
        BN254.G2Point memory apkG2,
        BN254.G1Point memory sigma
    ) external view returns (bool pairingSuccessful, bool callOk, uint256 gasUsed) {
        uint256 before = gasleft();
        (pairingSuccessful, callOk) = BLS.verifyBound(msgHash, apkG1, apkG2, sigma, BLS.PAIRING_GAS_CAP);
        gasUsed = before - gasleft();
    }

    function verifyProofOfPossession(
        BN254.G1Point memory pkG1,
        BN254.G2Point memory pkG2,
        bytes32 msgHash,
        BN254.G1Point memory sigma
    ) external view returns (bool) {
        return BLS.verifyProofOfPossession(pkG1, pkG2, msgHash, sigma);
    }

    function popGamma(
        BN254.G1Point memory pkG1,
        BN254.G2Point memory pkG2,
        BN254.G1Point memory messagePoint,
        BN254.G1Point memory sigma
    ) external pure returns (uint256) {
        return BLS.popGamma(pkG1, pkG2, messagePoint, sigma);
    }

    /// @notice `hashToG1` with the gas it used, to see the cost of each try-and-increment step.
    function measureHashToG1(bytes32 digest) external view returns (BN254.G1Point memory point, uint256 gasUsed) {
        uint256 before = gasleft();
        point = BN254.hashToG1(digest);
        gasUsed = before - gasleft();
    }
}
