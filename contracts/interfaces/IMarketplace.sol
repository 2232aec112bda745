// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IGpuCatalog} from "./IGpuCatalog.sol";

/// @title IMarketplace
/// @notice Orders with escrow, leases, and the money that flows between renters and providers. Mirrors `Order`,
///         `OrderStatus`, `Assignment`, `Lease`, `LeaseStatus` and `CloseReason` in protocol/market/types.ts.
interface IMarketplace {
    enum OrderStatus {
        None,
        Open,
        Matched,
        Cancelled,
        Expired
    }

    enum LeaseStatus {
        None,
        Active,
        Closed
    }

    /// @notice Why a lease closed, in terms the renter can act on (docs/contracts.md, "Leases").
    enum CloseReason {
        None,
        /// ran to its paid end (the provider marked it ready)
        Completed,
        /// the renter closed it early (`closeLease`)
        RenterClosed,
        /// the provider closed it early (`closeLeaseByProvider`); counted as a failure
        ProviderClosed,
        /// the service manager reported a provider fault; counted as a failure
        ProviderFault,
        /// the provider never marked it ready: the renter got back everything it paid; counted as a failure
        HandoffTimeout
    }

    /// @notice Why `applyAssignments` skipped an assignment (one hard rule each).
    enum SkipReason {
        UnknownOrder,
        OrderNotOpen,
        OrderCreatedAfterReference,
        OrderExpired,
        GpuCountMismatch,
        PriceAboveMax,
        UnknownOfferVersion,
        OfferVersionNotActive,
        PriceMismatch,
        PaymentTokenMismatch,
        ModelMismatch,
        TierTooLow,
        InsufficientCapacity,
        ProviderNotActive,
        RegionNotAllowed,
        UptimeTooLow,
        ReputationTooLow,
        TooManySlashes,
        OfferWithdrawn,
        OfferCapacityReduced
    }

    /// @notice What a renter passes to `createOrder`: what it wants, where, at which price and for how long.
    struct OrderParams {
        uint16 modelId;
        IGpuCatalog.Tier minTier;
        uint32 gpuCount;
        uint64 regionMask;
        uint16 preferredZone;
        uint128 maxPricePerGpuHour;
        uint32 durationHours;
        uint16 minUptimeBps;
        uint16 minReputationBps;
        uint32 maxTimesSlashed;
        uint64 expiresAt;
        address paymentToken;
    }

    /// @notice An order: its parameters, who placed it, when, and its status (`Order` in types.ts has the same
    ///         fields, `params` spread). Immutable after creation except `status`.
    struct Order {
        uint64 orderId;
        address renter;
        uint64 createdAt;
        OrderStatus status;
        OrderParams params;
    }

    /// @notice One matcher output row (`Assignment` in types.ts).
    struct Assignment {
        uint64 orderId;
        uint64 offerVersionId;
        uint32 gpuCount;
        uint128 pricePerGpuHour;
    }

    /// @notice A lease as read by off-chain code (`Lease` in types.ts). Its id is its order's id (an order is
    ///         matched at most once); times are unix seconds, `endsAt` = `startedAt` + (the order's durationHours +
    ///         the hours added by `extendLease`) × 3600. `startBlock` is the block the lease started in, `readyAt`
    ///         the block in which its provider called `markLeaseReady` (0 = not yet).
    struct Lease {
        uint64 leaseId;
        uint64 offerVersionId;
        uint64 offerId;
        address provider;
        address renter;
        address paymentToken;
        uint32 gpuCount;
        uint128 pricePerGpuHour;
        uint64 startedAt;
        uint64 endsAt;
        uint64 closedAt;
        uint128 paidOut;
        LeaseStatus status;
        CloseReason closeReason;
        uint64 startBlock;
        uint64 readyAt;
    }

    /// @notice The five money totals of one payment token; at every block
    ///         escrowed + earned + refundable + withdrawn = deposited.
    struct MoneyTotals {
        uint256 deposited;
        uint256 escrowed;
        uint256 earned;
        uint256 refundable;
        uint256 withdrawn;
    }

