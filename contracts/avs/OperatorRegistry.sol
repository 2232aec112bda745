// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {BN254} from "../libraries/BN254.sol";
import {BLS} from "../libraries/BLS.sol";
import {BlockHistory} from "../libraries/BlockHistory.sol";
import {IOperatorRegistry} from "../interfaces/IOperatorRegistry.sol";
import {ISlashingWindow} from "../interfaces/ISlashingWindow.sol";

/// @title OperatorRegistry
/// @notice The operator set of the matchnet AVS: stake, BLS keys with proof of possession, libp2p sockets, and per
/// block history of stake weights, total stake and aggregate key, so that a batch closed at reference block R can be
/// verified against the set as it was at R however the set changed since (docs/contracts-avs.md).
/// @dev An operator's "stake weight" is its stake while Active and 0 otherwise; weight > 0 at R is what "in the set
/// at R" means. The stake token is assumed to be a plain ERC-20 (no fee on transfer, no rebasing).
contract OperatorRegistry is IOperatorRegistry, Ownable, ReentrancyGuard {
    using SafeERC20 for IERC20;
    using BlockHistory for BlockHistory.History;
    using BN254 for BN254.G1Point;

    /// @dev One change of the aggregate key: the apk from the end of `fromBlock` on, until the end of the block
    /// before `nextFromBlock` (0 while it is the newest). Same hint rule as BlockHistory. `apkHash` (the first 24
    /// bytes of keccak256(X, Y)) shares the first slot with the blocks, so a signature check that is given the apk
    /// checks it, and its hint, with one slot read instead of three; a different apk with the same 192-bit prefix
    /// would take ≈ 2¹⁹² hashes to find.
    struct ApkUpdate {
        uint32 fromBlock;
        uint32 nextFromBlock;
        bytes24 apkHash;
        uint256 X;
        uint256 Y;
    }

    uint256 private constant BPS = 10_000;
    /// @dev Long enough for any multiaddr with a peer id (a /dns/…/tcp/…/p2p/… address is under 150 bytes); bounded
    /// because every operator reads every socket.
    uint256 private constant MAX_SOCKET_BYTES = 256;

    /// @notice Domain tag of proofs of possession: keccak256("matchnet/pop/v1"), as protocol/bls POP_DOMAIN.
    bytes32 public constant POP_DOMAIN = keccak256("matchnet/pop/v1");

    IERC20 private immutable _stakeToken;
    /// @inheritdoc IOperatorRegistry
    address public slasher;
    /// @inheritdoc IOperatorRegistry
    address public treasury;
    /// @inheritdoc IOperatorRegistry
    uint256 public minimumStake;
    /// @inheritdoc IOperatorRegistry
    uint32 public exitDelay;

    mapping(bytes32 operatorId => Operator) private _operators;
    mapping(address operator => bytes32) private _operatorIdOf;
    /// @dev The operator whose G1 key has this X coordinate. A key and its negation share X, so one entry per X
    /// refuses both a repeated key and the negation of a registered one.
    mapping(uint256 g1X => bytes32 operatorId) private _operatorIdOfG1X;
    bytes32[] private _operatorIds;
    /// @dev The operators holding stake in the registry (registered and not withdrawn), in registration order: a
    /// circular doubly-linked list through the sentinel bytes32(0). Withdrawal unlinks in O(1) and keeps the order of
    /// the rest, so the leader draw's walk (weightsAt) costs O(operators holding stake), not O(ever registered).
    mapping(bytes32 operatorId => bytes32) private _nextHolder;
    mapping(bytes32 operatorId => bytes32) private _previousHolder;
    mapping(bytes32 operatorId => BlockHistory.History) private _stakeHistory;
    BlockHistory.History private _totalStakeHistory;
    uint256 private _apkUpdateCount;
    mapping(uint256 index => ApkUpdate) private _apkUpdates;

    modifier onlySlasher() {
        if (msg.sender != slasher) revert OperatorRegistryNotSlasher(msg.sender);
        _;
    }

    /// @param initialOwner sets parameters and the slasher
    /// @param stakeToken_ the ERC-20 operators stake
    /// @param treasury_ receives slashed stake minus bounties
    /// @param minimumStake_ minimum stake of a registration
    /// @param exitDelay_ blocks between deregistration and withdrawal; must cover every slashing proof window
    constructor(
        address initialOwner,
        IERC20 stakeToken_,
        address treasury_,
        uint256 minimumStake_,
        uint32 exitDelay_
    ) Ownable(initialOwner) {
        if (address(stakeToken_) == address(0) || treasury_ == address(0)) revert OperatorRegistryZeroAddress();
        _stakeToken = stakeToken_;
        treasury = treasury_;
        minimumStake = minimumStake_;
        exitDelay = exitDelay_;
        emit TreasurySet(treasury_);
        emit MinimumStakeSet(minimumStake_);
        emit ExitDelaySet(exitDelay_);
    }

    // ---------------------------------------------------------------- operators

    /// @inheritdoc IOperatorRegistry
    function register(
        uint256 stake,
        BN254.G1Point calldata pkG1,
        BN254.G2Point calldata pkG2,
        BN254.G1Point calldata popSignature,
        string calldata socket
    ) external nonReentrant returns (bytes32 operatorId) {
        if (_operatorIdOf[msg.sender] != bytes32(0)) revert OperatorRegistryAlreadyRegistered(msg.sender);
        BN254.G1Point memory g1 = pkG1;
        BN254.G2Point memory g2 = pkG2;
        if (!g1.isOnCurve()) revert OperatorRegistryInvalidG1Key();
        if (!BN254.isOnCurve(g2)) revert OperatorRegistryInvalidG2Key();
        operatorId = keccak256(abi.encodePacked(g1.X, g1.Y));
        // The proof of possession binds G1 and G2 to one secret, so a fresh G1 key implies a fresh G2 key. A key
        // (X, p − Y) would cancel the registered (X, Y) in the aggregate key: both operators would count as signers
        // of every result without either signing, and neither could ever be shown to have signed anything.
        bytes32 holder = _operatorIdOfG1X[g1.X];
        if (holder != bytes32(0)) {
            if (holder == operatorId) revert OperatorRegistryDuplicateKey(operatorId);
            revert OperatorRegistryNegatedKey(operatorId, holder);
        }
        _checkSocket(socket);
        if (stake == 0 || stake < minimumStake) revert OperatorRegistryStakeTooLow(stake, minimumStake);
        if (!BLS.verifyProofOfPossession(g1, g2, popMessageHash(msg.sender), popSignature)) {
            revert OperatorRegistryInvalidProofOfPossession();
        }

        Operator storage op = _operators[operatorId];
        op.operator = msg.sender;
        op.status = OperatorStatus.Active;
        op.registeredAt = SafeCast.toUint32(block.number);
        op.stake = stake;
        op.pkG1 = g1;
        op.pkG2 = g2;
        op.socket = socket;
        _operatorIdOf[msg.sender] = operatorId;
        _operatorIdOfG1X[g1.X] = operatorId;
        _operatorIds.push(operatorId);
        bytes32 last = _previousHolder[bytes32(0)];
        _nextHolder[last] = operatorId;
        _previousHolder[operatorId] = last;
        _previousHolder[bytes32(0)] = operatorId;
        _setWeight(operatorId, stake);
        _updateApk(g1);

        _stakeToken.safeTransferFrom(msg.sender, address(this), stake);
        emit OperatorRegistered(operatorId, msg.sender, stake, g1, g2, socket);
    }

    /// @inheritdoc IOperatorRegistry
    function topUp(uint256 amount) external nonReentrant {
        if (amount == 0) revert OperatorRegistryZeroAmount();
        bytes32 operatorId = _callerId();
        Operator storage op = _operators[operatorId];
        if (op.status != OperatorStatus.Active) revert OperatorRegistryWrongStatus(operatorId, op.status);
        uint256 newStake = op.stake + amount;
        op.stake = newStake;
        _setWeight(operatorId, newStake);
        _stakeToken.safeTransferFrom(msg.sender, address(this), amount);
        emit OperatorStakeIncreased(operatorId, amount, newStake);
    }

    /// @inheritdoc IOperatorRegistry
    function updateSocket(string calldata socket) external {
        bytes32 operatorId = _callerId();
        Operator storage op = _operators[operatorId];
        if (op.status != OperatorStatus.Active) revert OperatorRegistryWrongStatus(operatorId, op.status);
        _checkSocket(socket);
        op.socket = socket;
        emit OperatorSocketUpdated(operatorId, socket);
    }

    /// @inheritdoc IOperatorRegistry
    function deregister() external {
        bytes32 operatorId = _callerId();
        Operator storage op = _operators[operatorId];
        OperatorStatus status = op.status;
        if (status == OperatorStatus.Active) {
            _leaveSet(operatorId, op);
        } else if (status != OperatorStatus.Jailed) {
            revert OperatorRegistryWrongStatus(operatorId, status);
        }
        uint32 exitableAt = SafeCast.toUint32(block.number + exitDelay);
        op.status = OperatorStatus.Exiting;
        op.exitableAt = exitableAt;
        emit OperatorDeregistered(operatorId, exitableAt);
    }

    /// @inheritdoc IOperatorRegistry
    function withdrawStake() external nonReentrant {
        bytes32 operatorId = _callerId();
        Operator storage op = _operators[operatorId];
        if (op.status != OperatorStatus.Exiting) revert OperatorRegistryWrongStatus(operatorId, op.status);
        if (block.number < op.exitableAt) revert OperatorRegistryExitDelayNotPassed(op.exitableAt);
        uint256 amount = op.stake;
        op.stake = 0;
        op.status = OperatorStatus.Withdrawn;
        // Its weight is 0 since it left the set, at least exitDelay ≥ slashingWindow blocks ago: no draw or set read
        // at a block the service manager still uses needs it (docs/protocol.md §3.2).
        bytes32 previous = _previousHolder[operatorId];
        bytes32 next = _nextHolder[operatorId];
        _nextHolder[previous] = next;
        _previousHolder[next] = previous;
        delete _nextHolder[operatorId];
        delete _previousHolder[operatorId];
        _stakeToken.safeTransfer(msg.sender, amount);
        emit OperatorStakeWithdrawn(operatorId, msg.sender, amount);
    }

    // ---------------------------------------------------------------- slasher hooks

    /// @inheritdoc IOperatorRegistry
    function jail(bytes32 operatorId) external onlySlasher {
        Operator storage op = _knownOperator(operatorId);
        if (op.status != OperatorStatus.Active) revert OperatorRegistryWrongStatus(operatorId, op.status);
        _leaveSet(operatorId, op);
        op.status = OperatorStatus.Jailed;
        emit OperatorJailed(operatorId);
    }

    /// @inheritdoc IOperatorRegistry
    function slash(bytes32 operatorId, uint256 bps, address beneficiary, uint256 bountyBps)
        external
        onlySlasher
        nonReentrant
        returns (uint256 slashed, uint256 bounty)
    {
        Operator storage op = _knownOperator(operatorId);
        // A withdrawn operator has nothing left to cut.
        if (op.status == OperatorStatus.Withdrawn) revert OperatorRegistryWrongStatus(operatorId, op.status);
        if (bps > BPS) revert OperatorRegistryInvalidBps(bps);
        if (bountyBps > BPS) revert OperatorRegistryInvalidBps(bountyBps);
        if (beneficiary == address(0)) revert OperatorRegistryZeroAddress();

        slashed = op.stake * bps / BPS;
        bounty = slashed * bountyBps / BPS;
        op.stake -= slashed;
        op.timesSlashed += 1;
        if (op.status == OperatorStatus.Active) {
            _leaveSet(operatorId, op);
            op.status = OperatorStatus.Jailed;
            emit OperatorJailed(operatorId);
        }
        emit OperatorSlashed(operatorId, bps, slashed, beneficiary, bounty);

        if (bounty > 0) _stakeToken.safeTransfer(beneficiary, bounty);
        if (slashed > bounty) _stakeToken.safeTransfer(treasury, slashed - bounty);
    }

    // ---------------------------------------------------------------- owner

    /// @inheritdoc IOperatorRegistry
    function setSlasher(address slasher_) external onlyOwner {
        if (slasher != address(0)) revert OperatorRegistrySlasherAlreadySet(slasher);
        if (slasher_ == address(0)) revert OperatorRegistryZeroAddress();
        _checkExitDelay(exitDelay, slasher_);
        slasher = slasher_;
        emit SlasherSet(slasher_);
    }

    /// @inheritdoc IOperatorRegistry
    function setExitDelay(uint32 exitDelay_) external onlyOwner {
        if (slasher != address(0)) _checkExitDelay(exitDelay_, slasher);
        exitDelay = exitDelay_;
        emit ExitDelaySet(exitDelay_);
    }

    /// @inheritdoc IOperatorRegistry
    function setTreasury(address treasury_) external onlyOwner {
        if (treasury_ == address(0)) revert OperatorRegistryZeroAddress();
        treasury = treasury_;
        emit TreasurySet(treasury_);
    }

    /// @inheritdoc IOperatorRegistry
    function setMinimumStake(uint256 minimumStake_) external onlyOwner {
        minimumStake = minimumStake_;
        emit MinimumStakeSet(minimumStake_);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IOperatorRegistry
    function popMessageHash(address operator) public view returns (bytes32) {
        return keccak256(abi.encode(POP_DOMAIN, block.chainid, address(this), operator));
    }

    /// @inheritdoc IOperatorRegistry
    function stakeToken() external view returns (address) {
        return address(_stakeToken);
    }

    /// @inheritdoc IOperatorRegistry
    function operatorIdOf(address operator) external view returns (bytes32) {
        return _operatorIdOf[operator];
    }

    /// @inheritdoc IOperatorRegistry
    function getOperator(bytes32 operatorId) external view returns (Operator memory) {
        return _knownOperator(operatorId);
    }

    /// @inheritdoc IOperatorRegistry
    function operatorKeys(bytes32 operatorId)
        external
        view
        returns (BN254.G1Point memory pkG1, BN254.G2Point memory pkG2)
    {
        Operator storage op = _knownOperator(operatorId);
        return (op.pkG1, op.pkG2);
    }

    /// @inheritdoc IOperatorRegistry
    function operatorCount() external view returns (uint256) {
        return _operatorIds.length;
    }

    /// @inheritdoc IOperatorRegistry
    function operatorIdAt(uint256 index) external view returns (bytes32) {
        return _operatorIds[index];
    }

    /// @inheritdoc IOperatorRegistry
    function stakeAt(bytes32 operatorId, uint32 blockNumber) external view returns (uint256) {
        return _stakeHistory[operatorId].valueAt(blockNumber);
    }

    /// @inheritdoc IOperatorRegistry
    function totalStakeAt(uint32 blockNumber) external view returns (uint256) {
        return _totalStakeHistory.valueAt(blockNumber);
    }

    /// @inheritdoc IOperatorRegistry
    function apkAt(uint32 blockNumber) public view returns (BN254.G1Point memory apk) {
        (, apk) = _checkedApkAt(blockNumber, _apkIndexAt(blockNumber));
    }

    /// @inheritdoc IOperatorRegistry
    function currentStake(bytes32 operatorId) external view returns (uint256) {
        return _stakeHistory[operatorId].latest();
    }

    /// @inheritdoc IOperatorRegistry
    function currentTotalStake() external view returns (uint256) {
        return _totalStakeHistory.latest();
    }

    /// @inheritdoc IOperatorRegistry
    function currentApk() public view returns (BN254.G1Point memory apk) {
        uint256 n = _apkUpdateCount;
        if (n == 0) return apk;
        ApkUpdate storage last = _apkUpdates[n - 1];
        return BN254.G1Point(last.X, last.Y);
    }

    /// @inheritdoc IOperatorRegistry
    function isInSetAt(bytes32 operatorId, uint32 blockNumber) external view returns (bool) {
        return _stakeHistory[operatorId].valueAt(blockNumber) > 0;
    }

    /// @inheritdoc IOperatorRegistry
    function operatorsAt(uint32 blockNumber) external view returns (OperatorAtBlock[] memory set) {
        // Every operator ever registered, so the set at any past block reads back the same whenever it is read (an
        // eth_call, not a transaction: the draw uses weightsAt, which walks the stake holders only).
        uint256 n = _operatorIds.length;
        uint256[] memory weights = new uint256[](n);
        uint256 count = 0;
        for (uint256 i = 0; i < n; i++) {
            uint256 w = _stakeHistory[_operatorIds[i]].valueAt(blockNumber);
            weights[i] = w;
            if (w > 0) count++;
        }
        set = new OperatorAtBlock[](count);
        uint256 k = 0;
        for (uint256 i = 0; i < n; i++) {
            if (weights[i] == 0) continue;
            bytes32 id = _operatorIds[i];
            Operator storage op = _operators[id];
            set[k++] = OperatorAtBlock(id, op.operator, weights[i], op.pkG1, op.pkG2, op.socket);
        }
    }

    /// @inheritdoc IOperatorRegistry
    function weightsAt(uint32 blockNumber)
        public
        view
        returns (bytes32[] memory ids, uint256[] memory weights, uint256 total)
    {
        uint256 n = 0;
        for (bytes32 id = _nextHolder[bytes32(0)]; id != bytes32(0); id = _nextHolder[id]) n++;
        ids = new bytes32[](n);
        weights = new uint256[](n);
        uint256 m = 0;
        for (bytes32 id = _nextHolder[bytes32(0)]; id != bytes32(0); id = _nextHolder[id]) {
            uint256 w = _stakeHistory[id].valueAt(blockNumber);
            if (w == 0) continue;
            ids[m] = id;
            weights[m] = w;
            total += w;
            m++;
        }
        assembly ("memory-safe") {
            mstore(ids, m)
            mstore(weights, m)
        }
    }

    /// @inheritdoc IOperatorRegistry
    function signatureCheckInputs(uint32 blockNumber, bytes32[] calldata operatorIds, HistoryHints calldata hints)
        external
        view
        returns (BN254.G1Point memory apk, uint256 totalStake, uint256[] memory stakes)
    {
        uint256 n = operatorIds.length;
        if (hints.nonSignerStakeIndices.length != n) {
            revert OperatorRegistryHintCountMismatch(n, hints.nonSignerStakeIndices.length);
        }
        bool ok;
        (ok, apk) = _checkedGivenApkAt(blockNumber, hints.apkIndex, hints.apk);
        if (!ok) revert OperatorRegistryWrongApkHint(blockNumber, hints.apkIndex);
        (ok, totalStake) = _totalStakeHistory.checkedValueAt(blockNumber, hints.totalStakeIndex);
        if (!ok) revert OperatorRegistryWrongTotalStakeHint(blockNumber, hints.totalStakeIndex);
        stakes = new uint256[](n);
        for (uint256 i = 0; i < n; i++) {
            uint32 index = hints.nonSignerStakeIndices[i];
            (ok, stakes[i]) = _stakeHistory[operatorIds[i]].checkedValueAt(blockNumber, index);
            if (!ok) revert OperatorRegistryWrongStakeHint(operatorIds[i], blockNumber, index);
        }
    }

    /// @inheritdoc IOperatorRegistry
    function historyHints(uint32 blockNumber, bytes32[] calldata operatorIds)
        external
        view
        returns (HistoryHints memory hints)
    {
        hints.apkIndex = SafeCast.toUint32(_apkIndexAt(blockNumber));
        (, hints.apk) = _checkedApkAt(blockNumber, hints.apkIndex);
        hints.totalStakeIndex = SafeCast.toUint32(_totalStakeHistory.indexAt(blockNumber));
        hints.nonSignerStakeIndices = new uint32[](operatorIds.length);
        for (uint256 i = 0; i < operatorIds.length; i++) {
            hints.nonSignerStakeIndices[i] = SafeCast.toUint32(_stakeHistory[operatorIds[i]].indexAt(blockNumber));
        }
    }

    // ---------------------------------------------------------------- internals

    /// @dev Stake must stay slashable for as long as a proof about it can land: exit delay ≥ the slasher's window.
    function _checkExitDelay(uint32 exitDelay_, address slasher_) private view {
        // A low-level call, so that an address without code (whose empty answer would fail decoding) gets the
        // same clear error as a contract without the function.
        (bool ok, bytes memory answer) = slasher_.staticcall(abi.encodeCall(ISlashingWindow.slashingWindow, ()));
        if (!ok || answer.length != 32) revert OperatorRegistrySlasherWithoutWindow(slasher_);
        uint256 window = abi.decode(answer, (uint256));
        if (exitDelay_ < window) revert OperatorRegistryExitDelayBelowSlashingWindow(exitDelay_, window);
    }

    function _callerId() private view returns (bytes32 operatorId) {
        operatorId = _operatorIdOf[msg.sender];
        if (operatorId == bytes32(0)) revert OperatorRegistryNotRegistered(msg.sender);
    }

    function _knownOperator(bytes32 operatorId) private view returns (Operator storage op) {
        op = _operators[operatorId];
        if (op.status == OperatorStatus.None) revert OperatorRegistryUnknownOperator(operatorId);
    }

    function _checkSocket(string calldata socket) private pure {
        uint256 len = bytes(socket).length;
        if (len == 0 || len > MAX_SOCKET_BYTES) revert OperatorRegistryInvalidSocket();
    }

    /// @dev Takes an Active operator out of the set: weight 0, key subtracted from the apk.
    function _leaveSet(bytes32 operatorId, Operator storage op) private {
        _setWeight(operatorId, 0);
        _updateApk(BN254.negate(op.pkG1));
    }

    /// @dev Records an operator's new stake weight at this block and moves the total by the difference.
    function _setWeight(bytes32 operatorId, uint256 weight) internal {
        uint32 key = SafeCast.toUint32(block.number);
        uint256 oldWeight = _stakeHistory[operatorId].push(key, SafeCast.toUint192(weight));
        uint256 total = _totalStakeHistory.latest();
        total = total + weight - oldWeight;
        _totalStakeHistory.push(key, SafeCast.toUint192(total));
    }

    /// @dev apk += delta, recorded at this block (several changes in one block share one entry).
    function _updateApk(BN254.G1Point memory delta) internal {
        BN254.G1Point memory apk = currentApk().plus(delta);
        uint32 key = SafeCast.toUint32(block.number);
        uint256 n = _apkUpdateCount;
        if (n > 0) {
            ApkUpdate storage last = _apkUpdates[n - 1];
            if (last.fromBlock == key) {
                last.apkHash = _apkHash(apk.X, apk.Y);
                last.X = apk.X;
                last.Y = apk.Y;
                emit OperatorSetApkUpdated(key, apk);
                return;
            }
            last.nextFromBlock = key;
        }
        _apkUpdates[n] = ApkUpdate(key, 0, _apkHash(apk.X, apk.Y), apk.X, apk.Y);
        _apkUpdateCount = n + 1;
        emit OperatorSetApkUpdated(key, apk);
    }

    /// @dev The apk at the end of `blockNumber` read at `index`, checked in constant cost exactly like
    /// BlockHistory.checkedValueAt: (0, 0) before the first update, at index 0.
    function _checkedApkAt(uint32 blockNumber, uint256 index) private view returns (bool ok, BN254.G1Point memory apk) {
        ApkUpdate storage u = _apkUpdates[index];
        uint32 fromBlock = u.fromBlock;
        if (fromBlock == 0 || fromBlock > blockNumber) return (index == 0, apk);
        uint32 next = u.nextFromBlock;
        if (next != 0 && next <= blockNumber) return (false, apk);
        return (true, BN254.G1Point(u.X, u.Y));
    }

    /// @dev `_checkedApkAt` for a caller that names the apk: one slot read (blocks and hash) instead of three. `ok`
    /// also requires `given` to be the apk recorded at `index`; (0, 0) before the first update, whatever is given.
    function _checkedGivenApkAt(uint32 blockNumber, uint256 index, BN254.G1Point calldata given)
        private
        view
        returns (bool ok, BN254.G1Point memory apk)
    {
        ApkUpdate storage u = _apkUpdates[index];
        uint32 fromBlock = u.fromBlock;
        if (fromBlock == 0 || fromBlock > blockNumber) return (index == 0, apk);
        uint32 next = u.nextFromBlock;
        if (next != 0 && next <= blockNumber) return (false, apk);
        if (u.apkHash != _apkHash(given.X, given.Y)) return (false, apk);
        return (true, given);
    }

    function _apkHash(uint256 x, uint256 y) private pure returns (bytes24) {
        return bytes24(keccak256(abi.encodePacked(x, y)));
    }

    /// @dev The index of the apk update in force at the end of `blockNumber` (0 before the first), searched.
    function _apkIndexAt(uint32 blockNumber) private view returns (uint256) {
        uint256 n = _apkUpdateCount;
        if (n == 0) return 0;
        // Reference blocks are almost always recent: try the newest update before searching.
        if (_apkUpdates[n - 1].fromBlock <= blockNumber) return n - 1;
        uint256 lo = 0;
        uint256 hi = n - 1; // exclusive
        while (lo < hi) {
            uint256 mid = (lo + hi) / 2;
            if (_apkUpdates[mid].fromBlock <= blockNumber) lo = mid + 1;
            else hi = mid;
        }
        return lo == 0 ? 0 : lo - 1;
    }
}
