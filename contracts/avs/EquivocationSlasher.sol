// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BN254} from "../libraries/BN254.sol";
import {IOperatorRegistry} from "../interfaces/IOperatorRegistry.sol";
import {IEquivocationSlasher} from "../interfaces/IEquivocationSlasher.sol";
import {BLSSignatureChecker} from "./BLSSignatureChecker.sol";

/// @title EquivocationSlasher
/// @notice Slashing of an operator that signed two different messages for the same duty (PROTOCOL.md §5). The
/// service manager inherits it: only it can rebuild a batch's result message from (RESULT_DOMAIN, chainId, itself,
/// batch, R_b, seed_b, assignmentsHash), so it computes both message hashes, proves they belong to the same batch by
/// construction, and calls `_slashEquivocation`. The contract must be the registry's slasher.
abstract contract EquivocationSlasher is BLSSignatureChecker, IEquivocationSlasher {
    mapping(bytes32 operatorId => mapping(bytes32 dutyKey => bool)) private _slashedFor;

    constructor(IOperatorRegistry operatorRegistry_) BLSSignatureChecker(operatorRegistry_) {}

    /// @notice Whether `operatorId` was already slashed for equivocating on `dutyKey`.
    function equivocationSlashed(bytes32 operatorId, bytes32 dutyKey) public view returns (bool) {
        return _slashedFor[operatorId][dutyKey];
    }

    /// @notice Verifies two signatures of one operator on two different messages of the same duty and slashes it.
    /// @param operatorId the equivocating operator (in the set at `referenceBlock`)
    /// @param dutyKey identifies the duty both messages are for (e.g. bytes32(batchId)); one slash per duty
    /// @param referenceBlock the duty's reference block R_b
    /// @param a first signed message, its hash built by the caller for this duty
    /// @param b second signed message, its hash built by the caller for this duty
    /// @param slashBps fraction of the stake cut
    /// @param bountyBps fraction of the cut paid to `beneficiary`
    /// @param beneficiary the submitter of the proof
    function _slashEquivocation(
        bytes32 operatorId,
        bytes32 dutyKey,
        uint32 referenceBlock,
        SignedMessage memory a,
        SignedMessage memory b,
        uint256 slashBps,
        uint256 bountyBps,
        address beneficiary
    ) internal returns (uint256 slashed, uint256 bounty) {
        if (a.msgHash == b.msgHash) revert EquivocationSlasherSameMessage(a.msgHash);
        if (_slashedFor[operatorId][dutyKey]) revert EquivocationSlasherAlreadySlashed(operatorId, dutyKey);
        _checkBothSigned(operatorId, referenceBlock, a, b);
        _slashedFor[operatorId][dutyKey] = true;
        (slashed, bounty) = operatorRegistry().slash(operatorId, slashBps, beneficiary, bountyBps);
        emit EquivocationSlashed(operatorId, dutyKey, a.msgHash, b.msgHash, beneficiary, slashed, bounty);
    }

    /// @dev Same checks as verifyOperatorSignature, with the keys read once for both signatures.
    function _checkBothSigned(bytes32 operatorId, uint32 referenceBlock, SignedMessage memory a, SignedMessage memory b)
        private
        view
    {
        (BN254.G1Point memory pkG1, BN254.G2Point memory pkG2) = _operatorKeysAt(operatorId, referenceBlock);
        if (!_verifyWithKeys(a.msgHash, a.sigma, pkG1, pkG2)) revert EquivocationSlasherInvalidSignature(0);
        if (!_verifyWithKeys(b.msgHash, b.sigma, pkG1, pkG2)) revert EquivocationSlasherInvalidSignature(1);
    }
}
