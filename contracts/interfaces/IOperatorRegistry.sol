// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BN254} from "../libraries/BN254.sol";

/// @title Types of the operator registry
interface IOperatorRegistryTypes {
    /// @notice Life cycle of an operator. Only `Active` operators are in the operator set (stake weight and apk).
    /// `Exiting`: deregistered, stake held until `exitableAt`. `Jailed`: removed from the set by the slasher.
    /// `Withdrawn`: stake paid out; the record and its keys stay (keys are never reusable).
    enum OperatorStatus {
        None,
        Active,
        Jailed,
        Exiting,
        Withdrawn
    }

    /// @notice Everything the registry keeps about one operator.
    /// @param operator the operator's Ethereum address (one registration per address)
    /// @param status see OperatorStatus
    /// @param registeredAt block of registration
    /// @param exitableAt first block at which the stake can be withdrawn; 0 until deregistration
    /// @param timesSlashed number of slashes
    /// @param stake stake tokens currently held for the operator (slashes already deducted)
    /// @param pkG1 BLS key in G1; operatorId = keccak256(abi.encodePacked(pkG1.X, pkG1.Y))
    /// @param pkG2 BLS key in G2 (same secret, proven at registration)
    /// @param socket libp2p multiaddr other operators dial
    struct Operator {
        address operator;
        OperatorStatus status;
        uint32 registeredAt;
        uint32 exitableAt;
        uint32 timesSlashed;
        uint256 stake;
        BN254.G1Point pkG1;
        BN254.G2Point pkG2;
        string socket;
    }

    /// @notice Where, in the registry's per-block histories, the values at a reference block R are: the index of
    /// the apk update, of the total-stake entry and of each listed operator's stake entry in force at the end of R,
    /// and the apk itself. The registry checks each in constant cost (the entry starts at or before R, the next one
    /// after R; the apk matches the hash stored with its update), so a signature check costs the same however long
    /// the histories grew; `historyHints` computes them.
    /// @param apk the aggregate key at R ((0, 0) before the first registration), checked against its stored hash
    /// @param nonSignerStakeIndices one per operator id, in the same order
    struct HistoryHints {
        BN254.G1Point apk;
        uint32 apkIndex;
        uint32 totalStakeIndex;
        uint32[] nonSignerStakeIndices;
    }

    /// @notice One member of the operator set at a reference block, for off-chain readers.
    /// @param stake the operator's stake weight at that block
    struct OperatorAtBlock {
        bytes32 operatorId;
        address operator;
        uint256 stake;
        BN254.G1Point pkG1;
        BN254.G2Point pkG2;
        string socket;
    }
}

