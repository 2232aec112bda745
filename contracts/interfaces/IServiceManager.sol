// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BN254} from "../libraries/BN254.sol";
import {IMarketplace} from "./IMarketplace.sol";
import {IBLSSignatureChecker} from "./IBLSSignatureChecker.sol";

/// @title IServiceManager
/// @notice The AVS's on-chain side: batch lifecycle (close, seed, verify, apply), protocol parameters and
///         equivocation slashing. `MatchingWeights` mirrors protocol/market/types.ts.
interface IServiceManager {
    enum BatchStatus {
        None,
        Closed,
        Final,
        Abandoned
    }

    /// @notice Protocol matching weights in basis points; they sum to 10 000 (types.ts `MatchingWeights`).
    struct MatchingWeights {
        uint16 region;
        uint16 price;
        uint16 uptime;
        uint16 reputation;
        uint16 availability;
        uint16 slashing;
        uint16 stake;
        uint16 random;
    }

    /// @notice Block-counted timing of the batch lifecycle (docs/protocol.md §3).
    struct BatchTiming {
        uint32 batchInterval;
        uint32 seedTimeout;
        uint32 batchTimeout;
    }

    /// @notice What the contract records about a batch. `drawBlock` is the block whose stakes the leader draw uses
    ///         (docs/protocol.md §3.2). Final means the quorum's signature on the result was accepted;
    ///         `pendingPages` is the commitment to the result pages not applied yet (0 once all are applied or the
    ///         rest expired), `pagesApplied` counts applied pages, `pagesDoneAt` is the block of the last one.
    ///         `invalidAt` is the block in which a page proved the signed result wrong at R_b (0: never), and
    ///         `nonSignersHash` = keccak256(abi.encode(nonSignerPubkeys)) of the accepted submission, which names the
    ///         signers of the result (docs/protocol.md §5).
    struct Batch {
        BatchStatus status;
        uint32 referenceBlock;
        uint32 closedAt;
        uint32 finalizedAt;
        uint32 drawBlock;
        uint32 pagesApplied;
        uint32 pagesDoneAt;
        uint32 invalidAt;
        uint8 seedSignerIndex;
        bytes32 previousSeed;
        bytes32 referenceBlockHash;
        bytes32 seed;
        bytes32 resultHash;
        bytes32 assignmentsHash;
        bytes32 pendingPages;
        bytes32 nonSignersHash;
    }

    /// @notice How often an operator may fail its duties before anyone can eject it, and how fast ejection may go
    ///         (docs/protocol.md §5): `streak` final batches in a row, and at most `rateBps` of the current total
    ///         stake ejected per window of `window` blocks (always at least one operator per window).
    struct EjectionParameters {
        uint16 streak;
        uint16 rateBps;
        uint32 window;
    }

    /// @notice One missed duty of an operator in a final batch: with `seedPosition` = 255, it is among the
    ///         submission's `nonSignerPubkeys` (the list must hash to the batch's `nonSignersHash`); otherwise it
    ///         was the leader at fallback position `seedPosition` < the position whose seed was used, and its turn
    ///         passed unsigned (provable while the draw is stable: up to `closedAt + 3 × batchTimeout`).
    struct MissedDuty {
        uint64 batch;
        uint8 seedPosition;
        BN254.G1Point[] nonSignerPubkeys;
    }

    /// @notice One signed result of a batch, for equivocation proofs: the seed it used, the hash of its assignment
    ///         list, and the operator's signature on the result message built from them.
    struct SignedResult {
        bytes32 seed;
        bytes32 assignmentsHash;
        BN254.G1Point sigma;
    }

