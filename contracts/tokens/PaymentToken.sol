// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {DevnetToken} from "./DevnetToken.sol";

/// @title PaymentToken
/// @notice A USD-like devnet token with 6 decimals. The owner mints at will; anyone may take a capped faucet
///         amount per call (devnet only: it has no value).
contract PaymentToken is DevnetToken {
    /// @notice Most the faucet gives per call: 100 000 units of 6 decimals.
    uint256 public constant FAUCET_MAX = 100_000 * 10 ** 6;

    /// @notice Thrown when a faucet request asks for more than `FAUCET_MAX`.
    error PaymentTokenFaucetLimit(uint256 requested, uint256 limit);
    /// @notice Thrown when the faucet is used on a chain other than a local devnet (chain ids 31337 and 1337).
    error PaymentTokenFaucetNotOnThisChain(uint256 chainId);

    constructor(address initialOwner) DevnetToken("matchnet USD", "mUSD", initialOwner) {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function _checkFaucet(uint256 amount, bool onDevnet) internal view override {
        if (!onDevnet) revert PaymentTokenFaucetNotOnThisChain(block.chainid);
        if (amount > FAUCET_MAX) revert PaymentTokenFaucetLimit(amount, FAUCET_MAX);
    }
}
