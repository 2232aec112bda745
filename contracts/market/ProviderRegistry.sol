// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IProviderRegistry} from "../interfaces/IProviderRegistry.sol";
import {IOfferBook} from "../interfaces/IOfferBook.sol";

/// @title ProviderRegistry
/// @notice Providers' stake (an ERC-20 stake token), zone (region = zone >> 8), status and the counters matching
///         reads. Uptime and slashing hooks are callable only by the service manager, which calls neither yet
///         (provider faults, docs/protocol.md §5); lease outcomes are counted by the marketplace (completions) or the
///         service manager.
contract ProviderRegistry is IProviderRegistry, Ownable, ReentrancyGuard {
    using SafeERC20 for IERC20;
    using EnumerableSet for EnumerableSet.AddressSet;

    uint16 private constant BPS = 10_000;
    /// Regions are 0‥63 so that an order can allow a set of regions as a 64-bit mask (types.ts).
    uint16 private constant MAX_REGION = 63;

    /// Everything matching reads fits in one slot, so the marketplace's per-assignment check costs one cold read.
    struct Record {
        ProviderStatus status;
        /// Ever registered: after an exit the status is None again but the counters stay (see `register`).
        bool known;
        uint16 zone;
        uint16 uptimeBps;
        uint32 leasesCompleted;
        uint32 leasesFailed;
        uint32 timesSlashed;
        uint64 exitRequestedAt;
        /// Block of the last change to what `matchingProfile` returns (same slot: no extra write).
        uint32 profileChangedAt;
    }

    IERC20 private immutable _stakeToken;
    /// @inheritdoc IProviderRegistry
    uint256 public minProviderStake;
    /// @inheritdoc IProviderRegistry
    uint64 public exitDelay;
    /// @inheritdoc IProviderRegistry
    address public serviceManager;
    /// @inheritdoc IProviderRegistry
    address public marketplace;
    IOfferBook private _offerBook;

    mapping(address provider => Record) private _records;
    EnumerableSet.AddressSet private _providers;
    mapping(address provider => uint256) private _stakes;

    modifier onlyServiceManager() {
        if (msg.sender != serviceManager) revert ProviderRegistryNotServiceManager(msg.sender);
        _;
    }

    /// @param initialOwner sets parameters and wiring.
    /// @param stakeToken_ the ERC-20 providers stake.
    /// @param minProviderStake_ minimum stake at registration (devnet default 1 000 tokens of 18 decimals).
    /// @param exitDelay_ blocks between `requestExit` and `completeExit` (devnet default 100).
    constructor(address initialOwner, address stakeToken_, uint256 minProviderStake_, uint64 exitDelay_)
        Ownable(initialOwner)
    {
        if (stakeToken_ == address(0)) revert ProviderRegistryZeroAddress();
        _stakeToken = IERC20(stakeToken_);
        minProviderStake = minProviderStake_;
        exitDelay = exitDelay_;
        emit MinProviderStakeSet(minProviderStake_);
        emit ExitDelaySet(exitDelay_);
    }

    // ---------------------------------------------------------------- owner

    /// @notice Sets the minimum stake for new registrations (existing providers keep theirs). Only the owner.
    function setMinProviderStake(uint256 minProviderStake_) external onlyOwner {
        minProviderStake = minProviderStake_;
        emit MinProviderStakeSet(minProviderStake_);
    }

    /// @notice Sets the exit delay in blocks (applies to exits completed from now on). Only the owner.
    function setExitDelay(uint64 exitDelay_) external onlyOwner {
        exitDelay = exitDelay_;
        emit ExitDelaySet(exitDelay_);
    }

    /// @notice Sets the service manager, once. Only the owner.
    function setServiceManager(address serviceManager_) external onlyOwner {
        if (serviceManager_ == address(0)) revert ProviderRegistryZeroAddress();
        if (serviceManager != address(0)) revert ProviderRegistryAlreadySet();
        serviceManager = serviceManager_;
        emit ServiceManagerSet(serviceManager_);
    }

    /// @notice Sets the marketplace and the offer book, once. Only the owner.
    function setMarketplace(address marketplace_, address offerBook_) external onlyOwner {
        if (marketplace_ == address(0) || offerBook_ == address(0)) revert ProviderRegistryZeroAddress();
        if (marketplace != address(0)) revert ProviderRegistryAlreadySet();
        marketplace = marketplace_;
        _offerBook = IOfferBook(offerBook_);
        emit MarketplaceSet(marketplace_, offerBook_);
    }

    // ---------------------------------------------------------------- providers

    /// @inheritdoc IProviderRegistry
    function register(uint16 zone, uint256 stake) external nonReentrant {
        if (_records[msg.sender].status != ProviderStatus.None) revert ProviderRegistryAlreadyRegistered(msg.sender);
        if ((zone >> 8) > MAX_REGION || (zone & 0xff) == 0) revert ProviderRegistryInvalidZone(zone);
        if (stake < minProviderStake || stake == 0) revert ProviderRegistryStakeBelowMinimum(stake, minProviderStake);
        Record storage r = _records[msg.sender];
        // A returning provider keeps its counters: exiting and re-registering must not wash out slashes,
        // failures or a low uptime.
        if (!r.known) {
            r.known = true;
            r.uptimeBps = BPS;
        }
        r.status = ProviderStatus.Active;
        r.zone = zone;
        r.exitRequestedAt = 0;
        r.profileChangedAt = _blockNumber();
        _stakes[msg.sender] = stake;
        _providers.add(msg.sender);
        _stakeToken.safeTransferFrom(msg.sender, address(this), stake);
        emit ProviderRegistered(msg.sender, zone, stake);
    }

    /// @inheritdoc IProviderRegistry
    function topUp(uint256 amount) external nonReentrant {
        if (_records[msg.sender].status == ProviderStatus.None) revert ProviderRegistryNotRegistered(msg.sender);
        if (amount == 0) revert ProviderRegistryZeroAmount();
        uint256 newStake = _stakes[msg.sender] + amount;
        _stakes[msg.sender] = newStake;
        _stakeToken.safeTransferFrom(msg.sender, address(this), amount);
        emit StakeAdded(msg.sender, amount, newStake);
    }

    /// @inheritdoc IProviderRegistry
    function setMaintenance(bool inMaintenance) external {
        Record storage r = _records[msg.sender];
        ProviderStatus s = r.status;
        if (s == ProviderStatus.None) revert ProviderRegistryNotRegistered(msg.sender);
        if (s != ProviderStatus.Active && s != ProviderStatus.Maintenance) {
            revert ProviderRegistryWrongStatus(msg.sender, s);
        }
        r.status = inMaintenance ? ProviderStatus.Maintenance : ProviderStatus.Active;
        r.profileChangedAt = _blockNumber();
        emit MaintenanceSet(msg.sender, inMaintenance);
    }

    /// @inheritdoc IProviderRegistry
    function requestExit() external {
        Record storage r = _records[msg.sender];
        ProviderStatus s = r.status;
        if (s == ProviderStatus.None) revert ProviderRegistryNotRegistered(msg.sender);
        if (s == ProviderStatus.Exiting) revert ProviderRegistryWrongStatus(msg.sender, s);
        r.status = ProviderStatus.Exiting;
        r.exitRequestedAt = uint64(block.number);
        r.profileChangedAt = _blockNumber();
        emit ExitRequested(msg.sender, uint64(block.number) + exitDelay);
    }

    /// @inheritdoc IProviderRegistry
    function completeExit() external nonReentrant {
        Record memory r = _records[msg.sender];
        if (r.status == ProviderStatus.None) revert ProviderRegistryNotRegistered(msg.sender);
        if (r.status != ProviderStatus.Exiting) revert ProviderRegistryWrongStatus(msg.sender, r.status);
        uint64 readyAt = r.exitRequestedAt + exitDelay;
        if (block.number < readyAt) revert ProviderRegistryExitDelayNotElapsed(readyAt);
        if (address(_offerBook) != address(0) && _offerBook.hasLeasedCapacity(msg.sender)) {
            revert ProviderRegistryActiveLeases(msg.sender);
        }
        uint256 stake = _stakes[msg.sender];
        Record storage rec = _records[msg.sender];
        rec.status = ProviderStatus.None;
        rec.exitRequestedAt = 0;
        rec.profileChangedAt = _blockNumber();
        delete _stakes[msg.sender];
        _providers.remove(msg.sender);
        if (stake > 0) _stakeToken.safeTransfer(msg.sender, stake);
        emit ExitCompleted(msg.sender, stake);
    }

    // ---------------------------------------------------------------- hooks

    /// @inheritdoc IProviderRegistry
    function recordLeaseOutcome(address provider, bool completed) external {
        if (msg.sender != marketplace && msg.sender != serviceManager) {
            revert ProviderRegistryNotMarketplace(msg.sender);
        }
        Record storage r = _records[provider];
        // A provider that exited while its last lease was closing is not registered; nothing to count.
        if (r.status == ProviderStatus.None) return;
        if (completed) r.leasesCompleted += 1;
        else r.leasesFailed += 1;
        r.profileChangedAt = _blockNumber();
        emit LeaseOutcomeRecorded(provider, completed, r.leasesCompleted, r.leasesFailed);
    }

    /// @inheritdoc IProviderRegistry
    function setUptime(address provider, uint16 uptimeBps) external onlyServiceManager {
        Record storage r = _records[provider];
        if (r.status == ProviderStatus.None) revert ProviderRegistryNotRegistered(provider);
        if (uptimeBps > BPS) revert ProviderRegistryInvalidUptime(uptimeBps);
        r.uptimeBps = uptimeBps;
        r.profileChangedAt = _blockNumber();
        emit UptimeSet(provider, uptimeBps);
    }

    /// @inheritdoc IProviderRegistry
    function slash(address provider, uint256 amount, address recipient, bool jail) external onlyServiceManager nonReentrant {
        Record storage r = _records[provider];
        if (r.status == ProviderStatus.None) revert ProviderRegistryNotRegistered(provider);
        if (recipient == address(0)) revert ProviderRegistryZeroAddress();
        uint256 stake = _stakes[provider];
        if (amount > stake) revert ProviderRegistrySlashExceedsStake(amount, stake);
        _stakes[provider] = stake - amount;
        r.timesSlashed += 1;
        // An exiting provider stays exiting (its stake is still held for the delay); others can be jailed.
        if (jail && r.status != ProviderStatus.Exiting) r.status = ProviderStatus.Jailed;
        r.profileChangedAt = _blockNumber();
        if (amount > 0) _stakeToken.safeTransfer(recipient, amount);
        emit ProviderSlashed(provider, amount, recipient, jail);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IProviderRegistry
    function getProvider(address provider) external view returns (Provider memory) {
        return _provider(provider);
    }

    /// @inheritdoc IProviderRegistry
    function getProviders(address[] calldata providers) external view returns (Provider[] memory out) {
        out = new Provider[](providers.length);
        for (uint256 i = 0; i < providers.length; i++) out[i] = _provider(providers[i]);
    }

    function _provider(address provider) private view returns (Provider memory) {
        Record memory r = _records[provider];
        return Provider({
            provider: provider,
            stake: _stakes[provider],
            status: r.status,
            zone: r.zone,
            uptimeBps: r.uptimeBps,
            leasesCompleted: r.leasesCompleted,
            leasesFailed: r.leasesFailed,
            timesSlashed: r.timesSlashed
        });
    }

    /// @inheritdoc IProviderRegistry
    function matchingProfile(address provider)
        external
        view
        returns (ProviderStatus, uint16, uint16, uint32, uint32, uint32)
    {
        Record storage r = _records[provider];
        return (r.status, r.zone, r.uptimeBps, r.leasesCompleted, r.leasesFailed, r.timesSlashed);
    }

    /// @inheritdoc IProviderRegistry
    function profileChangedAt(address provider) external view returns (uint32) {
        return _records[provider].profileChangedAt;
    }

    /// @inheritdoc IProviderRegistry
    function reputationBps(address provider) external view returns (uint16) {
        Record storage r = _records[provider];
        return uint16((uint256(r.leasesCompleted) + 1) * BPS / (uint256(r.leasesCompleted) + r.leasesFailed + 2));
    }

    /// @inheritdoc IProviderRegistry
    function exitReadyAt(address provider) external view returns (uint64) {
        Record storage r = _records[provider];
        if (r.status != ProviderStatus.Exiting) return 0;
        return r.exitRequestedAt + exitDelay;
    }

    /// @inheritdoc IProviderRegistry
    function stakeToken() external view returns (address) {
        return address(_stakeToken);
    }

    /// @inheritdoc IProviderRegistry
    function offerBook() external view returns (address) {
        return address(_offerBook);
    }

    /// @inheritdoc IProviderRegistry
    function providerCount() external view returns (uint256) {
        return _providers.length();
    }

    /// @inheritdoc IProviderRegistry
    function providerAt(uint256 index) external view returns (address) {
        return _providers.at(index);
    }

    function _blockNumber() private view returns (uint32) {
        return SafeCast.toUint32(block.number);
    }
}
