// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Slashing window of a slasher
/// @notice What the operator registry asks its slasher so that stake cannot leave before a proof about it can land:
/// the registry keeps its exit delay at least this long (docs/contracts-avs.md, "Exit delay and slashing window").
interface ISlashingWindow {
    /// @notice The number of blocks after an operator leaves the set during which a slashing proof about work it
    /// signed while in the set can still be submitted.
    function slashingWindow() external view returns (uint256 blocks);
}
