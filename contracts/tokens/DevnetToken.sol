// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title DevnetToken
/// @notice What the devnet's tokens share: the owner mints at will; anyone may take a capped faucet amount per call,
///         on a local devnet only (chain ids 31337 and 1337). Each token names its own cap and errors.
abstract contract DevnetToken is ERC20, Ownable {
    /// @notice Emitted when the faucet mints.
    event FaucetUsed(address indexed to, uint256 amount);

    constructor(string memory name_, string memory symbol_, address initialOwner)
        ERC20(name_, symbol_)
        Ownable(initialOwner)
    {}

    /// @notice Mints `amount` to `to`. Only the owner.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    /// @notice Mints up to `FAUCET_MAX` to the caller.
    function faucet(uint256 amount) external {
        _checkFaucet(amount, block.chainid == 31337 || block.chainid == 1337);
        _mint(msg.sender, amount);
        emit FaucetUsed(msg.sender, amount);
    }

    /// @dev Reverts with the token's own error when the chain is not a local devnet (`onDevnet` false) or `amount`
    /// is above its cap.
    function _checkFaucet(uint256 amount, bool onDevnet) internal view virtual;
}
