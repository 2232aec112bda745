// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IProviderRegistry
/// @notice Providers of GPU capacity: stake, location, status and the counters that feed matching. Mirrors
///         `Provider` and `ProviderStatus` in protocol/market/types.ts field for field.
interface IProviderRegistry {
    enum ProviderStatus {
        None,
        Active,
        Maintenance,
        Jailed,
        Exiting
    }

    /// @notice A provider as read by off-chain code at a reference block (`Provider` in types.ts).
    struct Provider {
        address provider;
        uint256 stake;
        ProviderStatus status;
        uint16 zone;
        uint16 uptimeBps;
        uint32 leasesCompleted;
        uint32 leasesFailed;
        uint32 timesSlashed;
    }

    /// @notice Thrown when the caller is already registered.
    error ProviderRegistryAlreadyRegistered(address provider);
    /// @notice Thrown when the provider is not registered.
    error ProviderRegistryNotRegistered(address provider);
    /// @notice Thrown when a registration stakes less than `minProviderStake`.
    error ProviderRegistryStakeBelowMinimum(uint256 stake, uint256 minimum);
    /// @notice Thrown when a zone's region (zone >> 8) is above 63 or its local part (zone & 0xff) is 0.
    error ProviderRegistryInvalidZone(uint16 zone);
    /// @notice Thrown when an amount is zero.
    error ProviderRegistryZeroAmount();
    /// @notice Thrown when the provider's status does not allow the action.
    error ProviderRegistryWrongStatus(address provider, ProviderStatus status);
    /// @notice Thrown when an exit is completed before `exitDelay` blocks passed since it was requested.
    error ProviderRegistryExitDelayNotElapsed(uint64 readyAtBlock);
    /// @notice Thrown when an exit is completed while one of the provider's offers still has leased GPUs.
    error ProviderRegistryActiveLeases(address provider);
    /// @notice Thrown when a hook is called by someone other than the service manager.
    error ProviderRegistryNotServiceManager(address caller);
    /// @notice Thrown when a lease-outcome hook is called by someone other than the marketplace or service manager.
    error ProviderRegistryNotMarketplace(address caller);
    /// @notice Thrown when a wiring address is zero.
    error ProviderRegistryZeroAddress();
    /// @notice Thrown when a wiring address that can be set only once is set again.
    error ProviderRegistryAlreadySet();
    /// @notice Thrown when an uptime is above 10 000 basis points.
    error ProviderRegistryInvalidUptime(uint16 uptimeBps);
    /// @notice Thrown when a slash asks for more than the provider's stake.
    error ProviderRegistrySlashExceedsStake(uint256 amount, uint256 stake);

    event ProviderRegistered(address indexed provider, uint16 zone, uint256 stake);
    event StakeAdded(address indexed provider, uint256 amount, uint256 newStake);
    event MaintenanceSet(address indexed provider, bool inMaintenance);
    event ExitRequested(address indexed provider, uint64 readyAtBlock);
    event ExitCompleted(address indexed provider, uint256 stakeReturned);
    event LeaseOutcomeRecorded(address indexed provider, bool completed, uint32 leasesCompleted, uint32 leasesFailed);
    event UptimeSet(address indexed provider, uint16 uptimeBps);
    event ProviderSlashed(address indexed provider, uint256 amount, address indexed recipient, bool jailed);
    event MinProviderStakeSet(uint256 minProviderStake);
    event ExitDelaySet(uint64 exitDelayBlocks);
    event ServiceManagerSet(address serviceManager);
    event MarketplaceSet(address marketplace, address offerBook);

    /// @notice Registers the caller in `zone`, pulling `stake` stake tokens (approve first). Status becomes Active.
    function register(uint16 zone, uint256 stake) external;

    /// @notice Adds `amount` stake tokens to the caller's stake (any registered status).
    function topUp(uint256 amount) external;

    /// @notice Moves the caller between Active and Maintenance; a provider in maintenance is never matched.
    function setMaintenance(bool inMaintenance) external;

    /// @notice Starts the caller's exit; it is no longer matched. Allowed from Active, Maintenance or Jailed.
    function requestExit() external;

    /// @notice Returns the caller's stake once `exitDelay` blocks passed since `requestExit` and none of its
    ///         offers has leased GPUs; status becomes None. The address may register again and keeps its
    ///         counters (uptime, leases completed/failed, times slashed).
    function completeExit() external;

    /// @notice Counts a lease outcome (completed or failed). Only the marketplace or the service manager.
    function recordLeaseOutcome(address provider, bool completed) external;

    /// @notice Sets the provider's operator-attested uptime. Only the service manager, which calls it nowhere yet (docs/protocol.md §5).
    function setUptime(address provider, uint16 uptimeBps) external;

    /// @notice Takes `amount` of the provider's stake to `recipient`, counts the slash, optionally jails.
    ///         Only the service manager, which calls it nowhere yet (docs/protocol.md §5).
    function slash(address provider, uint256 amount, address recipient, bool jail) external;

    /// @notice The provider record (`Provider` in types.ts); status None if not registered.
    function getProvider(address provider) external view returns (Provider memory);

    /// @notice `getProvider` of each address, in the order given (one call for a batch's providers).
    function getProviders(address[] calldata providers) external view returns (Provider[] memory);

    /// @notice The fields matching reads, from one storage slot (the marketplace's hot path).
    function matchingProfile(address provider)
        external
        view
        returns (
            ProviderStatus status,
            uint16 zone,
            uint16 uptimeBps,
            uint32 leasesCompleted,
            uint32 leasesFailed,
            uint32 timesSlashed
        );

    /// @notice The block of the last change to anything `matchingProfile` returns (0: never registered). A profile
    ///         unchanged since block R was the same at R, so a rule it breaks now it broke at R (docs/protocol.md §5).
    function profileChangedAt(address provider) external view returns (uint32);

    /// @notice (completed + 1) × 10 000 / (completed + failed + 2), rounded down (types.ts `reputationBps`).
    function reputationBps(address provider) external view returns (uint16);

    /// @notice The block at which `completeExit` becomes possible (0 if no exit was requested).
    function exitReadyAt(address provider) external view returns (uint64);

    /// @notice The token providers stake.
    function stakeToken() external view returns (address);

    /// @notice Minimum stake of a new registration (existing providers keep theirs).
    function minProviderStake() external view returns (uint256);

    /// @notice Blocks between `requestExit` and `completeExit`.
    function exitDelay() external view returns (uint64);

    /// @notice The address allowed to slash and record uptime (zero until set).
    function serviceManager() external view returns (address);

    /// @notice The marketplace, which records lease outcomes (zero until set).
    function marketplace() external view returns (address);

    /// @notice The offer book `completeExit` asks whether the provider still has leased GPUs (zero until set).
    function offerBook() external view returns (address);

    /// @notice How many addresses ever registered and have not completed their exit.
    function providerCount() external view returns (uint256);

    /// @notice The provider at `index` of those, in registration order.
    function providerAt(uint256 index) external view returns (address);
}
