// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {BN254} from "../libraries/BN254.sol";
import {IOperatorRegistry} from "../interfaces/IOperatorRegistry.sol";
import {IEquivocationSlasher} from "../interfaces/IEquivocationSlasher.sol";
import {BLSSignatureChecker} from "./BLSSignatureChecker.sol";

/// @title EquivocationSlasher
/// @notice Slashing of an operator that signed two different messages for the same duty. The service manager
/// inherits it: only it can rebuild a batch's result message from (RESULT_DOMAIN, chainId, itself, batch, R_b,
/// seed_b, assignmentsHash), so it computes both message hashes, proves they belong to the same batch by
/// construction, and calls `_slashEquivocation`. The contract must be the registry's slasher.
/// @dev The bounty is commit-reveal (docs/contracts-avs.md, "EquivocationSlasher"): any valid proof slashes, but the
/// bounty goes only to a reporter that committed to that proof in an earlier block. A proof revealed without such a
/// commitment (a front-runner's copy, say) slashes and the bounty is withheld here for `BOUNTY_CLAIM_BLOCKS`, for a
/// reporter whose commitment predates the slash (the one the copy was taken from), then goes to the treasury. The
/// offender reporting itself gets at most the bounty back out of its slash, so it always loses slash − bounty.
abstract contract EquivocationSlasher is BLSSignatureChecker, IEquivocationSlasher {
    using SafeERC20 for IERC20;

    /// @notice Blocks after a slash during which a withheld bounty can be claimed. A reveal that lost the race to a
    /// copy of itself lands in the same block or soon after; 256 blocks (≈ 51 minutes at 12 s) leave room for a
    /// congested mempool.
    uint256 public constant BOUNTY_CLAIM_BLOCKS = 256;

    mapping(bytes32 operatorId => mapping(bytes32 dutyKey => bool)) private _slashedFor;
    mapping(bytes32 commitment => uint256 blockNumber) private _commitmentBlock;
    mapping(bytes32 operatorId => mapping(bytes32 dutyKey => WithheldBounty)) private _withheld;

    constructor(IOperatorRegistry operatorRegistry_) BLSSignatureChecker(operatorRegistry_) {}

    /// @inheritdoc IEquivocationSlasher
    function commitEquivocation(bytes32 commitment) external {
        if (_commitmentBlock[commitment] != 0) revert EquivocationSlasherAlreadyCommitted(commitment);
        _commitmentBlock[commitment] = block.number;
        emit EquivocationCommitted(commitment, msg.sender, block.number);
    }

    /// @inheritdoc IEquivocationSlasher
    function releaseWithheldBounty(bytes32 operatorId, bytes32 dutyKey) external {
        WithheldBounty memory w = _withheld[operatorId][dutyKey];
        if (w.amount == 0) revert EquivocationSlasherNoWithheldBounty(operatorId, dutyKey);
        uint256 until = w.slashedAt + BOUNTY_CLAIM_BLOCKS;
        if (block.number <= until) revert EquivocationSlasherClaimWindowOpen(operatorId, dutyKey, until);
        delete _withheld[operatorId][dutyKey];
        address treasury = operatorRegistry().treasury();
        emit EquivocationBountyReleased(operatorId, dutyKey, treasury, w.amount);
        _stakeToken().safeTransfer(treasury, w.amount);
    }

    /// @inheritdoc IEquivocationSlasher
    function equivocationCommitment(
        address reporter,
        bytes32 operatorId,
        bytes32 dutyKey,
        SignedMessage calldata a,
        SignedMessage calldata b
    ) external pure returns (bytes32) {
        return _commitment(reporter, operatorId, dutyKey, a, b);
    }

    /// @inheritdoc IEquivocationSlasher
    function commitmentBlock(bytes32 commitment) external view returns (uint256) {
        return _commitmentBlock[commitment];
    }

    /// @inheritdoc IEquivocationSlasher
    function withheldBounty(bytes32 operatorId, bytes32 dutyKey) external view returns (WithheldBounty memory) {
        return _withheld[operatorId][dutyKey];
    }

    /// @notice Whether `operatorId` was already slashed for equivocating on `dutyKey`.
    function equivocationSlashed(bytes32 operatorId, bytes32 dutyKey) public view returns (bool) {
        return _slashedFor[operatorId][dutyKey];
    }

    /// @notice Verifies two signatures of one operator on two different messages of the same duty and slashes it;
    /// or, when it was already slashed with the bounty withheld, pays that bounty to a reporter whose commitment to
    /// this proof predates the slash.
    /// @param operatorId the equivocating operator (in the set at `referenceBlock`)
    /// @param dutyKey identifies the duty both messages are for (e.g. bytes32(batchId)); one slash per duty
    /// @param referenceBlock the duty's reference block R_b
    /// @param a first signed message, its hash built by the caller for this duty
    /// @param b second signed message, its hash built by the caller for this duty
    /// @param slashBps fraction of the stake cut
    /// @param bountyBps fraction of the cut paid to the reporter (when its commitment qualifies)
    /// @param reporter the submitter of the proof
    /// @return slashed the amount cut (0 for a claim of a withheld bounty)
    /// @return bounty the amount paid to `reporter`
    function _slashEquivocation(
        bytes32 operatorId,
        bytes32 dutyKey,
        uint32 referenceBlock,
        SignedMessage memory a,
        SignedMessage memory b,
        uint256 slashBps,
        uint256 bountyBps,
        address reporter
    ) internal returns (uint256 slashed, uint256 bounty) {
        if (a.msgHash == b.msgHash) revert EquivocationSlasherSameMessage(a.msgHash);
        bool already = _slashedFor[operatorId][dutyKey];
        if (already && _withheld[operatorId][dutyKey].amount == 0) {
            revert EquivocationSlasherAlreadySlashed(operatorId, dutyKey);
        }
        _checkBothSigned(operatorId, referenceBlock, a, b);
        uint256 committedAt = _commitmentBlock[_commitment(reporter, operatorId, dutyKey, a, b)];

        if (already) return (0, _claimWithheld(operatorId, dutyKey, reporter, committedAt));

        _slashedFor[operatorId][dutyKey] = true;
        // The bounty comes here first: it is paid on only to a reporter that committed in an earlier block.
        (slashed, bounty) = operatorRegistry().slash(operatorId, slashBps, address(this), bountyBps);
        if (committedAt != 0 && committedAt < block.number) {
            emit EquivocationSlashed(operatorId, dutyKey, a.msgHash, b.msgHash, reporter, slashed, bounty);
            if (bounty > 0) _stakeToken().safeTransfer(reporter, bounty);
            return (slashed, bounty);
        }
        emit EquivocationSlashed(operatorId, dutyKey, a.msgHash, b.msgHash, address(0), slashed, 0);
        if (bounty > 0) {
            _withheld[operatorId][dutyKey] = WithheldBounty(bounty, block.number);
            emit EquivocationBountyWithheld(operatorId, dutyKey, bounty, block.number + BOUNTY_CLAIM_BLOCKS);
        }
        return (slashed, 0);
    }

    /// @dev Pays a withheld bounty to `reporter` if its commitment predates the slash and the window is open.
    function _claimWithheld(bytes32 operatorId, bytes32 dutyKey, address reporter, uint256 committedAt)
        private
        returns (uint256 amount)
    {
        WithheldBounty memory w = _withheld[operatorId][dutyKey];
        if (committedAt == 0 || committedAt >= w.slashedAt || block.number > w.slashedAt + BOUNTY_CLAIM_BLOCKS) {
            revert EquivocationSlasherAlreadySlashed(operatorId, dutyKey);
        }
        delete _withheld[operatorId][dutyKey];
        amount = w.amount;
        emit EquivocationBountyClaimed(operatorId, dutyKey, reporter, amount);
        _stakeToken().safeTransfer(reporter, amount);
    }

    function _commitment(
        address reporter,
        bytes32 operatorId,
        bytes32 dutyKey,
        SignedMessage memory a,
        SignedMessage memory b
    ) private pure returns (bytes32) {
        return keccak256(abi.encode(reporter, operatorId, dutyKey, a, b));
    }

    function _stakeToken() private view returns (IERC20) {
        return IERC20(operatorRegistry().stakeToken());
    }

    /// @dev Same checks as verifyOperatorSignature, with the keys read once for both signatures.
    function _checkBothSigned(bytes32 operatorId, uint32 referenceBlock, SignedMessage memory a, SignedMessage memory b)
        private
        view
    {
        (BN254.G1Point memory pkG1, BN254.G2Point memory pkG2) = _operatorKeysAt(operatorId, referenceBlock);
        if (!_verifyWithKeys(a.msgHash, a.sigma, pkG1, pkG2)) revert EquivocationSlasherInvalidSignature(0);
        if (!_verifyWithKeys(b.msgHash, b.sigma, pkG1, pkG2)) revert EquivocationSlasherInvalidSignature(1);
    }
}
