// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BN254} from "../libraries/BN254.sol";
import {BLS} from "../libraries/BLS.sol";
import {IOperatorRegistry} from "../interfaces/IOperatorRegistry.sol";
import {IBLSSignatureChecker} from "../interfaces/IBLSSignatureChecker.sol";

/// @title BLSSignatureChecker
/// @notice Quorum signature verification over the operator registry's set at a reference block, in EigenLayer's
/// style: signers are proven by subtraction (apk(R) minus the sorted non-signer keys), their stake is read at R at
/// caller-supplied hints the registry checks in constant cost, and one randomized pairing check with a gas cap binds
/// the signature, the message and the signers' G1 and G2 keys. The service manager inherits it.
abstract contract BLSSignatureChecker is IBLSSignatureChecker {
    using BN254 for BN254.G1Point;

    IOperatorRegistry private immutable _operatorRegistry;

    constructor(IOperatorRegistry operatorRegistry_) {
        _operatorRegistry = operatorRegistry_;
    }

    /// @notice The registry whose operator set signatures are checked against.
    function operatorRegistry() public view returns (IOperatorRegistry) {
        return _operatorRegistry;
    }

    /// @inheritdoc IBLSSignatureChecker
    function checkSignatures(bytes32 msgHash, uint32 referenceBlock, QuorumSignature calldata quorum)
        public
        view
        returns (uint256 signedStake, uint256 totalStake)
    {
        BN254.G1Point memory left;
        BN254.G1Point memory right;
        (signedStake, totalStake, left, right) =
            _quorumPairs(msgHash, referenceBlock, quorum);
        (bool pairingSuccessful, bool callOk) =
            BN254.safePairing(left, BN254.negGeneratorG2(), right, quorum.apkG2, BLS.PAIRING_GAS_CAP);
        if (!callOk) revert BLSSignatureCheckerInvalidPoint();
        if (!pairingSuccessful) revert BLSSignatureCheckerPairingFailed();
    }

    /// @notice `checkSignatures` and one more signature (e.g. the batch leader's seed signature)
    /// in a single 3-pair multi-pairing instead of two 2-pair checks (≈ 38 000 gas less: docs/contracts-avs.md, "Gas").
    /// @dev With δ = keccak256(both checks' inputs) mod r fixed after every input, the check is
    /// e(left + δ·extraSigma, −G2) · e(right, apkG2) · e(δ·H(extraMsgHash), extraPkG2) == 1, where left/right are
    /// the quorum's gamma-check points (BLS.boundPairs). A false quorum or extra signature makes the product 1 with
    /// probability ≈ 1/r. `extraPkG2` must be a key the caller trusts (a registered operator's, from the
    /// registry): this function checks only that extraSigma is a finite G1 point. The same errors as
    /// checkSignatures, except that a failed pairing is returned (`pairingOk` false), not thrown: it does not say
    /// which of the two signatures is bad, so the caller can find out before it reverts.
    function _checkSignaturesAndOne(
        bytes32 msgHash,
        uint32 referenceBlock,
        QuorumSignature calldata quorum,
        ExtraSignature memory extra
    ) internal view returns (uint256 signedStake, uint256 totalStake, bool pairingOk) {
        BN254.G1Point memory left;
        BN254.G1Point memory right;
        (signedStake, totalStake, left, right) =
            _quorumPairs(msgHash, referenceBlock, quorum);
        bytes32 extraMsgHash = extra.msgHash;
        BN254.G1Point memory extraSigma = extra.sigma;
        BN254.G2Point memory extraPkG2 = extra.pkG2;
        if (!extraSigma.isOnCurve() || !BN254.isOnCurve(extraPkG2)) revert BLSSignatureCheckerInvalidPoint();
        uint256 delta = BN254.scalarOf(
            abi.encodePacked(left.X, left.Y, right.X, right.Y, extraMsgHash, extraSigma.X, extraSigma.Y, extraPkG2.X, extraPkG2.Y)
        );

        BN254.G1Point[] memory g1 = new BN254.G1Point[](3);
        BN254.G2Point[] memory g2 = new BN254.G2Point[](3);
        g1[0] = left.plus(extraSigma.scalarMul(delta));
        g2[0] = BN254.negGeneratorG2();
        g1[1] = right;
        g2[1] = quorum.apkG2;
        g1[2] = BN254.hashToG1(extraMsgHash).scalarMul(delta);
        g2[2] = extraPkG2;
        bool callOk;
        (pairingOk, callOk) = BN254.safeMultiPairing(g1, g2, EXTRA_PAIRING_GAS_CAP);
        if (!callOk) revert BLSSignatureCheckerInvalidPoint();
    }

    /// @dev One more signature for `_checkSignaturesAndOne`: `sigma` on `msgHash` under the trusted key `pkG2`.
    struct ExtraSignature {
        bytes32 msgHash;
        BN254.G1Point sigma;
        BN254.G2Point pkG2;
    }

    /// @dev Gas for the 3-pair check: 45 000 + 3 × 34 000 = 147 000, plus margin.
    uint256 private constant EXTRA_PAIRING_GAS_CAP = 155_000;

    /// @dev Everything of checkSignatures but the pairing: checks, signers' key by subtraction, stakes, and the G1
    /// halves of the gamma check.
    function _quorumPairs(bytes32 msgHash, uint32 referenceBlock, QuorumSignature calldata quorum)
        internal
        view
        returns (uint256 signedStake, uint256 totalStake, BN254.G1Point memory left, BN254.G1Point memory right)
    {
        // The set at R must be final: a check at R = the current block could be changed by a later transaction.
        if (referenceBlock >= block.number) {
            revert BLSSignatureCheckerFutureReferenceBlock(referenceBlock, block.number);
        }
        BN254.G1Point memory apk;
        (signedStake, totalStake, apk) = _signersAt(referenceBlock, quorum.nonSignerPubkeys, quorum.hints);
        (bool witnessOk, BN254.G1Point memory messagePoint) =
            BN254.hashToG1Witnessed(msgHash, quorum.hints.messagePointWitness);
        // The witness only saves gas: without a right one (empty, stale, for another message) H(msgHash) is computed,
        // at ≈ 4 600 gas per try-and-increment step, and the check goes on unchanged.
        if (!witnessOk) messagePoint = BN254.hashToG1(msgHash);
        bool inputsOk;
        (inputsOk, left, right) = BLS.boundPairsAt(msgHash, messagePoint, apk, quorum.apkG2, quorum.sigma);
        if (!inputsOk) revert BLSSignatureCheckerInvalidPoint();
    }

    /// @inheritdoc IBLSSignatureChecker
    function signatureCheckHints(bytes32 msgHash, uint32 referenceBlock, BN254.G1Point[] calldata nonSignerPubkeys)
        external
        view
        returns (SignatureCheckHints memory hints)
    {
        bytes32[] memory ids = new bytes32[](nonSignerPubkeys.length);
        for (uint256 i = 0; i < ids.length; i++) {
            ids[i] = keccak256(abi.encodePacked(nonSignerPubkeys[i].X, nonSignerPubkeys[i].Y));
        }
        hints.history = _operatorRegistry.historyHints(referenceBlock, ids);
        hints.messagePointWitness = BN254.hashToG1Witness(msgHash);
    }

    /// @dev The signers' stake and G1 key at R: the set's total and apk at R minus the non-signers' stakes and keys,
    /// all read from the registry in one call at the hinted indexes.
    function _signersAt(
        uint32 referenceBlock,
        BN254.G1Point[] calldata nonSignerPubkeys,
        SignatureCheckHints calldata hints
    ) private view returns (uint256 signedStake, uint256 totalStake, BN254.G1Point memory apk) {
        bytes32[] memory ids = _sortedOperatorIds(nonSignerPubkeys);
        uint256[] memory stakes;
        (apk, totalStake, stakes) = _operatorRegistry.signatureCheckInputs(referenceBlock, ids, hints.history);
        if (totalStake == 0) revert BLSSignatureCheckerEmptyOperatorSet(referenceBlock);

        signedStake = totalStake;
        uint256 n = ids.length;
        if (n > 0) {
            for (uint256 i = 0; i < n; i++) {
                // Weight > 0 at R means "in the set at R"; the id matches a registered key, so the point is valid.
                if (stakes[i] == 0) revert BLSSignatureCheckerUnknownNonSigner(ids[i]);
                signedStake -= stakes[i];
            }
            if (signedStake == 0) revert BLSSignatureCheckerNoSigners();
            apk = apk.plus(_sum(nonSignerPubkeys).negate());
        }
    }

    /// @dev keccak256(X, Y) of each key, which must be strictly ascending: that makes the list a set (a key listed
    /// twice would be subtracted twice). Hashed straight from calldata (G1Point is static: 64 bytes per key).
    function _sortedOperatorIds(BN254.G1Point[] calldata keys) private pure returns (bytes32[] memory ids) {
        uint256 n = keys.length;
        ids = new bytes32[](n);
        bytes32 previous;
        for (uint256 i = 0; i < n; i++) {
            bytes32 id;
            assembly ("memory-safe") {
                calldatacopy(0x00, add(keys.offset, shl(6, i)), 0x40)
                id := keccak256(0x00, 0x40)
            }
            if (i > 0 && id <= previous) {
                if (id == previous) revert BLSSignatureCheckerDuplicateNonSigner(id);
                revert BLSSignatureCheckerNonSignersNotSorted(i);
            }
            ids[i] = id;
            previous = id;
        }
    }

    /// @dev Σ keys (at least one) through precompile 0x06, accumulated in one buffer [sum.X, sum.Y, key.X, key.Y].
    function _sum(BN254.G1Point[] calldata keys) private view returns (BN254.G1Point memory sum) {
        bool ok = true;
        assembly ("memory-safe") {
            let n := keys.length
            let buf := mload(0x40)
            calldatacopy(buf, keys.offset, 0x40)
            for { let i := 1 } lt(i, n) { i := add(i, 1) } {
                calldatacopy(add(buf, 0x40), add(keys.offset, shl(6, i)), 0x40)
                if iszero(staticcall(gas(), 0x06, buf, 0x80, buf, 0x40)) { ok := 0 }
            }
            mstore(sum, mload(buf))
            mstore(add(sum, 0x20), mload(add(buf, 0x20)))
        }
        if (!ok) revert BN254.BN254PrecompileFailed(0x06);
    }

    /// @notice Whether `sigma` is `operatorId`'s signature on `msgHash`, for an operator that was in the set at
    /// `referenceBlock`: the gamma check against the operator's own G1 and G2 keys. Used to prove equivocation.
    /// @dev Reverts with BLSSignatureCheckerOperatorNotInSet when the operator was not in the set at R (a signature
    /// by an operator outside the set could never have counted) and for a future R; returns false for a bad or
    /// malformed signature.
    function verifyOperatorSignature(bytes32 operatorId, bytes32 msgHash, BN254.G1Point memory sigma, uint32 referenceBlock)
        internal
        view
        returns (bool)
    {
        (BN254.G1Point memory pkG1, BN254.G2Point memory pkG2) = _operatorKeysAt(operatorId, referenceBlock);
        return _verifyWithKeys(msgHash, sigma, pkG1, pkG2);
    }

    /// @dev The keys of an operator that was in the set at R; reverts otherwise (see verifyOperatorSignature).
    function _operatorKeysAt(bytes32 operatorId, uint32 referenceBlock)
        internal
        view
        returns (BN254.G1Point memory pkG1, BN254.G2Point memory pkG2)
    {
        if (referenceBlock >= block.number) {
            revert BLSSignatureCheckerFutureReferenceBlock(referenceBlock, block.number);
        }
        if (!_operatorRegistry.isInSetAt(operatorId, referenceBlock)) {
            revert BLSSignatureCheckerOperatorNotInSet(operatorId, referenceBlock);
        }
        return _operatorRegistry.operatorKeys(operatorId);
    }

    /// @dev The gamma check of one operator's signature against its registered keys.
    function _verifyWithKeys(
        bytes32 msgHash,
        BN254.G1Point memory sigma,
        BN254.G1Point memory pkG1,
        BN254.G2Point memory pkG2
    ) internal view returns (bool) {
        (bool pairingSuccessful,) = BLS.verifyBound(msgHash, pkG1, pkG2, sigma, BLS.PAIRING_GAS_CAP);
        return pairingSuccessful;
    }
}
