// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IMarketplace} from "../interfaces/IMarketplace.sol";
import {IGpuCatalog} from "../interfaces/IGpuCatalog.sol";
import {IOfferBook} from "../interfaces/IOfferBook.sol";
import {IProviderRegistry} from "../interfaces/IProviderRegistry.sol";

/// @title Marketplace
/// @notice Orders with escrow, the leases the service manager's assignments create, and every payment-token
///         movement. Money is tracked per token in five totals; at every block
///         escrowed + earned + refundable + withdrawn = deposited, and the contract holds deposited − withdrawn.
/// @dev A lease's id is its order's id (an order is matched at most once) and its data lives in the order's last
///      storage slot, which `applyAssignments` has already read: applying an assignment writes no fresh slot for
///      the lease. The lease price is the offer version's price (versions are immutable), so it is not stored.
///      What a lease gains later (ready block, extension hours, settlement) lives in one `Settlement` slot, written
///      first by whoever touches the lease after its start, never by the batch.
contract Marketplace is IMarketplace, Ownable, ReentrancyGuard {
    using SafeERC20 for IERC20;

    uint16 private constant BPS = 10_000;
    uint64 private constant SECONDS_PER_HOUR = 3600;
    /// Bound of the sealed access a provider hands over in `LeaseReady`: a small envelope (an ephemeral key, a
    /// nonce, a tag and a few hundred bytes of connection details), never bulk data in the renter's log stream.
    uint256 public constant MAX_SEALED_ACCESS = 1024;
    /// A provider needs at least one block to see the lease and one for its `markLeaseReady` to land.
    uint64 public constant MIN_HANDOFF_TIMEOUT = 2;
    /// A renter's money is never held more than about a day (7 200 blocks at 12 s) by a provider that does not
    /// hand the lease over.
    uint64 public constant MAX_HANDOFF_TIMEOUT = 7_200;
    /// The handoff timeout a fresh deployment starts with: 20 blocks (20 s on the 1 s devnet, 4 min at 12 s); the
    /// owner raises it for slower chains with `setHandoffTimeout`.
    uint64 public constant DEFAULT_HANDOFF_TIMEOUT = 20;

    /// Four slots; the comments show the packing. Slot 3 carries the status and the lease.
    struct OrderRecord {
        // slot 0
        address renter;
        uint16 modelId;
        IGpuCatalog.Tier minTier;
        uint32 gpuCount;
        uint16 preferredZone;
        uint16 minUptimeBps;
        // slot 1
        uint128 maxPricePerGpuHour;
        uint64 regionMask;
        uint64 expiresAt;
        // slot 2
        address paymentToken;
        uint32 durationHours;
        uint16 minReputationBps;
        uint32 maxTimesSlashed;
        // slot 3
        uint64 createdAt;
        OrderStatus status;
        uint64 leaseVersionId;
        uint40 leaseStartedAt; // unix seconds (uint40 lasts past the year 36 000)
        uint40 leaseStartBlock;
        LeaseStatus leaseStatus;
        CloseReason closeReason;
        bool excessReleased;
    }

    /// Written only when the lease is marked ready or extended, its earnings are settled or it closes, never when
    /// it starts. One slot.
    struct Settlement {
        uint128 paidOut;
        uint40 closedAt; // unix seconds
        uint40 readyAt; // block number, 0 = not marked ready
        uint32 extendedHours; // hours bought with extendLease, on top of the order's durationHours
    }

    IGpuCatalog private immutable _catalog;
    IProviderRegistry private immutable _registry;
    IOfferBook private immutable _offerBook;
    /// @inheritdoc IMarketplace
    uint64 public immutable maxOrderLifetime;
    /// @inheritdoc IMarketplace
    address public serviceManager;

    /// @inheritdoc IMarketplace
    uint64 public orderCount;
    /// @inheritdoc IMarketplace
    uint64 public handoffTimeout = DEFAULT_HANDOFF_TIMEOUT;
    mapping(uint64 orderId => OrderRecord) private _orders;
    mapping(uint64 leaseId => Settlement) private _settlements;
    mapping(address token => bool) private _allowedTokens;
    mapping(address token => uint256) private _minimumEscrow;
    mapping(address token => MoneyTotals) private _totals;
    mapping(address token => mapping(address renter => uint256)) private _refundable;
    mapping(address token => mapping(address provider => uint256)) private _earnings;
    mapping(address renter => bytes) private _accessKeys;

    /// @param initialOwner allow-lists payment tokens and sets the service manager.
    /// @param maxOrderLifetime_ an order's expiresAt is at most this many blocks after its creation; it bounds the
    ///        scan for open orders (`openOrdersScanStart`), so it is fixed for the contract's life.
    constructor(
        address initialOwner,
        address catalog_,
        address registry_,
        address offerBook_,
        uint64 maxOrderLifetime_
    ) Ownable(initialOwner) {
        if (catalog_ == address(0) || registry_ == address(0) || offerBook_ == address(0)) {
            revert MarketplaceZeroAddress();
        }
        _catalog = IGpuCatalog(catalog_);
        _registry = IProviderRegistry(registry_);
        _offerBook = IOfferBook(offerBook_);
        maxOrderLifetime = maxOrderLifetime_;
    }

    // ---------------------------------------------------------------- owner

    /// @inheritdoc IMarketplace
    function setPaymentTokenAllowed(address token, bool allowed) external onlyOwner {
        if (token == address(0)) revert MarketplaceZeroAddress();
        _allowedTokens[token] = allowed;
        emit PaymentTokenAllowed(token, allowed);
    }

    /// @inheritdoc IMarketplace
    function setMinimumEscrow(address token, uint256 minimum) external onlyOwner {
        if (token == address(0)) revert MarketplaceZeroAddress();
        _minimumEscrow[token] = minimum;
        emit MinimumEscrowSet(token, minimum);
    }

    /// @inheritdoc IMarketplace
    function setHandoffTimeout(uint64 blocks) external onlyOwner {
        if (blocks < MIN_HANDOFF_TIMEOUT || blocks > MAX_HANDOFF_TIMEOUT) revert MarketplaceInvalidHandoffTimeout(blocks);
        handoffTimeout = blocks;
        emit HandoffTimeoutSet(blocks);
    }

    /// @inheritdoc IMarketplace
    function setServiceManager(address serviceManager_) external onlyOwner {
        if (serviceManager_ == address(0) || serviceManager != address(0)) {
            revert MarketplaceServiceManagerAlreadySet();
        }
        serviceManager = serviceManager_;
        emit ServiceManagerSet(serviceManager_);
    }

    // ---------------------------------------------------------------- orders

    /// @inheritdoc IMarketplace
    function createOrder(OrderParams calldata p) external nonReentrant returns (uint64 orderId) {
        _validate(p);
        uint256 escrow = uint256(p.maxPricePerGpuHour) * p.gpuCount * p.durationHours;
        uint256 minimum = _minimumEscrow[p.paymentToken];
        if (escrow < minimum) revert MarketplaceEscrowBelowMinimum(escrow, minimum);
        orderId = ++orderCount;
        _orders[orderId] = OrderRecord({
            renter: msg.sender,
            modelId: p.modelId,
            minTier: p.minTier,
            gpuCount: p.gpuCount,
            preferredZone: p.preferredZone,
            minUptimeBps: p.minUptimeBps,
            maxPricePerGpuHour: p.maxPricePerGpuHour,
            regionMask: p.regionMask,
            expiresAt: p.expiresAt,
            paymentToken: p.paymentToken,
            durationHours: p.durationHours,
            minReputationBps: p.minReputationBps,
            maxTimesSlashed: p.maxTimesSlashed,
            createdAt: SafeCast.toUint64(block.number),
            status: OrderStatus.Open,
            leaseVersionId: 0,
            leaseStartedAt: 0,
            leaseStartBlock: 0,
            leaseStatus: LeaseStatus.None,
            closeReason: CloseReason.None,
            excessReleased: false
        });
        MoneyTotals storage m = _totals[p.paymentToken];
        m.deposited += escrow;
        m.escrowed += escrow;
        IERC20(p.paymentToken).safeTransferFrom(msg.sender, address(this), escrow);
        emit OrderCreated(orderId, msg.sender, p.paymentToken, escrow);
    }

    /// @inheritdoc IMarketplace
    function cancelOrder(uint64 orderId) external {
        OrderRecord storage o = _openOrder(orderId);
        if (o.renter != msg.sender) revert MarketplaceNotRenter(orderId, msg.sender);
        o.status = OrderStatus.Cancelled;
        uint256 refund = _refundEscrow(o);
        emit OrderCancelled(orderId, refund);
    }

    /// @inheritdoc IMarketplace
    function expireOrder(uint64 orderId) external {
        OrderRecord storage o = _openOrder(orderId);
        if (block.number < o.expiresAt) revert MarketplaceOrderNotExpired(orderId, o.expiresAt);
        o.status = OrderStatus.Expired;
        uint256 refund = _refundEscrow(o);
        emit OrderExpired(orderId, refund);
    }

    // ---------------------------------------------------------------- assignments

    /// @inheritdoc IMarketplace
    function applyAssignments(uint64 batch, uint64 referenceBlock, Assignment[] calldata assignments)
        external
        returns (bool invalid, uint64 orderId, SkipReason reason)
    {
        if (msg.sender != serviceManager) revert MarketplaceNotServiceManager(msg.sender);
        if (referenceBlock >= block.number) revert MarketplaceInvalidReferenceBlock(referenceBlock);
        for (uint256 i = 0; i < assignments.length; ++i) {
            Assignment calldata a = assignments[i];
            (bool applied, SkipReason r, address provider) = _tryApply(batch, referenceBlock, a);
            if (applied) continue;
            emit AssignmentSkipped(batch, a.orderId, r);
            if (!invalid && _wrongAtReference(r, a.orderId, provider, referenceBlock)) {
                (invalid, orderId, reason) = (true, a.orderId, r);
            }
        }
    }

    /// Whether a skip proves the assignment was already wrong at R_b (docs/protocol.md §5): order and offer-version
    /// fields never change, capacity leased at apply time is at most what was leased at R_b plus this batch's own
    /// leases, and a provider profile unchanged since R_b was the same at R_b. A cancelled or matched order, an
    /// offer withdrawn or cut, or a profile changed after R_b explains the skip without a fault.
    function _wrongAtReference(SkipReason r, uint64 orderId, address provider, uint64 referenceBlock)
        private
        view
        returns (bool)
    {
        if (r == SkipReason.OrderNotOpen || r == SkipReason.OfferWithdrawn || r == SkipReason.OfferCapacityReduced) {
            return false;
        }
        if (r == SkipReason.OrderExpired) return _orders[orderId].expiresAt <= referenceBlock;
        if (r >= SkipReason.ProviderNotActive && r <= SkipReason.TooManySlashes) {
            return _registry.profileChangedAt(provider) <= referenceBlock;
        }
        return true;
    }

    /// Checks every hard rule, cheapest first (the order's slots, then one offer-book call, then one registry
    /// call), and applies the assignment only if all hold.
    function _tryApply(uint64 batch, uint64 referenceBlock, Assignment calldata a)
        private
        returns (bool, SkipReason, address)
    {
        OrderRecord storage o = _orders[a.orderId];
        OrderStatus status = o.status;
        if (status != OrderStatus.Open) {
            return (false, status == OrderStatus.None ? SkipReason.UnknownOrder : SkipReason.OrderNotOpen, address(0));
        }
        if (o.createdAt > referenceBlock) return (false, SkipReason.OrderCreatedAfterReference, address(0));
        if (block.number >= o.expiresAt) return (false, SkipReason.OrderExpired, address(0));
        if (a.gpuCount != o.gpuCount) return (false, SkipReason.GpuCountMismatch, address(0));
        uint128 maxPrice = o.maxPricePerGpuHour;
        if (a.pricePerGpuHour > maxPrice) return (false, SkipReason.PriceAboveMax, address(0));

        IOfferBook.LeaseTerms memory t = _offerBook.leaseTerms(a.offerVersionId);
        (bool ok, SkipReason reason) = _checkOffer(o, a, t, referenceBlock);
        if (!ok) return (false, reason, t.provider);
        (ok, reason) = _checkProvider(o, t.provider);
        if (!ok) return (false, reason, t.provider);

        o.status = OrderStatus.Matched;
        o.leaseVersionId = a.offerVersionId;
        o.leaseStartedAt = SafeCast.toUint40(block.timestamp);
        o.leaseStartBlock = SafeCast.toUint40(block.number);
        o.leaseStatus = LeaseStatus.Active;
        _offerBook.leaseCapacity(t.offerId, a.gpuCount);

        // The excess escrow stays escrowed (no write to the renter's balance on this path): releaseExcessEscrow or
        // the lease's close refunds it.
        uint256 excess = uint256(maxPrice - a.pricePerGpuHour) * a.gpuCount * o.durationHours;
        emit AssignmentApplied(batch, a.orderId, a.offerVersionId, a.pricePerGpuHour, excess);
        return (true, SkipReason.UnknownOrder, t.provider); // the reason is ignored when applied
    }

    function _checkOffer(
        OrderRecord storage o,
        Assignment calldata a,
        IOfferBook.LeaseTerms memory t,
        uint64 referenceBlock
    ) private view returns (bool, SkipReason) {
        if (t.offerId == 0) return (false, SkipReason.UnknownOfferVersion);
        if (t.activeFrom > referenceBlock || (t.activeUntil != 0 && t.activeUntil <= referenceBlock)) {
            return (false, SkipReason.OfferVersionNotActive);
        }
        if (a.pricePerGpuHour != t.pricePerGpuHour) return (false, SkipReason.PriceMismatch);
        if (t.paymentToken != o.paymentToken) return (false, SkipReason.PaymentTokenMismatch);
        uint16 modelId = o.modelId;
        if (modelId != 0) {
            if (modelId != t.modelId) return (false, SkipReason.ModelMismatch);
        } else if (t.tier < o.minTier) {
            return (false, SkipReason.TierTooLow);
        }
        uint256 wanted = uint256(t.gpusLeased) + a.gpuCount;
        if (wanted > t.gpuCount) return (false, SkipReason.InsufficientCapacity);
        // What the provider offers now: a withdrawal or a cut after R_b binds although the version at R_b allowed it.
        if (t.offerGpuCount == 0) return (false, SkipReason.OfferWithdrawn);
        if (wanted > t.offerGpuCount) return (false, SkipReason.OfferCapacityReduced);
        return (true, SkipReason.UnknownOrder);
    }

    function _checkProvider(OrderRecord storage o, address provider) private view returns (bool, SkipReason) {
        (
            IProviderRegistry.ProviderStatus status,
            uint16 zone,
            uint16 uptimeBps,
            uint32 completed,
            uint32 failed,
            uint32 timesSlashed
        ) = _registry.matchingProfile(provider);
        if (status != IProviderRegistry.ProviderStatus.Active) return (false, SkipReason.ProviderNotActive);
        uint64 mask = o.regionMask;
        if (mask != 0 && (mask >> (zone >> 8)) & 1 == 0) return (false, SkipReason.RegionNotAllowed);
        if (uptimeBps < o.minUptimeBps) return (false, SkipReason.UptimeTooLow);
        // Same integer as types.ts reputationBps: Laplace prior, rounded down.
        uint256 reputation = (uint256(completed) + 1) * BPS / (uint256(completed) + failed + 2);
        if (reputation < o.minReputationBps) return (false, SkipReason.ReputationTooLow);
        if (timesSlashed > o.maxTimesSlashed) return (false, SkipReason.TooManySlashes);
        return (true, SkipReason.UnknownOrder);
    }

    // ---------------------------------------------------------------- leases

    /// @inheritdoc IMarketplace
    function markLeaseReady(uint64 leaseId, bytes calldata sealedAccess) external {
        OrderRecord storage o = _leaseOrder(leaseId);
        address provider = _offerBook.leaseTerms(o.leaseVersionId).provider;
        if (msg.sender != provider) revert MarketplaceNotLeaseProvider(leaseId, msg.sender);
        if (o.leaseStatus != LeaseStatus.Active) revert MarketplaceLeaseNotActive(leaseId);
        Settlement storage s = _settlements[leaseId];
        if (s.readyAt != 0) revert MarketplaceLeaseAlreadyReady(leaseId);
        if (sealedAccess.length == 0 || sealedAccess.length > MAX_SEALED_ACCESS) {
            revert MarketplaceInvalidSealedAccess(sealedAccess.length);
        }
        s.readyAt = SafeCast.toUint40(block.number);
        emit LeaseReady(leaseId, provider, sealedAccess);
    }

    /// @inheritdoc IMarketplace
    function settleLease(uint64 leaseId) external {
        OrderRecord storage o = _leaseOrder(leaseId);
        IOfferBook.LeaseTerms memory t = _offerBook.leaseTerms(o.leaseVersionId);
        if (o.leaseStatus != LeaseStatus.Active) return; // a closed lease was settled in full when it closed
        Settlement storage s = _settlements[leaseId];
        if (s.readyAt == 0) return; // nothing is earned before the handoff (a timeout refunds it all)
        uint64 endsAt = _endsAt(o, s);
        uint64 until = block.timestamp < endsAt ? uint64(block.timestamp) : endsAt;
        _settle(leaseId, o, t, until);
    }

    /// @inheritdoc IMarketplace
    function closeLease(uint64 leaseId) external {
        OrderRecord storage o = _activeLease(leaseId);
        if (o.renter != msg.sender) revert MarketplaceNotRenter(leaseId, msg.sender);
        uint64 endsAt = _endsAt(o, _settlements[leaseId]);
        if (block.timestamp >= endsAt) revert MarketplaceLeaseAlreadyEnded(leaseId, endsAt);
        _close(leaseId, o, CloseReason.RenterClosed, uint64(block.timestamp));
    }

    /// @inheritdoc IMarketplace
    function closeLeaseForHandoffTimeout(uint64 leaseId) external {
        OrderRecord storage o = _activeLease(leaseId);
        if (o.renter != msg.sender) revert MarketplaceNotRenter(leaseId, msg.sender);
        Settlement storage s = _settlements[leaseId];
        if (s.readyAt != 0) revert MarketplaceLeaseAlreadyReady(leaseId);
        uint64 allowedFrom = uint64(o.leaseStartBlock) + handoffTimeout + 1;
        if (block.number < allowedFrom) revert MarketplaceHandoffNotTimedOut(leaseId, allowedFrom);
        uint64 endsAt = _endsAt(o, s);
        uint64 closedAt = block.timestamp < endsAt ? uint64(block.timestamp) : endsAt;
        address provider = _close(leaseId, o, CloseReason.HandoffTimeout, closedAt);
        _registry.recordLeaseOutcome(provider, false);
    }

    /// @inheritdoc IMarketplace
    function extendLease(uint64 leaseId, uint32 hoursAdded) external nonReentrant {
        OrderRecord storage o = _activeLease(leaseId);
        if (o.renter != msg.sender) revert MarketplaceNotRenter(leaseId, msg.sender);
        Settlement storage s = _settlements[leaseId];
        uint64 endsAt = _endsAt(o, s);
        if (block.timestamp >= endsAt) revert MarketplaceLeaseAlreadyEnded(leaseId, endsAt);
        uint256 extended = uint256(s.extendedHours) + hoursAdded;
        if (hoursAdded == 0 || extended + o.durationHours > type(uint32).max) {
            revert MarketplaceInvalidExtension(hoursAdded);
        }
        IOfferBook.LeaseTerms memory t = _offerBook.leaseTerms(o.leaseVersionId);
        _checkExtension(t);
        s.extendedHours = uint32(extended);
        endsAt += uint64(hoursAdded) * SECONDS_PER_HOUR;
        uint256 paid = uint256(t.pricePerGpuHour) * o.gpuCount * hoursAdded;
        address token = o.paymentToken;
        MoneyTotals storage m = _totals[token];
        m.deposited += paid;
        m.escrowed += paid;
        IERC20(token).safeTransferFrom(msg.sender, address(this), paid);
        emit LeaseExtended(leaseId, hoursAdded, endsAt, paid);
    }

    /// An extension buys more of what the lease already holds, so it needs what a new lease on the same terms
    /// would: the offer still offered, at the same price, from an Active provider. The lease's GPUs stay inside the
    /// offer's current count while it is offered: the offer book refuses a cut below its leased GPUs
    /// (`OfferBookCapacityBelowLeased`), so a withdrawal is the only way capacity goes.
    function _checkExtension(IOfferBook.LeaseTerms memory t) private view {
        if (t.offerGpuCount == 0) revert MarketplaceOfferWithdrawn(t.offerId);
        if (t.activeUntil != 0) {
            // the version was replaced: the renter keeps its price only if the current version asks the same
            uint128 current = _offerBook.versionAt(t.offerId, uint64(block.number)).pricePerGpuHour;
            if (current != t.pricePerGpuHour) revert MarketplaceOfferPriceChanged(t.offerId, t.pricePerGpuHour, current);
        }
        (IProviderRegistry.ProviderStatus status,,,,,) = _registry.matchingProfile(t.provider);
        if (status != IProviderRegistry.ProviderStatus.Active) revert MarketplaceProviderNotActive(t.provider);
    }

    /// @inheritdoc IMarketplace
    function closeLeaseByProvider(uint64 leaseId) external {
        OrderRecord storage o = _leaseOrder(leaseId);
        if (msg.sender != _offerBook.leaseTerms(o.leaseVersionId).provider) {
            revert MarketplaceNotLeaseProvider(leaseId, msg.sender);
        }
        if (o.leaseStatus != LeaseStatus.Active) revert MarketplaceLeaseNotActive(leaseId);
        uint64 endsAt = _endsAt(o, _settlements[leaseId]);
        if (block.timestamp >= endsAt) revert MarketplaceLeaseAlreadyEnded(leaseId, endsAt);
        address provider = _close(leaseId, o, CloseReason.ProviderClosed, uint64(block.timestamp));
        _registry.recordLeaseOutcome(provider, false);
    }

    /// @inheritdoc IMarketplace
    function releaseExcessEscrow(uint64 leaseId) external {
        OrderRecord storage o = _activeLease(leaseId);
        uint256 excess = o.excessReleased ? 0 : _excessEscrow(o);
        if (excess == 0) revert MarketplaceNothingToRelease(leaseId);
        o.excessReleased = true;
        _moveToRefundable(o.paymentToken, o.renter, excess);
        emit ExcessEscrowReleased(leaseId, o.renter, excess);
    }

    /// @inheritdoc IMarketplace
    function completeLease(uint64 leaseId) external {
        OrderRecord storage o = _activeLease(leaseId);
        Settlement storage s = _settlements[leaseId];
        uint64 endsAt = _endsAt(o, s);
        if (block.timestamp < endsAt) revert MarketplaceLeaseNotEnded(leaseId, endsAt);
        bool ready = s.readyAt != 0;
        address provider = _close(leaseId, o, ready ? CloseReason.Completed : CloseReason.HandoffTimeout, endsAt);
        _registry.recordLeaseOutcome(provider, ready);
    }

    /// @inheritdoc IMarketplace
    function closeLeaseForProviderFault(uint64 leaseId) external {
        if (msg.sender != serviceManager) revert MarketplaceNotServiceManager(msg.sender);
        OrderRecord storage o = _activeLease(leaseId);
        uint64 endsAt = _endsAt(o, _settlements[leaseId]);
        uint64 closedAt = block.timestamp < endsAt ? uint64(block.timestamp) : endsAt;
        address provider = _close(leaseId, o, CloseReason.ProviderFault, closedAt);
        _registry.recordLeaseOutcome(provider, false);
    }

    // ---------------------------------------------------------------- withdrawals

    /// @inheritdoc IMarketplace
    function withdrawRefund(address token) external nonReentrant {
        (uint256 amount, MoneyTotals storage m) = _takeBalance(token, _refundable[token]);
        m.refundable -= amount;
        IERC20(token).safeTransfer(msg.sender, amount);
        emit RefundWithdrawn(msg.sender, token, amount);
    }

    /// @inheritdoc IMarketplace
    function withdrawEarnings(address token) external nonReentrant {
        (uint256 amount, MoneyTotals storage m) = _takeBalance(token, _earnings[token]);
        m.earned -= amount;
        IERC20(token).safeTransfer(msg.sender, amount);
        emit EarningsWithdrawn(msg.sender, token, amount);
    }

    /// Empties the caller's balance of `token` in `balances` (a refund or an earnings ledger) and counts it as
    /// withdrawn; the caller takes it off its own total and transfers it.
    function _takeBalance(address token, mapping(address => uint256) storage balances)
        private
        returns (uint256 amount, MoneyTotals storage m)
    {
        amount = balances[msg.sender];
        if (amount == 0) revert MarketplaceNothingToWithdraw(token, msg.sender);
        balances[msg.sender] = 0;
        m = _totals[token];
        m.withdrawn += amount;
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IMarketplace
    function getOrder(uint64 orderId) public view returns (Order memory) {
        OrderRecord storage o = _orders[orderId];
        if (o.status == OrderStatus.None) revert MarketplaceUnknownOrder(orderId);
        return _toOrder(orderId, o);
    }

    /// @inheritdoc IMarketplace
    function getOrders(uint64[] calldata orderIds) external view returns (Order[] memory orders) {
        orders = new Order[](orderIds.length);
        for (uint256 i = 0; i < orderIds.length; i++) {
            orders[i] = getOrder(orderIds[i]);
        }
    }

    /// @inheritdoc IMarketplace
    function getLease(uint64 leaseId) external view returns (Lease memory l) {
        OrderRecord storage o = _leaseOrder(leaseId);
        IOfferBook.LeaseTerms memory t = _offerBook.leaseTerms(o.leaseVersionId);
        Settlement storage s = _settlements[leaseId];
        l.leaseId = leaseId;
        l.offerVersionId = o.leaseVersionId;
        l.offerId = t.offerId;
        l.provider = t.provider;
        l.renter = o.renter;
        l.paymentToken = o.paymentToken;
        l.gpuCount = o.gpuCount;
        l.pricePerGpuHour = t.pricePerGpuHour;
        l.startedAt = o.leaseStartedAt;
        l.endsAt = _endsAt(o, s);
        l.closedAt = s.closedAt;
        l.paidOut = s.paidOut;
        l.status = o.leaseStatus;
        l.closeReason = o.closeReason;
        l.startBlock = o.leaseStartBlock;
        l.readyAt = s.readyAt;
    }

    /// @inheritdoc IMarketplace
    function firstOrderCreatedAtOrAfter(uint64 blockNumber) public view returns (uint64) {
        uint64 lo = 1;
        uint64 hi = orderCount + 1;
        while (lo < hi) {
            uint64 mid = lo + (hi - lo) / 2;
            if (_orders[mid].createdAt < blockNumber) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// @inheritdoc IMarketplace
    function openOrdersScanStart() external view returns (uint64) {
        // Open at block B needs B < expiresAt ≤ createdAt + maxOrderLifetime, i.e. createdAt ≥ B − lifetime + 1.
        if (block.number < maxOrderLifetime) return 1;
        return firstOrderCreatedAtOrAfter(uint64(block.number) - maxOrderLifetime + 1);
    }

    /// @inheritdoc IMarketplace
    function openOrders(uint64 fromId, uint64 maxScan) external view returns (Order[] memory orders, uint64 nextId) {
        if (fromId == 0) fromId = 1;
        uint64 end = orderCount + 1;
        if (fromId > end) fromId = end;
        if (end - fromId > maxScan) end = fromId + maxScan;
        orders = new Order[](end - fromId);
        uint256 n = 0;
        for (uint64 id = fromId; id < end; id++) {
            OrderRecord storage o = _orders[id];
            if (o.status == OrderStatus.Open && block.number < o.expiresAt) orders[n++] = _toOrder(id, o);
        }
        assembly ("memory-safe") {
            mstore(orders, n)
        }
        nextId = end;
    }

    /// @inheritdoc IMarketplace
    function openOrdersPacked(uint64 fromId, uint64 maxScan) external view returns (bytes memory packed, uint64 nextId) {
        if (fromId == 0) fromId = 1;
        uint64 end = orderCount + 1;
        if (fromId > end) fromId = end;
        if (end - fromId > maxScan) end = fromId + maxScan;
        packed = new bytes(uint256(end - fromId) * 136);
        uint256 size;
        for (uint64 id = fromId; id < end; id++) {
            OrderRecord storage o = _orders[id];
            if (o.status != OrderStatus.Open || block.number >= o.expiresAt) continue;
            // The order id, then its four storage words as stored; each mstore's tail is overwritten by the next.
            assembly ("memory-safe") {
                let p := add(add(packed, 32), size)
                mstore(p, shl(192, id))
                let slot := o.slot
                mstore(add(p, 8), sload(slot))
                mstore(add(p, 40), sload(add(slot, 1)))
                mstore(add(p, 72), sload(add(slot, 2)))
                mstore(add(p, 104), sload(add(slot, 3)))
            }
            size += 136;
        }
        assembly ("memory-safe") {
            mstore(packed, size)
        }
        nextId = end;
    }

    /// @inheritdoc IMarketplace
    function moneyTotals(address token) external view returns (MoneyTotals memory) {
        return _totals[token];
    }

    /// @inheritdoc IMarketplace
    function refundableOf(address token, address renter) external view returns (uint256) {
        return _refundable[token][renter];
    }

    /// @inheritdoc IMarketplace
    function earningsOf(address token, address provider) external view returns (uint256) {
        return _earnings[token][provider];
    }

    /// @inheritdoc IMarketplace
    function unsettledEarnings(uint64 leaseId) external view returns (uint256) {
        OrderRecord storage o = _leaseOrder(leaseId);
        Settlement storage s = _settlements[leaseId];
        if (o.leaseStatus != LeaseStatus.Active || s.readyAt == 0) return 0;
        IOfferBook.LeaseTerms memory t = _offerBook.leaseTerms(o.leaseVersionId);
        uint64 endsAt = _endsAt(o, s);
        uint64 until = block.timestamp < endsAt ? uint64(block.timestamp) : endsAt;
        return _accrued(o, t.pricePerGpuHour, until) - s.paidOut;
    }

    /// @inheritdoc IMarketplace
    function isPaymentTokenAllowed(address token) external view returns (bool) {
        return _allowedTokens[token];
    }

    /// @inheritdoc IMarketplace
    function excessEscrowOf(uint64 leaseId) external view returns (uint256) {
        OrderRecord storage o = _leaseOrder(leaseId);
        if (o.leaseStatus != LeaseStatus.Active || o.excessReleased) return 0;
        return _excessEscrow(o);
    }

    /// @inheritdoc IMarketplace
    function minimumEscrow(address token) external view returns (uint256) {
        return _minimumEscrow[token];
    }

    /// @inheritdoc IMarketplace
    function setAccessKey(bytes calldata accessKey) external {
        uint256 n = accessKey.length;
        if (n != 0 && (n != 33 || (accessKey[0] != 0x02 && accessKey[0] != 0x03))) revert MarketplaceInvalidAccessKey(n);
        _accessKeys[msg.sender] = accessKey;
        emit AccessKeySet(msg.sender, accessKey);
    }

    /// @inheritdoc IMarketplace
    function accessKeyOf(address renter) external view returns (bytes memory) {
        return _accessKeys[renter];
    }

    // ---------------------------------------------------------------- internals

    function _validate(OrderParams calldata p) private view {
        if (!_allowedTokens[p.paymentToken]) revert MarketplacePaymentTokenNotAllowed(p.paymentToken);
        if (p.modelId != 0 && !_catalog.exists(p.modelId)) revert MarketplaceInvalidOrder("modelId");
        if (p.gpuCount == 0) revert MarketplaceInvalidOrder("gpuCount");
        if (p.maxPricePerGpuHour == 0) revert MarketplaceInvalidOrder("maxPricePerGpuHour");
        if (p.durationHours == 0) revert MarketplaceInvalidOrder("durationHours");
        if (p.minUptimeBps > BPS) revert MarketplaceInvalidOrder("minUptimeBps");
        if (p.minReputationBps > BPS) revert MarketplaceInvalidOrder("minReputationBps");
        if (p.preferredZone != 0) {
            uint16 region = p.preferredZone >> 8;
            bool malformed = region > 63 || (p.preferredZone & 0xff) == 0;
            if (malformed || (p.regionMask != 0 && (p.regionMask >> region) & 1 == 0)) {
                revert MarketplaceInvalidOrder("preferredZone");
            }
        }
        if (p.expiresAt <= block.number || p.expiresAt - block.number > maxOrderLifetime) {
            revert MarketplaceInvalidOrder("expiresAt");
        }
    }

    function _openOrder(uint64 orderId) private view returns (OrderRecord storage o) {
        o = _orders[orderId];
        OrderStatus s = o.status;
        if (s == OrderStatus.None) revert MarketplaceUnknownOrder(orderId);
        if (s != OrderStatus.Open) revert MarketplaceOrderNotOpen(orderId, s);
    }

    function _leaseOrder(uint64 leaseId) private view returns (OrderRecord storage o) {
        o = _orders[leaseId];
        if (o.leaseStatus == LeaseStatus.None) revert MarketplaceUnknownLease(leaseId);
    }

    function _activeLease(uint64 leaseId) private view returns (OrderRecord storage o) {
        o = _leaseOrder(leaseId);
        if (o.leaseStatus != LeaseStatus.Active) revert MarketplaceLeaseNotActive(leaseId);
    }

    function _refundEscrow(OrderRecord storage o) private returns (uint256 refund) {
        refund = uint256(o.maxPricePerGpuHour) * o.gpuCount * o.durationHours;
        _moveToRefundable(o.paymentToken, o.renter, refund);
    }

    /// (max price − lease price) × GPUs × hours: escrow the lease will never pay out.
    function _excessEscrow(OrderRecord storage o, uint128 price) private view returns (uint256) {
        return uint256(o.maxPricePerGpuHour - price) * o.gpuCount * o.durationHours;
    }

    function _excessEscrow(OrderRecord storage o) private view returns (uint256) {
        return _excessEscrow(o, _offerBook.leaseTerms(o.leaseVersionId).pricePerGpuHour);
    }

    function _moveToRefundable(address token, address renter, uint256 amount) private {
        _refundable[token][renter] += amount;
        MoneyTotals storage m = _totals[token];
        m.escrowed -= amount;
        m.refundable += amount;
    }

    /// Earnings accrued from the lease start to `until`: price × count × elapsed seconds / 3600, rounded down;
    /// at the lease end this is exactly price × count × hours.
    function _accrued(OrderRecord storage o, uint128 price, uint64 until) private view returns (uint256) {
        return uint256(price) * o.gpuCount * (until - o.leaseStartedAt) / SECONDS_PER_HOUR;
    }

    function _settle(uint64 leaseId, OrderRecord storage o, IOfferBook.LeaseTerms memory t, uint64 until) private {
        Settlement storage s = _settlements[leaseId];
        uint256 paid = s.paidOut;
        uint256 owed = _accrued(o, t.pricePerGpuHour, until) - paid;
        if (owed == 0) return;
        s.paidOut = SafeCast.toUint128(paid + owed);
        address token = o.paymentToken;
        _earnings[token][t.provider] += owed;
        MoneyTotals storage m = _totals[token];
        m.escrowed -= owed;
        m.earned += owed;
        emit EarningsSettled(leaseId, t.provider, owed);
    }

    /// The lease's paid end: start + (order hours + extension hours) × 3600.
    function _endsAt(OrderRecord storage o, Settlement storage s) private view returns (uint64) {
        return o.leaseStartedAt + (uint64(o.durationHours) + s.extendedHours) * SECONDS_PER_HOUR;
    }

    /// Closes an active lease at `closedAt` (≤ its end): the unused part becomes the renter's refund, the rest is
    /// settled to the provider, and the GPUs are freed. A lease never marked ready earned nothing: all of it is
    /// refunded. Returns the provider.
    function _close(uint64 leaseId, OrderRecord storage o, CloseReason reason, uint64 closedAt)
        private
        returns (address)
    {
        IOfferBook.LeaseTerms memory t = _offerBook.leaseTerms(o.leaseVersionId);
        o.leaseStatus = LeaseStatus.Closed;
        o.closeReason = reason;
        Settlement storage s = _settlements[leaseId];
        s.closedAt = SafeCast.toUint40(closedAt);
        uint64 earnedUntil = s.readyAt == 0 ? o.leaseStartedAt : closedAt;
        uint256 total = uint256(t.pricePerGpuHour) * o.gpuCount * (uint256(o.durationHours) + s.extendedHours);
        uint256 unused = total - _accrued(o, t.pricePerGpuHour, earnedUntil);
        if (!o.excessReleased) {
            o.excessReleased = true;
            unused += _excessEscrow(o, t.pricePerGpuHour);
        }
        if (unused != 0) _moveToRefundable(o.paymentToken, o.renter, unused);
        _settle(leaseId, o, t, earnedUntil);
        _offerBook.releaseCapacity(t.offerId, o.gpuCount);
        emit LeaseClosed(leaseId, reason, closedAt, unused);
        return t.provider;
    }

    function _toOrder(uint64 orderId, OrderRecord storage o) private view returns (Order memory) {
        return Order({
            orderId: orderId,
            renter: o.renter,
            createdAt: o.createdAt,
            status: o.status,
            params: OrderParams({
                modelId: o.modelId,
                minTier: o.minTier,
                gpuCount: o.gpuCount,
                regionMask: o.regionMask,
                preferredZone: o.preferredZone,
                maxPricePerGpuHour: o.maxPricePerGpuHour,
                durationHours: o.durationHours,
                minUptimeBps: o.minUptimeBps,
                minReputationBps: o.minReputationBps,
                maxTimesSlashed: o.maxTimesSlashed,
                expiresAt: o.expiresAt,
                paymentToken: o.paymentToken
            })
        });
    }
}