/// @title Errors of the operator registry
interface IOperatorRegistryErrors {
    /// @notice Thrown when the caller already has (or had) a registration: one registration per address.
    error OperatorRegistryAlreadyRegistered(address operator);
    /// @notice Thrown when the G1 key (hence the operator id) was registered before, by anyone.
    error OperatorRegistryDuplicateKey(bytes32 operatorId);
    /// @notice Thrown when the G1 key has the X coordinate of a registered key but another Y: it is that key's
    /// negation (X, p − Y), which would cancel it in the aggregate key. `registeredOperatorId` holds the other one.
    error OperatorRegistryNegatedKey(bytes32 operatorId, bytes32 registeredOperatorId);
    /// @notice Thrown when the G1 key is infinity, off the curve or has unreduced coordinates.
    error OperatorRegistryInvalidG1Key();
    /// @notice Thrown when the G2 key is infinity, off the twist or has unreduced coordinates.
    error OperatorRegistryInvalidG2Key();
    /// @notice Thrown when the proof of possession does not verify (or the G1 and G2 keys differ, or the G2 key is
    /// outside the order-r subgroup).
    error OperatorRegistryInvalidProofOfPossession();
    /// @notice Thrown when a registration's stake is below the minimum (or zero).
    error OperatorRegistryStakeTooLow(uint256 stake, uint256 minimum);
    /// @notice Thrown when the socket is empty or longer than the limit.
    error OperatorRegistryInvalidSocket();
    /// @notice Thrown when the caller has no registration.
    error OperatorRegistryNotRegistered(address caller);
    /// @notice Thrown when an operator id is unknown.
    error OperatorRegistryUnknownOperator(bytes32 operatorId);
    /// @notice Thrown when the operator is not in the state the action needs.
    error OperatorRegistryWrongStatus(bytes32 operatorId, IOperatorRegistryTypes.OperatorStatus status);
    /// @notice Thrown when a zero amount is given.
    error OperatorRegistryZeroAmount();
    /// @notice Thrown when stake is withdrawn before the exit delay passed.
    error OperatorRegistryExitDelayNotPassed(uint32 exitableAt);
    /// @notice Thrown when a slasher-only function is called by another address.
    error OperatorRegistryNotSlasher(address caller);
    /// @notice Thrown when the slasher is set a second time.
    error OperatorRegistrySlasherAlreadySet(address slasher);
    /// @notice Thrown when an address parameter is the zero address.
    error OperatorRegistryZeroAddress();
    /// @notice Thrown when a basis-point figure is above 10 000.
    error OperatorRegistryInvalidBps(uint256 bps);
    /// @notice Thrown when the apk hint is not the index of the apk update in force at the end of `referenceBlock`,
    /// or the hinted apk is not the one recorded there.
    error OperatorRegistryWrongApkHint(uint32 referenceBlock, uint256 index);
    /// @notice Thrown when the total-stake hint is not the index of the entry in force at the end of
    /// `referenceBlock`.
    error OperatorRegistryWrongTotalStakeHint(uint32 referenceBlock, uint256 index);
    /// @notice Thrown when an operator's stake hint is not the index of its entry in force at the end of
    /// `referenceBlock`.
    error OperatorRegistryWrongStakeHint(bytes32 operatorId, uint32 referenceBlock, uint256 index);
    /// @notice Thrown when the exit delay would be shorter than the slasher's slashing window: an operator could
    /// withdraw before a proof about its last batches lands.
    error OperatorRegistryExitDelayBelowSlashingWindow(uint256 exitDelay, uint256 slashingWindow);
    /// @notice Thrown when the slasher does not answer `ISlashingWindow.slashingWindow()`.
    error OperatorRegistrySlasherWithoutWindow(address slasher);
    /// @notice Thrown when the number of stake hints differs from the number of operator ids.
    error OperatorRegistryHintCountMismatch(uint256 operatorIds, uint256 hints);
}

/// @title Events of the operator registry
interface IOperatorRegistryEvents {
    /// @notice Emitted when an operator joined the set.
    event OperatorRegistered(
        bytes32 indexed operatorId,
        address indexed operator,
        uint256 stake,
        BN254.G1Point pkG1,
        BN254.G2Point pkG2,
        string socket
    );
    /// @notice Emitted when an operator added stake.
    event OperatorStakeIncreased(bytes32 indexed operatorId, uint256 amount, uint256 newStake);
    /// @notice Emitted when an operator changed its libp2p socket.
    event OperatorSocketUpdated(bytes32 indexed operatorId, string socket);
    /// @notice Emitted when an operator left the set; its stake is withdrawable from `exitableAt`.
    event OperatorDeregistered(bytes32 indexed operatorId, uint32 exitableAt);
    /// @notice Emitted when an operator's stake was paid back after the exit delay.
    event OperatorStakeWithdrawn(bytes32 indexed operatorId, address indexed to, uint256 amount);
    /// @notice Emitted when the slasher removed an operator from the set.
    event OperatorJailed(bytes32 indexed operatorId);
    /// @notice Emitted when the slasher cut an operator's stake: `bounty` went to `beneficiary`, the rest to the
    /// treasury.
    event OperatorSlashed(
        bytes32 indexed operatorId, uint256 bps, uint256 slashed, address indexed beneficiary, uint256 bounty
    );
    /// @notice Emitted whenever the aggregate G1 key of the set changed.
    event OperatorSetApkUpdated(uint32 indexed blockNumber, BN254.G1Point apk);
    /// @notice Emitted when the owner set the (one-time) slasher.
    event SlasherSet(address indexed slasher);
    /// @notice Emitted when the owner changed the minimum operator stake.
    event MinimumStakeSet(uint256 minimumStake);
    /// @notice Emitted when the owner changed the exit delay.
    event ExitDelaySet(uint32 exitDelay);
    /// @notice Emitted when the owner changed the treasury that receives slashed stake.
    event TreasurySet(address indexed treasury);
}