    /// @notice Thrown when the payment token is not allow-listed.
    error MarketplacePaymentTokenNotAllowed(address token);
    /// @notice Thrown when an order parameter is out of range (`field` names it).
    error MarketplaceInvalidOrder(string field);
    /// @notice Thrown when the order does not exist.
    error MarketplaceUnknownOrder(uint64 orderId);
    /// @notice Thrown when the caller is not the order's renter.
    error MarketplaceNotRenter(uint64 orderId, address caller);
    /// @notice Thrown when the order is not open.
    error MarketplaceOrderNotOpen(uint64 orderId, OrderStatus status);
    /// @notice Thrown when `expireOrder` is called before the order's expiry block.
    error MarketplaceOrderNotExpired(uint64 orderId, uint64 expiresAt);
    /// @notice Thrown when a service-manager-only function is called by someone else.
    error MarketplaceNotServiceManager(address caller);
    /// @notice Thrown when the service manager is zero or set a second time.
    error MarketplaceServiceManagerAlreadySet();
    /// @notice Thrown when the reference block is not strictly below the current block.
    error MarketplaceInvalidReferenceBlock(uint64 referenceBlock);
    /// @notice Thrown when the lease does not exist.
    error MarketplaceUnknownLease(uint64 leaseId);
    /// @notice Thrown when `completeLease` is called before the lease's end.
    error MarketplaceLeaseNotEnded(uint64 leaseId, uint64 endsAt);
    /// @notice Thrown when `closeLease` is called at or after the lease's end (complete it instead).
    error MarketplaceLeaseAlreadyEnded(uint64 leaseId, uint64 endsAt);
    /// @notice Thrown when the lease is not active.
    error MarketplaceLeaseNotActive(uint64 leaseId);
    /// @notice Thrown when a withdrawal finds a zero balance.
    error MarketplaceNothingToWithdraw(address token, address account);
    /// @notice Thrown when a constructor address is zero.
    error MarketplaceZeroAddress();
    /// @notice Thrown when an order's escrow is below the payment token's minimum (`minimumEscrow`).
    error MarketplaceEscrowBelowMinimum(uint256 escrow, uint256 minimum);
    /// @notice Thrown by `releaseExcessEscrow` when the lease's excess escrow was already released or is zero.
    error MarketplaceNothingToRelease(uint64 leaseId);
    /// @notice Thrown when the caller is not the provider of the lease's offer.
    error MarketplaceNotLeaseProvider(uint64 leaseId, address caller);
    /// @notice Thrown by `markLeaseReady` on a lease already marked ready, and by `closeLeaseForHandoffTimeout`
    ///         once the provider has marked it ready.
    error MarketplaceLeaseAlreadyReady(uint64 leaseId);
    /// @notice Thrown when the sealed access bytes are empty or longer than 1024 bytes.
    error MarketplaceInvalidSealedAccess(uint256 length);
    /// @notice Thrown by `setAccessKey` when the key is neither empty nor 33 bytes starting with 0x02 or 0x03 (a
    ///         compressed secp256k1 point; whether it is on the curve is checked by the agents that seal to it).
    error MarketplaceInvalidAccessKey(uint256 length);
    /// @notice Thrown when a handoff timeout is outside [MIN_HANDOFF_TIMEOUT, MAX_HANDOFF_TIMEOUT] blocks.
    error MarketplaceInvalidHandoffTimeout(uint64 blocks);
    /// @notice Thrown by `closeLeaseForHandoffTimeout` before block `allowedFrom` (start block + timeout + 1).
    error MarketplaceHandoffNotTimedOut(uint64 leaseId, uint64 allowedFrom);
    /// @notice Thrown by `extendLease` for 0 hours, or when the lease's total hours would not fit in 32 bits.
    error MarketplaceInvalidExtension(uint32 hoursAdded);
    /// @notice Thrown by `extendLease` when the lease's offer is withdrawn.
    error MarketplaceOfferWithdrawn(uint64 offerId);
    /// @notice Thrown by `extendLease` when the offer's current version asks another price than the lease's.
    error MarketplaceOfferPriceChanged(uint64 offerId, uint128 leasePrice, uint128 currentPrice);
    /// @notice Thrown by `extendLease` when the lease's provider is not Active.
    error MarketplaceProviderNotActive(address provider);

