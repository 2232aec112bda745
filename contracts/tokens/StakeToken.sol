// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {DevnetToken} from "./DevnetToken.sol";

/// @title StakeToken
/// @notice The devnet's stake token (18 decimals) that providers and operators lock. The owner mints; anyone may
///         take a capped faucet amount per call (devnet only).
contract StakeToken is DevnetToken {
    /// @notice Most the faucet gives per call: 10 000 tokens.
    uint256 public constant FAUCET_MAX = 10_000 ether;

    /// @notice Thrown when a faucet request asks for more than `FAUCET_MAX`.
    error StakeTokenFaucetLimit(uint256 requested, uint256 limit);
    /// @notice Thrown when the faucet is used on a chain other than a local devnet (chain ids 31337 and 1337).
    error StakeTokenFaucetNotOnThisChain(uint256 chainId);

    constructor(address initialOwner) DevnetToken("matchnet Stake", "MNS", initialOwner) {}

    function _checkFaucet(uint256 amount, bool onDevnet) internal view override {
        if (!onDevnet) revert StakeTokenFaucetNotOnThisChain(block.chainid);
        if (amount > FAUCET_MAX) revert StakeTokenFaucetLimit(amount, FAUCET_MAX);
    }
}