/// @title Operator registry of the matchnet AVS
/// @notice Operators stake the stake token, register BN254 BLS keys with a proof of possession and a libp2p socket.
/// The stake of every operator, the total stake and the aggregate G1 key (apk) of the set are kept per block, so
/// that the set at any past reference block can be read back and signatures over it checked.
interface IOperatorRegistry is IOperatorRegistryTypes, IOperatorRegistryErrors, IOperatorRegistryEvents {
    /// @notice Registers the caller with `stake` stake tokens (pulled with transferFrom; approve first).
    /// @param pkG1 BLS key in G1
    /// @param pkG2 BLS key in G2, same secret
    /// @param popSignature sk·hashToG1(popMessageHash(chainId, this registry, msg.sender))
    /// @param socket libp2p multiaddr, 1–256 bytes
    /// @return operatorId keccak256(abi.encodePacked(pkG1.X, pkG1.Y))
    function register(
        uint256 stake,
        BN254.G1Point calldata pkG1, BN254.G2Point calldata pkG2, BN254.G1Point calldata popSignature,
        string calldata socket
    ) external returns (bytes32 operatorId);

    /// @notice Adds `amount` stake tokens to the caller's stake; needs status Active.
    function topUp(uint256 amount) external;

    /// @notice Replaces the caller's libp2p socket; needs status Active.
    function updateSocket(string calldata socket) external;

    /// @notice Leaves the operator set now; the stake becomes withdrawable `exitDelay` blocks later. Allowed while
    /// Active or Jailed.
    function deregister() external;

    /// @notice Pays the caller's remaining stake back once the exit delay has passed.
    function withdrawStake() external;

    /// @notice Removes an operator from the set. Slasher only.
    function jail(bytes32 operatorId) external;

    /// @notice Cuts `bps` of an operator's stake, pays `bountyBps` of the cut to `beneficiary` and the rest to the
    /// treasury, and jails the operator if it is in the set. Slasher only.
    /// @return slashed the amount cut
    /// @return bounty the part of it paid to `beneficiary`
    function slash(bytes32 operatorId, uint256 bps, address beneficiary, uint256 bountyBps)
        external
        returns (uint256 slashed, uint256 bounty);

    /// @notice Sets the slasher (the service manager). Owner only, once. The slasher must implement
    /// ISlashingWindow and the exit delay must be at least its `slashingWindow()`.
    function setSlasher(address slasher) external;

    /// @notice The address allowed to jail and slash (zero until set).
    function slasher() external view returns (address);

    /// @notice Sets the exit delay (in blocks) for later deregistrations. Owner only. Once a slasher is set, at
    /// least its `slashingWindow()` (OperatorRegistryExitDelayBelowSlashingWindow otherwise).
    function setExitDelay(uint32 exitDelay) external;

    /// @notice Blocks between deregistration and withdrawal.
    function exitDelay() external view returns (uint32);

    /// @notice Sets the address that receives slashed stake (minus bounties). Owner only.
    function setTreasury(address treasury) external;

    /// @notice The address that receives slashed stake.
    function treasury() external view returns (address);

    /// @notice Sets the minimum stake of new registrations. Owner only.
    function setMinimumStake(uint256 minimumStake) external;

    /// @notice Minimum stake of a new registration.
    function minimumStake() external view returns (uint256);

    /// @notice The stake token.
    function stakeToken() external view returns (address);