    /// @notice Thrown when `closeBatch` is called before `batchInterval` blocks passed since the last close.
    error ServiceManagerTooEarly(uint256 nextCloseBlock);
    /// @notice Thrown when `closeBatch` is called while the previous batch is still pending and not timed out,
    ///         or in the block its result was applied (R_b would not see the result).
    error ServiceManagerPreviousBatchPending(uint64 batch);
    /// @notice Thrown when the operator set at R_b has no stake.
    error ServiceManagerEmptyOperatorSet(uint32 referenceBlock);
    /// @notice Thrown when the batch does not exist.
    error ServiceManagerUnknownBatch(uint64 batch);
    /// @notice Thrown when a result is submitted for a batch that is already final (several aggregators may race).
    error ServiceManagerBatchAlreadyFinal(uint64 batch);
    /// @notice Thrown when the batch was abandoned.
    error ServiceManagerBatchAbandoned(uint64 batch);
    /// @notice Thrown when a result arrives more than `batchTimeout` blocks after the close.
    error ServiceManagerBatchTimedOut(uint64 batch, uint256 deadline);
    /// @notice Thrown when `abandonBatch` is called on a batch that is not pending or not yet timed out.
    error ServiceManagerCannotAbandon(uint64 batch);
    /// @notice Thrown when the seed comes from a fallback leader whose turn has not come (seedTimeout each).
    error ServiceManagerSeedSignerNotYetAllowed(uint256 index, uint256 maxIndex);
    /// @notice Thrown when the seed signature is not the expected leader's signature on the seed message.
    error ServiceManagerInvalidSeed(uint64 batch, bytes32 leader);
    /// @notice Thrown when the signers hold less than `quorumThresholdBps` of the stake at R_b.
    error ServiceManagerQuorumNotReached(uint256 signedStake, uint256 totalStake);
    /// @notice Thrown when a parameter is out of range (`name` says which).
    error ServiceManagerInvalidParameter(string name);
    /// @notice Thrown when the registry's exit delay is shorter than the window in which a proof about a batch can
    ///         still land (`slashingWindow`): stake could leave before it is slashed.
    error ServiceManagerExitDelayTooShort(uint256 exitDelay, uint256 slashingWindow);
    /// @notice Thrown when `applyPage` finds no pages to apply (batch not final, all applied, or the rest expired).
    error ServiceManagerNoPendingPages(uint64 batch);
    /// @notice Thrown when a page is not the next one of the signed commitment (`index` = pages applied so far).
    error ServiceManagerPageMismatch(uint64 batch, uint256 index);
    /// @notice Thrown when a page is empty or longer than PAGE_SIZE assignments.
    error ServiceManagerInvalidPageSize(uint256 length);
    /// @notice Which rule an ejection proof broke (`ServiceManagerNotInactive`).
    enum InactivityRule {
        Count, // not exactly `streak` entries (index = the length given)
        Order, // batches not increasing
        Final, // a batch not final
        Gap, // a final batch between two entries
        Latest, // the last entry is not the latest final batch
        Stake, // no stake at the batch's R_b
        List, // the non-signer list is not the submission's
        Signed, // the operator is not in the non-signer list
        Position, // the seed position is not before the one whose seed was used
        Age, // a seed-turn proof later than closedAt + 3 × batchTimeout
        Leader // the operator is not the leader at that position
    }

    /// @notice Thrown by `ejectInactive` when entry `index` of the proof does not show a missed duty.
    error ServiceManagerNotInactive(uint256 index, InactivityRule rule);
    /// @notice Thrown when an ejection would take more than `rateBps` of the stake in the current window.
    error ServiceManagerEjectionRateExceeded(uint256 ejectedInWindow, uint256 cap);
    /// @notice Thrown by `slashInvalidResultSigner` when no page of the batch proved its result invalid.
    error ServiceManagerResultNotInvalid(uint64 batch);
    /// @notice Thrown when the non-signer list is not the one the batch's accepted submission carried.
    error ServiceManagerNonSignersMismatch(uint64 batch);
    /// @notice Thrown when the operator did not sign the batch's result (no stake at R_b, or a non-signer).
    error ServiceManagerNotASigner(uint64 batch, bytes32 operatorId);
    /// @notice Thrown when the operator was already slashed for signing this batch's invalid result.
    error ServiceManagerSignerAlreadySlashed(uint64 batch, bytes32 operatorId);
    /// @notice Thrown when the proof comes more than `batchTimeout` blocks after the result was proven invalid
    ///         (the stake may have left: docs/protocol.md §5).
    error ServiceManagerSlashWindowClosed(uint64 batch, uint256 deadline);

