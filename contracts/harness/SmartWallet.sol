// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title SmartWallet
/// @notice Test-only contract account: its owner makes it call anything. It stands for a multisig or smart wallet
///         renter, which has no secp256k1 key of its own (tests of the marketplace's access key, docs/agent.md).
contract SmartWallet {
    /// @notice Thrown when someone other than the owner calls `execute`.
    error SmartWalletNotOwner(address caller);

    address private immutable _owner;

    constructor(address owner_) {
        _owner = owner_;
    }

    /// @notice Calls `to` with `data` as this wallet; bubbles a revert up unchanged.
    function execute(address to, bytes calldata data) external returns (bytes memory result) {
        if (msg.sender != _owner) revert SmartWalletNotOwner(msg.sender);
        bool ok;
        (ok, result) = to.call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 32), mload(result))
            }
        }
    }
}
