// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BN254} from "../libraries/BN254.sol";

/// @title Equivocation slashing: types, errors, events and the commit step
/// @notice A proof of equivocation slashes whoever submits it, but its bounty goes only to a reporter that committed
/// to that very proof in an earlier block (commit-reveal), so that neither a front-runner copying a revealed proof
/// nor the offender reporting itself comes out ahead (docs/contracts-avs.md, "EquivocationSlasher").
interface IEquivocationSlasher {
    /// @notice One message an operator signed, with its signature.
    struct SignedMessage {
        bytes32 msgHash;
        BN254.G1Point sigma;
    }

    /// @notice A bounty held back because the proof that slashed came without an earlier commitment.
    struct WithheldBounty {
        uint256 amount;
        uint256 slashedAt;
    }

    /// @notice Thrown when both messages are the same: signing one result twice is not equivocation.
    error EquivocationSlasherSameMessage(bytes32 msgHash);
    /// @notice Thrown when one of the two signatures is not the operator's signature on its message (index 0 or 1).
    error EquivocationSlasherInvalidSignature(uint256 index);
    /// @notice Thrown when the operator was already slashed for equivocating on this duty (batch) and there is no
    /// withheld bounty this caller may claim.
    error EquivocationSlasherAlreadySlashed(bytes32 operatorId, bytes32 dutyKey);
    /// @notice Thrown when a commitment is made a second time.
    error EquivocationSlasherAlreadyCommitted(bytes32 commitment);
    /// @notice Thrown when there is no withheld bounty for this operator and duty.
    error EquivocationSlasherNoWithheldBounty(bytes32 operatorId, bytes32 dutyKey);
    /// @notice Thrown when a withheld bounty is released before its claim window closed (claimable until `until`).
    error EquivocationSlasherClaimWindowOpen(bytes32 operatorId, bytes32 dutyKey, uint256 until);

    /// @notice Emitted when `reporter` committed to a proof: keccak256(abi.encode(reporter, operatorId, dutyKey, a, b)).
    event EquivocationCommitted(bytes32 indexed commitment, address indexed reporter, uint256 blockNumber);
    /// @notice Emitted when an operator was slashed for signing two different messages for one duty (batch).
    /// `beneficiary` is the committed reporter paid `bounty`, or the zero address and 0 when the bounty was withheld.
    event EquivocationSlashed(
        bytes32 indexed operatorId,
        bytes32 indexed dutyKey,
        bytes32 msgHashA,
        bytes32 msgHashB,
        address indexed beneficiary,
        uint256 slashed,
        uint256 bounty
    );
    /// @notice Emitted when the proof that slashed had no earlier commitment: `amount` waits for a reporter who
    /// committed before the slash's block, until `claimableUntil`.
    event EquivocationBountyWithheld(bytes32 indexed operatorId, bytes32 indexed dutyKey, uint256 amount, uint256 claimableUntil);
    /// @notice Emitted when a reporter whose commitment predates the slash claimed the withheld bounty.
    event EquivocationBountyClaimed(bytes32 indexed operatorId, bytes32 indexed dutyKey, address indexed reporter, uint256 amount);
    /// @notice Emitted when an unclaimed withheld bounty went to the registry's treasury.
    event EquivocationBountyReleased(bytes32 indexed operatorId, bytes32 indexed dutyKey, address indexed treasury, uint256 amount);

    /// @notice Commits the caller to a proof it will reveal in a later block (through the service manager's
    /// `slashEquivocation`); `commitment` = `equivocationCommitment(msg.sender, operatorId, dutyKey, a, b)`. Anyone.
    function commitEquivocation(bytes32 commitment) external;

    /// @notice Sends a withheld bounty nobody claimed to the registry's treasury, once its claim window closed.
    /// Anyone.
    function releaseWithheldBounty(bytes32 operatorId, bytes32 dutyKey) external;

    /// @notice The commitment of `reporter` to the proof (a, b) against `operatorId` on `dutyKey`.
    function equivocationCommitment(
        address reporter,
        bytes32 operatorId,
        bytes32 dutyKey,
        SignedMessage calldata a, SignedMessage calldata b
    ) external pure returns (bytes32);

    /// @notice The block a commitment was made in (0 when never).
    function commitmentBlock(bytes32 commitment) external view returns (uint256);

    /// @notice The bounty withheld for `operatorId` on `dutyKey` (amount 0 when none).
    function withheldBounty(bytes32 operatorId, bytes32 dutyKey) external view returns (WithheldBounty memory);
}