    event BatchClosed(uint64 indexed batch, uint32 referenceBlock, bytes32 previousSeed, uint32 drawBlock);
    /// @notice The quorum's signature on the result was accepted; `assignmentsHash` commits to the result pages.
    event BatchFinalized(
        uint64 indexed batch,
        bytes32 seed,
        bytes32 resultHash,
        bytes32 assignmentsHash,
        uint256 signedStake,
        uint256 totalStake,
        uint256 seedSignerIndex
    );
    /// @notice Page `index` (0-based) of the batch's result was applied.
    event PageApplied(uint64 indexed batch, uint256 index, uint256 assignments);
    /// @notice Every page of the batch's result is applied (`pages` of them; 0 for an empty result).
    event BatchPagesApplied(uint64 indexed batch, uint256 pages);
    /// @notice The pages still pending `batchTimeout` blocks after finalization were dropped; their orders stay open.
    event BatchPagesExpired(uint64 indexed batch, uint256 pagesApplied);
    event BatchAbandoned(uint64 indexed batch);
    /// @notice A page of the batch's result held an assignment already wrong at R_b (the first one found): every
    ///         signer of the result can be slashed with `slashInvalidResultSigner` for `batchTimeout` blocks.
    event ResultProvenInvalid(uint64 indexed batch, uint64 orderId, IMarketplace.SkipReason reason);
    /// @notice An operator that missed its duty in `streak` final batches in a row up to `lastBatch` left the set
    ///         (jailed, stake kept; docs/protocol.md §5).
    event OperatorEjected(bytes32 indexed operatorId, uint64 lastBatch, uint256 stake);
    event EjectionParametersSet(uint16 streak, uint16 rateBps, uint32 window);
    /// @notice A signer of an invalid result lost `invalidResultSlashBps` of its stake (and was jailed).
    event InvalidResultSignerSlashed(uint64 indexed batch, bytes32 indexed operatorId, uint256 slashed);
    event BatchTimingSet(uint32 batchInterval, uint32 seedTimeout, uint32 batchTimeout);
    event QuorumThresholdSet(uint16 quorumThresholdBps);
    event MatchingWeightsSet(MatchingWeights weights);
    event SlashFractionsSet(uint16 equivocationSlashBps, uint16 equivocationBountyBps, uint16 invalidResultSlashBps);

    /// @notice Closes the next batch once it may close (docs/protocol.md §3.1): `batchInterval` blocks after the last
    ///         close, and the previous batch final with every page applied, abandoned, or timed out (then it is
    ///         abandoned, or its pending pages expire, here). R_b is the block before the earliest block this close
    ///         was allowed in, so the caller cannot choose it (unless nobody closed for 256 blocks). Anyone.
    function closeBatch() external returns (uint64 batch);

    /// @notice Verifies a batch result (docs/protocol.md §3.6) and applies its first page: the seed proof by the
    ///         leader at `seedSignerIndex`, the signers' key by subtraction, stake ≥ threshold, one pairing check on
    ///         the result message, which commits to all pages through
    ///         `assignmentsHash = firstPage.length == 0 ? rest : keccak256(abi.encode(firstPage, rest))`.
    ///         Final once: a second submission reverts. Anyone. `quorum`: see BLSSignatureChecker.checkSignatures
    ///         (`signatureCheckHints(resultHash, R_b, nonSignerPubkeys)` computes its hints).
    function submitResult(
        uint64 batch, IMarketplace.Assignment[] calldata firstPage, bytes32 rest,
        BN254.G1Point calldata seedSignature, uint256 seedSignerIndex,
        IBLSSignatureChecker.QuorumSignature calldata quorum
    ) external;

