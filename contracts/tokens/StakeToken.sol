// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title StakeToken
/// @notice The devnet's stake token (18 decimals) that providers and operators lock. The owner mints; anyone may
///         take a capped faucet amount per call (devnet only).
contract StakeToken is ERC20, Ownable {
    /// @notice Most the faucet gives per call: 10 000 tokens.
    uint256 public constant FAUCET_MAX = 10_000 ether;

    /// @notice Thrown when a faucet request asks for more than `FAUCET_MAX`.
    error StakeTokenFaucetLimit(uint256 requested, uint256 limit);
    /// @notice Thrown when the faucet is used on a chain other than a local devnet (chain ids 31337 and 1337).
    error StakeTokenFaucetNotOnThisChain(uint256 chainId);

    /// @notice Emitted when the faucet mints.
    event FaucetUsed(address indexed to, uint256 amount);

    constructor(address initialOwner) ERC20("matchnet Stake", "MNS") Ownable(initialOwner) {}

    /// @notice Mints `amount` to `to`. Only the owner.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    /// @notice Mints up to `FAUCET_MAX` to the caller.
    function faucet(uint256 amount) external {
        if (block.chainid != 31337 && block.chainid != 1337) revert StakeTokenFaucetNotOnThisChain(block.chainid);
        if (amount > FAUCET_MAX) revert StakeTokenFaucetLimit(amount, FAUCET_MAX);
        _mint(msg.sender, amount);
        emit FaucetUsed(msg.sender, amount);
    }
}