    event PaymentTokenAllowed(address indexed token, bool allowed);
    event ServiceManagerSet(address serviceManager);
    event OrderCreated(uint64 indexed orderId, address indexed renter, address indexed paymentToken, uint256 escrow);
    event OrderCancelled(uint64 indexed orderId, uint256 refund);
    event OrderExpired(uint64 indexed orderId, uint256 refund);
    /// @notice `excessEscrow` = (max price − price) × GPUs × hours: the renter's escrow beyond the lease price, stays
    ///         escrowed until `releaseExcessEscrow` or the lease's close refunds it.
    event AssignmentApplied(
        uint64 indexed batch,
        uint64 indexed orderId,
        uint64 indexed offerVersionId,
        uint128 pricePerGpuHour,
        uint256 excessEscrow
    );
    event AssignmentSkipped(uint64 indexed batch, uint64 indexed orderId, SkipReason reason);
    event EarningsSettled(uint64 indexed leaseId, address indexed provider, uint256 amount);
    event LeaseClosed(uint64 indexed leaseId, CloseReason reason, uint64 closedAt, uint256 refund);
    event MinimumEscrowSet(address indexed token, uint256 minimum);
    event ExcessEscrowReleased(uint64 indexed leaseId, address indexed renter, uint256 amount);
    /// @notice The provider handed the lease over: `sealedAccess` is the access sealed to the renter's key (it
    ///         lives in this event only; nothing stores it).
    event LeaseReady(uint64 indexed leaseId, address indexed provider, bytes sealedAccess);
    event LeaseExtended(uint64 indexed leaseId, uint32 hoursAdded, uint64 endsAt, uint256 paid);
    /// @notice `renter` named the key its leases' access is sealed to (empty: cleared, back to its own account key).
    event AccessKeySet(address indexed renter, bytes accessKey);
    event HandoffTimeoutSet(uint64 blocks);
    event RefundWithdrawn(address indexed renter, address indexed token, uint256 amount);
    event EarningsWithdrawn(address indexed provider, address indexed token, uint256 amount);

    /// @notice Allows or disallows a payment token for new orders (existing orders keep theirs). Only the owner.
    function setPaymentTokenAllowed(address token, bool allowed) external;

    /// @notice Sets the smallest escrow an order in `token` may take (dust orders cost their sender, not the
    ///         network: docs/protocol.md §4). Only the owner.
    function setMinimumEscrow(address token, uint256 minimum) external;

    /// @notice An active lease's excess escrow not released yet (0 once released or closed).
    function excessEscrowOf(uint64 leaseId) external view returns (uint256);

    /// @notice The smallest escrow an order in `token` may take.
    function minimumEscrow(address token) external view returns (uint256);

    /// @notice Sets the service manager, once. Only the owner.
    function setServiceManager(address serviceManager) external;

    /// @notice Creates an order and escrows maxPricePerGpuHour × gpuCount × durationHours of its payment token
    ///         (approve first). Requires block.number < expiresAt ≤ block.number + maxOrderLifetime.
    function createOrder(OrderParams calldata params) external returns (uint64 orderId);

    /// @notice Cancels an open order (even one past its expiry block); its full escrow becomes refundable. Only
    ///         the renter.
    function cancelOrder(uint64 orderId) external;

    /// @notice Marks an open order past its expiry block Expired; its full escrow becomes refundable. Anyone.
    function expireOrder(uint64 orderId) external;

    /// @notice Applies a batch's assignments one by one: an assignment that breaks a hard rule is skipped with
    ///         `AssignmentSkipped`, never reverting the batch. Only the service manager; `referenceBlock` < now.
    ///         Returns the first skipped assignment that was already wrong at `referenceBlock` (docs/protocol.md §5:
    ///         signing it is a fault), or `invalid` false when every skip is explained by a change after it.
    function applyAssignments(uint64 batch, uint64 referenceBlock, Assignment[] calldata assignments)
        external
        returns (bool invalid, uint64 orderId, SkipReason reason);

    /// @notice Moves the lease's earnings accrued so far into its provider's withdrawable balance. Anyone.
    function settleLease(uint64 leaseId) external;

    /// @notice The renter closes an active lease before its end; the unused part becomes refundable (all of it
    ///         when the provider never marked the lease ready).
    function closeLease(uint64 leaseId) external;

    /// @notice The lease's provider hands the lease over: records `readyAt` = this block and emits `LeaseReady` with
    ///         the access sealed to the renter. Only the provider, only while Active, once;
    ///         1 ≤ sealedAccess.length ≤ 1024. Earnings settle only once a lease is ready.
    function markLeaseReady(uint64 leaseId, bytes calldata sealedAccess) external;

    /// @notice The caller (a renter, typically a contract account: a multisig or smart wallet has no key to recover
    ///         from its transactions) names the public key its leases' access is sealed to: 33 bytes, a compressed
    ///         secp256k1 point (0x02/0x03 ‖ x), or empty to clear it. Agents seal to it when it is set at the block
    ///         they hand a lease over (docs/agent.md).
    function setAccessKey(bytes calldata accessKey) external;

    /// @notice The access key `renter` named with `setAccessKey` (empty if none).
    function accessKeyOf(address renter) external view returns (bytes memory);