    /// @notice Applies the next page of a final batch: `keccak256(abi.encode(page, rest))` must equal the pending
    ///         commitment, which then becomes `rest` (0 after the last page). Within `batchTimeout` blocks of the
    ///         finalization. Anyone.
    function applyPage(uint64 batch, IMarketplace.Assignment[] calldata page, bytes32 rest) external;

    /// @notice Abandons a batch not final within `batchTimeout` blocks of its close. Anyone.
    function abandonBatch(uint64 batch) external;

    /// @notice Ejects an active operator that missed its duty — signed no result, or let its seed turn pass — in
    ///         the last `streak` final batches in a row (abandoned batches in between do not break the row; the
    ///         last one is the latest final batch), at most `rateBps` of the stake per `window` blocks. Anyone.
    function ejectInactive(bytes32 operatorId, MissedDuty[] calldata missed) external;

    /// @notice Sets how many missed duties in a row allow an ejection (2 … 64) and its rate (≤ 10 000 bps per
    ///         window > 0 blocks). Only the owner.
    function setEjectionParameters(EjectionParameters calldata parameters) external;

    /// @notice How many missed duties in a row allow an ejection, and its rate.
    function ejectionParameters() external view returns (EjectionParameters memory);

    /// @notice Slashes one signer of a result proven invalid (`ResultProvenInvalid`) by `invalidResultSlashBps`
    ///         and jails it: an operator with stake at R_b whose key is not among `nonSignerPubkeys`, the list the
    ///         accepted submission carried. Within `batchTimeout` blocks of the proof; once per operator and batch.
    ///         Anyone (docs/protocol.md §5).
    function slashInvalidResultSigner(uint64 batch, bytes32 operatorId, BN254.G1Point[] calldata nonSignerPubkeys)
        external
        returns (uint256 slashed);
    /// @notice Slashes an operator that signed two different results for one batch; the caller gets the bounty if it
    ///         committed to this proof (commitEquivocation) in an earlier block (docs/contracts-avs.md).
    function slashEquivocation(bytes32 operatorId, uint64 batch, SignedResult calldata a, SignedResult calldata b)
        external
        returns (uint256 slashed, uint256 bounty);

    /// @notice The leader at position `index` of the batch's fallback order (0 = the leader): distinct operators,
    ///         drawn by stake at the batch's `drawBlock` (docs/protocol.md §3.2).
    function leaderOf(uint64 batch, uint256 index) external view returns (bytes32 operatorId);
    /// @notice keccak256(abi.encode(SEED_DOMAIN, chainid, this, batch, seed_{b−1}, blockhash(R_b))).
    function seedMessageHash(uint64 batch) external view returns (bytes32);
    /// @notice keccak256(abi.encode(RESULT_DOMAIN, chainid, this, batch, R_b, seed, assignmentsHash)).
    function resultMessageHash(uint64 batch, bytes32 seed, bytes32 assignmentsHash) external view returns (bytes32);
    /// @notice Number of fallback positions of every batch: batchTimeout / seedTimeout + 1 (at most 32).
    function fallbackLength() external view returns (uint256);
    /// @notice Blocks after a batch's close during which a proof about it (a second signature, its pages) can still
    ///         land; the registry's exit delay must be at least this.
    function slashingWindow() external view returns (uint256);
    function getBatch(uint64 batch) external view returns (Batch memory);
    function batchCount() external view returns (uint64);
    function latestSeed() external view returns (bytes32);
    function batchTiming() external view returns (BatchTiming memory);
    function quorumThresholdBps() external view returns (uint16);
    function matchingWeights() external view returns (MatchingWeights memory);
    function slashFractions()
        external
        view
        returns (uint16 equivocationSlashBps, uint16 equivocationBountyBps, uint16 invalidResultSlashBps);
    function marketplace() external view returns (address);
}
