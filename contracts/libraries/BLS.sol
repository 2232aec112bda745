// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BN254} from "./BN254.sol";

/// @title BLS
/// @notice BLS signatures on BN254 as matchnet uses them (docs/bls.md, docs/contracts-avs.md): secret sk, keys sk·G1 and sk·G2,
/// signature sk·H(m) in G1 with H = `BN254.hashToG1`. Only keccak digests are ever signed.
library BLS {
    using BN254 for BN254.G1Point;

    /// @notice Gas given to the pairing precompile by the checks here. A 2-pair check costs 113 000 gas; the margin
    /// covers the call itself, and the cap bounds what a malformed input can burn.
    uint256 internal constant PAIRING_GAS_CAP = 120_000;

    /// @notice Whether `sigma` is a signature of `msgHash` under the G2 key `pkG2`: e(sigma, −G2) · e(H(m), pk) == 1.
    /// @dev False (never a revert) for infinity, a point off its curve, or a G2 key outside the order-r subgroup (the
    /// precompile refuses those), so callers can map every failure to their own error.
    function verify(BN254.G2Point memory pkG2, bytes32 msgHash, BN254.G1Point memory sigma)
        internal
        view
        returns (bool)
    {
        if (!sigma.isOnCurve() || !BN254.isOnCurve(pkG2)) return false;
        (bool pairingSuccessful,) =
            BN254.safePairing(sigma, BN254.negGeneratorG2(), BN254.hashToG1(msgHash), pkG2, PAIRING_GAS_CAP);
        return pairingSuccessful;
    }

    /// @notice The random-looking scalar that binds a signature to a G1 and a G2 key in one pairing check:
    /// keccak256(msgHash ‖ apkG1 ‖ apkG2 ‖ sigma) mod r (G2 imaginary parts first).
    function gamma(
        bytes32 msgHash,
        BN254.G1Point memory apkG1,
        BN254.G2Point memory apkG2,
        BN254.G1Point memory sigma
    ) internal pure returns (uint256) {
        return BN254.scalarOf(
            abi.encodePacked(msgHash, apkG1.X, apkG1.Y, apkG2.X[0], apkG2.X[1], apkG2.Y[0], apkG2.Y[1], sigma.X, sigma.Y)
        );
    }

    /// @notice The randomized ("gamma") check of EigenLayer's BLSSignatureChecker: one 2-pair multi-pairing proves
    /// both that `sigma` signs `msgHash` under `apkG2` and that `apkG1` and `apkG2` hold the same secret:
    /// e(sigma + γ·apkG1, −G2) · e(H(m) + γ·G1, apkG2) == 1 with γ = `gamma(...)`.
    /// @dev γ is derived from all inputs after they are fixed, so a forger cannot pick sigma and keys that cancel
    /// each other except with probability about 1/r. Infinity is refused for all three points: a key and a signature
    /// at infinity would satisfy the equation.
    /// @return pairingSuccessful whether the equation holds
    /// @return callOk false when an input was malformed (infinity, G1 point off the curve, G2 point off the curve or
    /// outside the subgroup) or the precompile ran out of the capped gas
    function verifyBound(
        bytes32 msgHash,
        BN254.G1Point memory apkG1,
        BN254.G2Point memory apkG2,
        BN254.G1Point memory sigma,
        uint256 pairingGas
    ) internal view returns (bool pairingSuccessful, bool callOk) {
        (bool inputsOk, BN254.G1Point memory left, BN254.G1Point memory right) = boundPairs(msgHash, apkG1, apkG2, sigma);
        if (!inputsOk) return (false, false);
        return BN254.safePairing(left, BN254.negGeneratorG2(), right, apkG2, pairingGas);
    }

    /// @notice The G1 halves of the gamma check, for callers that fold more equations into one multi-pairing:
    /// `verifyBound` holds iff e(left, −G2) · e(right, apkG2) == 1, with left = sigma + γ·apkG1 and
    /// right = H(m) + γ·G1.
    /// @return inputsOk false (and no points) when sigma, apkG1 or apkG2 is infinity or off its curve; the G2
    /// subgroup check is left to the pairing precompile
    function boundPairs(
        bytes32 msgHash,
        BN254.G1Point memory apkG1,
        BN254.G2Point memory apkG2,
        BN254.G1Point memory sigma
    ) internal view returns (bool inputsOk, BN254.G1Point memory left, BN254.G1Point memory right) {
        return boundPairsAt(msgHash, BN254.hashToG1(msgHash), apkG1, apkG2, sigma);
    }

    /// @notice `boundPairs` with the message point H(msgHash) already known (e.g. from
    /// `BN254.hashToG1Witnessed`); `messagePoint` must be H(msgHash).
    function boundPairsAt(
        bytes32 msgHash,
        BN254.G1Point memory messagePoint,
        BN254.G1Point memory apkG1,
        BN254.G2Point memory apkG2,
        BN254.G1Point memory sigma
    ) internal view returns (bool inputsOk, BN254.G1Point memory left, BN254.G1Point memory right) {
        // isOnCurve excludes infinity for both groups.
        if (!sigma.isOnCurve() || !apkG1.isOnCurve() || !BN254.isOnCurve(apkG2)) return (false, left, right);
        uint256 g = gamma(msgHash, apkG1, apkG2, sigma);
        left = sigma.plus(apkG1.scalarMul(g));
        right = messagePoint.plus(BN254.generatorG1().scalarMul(g));
        inputsOk = true;
    }

    /// @notice The challenge of a proof of possession, computed exactly as EigenLayer's BLSApkRegistry and the
    /// TypeScript `popGamma` do: keccak256(sigma ‖ pkG1 ‖ pkG2 ‖ H(m)) mod r.
    function popGamma(
        BN254.G1Point memory pkG1,
        BN254.G2Point memory pkG2,
        BN254.G1Point memory messagePoint,
        BN254.G1Point memory sigma
    ) internal pure returns (uint256) {
        return BN254.scalarOf(
            abi.encodePacked(
                sigma.X, sigma.Y, pkG1.X, pkG1.Y, pkG2.X[0], pkG2.X[1], pkG2.Y[0], pkG2.Y[1], messagePoint.X, messagePoint.Y
            )
        );
    }

    /// @notice Registration check, identical to the TypeScript `verifyProofOfPossession`: `sigma` signs `msgHash`
    /// under `pkG2`, and `pkG1` and `pkG2` hold the same secret, in one gamma-randomized pairing check.
    /// @dev False for infinity or any malformed point, and (like the TypeScript side) for the 1/r event γ = 0, which
    /// would drop the key-equality half of the check.
    function verifyProofOfPossession(
        BN254.G1Point memory pkG1,
        BN254.G2Point memory pkG2,
        bytes32 msgHash,
        BN254.G1Point memory sigma
    ) internal view returns (bool) {
        if (!sigma.isOnCurve() || !pkG1.isOnCurve() || !BN254.isOnCurve(pkG2)) return false;
        BN254.G1Point memory h = BN254.hashToG1(msgHash);
        uint256 g = popGamma(pkG1, pkG2, h, sigma);
        if (g == 0) return false;
        (bool pairingSuccessful,) = _boundPairing(h, pkG1, pkG2, sigma, g, PAIRING_GAS_CAP);
        return pairingSuccessful;
    }

    /// @dev e(sigma + γ·pkG1, −G2) · e(H + γ·G1, pkG2) == 1.
    function _boundPairing(
        BN254.G1Point memory messagePoint,
        BN254.G1Point memory pkG1,
        BN254.G2Point memory pkG2,
        BN254.G1Point memory sigma,
        uint256 g,
        uint256 pairingGas
    ) private view returns (bool pairingSuccessful, bool callOk) {
        BN254.G1Point memory left = sigma.plus(pkG1.scalarMul(g));
        BN254.G1Point memory right = messagePoint.plus(BN254.generatorG1().scalarMul(g));
        return BN254.safePairing(left, BN254.negGeneratorG2(), right, pkG2, pairingGas);
    }
}