    /// @notice Blocks a provider has, from the lease's start block, to mark it ready.
    function handoffTimeout() external view returns (uint64);

    /// @notice Sets `handoffTimeout` (applies to every lease not yet ready). Only the owner; within
    ///         [MIN_HANDOFF_TIMEOUT, MAX_HANDOFF_TIMEOUT].
    function setHandoffTimeout(uint64 blocks) external;

    /// @notice The renter closes a lease its provider never marked ready, from block
    ///         startBlock + handoffTimeout + 1 on: everything it paid for the lease (escrow and extensions) becomes
    ///         refundable, the provider earns nothing and a failure is counted. Reason HandoffTimeout.
    function closeLeaseForHandoffTimeout(uint64 leaseId) external;

    /// @notice The renter buys `hoursAdded` more of an active lease before its end, at the lease's price: pulls
    ///         gpuCount × price × hoursAdded (approve first) and moves `endsAt`. Needs the offer not withdrawn (its
    ///         GPUs then still cover the lease's), its current version at the lease's price, and the provider Active.
    function extendLease(uint64 leaseId, uint32 hoursAdded) external;

    /// @notice The lease's provider closes it before its end: the unused part becomes refundable (all of it if
    ///         the lease was never marked ready), a failure is counted. Reason ProviderClosed.
    function closeLeaseByProvider(uint64 leaseId) external;

    /// @notice Moves an active lease's excess escrow (max price − price, × GPUs × hours) into its renter's
    ///         refundable balance now instead of at the lease's close. Anyone; once per lease.
    function releaseExcessEscrow(uint64 leaseId) external;

    /// @notice Closes an active lease past its end as Completed and counts it for the provider. Anyone. A lease
    ///         its provider never marked ready closes as HandoffTimeout instead: full refund, failure counted.
    function completeLease(uint64 leaseId) external;

    /// @notice Closes an active lease as ProviderFault: unused part refundable, failure counted. Only the service
    ///         manager, which calls it nowhere yet (provider faults, docs/protocol.md §5).
    function closeLeaseForProviderFault(uint64 leaseId) external;

    /// @notice Pays the caller's refundable balance in `token`.
    function withdrawRefund(address token) external;

    /// @notice Pays the caller's earned balance in `token`.
    function withdrawEarnings(address token) external;

    function getOrder(uint64 orderId) external view returns (Order memory);
    function getOrders(uint64[] calldata orderIds) external view returns (Order[] memory);
    function getLease(uint64 leaseId) external view returns (Lease memory);
    /// @notice Earnings of the lease accrued up to now (capped at its end or close) and not yet settled; 0 until
    ///         the lease is marked ready (nothing settles before).
    function unsettledEarnings(uint64 leaseId) external view returns (uint256);
    function orderCount() external view returns (uint64);
    /// @notice The smallest order id whose createdAt ≥ `blockNumber` (orderCount + 1 if none); createdAt grows
    ///         with the id, so this is a binary search.
    function firstOrderCreatedAtOrAfter(uint64 blockNumber) external view returns (uint64);
    /// @notice The first order id that can be open at this block: orders created ≥ maxOrderLifetime blocks ago
    ///         have expired. Call at R_b (eth_call with blockTag R_b) to start the scan of R_b's open orders.
    function openOrdersScanStart() external view returns (uint64);
    /// @notice The orders among ids [fromId, fromId + maxScan) that are open at this block (status Open and
    ///         block.number < expiresAt), and the id to continue from (orderCount + 1 when done).
    function openOrders(uint64 fromId, uint64 maxScan) external view returns (Order[] memory orders, uint64 nextId);
    /// @notice What `openOrders` returns, packed for bulk reads: 136 bytes per open order — its id (8 bytes,
    ///         big-endian), then its four storage words as stored (the `OrderRecord` struct of Marketplace.sol,
    ///         decoded by protocol/chain/packed.ts) —, and the id to continue from. A quarter of the ABI encoding's
    ///         bytes and no per-field copying.
    function openOrdersPacked(uint64 fromId, uint64 maxScan) external view returns (bytes memory packed, uint64 nextId);
    function moneyTotals(address token) external view returns (MoneyTotals memory);
    function refundableOf(address token, address renter) external view returns (uint256);
    function earningsOf(address token, address provider) external view returns (uint256);
    function isPaymentTokenAllowed(address token) external view returns (bool);
    function serviceManager() external view returns (address);
    function maxOrderLifetime() external view returns (uint64);
}
