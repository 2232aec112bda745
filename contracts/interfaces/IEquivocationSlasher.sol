// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BN254} from "../libraries/BN254.sol";

/// @title Errors and events of equivocation slashing
interface IEquivocationSlasher {
    /// @notice One message an operator signed, with its signature.
    struct SignedMessage {
        bytes32 msgHash;
        BN254.G1Point sigma;
    }

    /// @notice Thrown when both messages are the same: signing one result twice is not equivocation.
    error EquivocationSlasherSameMessage(bytes32 msgHash);
    /// @notice Thrown when one of the two signatures is not the operator's signature on its message (index 0 or 1).
    error EquivocationSlasherInvalidSignature(uint256 index);
    /// @notice Thrown when the operator was already slashed for equivocating on this duty (batch).
    error EquivocationSlasherAlreadySlashed(bytes32 operatorId, bytes32 dutyKey);

    /// @notice Emitted when an operator was slashed for signing two different messages for one duty (batch).
    event EquivocationSlashed(
        bytes32 indexed operatorId,
        bytes32 indexed dutyKey,
        bytes32 msgHashA,
        bytes32 msgHashB,
        address indexed beneficiary,
        uint256 slashed,
        uint256 bounty
    );
}