    /// @notice The digest an operator's proof of possession signs: keccak256(abi.encode(POP_DOMAIN, chainid, this
    /// registry, operator)) with POP_DOMAIN = keccak256("matchnet/pop/v1").
    function popMessageHash(address operator) external view returns (bytes32);

    /// @notice The operator id of an address (zero when never registered).
    function operatorIdOf(address operator) external view returns (bytes32);

    /// @notice The full record of an operator; reverts for unknown ids.
    function getOperator(bytes32 operatorId) external view returns (Operator memory);

    /// @notice An operator's BLS keys (cheaper than `getOperator` for signature checks); reverts for unknown ids.
    function operatorKeys(bytes32 operatorId)
        external
        view
        returns (BN254.G1Point memory pkG1, BN254.G2Point memory pkG2);

    /// @notice Number of operators ever registered (the index range of `operatorIdAt`).
    function operatorCount() external view returns (uint256);

    /// @notice The operator id registered `index`-th.
    function operatorIdAt(uint256 index) external view returns (bytes32);

    /// @notice An operator's stake weight in the set at the end of `blockNumber` (0 when not in the set).
    function stakeAt(bytes32 operatorId, uint32 blockNumber) external view returns (uint256);

    /// @notice The total stake of the set at the end of `blockNumber`.
    function totalStakeAt(uint32 blockNumber) external view returns (uint256);

    /// @notice The aggregate G1 key of the set at the end of `blockNumber` ((0,0) for an empty set).
    function apkAt(uint32 blockNumber) external view returns (BN254.G1Point memory);

    /// @notice Current stake weight of an operator.
    function currentStake(bytes32 operatorId) external view returns (uint256);

    /// @notice Current total stake of the set.
    function currentTotalStake() external view returns (uint256);

    /// @notice Current aggregate G1 key of the set.
    function currentApk() external view returns (BN254.G1Point memory);

    /// @notice Whether an operator was in the set at the end of `blockNumber`.
    function isInSetAt(bytes32 operatorId, uint32 blockNumber) external view returns (bool);

    /// @notice The operator set at the end of `blockNumber`, in registration order, with stakes,
    /// keys and sockets: what operators read at start-up and per batch instead of replaying events.
    /// @dev Linear in the number of operators ever registered (the same answer whenever it is read); meant for
    /// eth_call, not for transactions.
    function operatorsAt(uint32 blockNumber) external view returns (OperatorAtBlock[] memory);

    /// @notice The ids and stake weights of the set at the end of `blockNumber`, in registration order, and their
    /// sum: what the service manager's leader draw walks. Linear in the operators holding stake now (withdrawn ones
    /// are unlinked), so it is exact only while no member at `blockNumber` can have withdrawn: up to `exitDelay`
    /// blocks after it (docs/protocol.md §3.2).
    function weightsAt(uint32 blockNumber)
        external
        view
        returns (bytes32[] memory ids, uint256[] memory weights, uint256 total);

    /// @notice What a signature check over the set at `blockNumber` needs in one call, read at the given hints and
    /// each hint checked in constant cost: the apk, the total stake and the stake weight of each listed operator (0
    /// for operators not in the set). Reverts with OperatorRegistryWrong*Hint when a hint is not the entry in force
    /// at the end of `blockNumber`, and with OperatorRegistryHintCountMismatch when the stake hints and the ids
    /// differ in number.
    function signatureCheckInputs(uint32 blockNumber, bytes32[] calldata operatorIds, HistoryHints calldata hints)
        external
        view
        returns (BN254.G1Point memory apk, uint256 totalStake, uint256[] memory stakes);

    /// @notice The hints `signatureCheckInputs` expects for `blockNumber` and `operatorIds`, found by binary search
    /// (for eth_call). Once `blockNumber` is below the current block they never change: histories only grow after
    /// it. An operator with no entry at or before `blockNumber` gets index 0 (its stake there reads as 0).
    function historyHints(uint32 blockNumber, bytes32[] calldata operatorIds)
        external
        view
        returns (HistoryHints memory hints);
}
