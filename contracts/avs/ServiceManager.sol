// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {BN254} from "../libraries/BN254.sol";
import {IOperatorRegistry} from "../interfaces/IOperatorRegistry.sol";
import {IMarketplace} from "../interfaces/IMarketplace.sol";
import {IServiceManager} from "../interfaces/IServiceManager.sol";
import {EquivocationSlasher} from "./EquivocationSlasher.sol";

/// @title ServiceManager
/// @notice Batch lifecycle of the matching AVS (PROTOCOL.md section 3) and its parameters (section 8). One batch
///         is in flight at a time: batch b closes after `batchInterval` blocks and once b − 1 is final, abandoned or
///         timed out, so seed_{b−1} (the seed of the last final batch) is known when b closes.
contract ServiceManager is IServiceManager, EquivocationSlasher, Ownable {
    uint16 private constant BPS = 10_000;
    /// @notice keccak256("matchnet/seed/v1"), as protocol/bls SEED_DOMAIN.
    bytes32 public constant SEED_DOMAIN = keccak256("matchnet/seed/v1");
    /// @notice keccak256("matchnet/result/v1"), as protocol/bls RESULT_DOMAIN.
    bytes32 public constant RESULT_DOMAIN = keccak256("matchnet/result/v1");
    /// @notice Domain of the stake-weighted leader draws.
    bytes32 public constant LEADER_DOMAIN = keccak256("matchnet/leader/v1");

    IMarketplace private immutable _marketplace;

    BatchTiming private _timing;
    uint16 private _quorumThresholdBps;
    uint16 private _equivocationSlashBps;
    uint16 private _equivocationBountyBps;
    uint16 private _invalidResultSlashBps;
    uint16 private _protocolFeeBps;
    MatchingWeights private _weights;

    uint64 private _batchCount;
    bytes32 private _latestSeed;
    mapping(uint64 batch => Batch) private _batches;

    /// @param initialOwner sets the parameters.
    /// @param operatorRegistry_ whose set signs results (this contract must be its slasher).
    /// @param marketplace_ that applies assignments (this contract must be its service manager).
    constructor(address initialOwner, IOperatorRegistry operatorRegistry_, address marketplace_)
        EquivocationSlasher(operatorRegistry_)
        Ownable(initialOwner)
    {
        if (marketplace_ == address(0) || address(operatorRegistry_) == address(0)) {
            revert ServiceManagerInvalidParameter("address");
        }
        _marketplace = IMarketplace(marketplace_);
        // Genesis seed: fixed per deployment, so batch 1's leader is known to everyone and chosen by no one.
        _latestSeed = keccak256(abi.encode(SEED_DOMAIN, block.chainid, address(this), uint256(0)));
        // Devnet defaults (docs/contracts.md): 1 s blocks → a batch every 10 s.
        _setTiming(BatchTiming({batchInterval: 10, seedTimeout: 5, batchTimeout: 40}));
        _setQuorum(6_667);
        _setWeights(
            MatchingWeights({
                region: 2_000,
                price: 2_000,
                uptime: 1_500,
                reputation: 1_500,
                availability: 1_000,
                slashing: 500,
                stake: 500,
                random: 1_000
            })
        );
        _setSlashFractions(5_000, 1_000, 5_000);
        _setProtocolFee(0);
    }

    // ---------------------------------------------------------------- parameters (owner)

    /// @notice Sets the batch timing in blocks: all > 0 and seedTimeout < batchTimeout. Only the owner.
    function setBatchTiming(BatchTiming calldata timing) external onlyOwner {
        _setTiming(timing);
    }

    /// @notice Sets the quorum threshold (more than half of the stake, at most 10 000). Only the owner.
    function setQuorumThresholdBps(uint16 bps) external onlyOwner {
        _setQuorum(bps);
    }

    /// @notice Sets the matching weights; they must sum to 10 000. Only the owner.
    function setMatchingWeights(MatchingWeights calldata weights) external onlyOwner {
        _setWeights(weights);
    }

    /// @notice Sets the slash fractions (each ≤ 10 000). `invalidResultSlashBps` is for the Faults issue. Only the
    ///         owner.
    function setSlashFractions(uint16 equivocationSlashBps, uint16 equivocationBountyBps, uint16 invalidResultSlashBps)
        external
        onlyOwner
    {
        _setSlashFractions(equivocationSlashBps, equivocationBountyBps, invalidResultSlashBps);
    }

    /// @notice Sets the protocol fee (≤ 1 000 bps). Recorded for off-chain readers; v1 charges no fee. Only the
    ///         owner.
    function setProtocolFeeBps(uint16 bps) external onlyOwner {
        _setProtocolFee(bps);
    }

    // ---------------------------------------------------------------- batches

    /// @inheritdoc IServiceManager
    function closeBatch() external returns (uint64 batch) {
        uint64 previous = _batchCount;
        if (previous != 0) {
            Batch storage prev = _batches[previous];
            uint256 nextClose = uint256(prev.closedAt) + _timing.batchInterval;
            if (block.number < nextClose) revert ServiceManagerTooEarly(nextClose);
            if (prev.status == BatchStatus.Closed) {
                if (block.number <= uint256(prev.closedAt) + _timing.batchTimeout) {
                    revert ServiceManagerPreviousBatchPending(previous);
                }
                prev.status = BatchStatus.Abandoned;
                emit BatchAbandoned(previous);
            } else if (prev.status == BatchStatus.Final && prev.finalizedAt >= block.number) {
                revert ServiceManagerPreviousBatchPending(previous);
            }
        }
        batch = previous + 1;
        _batchCount = batch;
        uint32 rb = uint32(block.number - 1);
        Batch storage b = _batches[batch];
        b.status = BatchStatus.Closed;
        b.referenceBlock = rb;
        b.closedAt = uint32(block.number);
        b.previousSeed = _latestSeed;
        b.referenceBlockHash = blockhash(rb);
        bytes32 leader = _leader(batch, rb, b.previousSeed, 0);
        emit BatchClosed(batch, rb, b.previousSeed, leader);
    }

    /// @inheritdoc IServiceManager
    function submitResult(
        uint64 batch,
        IMarketplace.Assignment[] calldata assignments,
        BN254.G1Point calldata seedSignature,
        uint256 seedSignerIndex,
        BN254.G1Point[] calldata nonSignerPubkeys,
        BN254.G2Point calldata apkG2,
        BN254.G1Point calldata sigma,
        SignatureCheckHints calldata hints
    ) external {
        Batch storage b = _pendingBatch(batch);
        bytes32 seed = _verifySeed(batch, b, seedSignature, seedSignerIndex);
        _finalize(batch, b, seed, hashAssignments(assignments), assignments.length, nonSignerPubkeys, apkG2, sigma, hints);
        _marketplace.applyAssignments(batch, b.referenceBlock, assignments);
    }

    /// @inheritdoc IServiceManager
    function abandonBatch(uint64 batch) external {
        Batch storage b = _batches[batch];
        if (b.status != BatchStatus.Closed || block.number <= uint256(b.closedAt) + _timing.batchTimeout) {
            revert ServiceManagerCannotAbandon(batch);
        }
        b.status = BatchStatus.Abandoned;
        emit BatchAbandoned(batch);
    }

    /// @inheritdoc IServiceManager
    function slashEquivocation(bytes32 operatorId, uint64 batch, SignedResult calldata a, SignedResult calldata b)
        external
        returns (uint256 slashed, uint256 bounty)
    {
        Batch storage rec = _batches[batch];
        if (rec.status == BatchStatus.None) revert ServiceManagerUnknownBatch(batch);
        return _slashEquivocation(
            operatorId,
            bytes32(uint256(batch)),
            rec.referenceBlock,
            SignedMessage(resultMessageHash(batch, a.seed, a.assignmentsHash), a.sigma),
            SignedMessage(resultMessageHash(batch, b.seed, b.assignmentsHash), b.sigma),
            _equivocationSlashBps,
            _equivocationBountyBps,
            msg.sender
        );
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IServiceManager
    function leaderOf(uint64 batch, uint256 index) external view returns (bytes32) {
        Batch storage b = _batches[batch];
        if (b.status == BatchStatus.None) revert ServiceManagerUnknownBatch(batch);
        return _leader(batch, b.referenceBlock, b.previousSeed, index);
    }

    /// @inheritdoc IServiceManager
    function seedMessageHash(uint64 batch) public view returns (bytes32) {
        Batch storage b = _batches[batch];
        return keccak256(
            abi.encode(SEED_DOMAIN, block.chainid, address(this), batch, b.previousSeed, b.referenceBlockHash)
        );
    }

    /// @inheritdoc IServiceManager
    function hashAssignments(IMarketplace.Assignment[] calldata assignments) public pure returns (bytes32) {
        return keccak256(abi.encode(assignments));
    }

    /// @inheritdoc IServiceManager
    function resultMessageHash(uint64 batch, bytes32 seed, bytes32 assignmentsHash) public view returns (bytes32) {
        return keccak256(
            abi.encode(
                RESULT_DOMAIN, block.chainid, address(this), batch, _batches[batch].referenceBlock, seed, assignmentsHash
            )
        );
    }

    function getBatch(uint64 batch) external view returns (Batch memory) {
        return _batches[batch];
    }

    function batchCount() external view returns (uint64) {
        return _batchCount;
    }

    function latestSeed() external view returns (bytes32) {
        return _latestSeed;
    }

    function batchTiming() external view returns (BatchTiming memory) {
        return _timing;
    }

    function quorumThresholdBps() external view returns (uint16) {
        return _quorumThresholdBps;
    }

    function matchingWeights() external view returns (MatchingWeights memory) {
        return _weights;
    }

    function slashFractions() external view returns (uint16, uint16, uint16) {
        return (_equivocationSlashBps, _equivocationBountyBps, _invalidResultSlashBps);
    }

    function protocolFeeBps() external view returns (uint16) {
        return _protocolFeeBps;
    }

    function marketplace() external view returns (address) {
        return address(_marketplace);
    }

    // ---------------------------------------------------------------- slashing window (ISlashingWindow)

    /// @notice Blocks after an operator leaves the set during which a proof about a batch it signed can still land:
    /// the batch's own timeout plus as long again for the proof. The operator registry keeps its exit delay at least
    /// this long.
    function slashingWindow() external view returns (uint256) {
        return uint256(_timing.batchTimeout) * 2;
    }

    // ---------------------------------------------------------------- internals

    function _pendingBatch(uint64 batch) private view returns (Batch storage b) {
        b = _batches[batch];
        BatchStatus s = b.status;
        if (s == BatchStatus.None) revert ServiceManagerUnknownBatch(batch);
        if (s == BatchStatus.Final) revert ServiceManagerBatchAlreadyFinal(batch);
        if (s == BatchStatus.Abandoned) revert ServiceManagerBatchAbandoned(batch);
        uint256 deadline = uint256(b.closedAt) + _timing.batchTimeout;
        if (block.number > deadline) revert ServiceManagerBatchTimedOut(batch, deadline);
    }

    /// Checks the quorum's signature on the result message and marks the batch final (before the marketplace call,
    /// so a reentrant second submission finds it final).
    function _finalize(
        uint64 batch,
        Batch storage b,
        bytes32 seed,
        bytes32 assignmentsHash,
        uint256 count,
        BN254.G1Point[] calldata nonSignerPubkeys,
        BN254.G2Point calldata apkG2,
        BN254.G1Point calldata sigma,
        SignatureCheckHints calldata hints
    ) private {
        bytes32 resultHash = resultMessageHash(batch, seed, assignmentsHash);
        (uint256 signedStake, uint256 totalStake) =
            checkSignatures(resultHash, b.referenceBlock, nonSignerPubkeys, apkG2, sigma, hints);
        if (signedStake * BPS < totalStake * _quorumThresholdBps) {
            revert ServiceManagerQuorumNotReached(signedStake, totalStake);
        }
        b.status = BatchStatus.Final;
        b.finalizedAt = uint32(block.number);
        b.seed = seed;
        b.resultHash = resultHash;
        _latestSeed = seed;
        emit BatchFinalized(batch, seed, resultHash, signedStake, totalStake, count);
    }

    /// The leader at `index` of the fallback order may sign the seed from `closedAt + index × seedTimeout` on.
    function _verifySeed(uint64 batch, Batch storage b, BN254.G1Point calldata sig, uint256 index)
        private
        view
        returns (bytes32)
    {
        uint256 maxIndex = (block.number - b.closedAt) / _timing.seedTimeout;
        if (index > maxIndex) revert ServiceManagerSeedSignerNotYetAllowed(index, maxIndex);
        bytes32 leader = _leader(batch, b.referenceBlock, b.previousSeed, index);
        (BN254.G1Point memory pkG1, BN254.G2Point memory pkG2) = _operatorKeysAt(leader, b.referenceBlock);
        if (!_verifyWithKeys(seedMessageHash(batch), sig, pkG1, pkG2)) revert ServiceManagerInvalidSeed(batch, leader);
        // A BLS signature by one key on one message is unique, so the leader could only withhold the seed.
        return keccak256(abi.encodePacked(sig.X, sig.Y));
    }

    /// Stake-weighted draw among the operators in the set at R_b, from keccak(LEADER_DOMAIN, seed_{b−1}, b, index,
    /// attempt) by rejection sampling: draws at or above the largest multiple of the total stake are redrawn, so
    /// `draw % total` is uniform (no modulo bias). Operators are walked in registration order.
    function _leader(uint64 batch, uint32 rb, bytes32 previousSeed, uint256 index) private view returns (bytes32) {
        IOperatorRegistry reg = operatorRegistry();
        uint256 total = reg.totalStakeAt(rb);
        if (total == 0) revert ServiceManagerEmptyOperatorSet(rb);
        uint256 limit = type(uint256).max - (type(uint256).max % total);
        uint256 draw;
        for (uint256 attempt = 0;; attempt++) {
            draw = uint256(keccak256(abi.encode(LEADER_DOMAIN, previousSeed, batch, index, attempt)));
            if (draw < limit) break;
        }
        uint256 target = draw % total;
        uint256 n = reg.operatorCount();
        uint256 cumulative;
        for (uint256 i = 0; i < n; i++) {
            bytes32 id = reg.operatorIdAt(i);
            cumulative += reg.stakeAt(id, rb);
            if (target < cumulative) return id;
        }
        revert ServiceManagerEmptyOperatorSet(rb); // unreachable: the stakes at R_b sum to the total
    }

    function _setTiming(BatchTiming memory t) private {
        if (t.batchInterval == 0 || t.seedTimeout == 0 || t.batchTimeout <= t.seedTimeout) {
            revert ServiceManagerInvalidParameter("batchTiming");
        }
        _timing = t;
        emit BatchTimingSet(t.batchInterval, t.seedTimeout, t.batchTimeout);
    }

    function _setQuorum(uint16 bps) private {
        if (bps <= BPS / 2 || bps > BPS) revert ServiceManagerInvalidParameter("quorumThresholdBps");
        _quorumThresholdBps = bps;
        emit QuorumThresholdSet(bps);
    }

    function _setWeights(MatchingWeights memory w) private {
        uint256 sum = uint256(w.region) + w.price + w.uptime + w.reputation + w.availability + w.slashing + w.stake
            + w.random;
        if (sum != BPS) revert ServiceManagerInvalidParameter("matchingWeights");
        _weights = w;
        emit MatchingWeightsSet(w);
    }

    function _setSlashFractions(uint16 equivocation, uint16 bounty, uint16 invalidResult) private {
        if (equivocation > BPS || bounty > BPS || invalidResult > BPS) {
            revert ServiceManagerInvalidParameter("slashFractions");
        }
        _equivocationSlashBps = equivocation;
        _equivocationBountyBps = bounty;
        _invalidResultSlashBps = invalidResult;
        emit SlashFractionsSet(equivocation, bounty, invalidResult);
    }

    function _setProtocolFee(uint16 bps) private {
        if (bps > 1_000) revert ServiceManagerInvalidParameter("protocolFeeBps");
        _protocolFeeBps = bps;
        emit ProtocolFeeSet(bps);
    }
}
