// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BN254} from "../libraries/BN254.sol";
import {IOperatorRegistry} from "../interfaces/IOperatorRegistry.sol";
import {EquivocationSlasher} from "../avs/EquivocationSlasher.sol";

/// @title AvsHarness
/// @notice Test-only stand-in for the service manager: exposes the signature checker with gas measurement, and
/// equivocation slashing over result messages built exactly as the service manager builds them (docs/contracts-avs.md).
contract AvsHarness is EquivocationSlasher {
    /// @notice keccak256("matchnet/result/v1"), as protocol/bls RESULT_DOMAIN.
    bytes32 public constant RESULT_DOMAIN = keccak256("matchnet/result/v1");

    uint256 public immutable equivocationSlashBps;
    uint256 public immutable equivocationBountyBps;

    /// @notice ISlashingWindow: what the registry's exit delay must cover; settable so tests can move it.
    uint256 public slashingWindow;

    /// @notice One signed result of a batch: everything but the assignments themselves, which enter as their hash.
    struct SignedResult {
        bytes32 assignmentsHash;
        BN254.G1Point sigma;
    }

    constructor(IOperatorRegistry registry, uint256 slashBps, uint256 bountyBps, uint256 slashingWindow_)
        EquivocationSlasher(registry)
    {
        equivocationSlashBps = slashBps;
        equivocationBountyBps = bountyBps;
        slashingWindow = slashingWindow_;
    }

    /// @notice Test-only: changes the window the registry reads.
    function setSlashingWindow(uint256 blocks) external {
        slashingWindow = blocks;
    }

    /// @notice keccak256(abi.encode(RESULT_DOMAIN, chainid, this, batch, R_b, seed_b, assignmentsHash)).
    function resultMessageHash(uint256 batch, uint32 referenceBlock, bytes32 seed, bytes32 assignmentsHash)
        public
        view
        returns (bytes32)
    {
        return keccak256(abi.encode(RESULT_DOMAIN, block.chainid, address(this), batch, referenceBlock, seed, assignmentsHash));
    }

    /// @notice Slashes `operatorId` for signing two different results of one batch.
    function slashEquivocation(
        bytes32 operatorId,
        uint256 batch,
        uint32 referenceBlock,
        bytes32 seed,
        SignedResult calldata a,
        SignedResult calldata b
    ) external returns (uint256 slashed, uint256 bounty) {
        return _slashEquivocation(
            operatorId,
            bytes32(batch),
            referenceBlock,
            SignedMessage(resultMessageHash(batch, referenceBlock, seed, a.assignmentsHash), a.sigma),
            SignedMessage(resultMessageHash(batch, referenceBlock, seed, b.assignmentsHash), b.sigma),
            equivocationSlashBps,
            equivocationBountyBps,
            msg.sender
        );
    }

    /// @notice `checkSignatures` with the gas it used (external call to the registry included, transaction and
    /// calldata overhead excluded).
    function measureCheckSignatures(bytes32 msgHash, uint32 referenceBlock, QuorumSignature calldata quorum)
        external
        view
        returns (uint256 signedStake, uint256 totalStake, uint256 gasUsed)
    {
        uint256 before = gasleft();
        (signedStake, totalStake) = checkSignatures(msgHash, referenceBlock, quorum);
        gasUsed = before - gasleft();
    }

    /// @notice `_checkSignaturesAndOne` exposed for tests: the quorum signature and `operatorId`'s signature on
    /// `extraMsgHash` (as the leader's seed signature would be) in one 3-pair check.
    function checkSignaturesAndOne(
        bytes32 msgHash,
        uint32 referenceBlock,
        QuorumSignature calldata quorum,
        bytes32 operatorId,
        bytes32 extraMsgHash,
        BN254.G1Point calldata extraSigma
    ) external view returns (uint256 signedStake, uint256 totalStake, uint256 gasUsed) {
        uint256 before = gasleft();
        bool pairingOk;
        (signedStake, totalStake, pairingOk) = _checkSignaturesAndOne(
            msgHash, referenceBlock, quorum, ExtraSignature(extraMsgHash, extraSigma, _pkG2(operatorId))
        );
        if (!pairingOk) revert BLSSignatureCheckerPairingFailed();
        gasUsed = before - gasleft();
    }

    function _pkG2(bytes32 operatorId) private view returns (BN254.G2Point memory pkG2) {
        (, pkG2) = operatorRegistry().operatorKeys(operatorId);
    }

    /// @notice `verifyOperatorSignature` exposed for tests.
    function checkOperatorSignature(bytes32 operatorId, bytes32 msgHash, BN254.G1Point calldata sigma, uint32 referenceBlock)
        external
        view
        returns (bool)
    {
        return verifyOperatorSignature(operatorId, msgHash, sigma, referenceBlock);
    }
}
