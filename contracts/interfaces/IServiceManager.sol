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

    /// @notice Block-counted timing of the batch lifecycle (PROTOCOL.md section 3).
    struct BatchTiming {
        uint32 batchInterval;
        uint32 seedTimeout;
        uint32 batchTimeout;
    }

    /// @notice What the contract records about a batch.
    struct Batch {
        BatchStatus status;
        uint32 referenceBlock;
        uint32 closedAt;
        uint32 finalizedAt;
        bytes32 previousSeed;
        bytes32 referenceBlockHash;
        bytes32 seed;
        bytes32 resultHash;
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

    event BatchClosed(uint64 indexed batch, uint32 referenceBlock, bytes32 previousSeed, bytes32 leader);
    event BatchFinalized(
        uint64 indexed batch, bytes32 seed, bytes32 resultHash, uint256 signedStake, uint256 totalStake, uint256 assignments
    );
    event BatchAbandoned(uint64 indexed batch);
    event BatchTimingSet(uint32 batchInterval, uint32 seedTimeout, uint32 batchTimeout);
    event QuorumThresholdSet(uint16 quorumThresholdBps);
    event MatchingWeightsSet(MatchingWeights weights);
    event SlashFractionsSet(uint16 equivocationSlashBps, uint16 equivocationBountyBps, uint16 invalidResultSlashBps);
    event ProtocolFeeSet(uint16 protocolFeeBps);

    /// @notice Closes the next batch once `batchInterval` blocks passed since the last close and the previous batch
    ///         is final, abandoned or timed out (then it is abandoned here). R_b = block.number − 1. Anyone.
    function closeBatch() external returns (uint64 batch);

    /// @notice Verifies and applies a batch result (PROTOCOL.md 3.6): seed proof by the expected leader, signers'
    ///         key by subtraction, stake ≥ threshold, one pairing check; then the marketplace applies the
    ///         assignments one by one. Final once: a second submission reverts. Anyone. `hints`: see
    ///         BLSSignatureChecker.checkSignatures (`signatureCheckHints(resultHash, R_b, nonSignerPubkeys)` computes
    ///         them).
    function submitResult(
        uint64 batch,
        IMarketplace.Assignment[] calldata assignments,
        BN254.G1Point calldata seedSignature,
        uint256 seedSignerIndex,
        BN254.G1Point[] calldata nonSignerPubkeys,
        BN254.G2Point calldata apkG2,
        BN254.G1Point calldata sigma,
        IBLSSignatureChecker.SignatureCheckHints calldata hints
    ) external;

    /// @notice Abandons a batch not final within `batchTimeout` blocks of its close. Anyone.
    function abandonBatch(uint64 batch) external;

    /// @notice Slashes an operator that signed two different results for one batch; the caller gets the bounty if it
    ///         committed to this proof (commitEquivocation) in an earlier block (docs/contracts-avs.md).
    function slashEquivocation(bytes32 operatorId, uint64 batch, SignedResult calldata a, SignedResult calldata b)
        external
        returns (uint256 slashed, uint256 bounty);

    /// @notice The leader at position `index` of the batch's fallback order (0 = the leader).
    function leaderOf(uint64 batch, uint256 index) external view returns (bytes32 operatorId);
    /// @notice keccak256(abi.encode(SEED_DOMAIN, chainid, this, batch, seed_{b−1}, blockhash(R_b))).
    function seedMessageHash(uint64 batch) external view returns (bytes32);
    /// @notice keccak256(abi.encode(RESULT_DOMAIN, chainid, this, batch, R_b, seed, assignmentsHash)).
    function resultMessageHash(uint64 batch, bytes32 seed, bytes32 assignmentsHash) external view returns (bytes32);
    /// @notice keccak256(abi.encode(assignments)): the hash `submitResult` binds into the signed result message,
    ///         exposed so off-chain code and test vectors can check their encoding against the contract's.
    function hashAssignments(IMarketplace.Assignment[] calldata assignments) external pure returns (bytes32);
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
    function protocolFeeBps() external view returns (uint16);
    function marketplace() external view returns (address);
}
