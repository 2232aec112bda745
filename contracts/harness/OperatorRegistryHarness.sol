// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {BN254} from "../libraries/BN254.sol";
import {OperatorRegistry} from "../avs/OperatorRegistry.sol";

/// @title OperatorRegistryHarness
/// @notice Test-only: the operator registry plus a way to grow its histories after a reference block quickly, for
/// the benchmark that shows a hinted signature check costs the same however long the histories are.
contract OperatorRegistryHarness is OperatorRegistry {
    constructor(address initialOwner, IERC20 stakeToken_, address treasury_, uint256 minimumStake_, uint32 exitDelay_)
        OperatorRegistry(initialOwner, stakeToken_, treasury_, minimumStake_, exitDelay_)
    {}

    /// @notice One block of changes, recorded exactly as `register` and `topUp` record theirs: an operator with key
    /// k·G1 and stake `amount` joins (one more apk update and total-stake entry), and each of `toppedUp` gains
    /// `amount` (one more entry in each of their stake histories). No tokens move and no operator record is
    /// written: only the histories a signature check reads grow.
    function churn(uint256 k, bytes32[] calldata toppedUp, uint256 amount) external onlyOwner {
        BN254.G1Point memory key = BN254.scalarMul(BN254.generatorG1(), k);
        _setWeight(keccak256(abi.encodePacked(key.X, key.Y)), amount);
        _updateApk(key);
        for (uint256 i = 0; i < toppedUp.length; i++) {
            _setWeight(toppedUp[i], this.currentStake(toppedUp[i]) + amount);
        }
    }
}
