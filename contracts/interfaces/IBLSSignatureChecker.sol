// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BN254} from "../libraries/BN254.sol";
import {IOperatorRegistryErrors, IOperatorRegistryTypes} from "./IOperatorRegistry.sol";

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
/// @notice Verifies a quorum's aggregate BLS signature over the operator set at a past reference block. The
/// registry's errors are part of this interface: a wrong hint reverts in the registry (OperatorRegistryWrong*Hint)
/// and the revert reaches the caller unchanged.
interface IBLSSignatureChecker is IBLSSignatureCheckerErrors, IOperatorRegistryErrors {
    /// @notice What lets `checkSignatures` run in constant cost, every part checked, none trusted: where the values
    /// at R are in the registry's histories (a wrong index reverts), and the square roots that prove H(msgHash)
    /// (BN254.hashToG1Witnessed: a few mulmods instead of one modexp call of ≈ 4 600 gas per try-and-increment
    /// step). The witness is optional: when it does not prove H(msgHash) (an empty one, say), H(msgHash) is
    /// computed and the check costs that much more.
    struct SignatureCheckHints {
        IOperatorRegistryTypes.HistoryHints history;
        uint256[] messagePointWitness;
    }

    /// @notice A quorum's signature as `checkSignatures` takes it: who did not sign, the signers' aggregate G2 key,
    /// the aggregate signature, and where the registry keeps the values at the reference block.
    /// @param nonSignerPubkeys G1 keys of the set members that did not sign, sorted by operator id
    /// (keccak256(X, Y)) strictly ascending
    /// @param apkG2 the signers' aggregate G2 key
    /// @param sigma the aggregate signature
    /// @param hints where the apk, the total stake and each non-signer's stake at R are in the registry's
    /// histories (nonSignerStakeIndices in the order of nonSignerPubkeys), and the witness of H(msgHash):
    /// `signatureCheckHints` computes them
    struct QuorumSignature {
        BN254.G1Point[] nonSignerPubkeys;
        BN254.G2Point apkG2;
        BN254.G1Point sigma;
        SignatureCheckHints hints;
    }

    /// @notice Checks that `sigma` is the aggregate signature on `msgHash` of every operator in the set at
    /// `referenceBlock` except the listed non-signers, and returns the stake that signed. Costs the same however
    /// many changes the registry recorded since `referenceBlock`: the values at R are read at the hinted indexes,
    /// each checked in constant cost.
    /// @param msgHash the signed digest (a keccak output)
    /// @param referenceBlock R, strictly below the current block
    /// @param quorum the non-signers, the signers' aggregate G2 key, the aggregate signature and the hints
    /// @return signedStake stake at R of the signers
    /// @return totalStake total stake of the set at R
    function checkSignatures(bytes32 msgHash, uint32 referenceBlock, QuorumSignature calldata quorum)
        external
        view
        returns (uint256 signedStake, uint256 totalStake);

    /// @notice The `hints` of `checkSignatures`' quorum signature for `msgHash`, `referenceBlock` and these non-signers (same
    /// order), in one eth_call: what an aggregator fetches before submitting. Stable once R is below the current
    /// block (histories only grow after it).
    function signatureCheckHints(bytes32 msgHash, uint32 referenceBlock, BN254.G1Point[] calldata nonSignerPubkeys)
        external
        view
        returns (SignatureCheckHints memory hints);
}
