// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title PaymentToken
/// @notice A USD-like devnet token with 6 decimals. The owner mints at will; anyone may take a capped faucet
///         amount per call (devnet only: it has no value).
contract PaymentToken is ERC20, Ownable {
    /// @notice Most the faucet gives per call: 100 000 units of 6 decimals.
    uint256 public constant FAUCET_MAX = 100_000 * 10 ** 6;

    /// @notice Thrown when a faucet request asks for more than `FAUCET_MAX`.
    error PaymentTokenFaucetLimit(uint256 requested, uint256 limit);
    /// @notice Thrown when the faucet is used on a chain other than a local devnet (chain ids 31337 and 1337).
    error PaymentTokenFaucetNotOnThisChain(uint256 chainId);

    /// @notice Emitted when the faucet mints.
    event FaucetUsed(address indexed to, uint256 amount);

    constructor(address initialOwner) ERC20("matchnet USD", "mUSD") Ownable(initialOwner) {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mints `amount` to `to`. Only the owner.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    /// @notice Mints up to `FAUCET_MAX` to the caller.
    function faucet(uint256 amount) external {
        if (block.chainid != 31337 && block.chainid != 1337) revert PaymentTokenFaucetNotOnThisChain(block.chainid);
        if (amount > FAUCET_MAX) revert PaymentTokenFaucetLimit(amount, FAUCET_MAX);
        _mint(msg.sender, amount);
        emit FaucetUsed(msg.sender, amount);
    }
}
