// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {BN254} from "../libraries/BN254.sol";
import {IOperatorRegistry} from "../interfaces/IOperatorRegistry.sol";
import {IMarketplace} from "../interfaces/IMarketplace.sol";
import {IServiceManager} from "../interfaces/IServiceManager.sol";
import {EquivocationSlasher} from "./EquivocationSlasher.sol";

/// @title ServiceManager
/// @notice Batch lifecycle of the matching AVS (docs/protocol.md §3) and its parameters (§8). One batch is in
///         flight at a time: batch b closes after `batchInterval` blocks and once b − 1 is final with all its pages
///         applied, abandoned, or timed out, so seed_{b−1} (the seed of the last final batch) is known when b closes.
contract ServiceManager is IServiceManager, EquivocationSlasher, Ownable {
    uint16 private constant BPS = 10_000;
    /// @notice keccak256("matchnet/seed/v1"), as protocol/bls SEED_DOMAIN.
    bytes32 public constant SEED_DOMAIN = keccak256("matchnet/seed/v1");
    /// @notice keccak256("matchnet/result/v1"), as protocol/bls RESULT_DOMAIN.
    bytes32 public constant RESULT_DOMAIN = keccak256("matchnet/result/v1");
    /// @notice Domain of the stake-weighted leader draws.
    bytes32 public constant LEADER_DOMAIN = keccak256("matchnet/leader/v1");
    /// @notice Assignments per result page: a page of the costliest rows stays far below the 2^24 gas a transaction
    ///         may use (docs/protocol.md §3.7).
    uint256 public constant PAGE_SIZE = 128;
    /// @notice Most fallback positions a batch can have (batchTimeout / seedTimeout + 1 is kept at or below it).
    uint256 public constant MAX_FALLBACK_LENGTH = 32;
    /// @notice blockhash() reaches back 256 blocks: R_b is at most this old when the batch closes.
    uint256 public constant MAX_REFERENCE_AGE = 256;

    IMarketplace private immutable _marketplace;

    BatchTiming private _timing;
    uint16 private _quorumThresholdBps;
    uint16 private _equivocationSlashBps;
    uint16 private _equivocationBountyBps;
    uint16 private _invalidResultSlashBps;
    MatchingWeights private _weights;

    uint64 private _batchCount;
    bytes32 private _latestSeed;
    /// R of the batch whose seed `_latestSeed` is (0: the genesis seed).
    uint32 private _latestSeedBlock;
    uint64 private _latestFinalBatch;
    EjectionParameters private _ejection;
    /// Stake ejected in window `_ejectionWindowIndex` (block.number / window).
    uint64 private _ejectionWindowIndex;
    uint256 private _ejectedInWindow;
    mapping(uint64 batch => Batch) private _batches;
    mapping(uint64 batch => mapping(bytes32 operatorId => bool)) private _slashedForInvalidResult;

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
        _setEjection(EjectionParameters({streak: 5, rateBps: 3_333, window: 100}));
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

    /// @notice Sets the slash fractions (each ≤ 10 000). Only the owner.
    function setSlashFractions(uint16 equivocationSlashBps, uint16 equivocationBountyBps, uint16 invalidResultSlashBps)
        external
        onlyOwner
    {
        _setSlashFractions(equivocationSlashBps, equivocationBountyBps, invalidResultSlashBps);
    }

    /// @inheritdoc IServiceManager
    function setEjectionParameters(EjectionParameters calldata parameters) external onlyOwner {
        _setEjection(parameters);
    }

    // ---------------------------------------------------------------- batches

    /// @inheritdoc IServiceManager
    function closeBatch() external returns (uint64 batch) {
        uint64 previous = _batchCount;
        uint256 earliest = block.number;
        if (previous != 0) {
            uint256 nextClose = uint256(_batches[previous].closedAt) + _timing.batchInterval;
            if (block.number < nextClose) revert ServiceManagerTooEarly(nextClose);
            earliest = _settlePrevious(previous);
        }
        // R_b is fixed by the chain's history, not by who closes or when: the block before the earliest allowed
        // close, unless blockhash() no longer reaches it (nobody closed for MAX_REFERENCE_AGE blocks).
        uint256 rb = earliest - 1;
        if (block.number - rb > MAX_REFERENCE_AGE) rb = block.number - 1;
        if (operatorRegistry().totalStakeAt(uint32(rb)) == 0) revert ServiceManagerEmptyOperatorSet(uint32(rb));
        batch = previous + 1;
        _batchCount = batch;
        Batch storage b = _batches[batch];
        b.status = BatchStatus.Closed;
        b.referenceBlock = SafeCast.toUint32(rb);
        b.closedAt = SafeCast.toUint32(block.number);
        b.previousSeed = _latestSeed;
        b.referenceBlockHash = blockhash(rb);
        // The draw uses stakes fixed before its seed could be known: those at the R of the seed's own batch when
        // that batch is b − 1; otherwise (genesis, or b − 1 abandoned) those at R_b, with blockhash(R_b) mixed into
        // the draw (docs/protocol.md §3.2).
        // A draw block more than MAX_REFERENCE_AGE blocks old is not used either: every draw of b then reads stakes at
        // most MAX_REFERENCE_AGE + batchTimeout blocks back, well within the exit delay, so no member can have
        // withdrawn (and left the registry's list) before b's last draw.
        bool seedOfPrevious = previous != 0 && _batches[previous].status == BatchStatus.Final
            && block.number - _latestSeedBlock <= MAX_REFERENCE_AGE;
        b.drawBlock = seedOfPrevious ? _latestSeedBlock : b.referenceBlock;
        emit BatchClosed(batch, b.referenceBlock, b.previousSeed, b.drawBlock);
    }

    /// Abandons a timed-out previous batch or expires its pending pages, and returns the earliest block batch
    /// `previous + 1` could close in (≤ block.number); reverts while `previous` may still become final or apply pages.
    function _settlePrevious(uint64 previous) private returns (uint256 earliest) {
        Batch storage prev = _batches[previous];
        uint256 timeout = _timing.batchTimeout;
        earliest = uint256(prev.closedAt) + _timing.batchInterval;
        if (prev.status == BatchStatus.Closed) {
            uint256 deadline = uint256(prev.closedAt) + timeout;
            if (block.number <= deadline) revert ServiceManagerPreviousBatchPending(previous);
            prev.status = BatchStatus.Abandoned;
            emit BatchAbandoned(previous);
        }
        if (prev.status == BatchStatus.Abandoned) {
            // Abandonment is possible from closedAt + batchTimeout + 1 on, whoever calls it and when.
            return _max(earliest, uint256(prev.closedAt) + timeout + 1);
        }
        if (prev.pendingPages != 0) {
            uint256 pageDeadline = uint256(prev.finalizedAt) + timeout;
            if (block.number <= pageDeadline) revert ServiceManagerPreviousBatchPending(previous);
            prev.pendingPages = 0;
            emit BatchPagesExpired(previous, prev.pagesApplied);
            return _max(earliest, pageDeadline + 1);
        }
        // R_b must see every page: close from the block after the last one on.
        if (prev.pagesDoneAt >= block.number) revert ServiceManagerPreviousBatchPending(previous);
        return _max(earliest, uint256(prev.pagesDoneAt) + 1);
    }

    /// @inheritdoc IServiceManager
    function submitResult(
        uint64 batch,
        IMarketplace.Assignment[] calldata firstPage,
        bytes32 rest,
        BN254.G1Point calldata seedSignature,
        uint256 seedSignerIndex,
        QuorumSignature calldata quorum
    ) external {
        Batch storage b = _pendingBatch(batch);
        bytes32 commitment = firstPage.length == 0 ? rest : _pageHash(firstPage, rest);
        _finalize(batch, b, commitment, seedSignature, seedSignerIndex, quorum);
        if (commitment == 0) {
            b.pagesDoneAt = b.finalizedAt;
            emit BatchPagesApplied(batch, 0);
        } else if (firstPage.length != 0) {
            _applyPage(batch, b, firstPage, rest);
        }
    }

    /// @inheritdoc IServiceManager
    function applyPage(uint64 batch, IMarketplace.Assignment[] calldata page, bytes32 rest) external {
        Batch storage b = _batches[batch];
        bytes32 pending = b.pendingPages;
        if (b.status != BatchStatus.Final || pending == 0) revert ServiceManagerNoPendingPages(batch);
        if (block.number > uint256(b.finalizedAt) + _timing.batchTimeout) revert ServiceManagerNoPendingPages(batch);
        if (_pageHash(page, rest) != pending) revert ServiceManagerPageMismatch(batch, b.pagesApplied);
        _applyPage(batch, b, page, rest);
    }

    /// Marks the page applied (before the marketplace call, so a reentrant call finds the next commitment) and has
    /// the marketplace apply or skip each of its assignments; none of them can make the page revert.
    function _applyPage(uint64 batch, Batch storage b, IMarketplace.Assignment[] calldata page, bytes32 rest)
        private
    {
        uint256 n = page.length;
        if (n == 0 || n > PAGE_SIZE) revert ServiceManagerInvalidPageSize(n);
        uint256 index = b.pagesApplied;
        b.pendingPages = rest;
        b.pagesApplied = SafeCast.toUint32(index + 1);
        emit PageApplied(batch, index, n);
        if (rest == 0) {
            b.pagesDoneAt = SafeCast.toUint32(block.number);
            emit BatchPagesApplied(batch, index + 1);
        }
        (bool invalid, uint64 orderId, IMarketplace.SkipReason reason) =
            _marketplace.applyAssignments(batch, b.referenceBlock, page);
        if (invalid && b.invalidAt == 0) {
            b.invalidAt = SafeCast.toUint32(block.number);
            emit ResultProvenInvalid(batch, orderId, reason);
        }
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
    function ejectInactive(bytes32 operatorId, MissedDuty[] calldata missed) external {
        uint256 n = missed.length;
        if (n != _ejection.streak) revert ServiceManagerNotInactive(n, InactivityRule.Count);
        for (uint256 i = 0; i < n; i++) {
            uint64 batch = missed[i].batch;
            if (i > 0) _checkNoFinalBetween(missed[i - 1].batch, batch, i);
            _checkMissed(operatorId, missed[i], i);
        }
        if (missed[n - 1].batch != _latestFinalBatch) revert ServiceManagerNotInactive(n - 1, InactivityRule.Latest);
        IOperatorRegistry reg = operatorRegistry();
        uint256 stake = reg.currentStake(operatorId);
        uint64 windowIndex = uint64(block.number / _ejection.window);
        if (windowIndex != _ejectionWindowIndex) (_ejectionWindowIndex, _ejectedInWindow) = (windowIndex, 0);
        uint256 cap = reg.currentTotalStake() * _ejection.rateBps / BPS;
        if (_ejectedInWindow != 0 && _ejectedInWindow + stake > cap) {
            revert ServiceManagerEjectionRateExceeded(_ejectedInWindow, cap);
        }
        _ejectedInWindow += stake;
        reg.jail(operatorId); // reverts unless the operator is active
        emit OperatorEjected(operatorId, missed[n - 1].batch, stake);
    }

    /// Batches `previous` < `batch`, both final, and none final in between (abandoned ones do not break a row).
    function _checkNoFinalBetween(uint64 previous, uint64 batch, uint256 index) private view {
        if (batch <= previous) revert ServiceManagerNotInactive(index, InactivityRule.Order);
        for (uint64 k = previous + 1; k < batch; k++) {
            if (_batches[k].status == BatchStatus.Final) revert ServiceManagerNotInactive(index, InactivityRule.Gap);
        }
    }

    function _checkMissed(bytes32 operatorId, MissedDuty calldata m, uint256 index) private view {
        Batch storage b = _batches[m.batch];
        if (b.status != BatchStatus.Final) revert ServiceManagerNotInactive(index, InactivityRule.Final);
        if (operatorRegistry().stakeAt(operatorId, b.referenceBlock) == 0) revert ServiceManagerNotInactive(index, InactivityRule.Stake);
        if (m.seedPosition == type(uint8).max) {
            if (keccak256(abi.encode(m.nonSignerPubkeys)) != b.nonSignersHash) revert ServiceManagerNotInactive(index, InactivityRule.List);
            for (uint256 j = 0; j < m.nonSignerPubkeys.length; j++) {
                if (keccak256(abi.encodePacked(m.nonSignerPubkeys[j].X, m.nonSignerPubkeys[j].Y)) == operatorId) return;
            }
            revert ServiceManagerNotInactive(index, InactivityRule.Signed);
        }
        if (m.seedPosition >= b.seedSignerIndex) revert ServiceManagerNotInactive(index, InactivityRule.Position);
        // The draw is stable while no member at drawBlock can have withdrawn (docs/protocol.md §3.2).
        if (block.number > uint256(b.closedAt) + 3 * uint256(_timing.batchTimeout)) {
            revert ServiceManagerNotInactive(index, InactivityRule.Age);
        }
        if (_leader(m.batch, b, m.seedPosition) != operatorId) revert ServiceManagerNotInactive(index, InactivityRule.Leader);
    }

    /// @inheritdoc IServiceManager
    function slashInvalidResultSigner(uint64 batch, bytes32 operatorId, BN254.G1Point[] calldata nonSignerPubkeys)
        external
        returns (uint256 slashed)
    {
        Batch storage b = _batches[batch];
        uint256 provenAt = b.invalidAt;
        if (provenAt == 0) revert ServiceManagerResultNotInvalid(batch);
        uint256 deadline = provenAt + _timing.batchTimeout;
        if (block.number > deadline) revert ServiceManagerSlashWindowClosed(batch, deadline);
        if (keccak256(abi.encode(nonSignerPubkeys)) != b.nonSignersHash) revert ServiceManagerNonSignersMismatch(batch);
        for (uint256 i = 0; i < nonSignerPubkeys.length; i++) {
            if (keccak256(abi.encodePacked(nonSignerPubkeys[i].X, nonSignerPubkeys[i].Y)) == operatorId) {
                revert ServiceManagerNotASigner(batch, operatorId);
            }
        }
        IOperatorRegistry reg = operatorRegistry();
        if (reg.stakeAt(operatorId, b.referenceBlock) == 0) revert ServiceManagerNotASigner(batch, operatorId);
        if (_slashedForInvalidResult[batch][operatorId]) revert ServiceManagerSignerAlreadySlashed(batch, operatorId);
        _slashedForInvalidResult[batch][operatorId] = true;
        (slashed,) = reg.slash(operatorId, _invalidResultSlashBps, reg.treasury(), 0);
        emit InvalidResultSignerSlashed(batch, operatorId, slashed);
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
        if (index >= fallbackLength()) revert ServiceManagerSeedSignerNotYetAllowed(index, fallbackLength() - 1);
        return _leader(batch, b, index);
    }

    /// @inheritdoc IServiceManager
    function fallbackLength() public view returns (uint256) {
        return _timing.batchTimeout / _timing.seedTimeout + 1;
    }

    /// @inheritdoc IServiceManager
    function slashingWindow() public view returns (uint256) {
        return _slashingWindow(_timing);
    }

    /// @inheritdoc IServiceManager
    function seedMessageHash(uint64 batch) public view returns (bytes32) {
        Batch storage b = _batches[batch];
        return keccak256(
            abi.encode(SEED_DOMAIN, block.chainid, address(this), batch, b.previousSeed, b.referenceBlockHash)
        );
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

    function ejectionParameters() external view returns (EjectionParameters memory) {
        return _ejection;
    }

    function marketplace() external view returns (address) {
        return address(_marketplace);
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

    /// Checks the leader's seed signature and the quorum's signature on the result message in one multi-pairing
    /// (docs/protocol.md §3.6), and marks the batch final (before the marketplace call, so a reentrant second
    /// submission finds it final).
    function _finalize(
        uint64 batch,
        Batch storage b,
        bytes32 assignmentsHash,
        BN254.G1Point calldata seedSignature,
        uint256 seedSignerIndex,
        QuorumSignature calldata quorum
    ) private {
        // A BLS signature by one key on one message is unique, so the leader could only withhold the seed. Written
        // before the checks (a failed check reverts them too) to keep the stack small.
        b.seed = keccak256(abi.encodePacked(seedSignature.X, seedSignature.Y));
        b.resultHash = resultMessageHash(batch, b.seed, assignmentsHash);
        (uint256 signedStake, uint256 totalStake) =
            _checkBoth(batch, b, seedSignature, seedSignerIndex, quorum);
        if (signedStake * BPS < totalStake * _quorumThresholdBps) {
            revert ServiceManagerQuorumNotReached(signedStake, totalStake);
        }
        b.status = BatchStatus.Final;
        b.finalizedAt = SafeCast.toUint32(block.number);
        b.assignmentsHash = assignmentsHash;
        b.pendingPages = assignmentsHash;
        b.nonSignersHash = keccak256(abi.encode(quorum.nonSignerPubkeys));
        b.seedSignerIndex = uint8(seedSignerIndex); // < fallbackLength ≤ 32, checked in _checkBoth
        _latestSeed = b.seed;
        _latestSeedBlock = b.referenceBlock;
        _latestFinalBatch = batch;
        emit BatchFinalized(batch, b.seed, b.resultHash, assignmentsHash, signedStake, totalStake, seedSignerIndex);
    }

    /// The leader at `index` of the fallback order may sign the seed from `closedAt + index × seedTimeout` on. Its
    /// seed signature and the quorum's signature are checked in one 3-pair multi-pairing; when that fails, the seed
    /// is checked alone so the revert names the bad signature.
    function _checkBoth(
        uint64 batch,
        Batch storage b,
        BN254.G1Point calldata seedSignature,
        uint256 index,
        QuorumSignature calldata quorum
    ) private view returns (uint256 signedStake, uint256 totalStake) {
        uint256 maxIndex = (block.number - b.closedAt) / _timing.seedTimeout;
        if (index > maxIndex) revert ServiceManagerSeedSignerNotYetAllowed(index, maxIndex);
        bytes32 leader = _leader(batch, b, index); // index < fallbackLength: block.number ≤ closedAt + batchTimeout
        (BN254.G1Point memory pkG1, BN254.G2Point memory pkG2) = _operatorKeysAt(leader, b.drawBlock);
        ExtraSignature memory seed = ExtraSignature(seedMessageHash(batch), seedSignature, pkG2);
        bool ok;
        (signedStake, totalStake, ok) =
            _checkSignaturesAndOne(b.resultHash, b.referenceBlock, quorum, seed);
        if (ok) return (signedStake, totalStake);
        if (!_verifyWithKeys(seed.msgHash, seed.sigma, pkG1, pkG2)) revert ServiceManagerInvalidSeed(batch, leader);
        revert BLSSignatureCheckerPairingFailed();
    }

    /// The operator at fallback position `index`: positions 0 … index are drawn one after the other, each by stake
    /// among the members at `drawBlock` not drawn yet (all again once every member was drawn), from
    /// keccak(key, position, attempt) with key = keccak(LEADER_DOMAIN, drawSeed, b), by rejection sampling, so the
    /// draw is uniform over the remaining stake.
    /// Members are listed in registration order. docs/protocol.md §3.2 gives the rule and why nobody can steer it.
    function _leader(uint64 batch, Batch storage b, uint256 index) private view returns (bytes32) {
        uint32 drawBlock = b.drawBlock;
        bytes32 drawSeed = drawBlock == b.referenceBlock
            ? keccak256(abi.encode(b.previousSeed, b.referenceBlockHash))
            : b.previousSeed;
        (bytes32[] memory ids, uint256[] memory stakes, uint256 total) = _members(drawBlock);
        return _pick(ids, stakes, total, keccak256(abi.encode(LEADER_DOMAIN, drawSeed, batch)), index);
    }

    /// Positions 0 … index drawn without replacement (see _leader); returns the member drawn at `index`.
    function _pick(bytes32[] memory ids, uint256[] memory stakes, uint256 total, bytes32 key, uint256 index)
        private
        pure
        returns (bytes32 leader)
    {
        bool[] memory drawn = new bool[](ids.length);
        uint256 remaining = total;
        uint256 drawnCount;
        for (uint256 position = 0; position <= index; position++) {
            if (drawnCount == ids.length) {
                for (uint256 i = 0; i < ids.length; i++) drawn[i] = false;
                drawnCount = 0;
                remaining = total;
            }
            uint256 target = _uniform(key, position, remaining);
            for (uint256 i = 0; i < ids.length; i++) {
                if (drawn[i]) continue;
                if (target < stakes[i]) {
                    drawn[i] = true;
                    drawnCount++;
                    remaining -= stakes[i];
                    leader = ids[i];
                    break;
                }
                target -= stakes[i];
            }
        }
    }

    /// Uniform in [0, bound) from keccak(key, position, attempt): draws at or above the largest multiple of `bound`
    /// are redrawn.
    function _uniform(bytes32 key, uint256 position, uint256 bound) private pure returns (uint256 value) {
        uint256 limit = type(uint256).max - (type(uint256).max % bound);
        for (uint256 attempt = 0;; attempt++) {
            uint256 draw = uint256(keccak256(abi.encode(key, position, attempt)));
            if (draw < limit) return value = draw % bound;
        }
    }

    /// The operators with weight at `blockNumber`, in registration order, their weights and the sum: O(operators
    /// holding stake), since withdrawn ones leave the registry's list (docs/protocol.md §3.2).
    function _members(uint32 blockNumber)
        private
        view
        returns (bytes32[] memory ids, uint256[] memory stakes, uint256 total)
    {
        (ids, stakes, total) = operatorRegistry().weightsAt(blockNumber);
        if (total == 0) revert ServiceManagerEmptyOperatorSet(blockNumber);
    }

    function _pageHash(IMarketplace.Assignment[] calldata page, bytes32 rest) private pure returns (bytes32) {
        return keccak256(abi.encode(page, rest));
    }

    function _max(uint256 a, uint256 b) private pure returns (uint256) {
        return a > b ? a : b;
    }

    /// A batch closed at C may reference a block up to MAX_REFERENCE_AGE before C, is final by C + batchTimeout,
    /// applies pages until batchTimeout later, and a proof of a double signature gets one more batchTimeout.
    function _slashingWindow(BatchTiming memory t) private pure returns (uint256) {
        return MAX_REFERENCE_AGE + 3 * uint256(t.batchTimeout);
    }

    function _setTiming(BatchTiming memory t) private {
        if (t.batchInterval == 0 || t.seedTimeout == 0 || t.batchTimeout <= t.seedTimeout) {
            revert ServiceManagerInvalidParameter("batchTiming");
        }
        if (t.batchTimeout / t.seedTimeout + 1 > MAX_FALLBACK_LENGTH) revert ServiceManagerInvalidParameter("seedTimeout");
        uint256 exitDelay = operatorRegistry().exitDelay();
        uint256 window = _slashingWindow(t);
        if (exitDelay < window) revert ServiceManagerExitDelayTooShort(exitDelay, window);
        _timing = t;
        emit BatchTimingSet(t.batchInterval, t.seedTimeout, t.batchTimeout);
    }

    function _setEjection(EjectionParameters memory e) private {
        if (e.streak < 2 || e.streak > 64) revert ServiceManagerInvalidParameter("ejection.streak");
        if (e.rateBps > BPS) revert ServiceManagerInvalidParameter("ejection.rateBps");
        if (e.window == 0) revert ServiceManagerInvalidParameter("ejection.window");
        _ejection = e;
        emit EjectionParametersSet(e.streak, e.rateBps, e.window);
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
        if (equivocation > BPS || invalidResult > BPS) revert ServiceManagerInvalidParameter("slashFractions");
        // A bounty of the whole cut would let an offender report itself from another account and lose nothing.
        if (bounty >= BPS) revert ServiceManagerInvalidParameter("equivocationBountyBps");
        _equivocationSlashBps = equivocation;
        _equivocationBountyBps = bounty;
        _invalidResultSlashBps = invalidResult;
        emit SlashFractionsSet(equivocation, bounty, invalidResult);
    }

}
