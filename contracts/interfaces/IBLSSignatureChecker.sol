// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BN254} from "../libraries/BN254.sol";

/// @title Errors of the BLS signature checker
interface IBLSSignatureCheckerErrors {
    /// @notice Thrown when the reference block is not strictly below the current block.
    error BLSSignatureCheckerFutureReferenceBlock(uint32 referenceBlock, uint256 currentBlock);
    /// @notice Thrown when non-signer keys are not sorted by operator id strictly ascending; `index` is the first
    /// key out of order (an exact repeat is BLSSignatureCheckerDuplicateNonSigner instead).
    error BLSSignatureCheckerNonSignersNotSorted(uint256 index);
    /// @notice Thrown when the same non-signer key appears twice.
    error BLSSignatureCheckerDuplicateNonSigner(bytes32 operatorId);
    /// @notice Thrown when a non-signer key does not belong to an operator of the set at the reference block.
    error BLSSignatureCheckerUnknownNonSigner(bytes32 operatorId);
    /// @notice Thrown when the operator set at the reference block is empty.
    error BLSSignatureCheckerEmptyOperatorSet(uint32 referenceBlock);
    /// @notice Thrown when every operator of the set is listed as a non-signer.
    error BLSSignatureCheckerNoSigners();
    /// @notice Thrown when an input point is malformed: infinity, off its curve, or (G2) outside the subgroup.
    error BLSSignatureCheckerInvalidPoint();
    /// @notice Thrown when the pairing check fails: the signature does not match the message and the signers' keys.
    error BLSSignatureCheckerPairingFailed();
    /// @notice Thrown when an operator is asked about at a reference block at which it was not in the set.
    error BLSSignatureCheckerOperatorNotInSet(bytes32 operatorId, uint32 referenceBlock);
}

/// @title BLS signature checker of the matchnet AVS
/// @notice Verifies a quorum's aggregate BLS signature over the operator set at a past reference block.
interface IBLSSignatureChecker is IBLSSignatureCheckerErrors {
    /// @notice Checks that `sigma` is the aggregate signature on `msgHash` of every operator in the set at
    /// `referenceBlock` except the listed non-signers, and returns the stake that signed.
    /// @param msgHash the signed digest (a keccak output)
    /// @param referenceBlock R, strictly below the current block
    /// @param nonSignerPubkeys G1 keys of the set members that did not sign, sorted by operator id
    /// (keccak256(X, Y)) strictly ascending
    /// @param apkG2 the signers' aggregate G2 key
    /// @param sigma the aggregate signature
    /// @return signedStake stake at R of the signers
    /// @return totalStake total stake of the set at R
    function checkSignatures(
        bytes32 msgHash,
        uint32 referenceBlock,
        BN254.G1Point[] calldata nonSignerPubkeys,
        BN254.G2Point calldata apkG2,
        BN254.G1Point calldata sigma
    ) external view returns (uint256 signedStake, uint256 totalStake);
}
