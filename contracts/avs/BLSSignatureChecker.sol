// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BN254} from "../libraries/BN254.sol";
import {BLS} from "../libraries/BLS.sol";
import {IOperatorRegistry} from "../interfaces/IOperatorRegistry.sol";
import {IBLSSignatureChecker} from "../interfaces/IBLSSignatureChecker.sol";

/// @title BLSSignatureChecker
/// @notice Quorum signature verification over the operator registry's set at a reference block, in EigenLayer's
/// style: signers are proven by subtraction (apk(R) minus the sorted non-signer keys), their stake is read at R, and
/// one randomized pairing check with a gas cap binds the signature, the message and the signers' G1 and G2 keys.
/// The service manager inherits it.
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
    function checkSignatures(
        bytes32 msgHash,
        uint32 referenceBlock,
        BN254.G1Point[] calldata nonSignerPubkeys,
        BN254.G2Point calldata apkG2,
        BN254.G1Point calldata sigma
    ) public view returns (uint256 signedStake, uint256 totalStake) {
        // The set at R must be final: a check at R = the current block could be changed by a later transaction.
        if (referenceBlock >= block.number) {
            revert BLSSignatureCheckerFutureReferenceBlock(referenceBlock, block.number);
        }

        uint256 n = nonSignerPubkeys.length;
        bytes32[] memory ids = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            bytes32 id = keccak256(abi.encodePacked(nonSignerPubkeys[i].X, nonSignerPubkeys[i].Y));
            // Strictly ascending ids make the list a set: a key listed twice would be subtracted twice.
            if (i > 0 && id <= ids[i - 1]) {
                if (id == ids[i - 1]) revert BLSSignatureCheckerDuplicateNonSigner(id);
                revert BLSSignatureCheckerNonSignersNotSorted(i);
            }
            ids[i] = id;
        }

        BN254.G1Point memory apk;
        uint256[] memory stakes;
        (apk, totalStake, stakes) = _operatorRegistry.signatureCheckInputs(referenceBlock, ids);
        if (totalStake == 0) revert BLSSignatureCheckerEmptyOperatorSet(referenceBlock);

        signedStake = totalStake;
        if (n > 0) {
            BN254.G1Point memory nonSignerSum = nonSignerPubkeys[0];
            for (uint256 i = 0; i < n; i++) {
                // Weight > 0 at R means "in the set at R"; the id matches a registered key, so the point is valid.
                if (stakes[i] == 0) revert BLSSignatureCheckerUnknownNonSigner(ids[i]);
                signedStake -= stakes[i];
                if (i > 0) nonSignerSum = nonSignerSum.plus(nonSignerPubkeys[i]);
            }
            if (signedStake == 0) revert BLSSignatureCheckerNoSigners();
            apk = apk.plus(nonSignerSum.negate());
        }

        (bool pairingSuccessful, bool callOk) = BLS.verifyBound(msgHash, apk, apkG2, sigma, BLS.PAIRING_GAS_CAP);
        if (!callOk) revert BLSSignatureCheckerInvalidPoint();
        if (!pairingSuccessful) revert BLSSignatureCheckerPairingFailed();
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
