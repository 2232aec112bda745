// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {GpuCatalog} from "../market/GpuCatalog.sol";
import {ProviderRegistry} from "../market/ProviderRegistry.sol";
import {OfferBook} from "../market/OfferBook.sol";
import {Marketplace} from "../market/Marketplace.sol";
import {PaymentToken} from "../tokens/PaymentToken.sol";
import {StakeToken} from "../tokens/StakeToken.sol";
import {IGpuCatalog} from "../interfaces/IGpuCatalog.sol";
import {IMarketplace} from "../interfaces/IMarketplace.sol";
import {IOfferBook} from "../interfaces/IOfferBook.sol";

/// The few Foundry cheat codes used here (forge-std is not a dependency: it has no maintained npm release).
interface Vm {
    function warp(uint256 timestamp) external;
    function roll(uint256 blockNumber) external;
    function prank(address sender) external;
}

/// Drives the marketplace with random but well-formed actions. Every call it makes is one the contracts must
/// accept; a revert there is recorded as a failure (the invariant runner ignores reverts of the handler itself).
contract MarketHandler {
    Vm private constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 private constant USD = 1e6;
    uint256 internal constant RENTERS = 4;
    uint256 internal constant PROVIDERS = 3;

    Marketplace public immutable market;
    OfferBook public immutable offers;
    PaymentToken public immutable pay;

    address[RENTERS] public renters;
    address[PROVIDERS] public providers;
    uint64[PROVIDERS] public offerIds;
    uint64[] public versionIds;
    uint64 public batchNo;
    uint64[] public leaseIds;
    mapping(uint64 => bool) private isLease;

    uint256 public ghostDeposited;
    uint256 public actions;
    uint256 public extensions;
    string public failure;

    constructor(Marketplace market_, OfferBook offers_, PaymentToken pay_, ProviderRegistry registry, StakeToken stake) {
        market = market_;
        offers = offers_;
        pay = pay_;
        for (uint256 i = 0; i < RENTERS; i++) {
            address r = address(uint160(0xBEEF00 + i));
            renters[i] = r;
            pay.mint(r, 1e12 * USD);
            VM.prank(r);
            pay.approve(address(market), type(uint256).max);
        }
        for (uint256 i = 0; i < PROVIDERS; i++) {
            address p = address(uint160(0xF00D00 + i));
            providers[i] = p;
            stake.mint(p, 1e21);
            VM.prank(p);
            stake.approve(address(registry), type(uint256).max);
            VM.prank(p);
            registry.register(uint16((i << 8) | 1), 1e21);
            VM.prank(p);
            (uint64 offerId, uint64 versionId) = offers.createOffer(uint16(1 + (i % 2)), 6, uint128((1 + i) * USD), address(pay));
            offerIds[i] = offerId;
            versionIds.push(versionId);
        }
    }

    function versionCount() external view returns (uint256) {
        return versionIds.length;
    }

    // ------------------------------------------------------------ actions

    function createOrder(uint256 seed) external {
        address r = renters[seed % RENTERS];
        IMarketplace.OrderParams memory p = IMarketplace.OrderParams({
            modelId: uint16((seed >> 8) % 3), // 0 = by tier
            minTier: IGpuCatalog.Tier((seed >> 16) % 3),
            gpuCount: uint32(1 + (seed >> 24) % 3),
            regionMask: (seed >> 32) % 4 == 0 ? uint64(1) : 0,
            preferredZone: 0,
            maxPricePerGpuHour: uint128(1 + (seed >> 40) % (4 * USD)),
            durationHours: uint32(1 + (seed >> 72) % 5),
            minUptimeBps: 0,
            minReputationBps: uint16((seed >> 80) % 6_000),
            maxTimesSlashed: 3,
            expiresAt: uint64(block.number + 1 + (seed >> 96) % 200),
            paymentToken: address(pay)
        });
        uint256 escrow = uint256(p.maxPricePerGpuHour) * p.gpuCount * p.durationHours;
        VM.prank(r);
        try market.createOrder(p) {
            ghostDeposited += escrow;
        } catch {
            _fail("createOrder");
        }
        actions++;
    }

    function cancelOrder(uint256 seed) external {
        uint64 id = _pickOrder(seed);
        if (id == 0) return;
        IMarketplace.Order memory o = market.getOrder(id);
        if (o.status != IMarketplace.OrderStatus.Open) return;
        VM.prank(o.renter);
        try market.cancelOrder(id) {} catch { _fail("cancelOrder"); }
        actions++;
    }

    function expireOrder(uint256 seed) external {
        uint64 id = _pickOrder(seed);
        if (id == 0) return;
        IMarketplace.Order memory o = market.getOrder(id);
        if (o.status != IMarketplace.OrderStatus.Open || block.number < o.params.expiresAt) return;
        try market.expireOrder(id) {} catch { _fail("expireOrder"); }
        actions++;
    }

    /// Up to 4 assignments; most are well-formed (the version's own price and the order's count), some are not,
    /// so both applied and skipped paths run. The handler is the service manager.
    function applyBatch(uint256 seed) external {
        uint64 n = market.orderCount();
        if (n == 0) return;
        VM.roll(block.number + 1);
        uint256 rows = 1 + seed % 4;
        IMarketplace.Assignment[] memory a = new IMarketplace.Assignment[](rows);
        for (uint256 i = 0; i < rows; i++) {
            uint256 s = uint256(keccak256(abi.encode(seed, i)));
            // mostly the newest orders (likely still open), sometimes any order or the unknown id n + 1
            uint64 orderId = (s >> 200) % 4 == 0 ? uint64(1 + s % (n + 1)) : uint64(n - (s % (n < 4 ? n : 4)));
            uint64 versionId = versionIds[(s >> 64) % versionIds.length];
            IOfferBook.OfferVersion memory v = offers.getVersion(versionId);
            uint32 count = orderId <= n ? market.getOrder(orderId).params.gpuCount : 1;
            bool wellFormed = (s >> 128) % 5 != 0;
            a[i] = IMarketplace.Assignment({
                orderId: orderId,
                offerVersionId: versionId,
                gpuCount: wellFormed ? count : count + 1,
                pricePerGpuHour: wellFormed ? v.pricePerGpuHour : v.pricePerGpuHour + 1
            });
        }
        try market.applyAssignments(++batchNo, uint64(block.number - 1), a) {
            for (uint256 i = 0; i < rows; i++) {
                uint64 id = a[i].orderId;
                if (id <= n && market.getOrder(id).status == IMarketplace.OrderStatus.Matched && !isLease[id]) {
                    isLease[id] = true;
                    leaseIds.push(id);
                }
            }
        } catch {
            _fail("applyAssignments");
        }
        actions++;
    }

    function advance(uint32 secs, uint16 blocks) external {
        VM.warp(block.timestamp + secs % 30_000);
        VM.roll(block.number + blocks % 60);
        actions++;
    }

    function settleLease(uint256 seed) external {
        uint64 id = _pickLease(seed);
        if (id == 0) return;
        try market.settleLease(id) {} catch { _fail("settleLease"); }
        actions++;
    }

    function closeLease(uint256 seed) external {
        uint64 id = _pickLease(seed);
        if (id == 0) return;
        IMarketplace.Lease memory l = market.getLease(id);
        if (l.status != IMarketplace.LeaseStatus.Active || block.timestamp >= l.endsAt) return;
        VM.prank(l.renter);
        try market.closeLease(id) {} catch { _fail("closeLease"); }
        actions++;
    }

    function markLeaseReady(uint256 seed) external {
        uint64 id = _pickLease(seed);
        if (id == 0) return;
        IMarketplace.Lease memory l = market.getLease(id);
        if (l.status != IMarketplace.LeaseStatus.Active || l.readyAt != 0) return;
        VM.prank(l.provider);
        try market.markLeaseReady(id, hex"5ea1ed") {} catch { _fail("markLeaseReady"); }
        actions++;
    }

    /// Half the time this action first moves to the first block the close is allowed in.
    function closeForHandoffTimeout(uint256 seed) external {
        uint64 id = _pickLease(seed);
        if (id == 0) return;
        IMarketplace.Lease memory l = market.getLease(id);
        if (l.status != IMarketplace.LeaseStatus.Active || l.readyAt != 0) return;
        uint256 allowedFrom = l.startBlock + market.handoffTimeout() + 1;
        if (block.number < allowedFrom && (seed >> 128) % 2 == 0) VM.roll(allowedFrom);
        if (block.number < allowedFrom) return;
        VM.prank(l.renter);
        try market.closeLeaseForHandoffTimeout(id) {} catch { _fail("closeLeaseForHandoffTimeout"); }
        actions++;
    }

    function closeLeaseByProvider(uint256 seed) external {
        uint64 id = _pickLease(seed);
        if (id == 0) return;
        IMarketplace.Lease memory l = market.getLease(id);
        if (l.status != IMarketplace.LeaseStatus.Active || block.timestamp >= l.endsAt) return;
        VM.prank(l.provider);
        try market.closeLeaseByProvider(id) {} catch { _fail("closeLeaseByProvider"); }
        actions++;
    }

    /// Extends only where the contract must accept: before the end, and the offer's current version still at the
    /// lease's price (offer updates here change the price at random; offers are never withdrawn).
    function extendLease(uint256 seed) external {
        uint64 id = _pickLease(seed);
        if (id == 0) return;
        IMarketplace.Lease memory l = market.getLease(id);
        if (l.status != IMarketplace.LeaseStatus.Active || block.timestamp >= l.endsAt) return;
        if (offers.versionAt(l.offerId, uint64(block.number)).pricePerGpuHour != l.pricePerGpuHour) return;
        uint32 hoursAdded = uint32(1 + (seed >> 64) % 3);
        VM.prank(l.renter);
        try market.extendLease(id, hoursAdded) {
            ghostDeposited += uint256(l.pricePerGpuHour) * l.gpuCount * hoursAdded;
            extensions++;
        } catch {
            _fail("extendLease");
        }
        actions++;
    }

    function releaseExcessEscrow(uint256 seed) external {
        uint64 id = _pickLease(seed);
        if (id == 0 || market.excessEscrowOf(id) == 0) return;
        try market.releaseExcessEscrow(id) {} catch { _fail("releaseExcessEscrow"); }
        actions++;
    }

    /// Completion needs the lease's end: half the time this action first moves time there (or a bit beyond).
    function completeLease(uint256 seed) external {
        uint64 id = _pickLease(seed);
        if (id == 0) return;
        IMarketplace.Lease memory l = market.getLease(id);
        if (l.status != IMarketplace.LeaseStatus.Active) return;
        if (block.timestamp < l.endsAt && (seed >> 128) % 2 == 0) VM.warp(l.endsAt + (seed >> 130) % 100);
        if (block.timestamp < l.endsAt) return;
        try market.completeLease(id) {} catch { _fail("completeLease"); }
        actions++;
    }

    function faultLease(uint256 seed) external {
        uint64 id = _pickLease(seed);
        if (id == 0) return;
        if (market.getLease(id).status != IMarketplace.LeaseStatus.Active) return;
        try market.closeLeaseForProviderFault(id) {} catch { _fail("closeLeaseForProviderFault"); }
        actions++;
    }

    function withdrawRefund(uint256 seed) external {
        address r = renters[seed % RENTERS];
        if (market.refundableOf(address(pay), r) == 0) return;
        VM.prank(r);
        try market.withdrawRefund(address(pay)) {} catch { _fail("withdrawRefund"); }
        actions++;
    }

    function withdrawEarnings(uint256 seed) external {
        address p = providers[seed % PROVIDERS];
        if (market.earningsOf(address(pay), p) == 0) return;
        VM.prank(p);
        try market.withdrawEarnings(address(pay)) {} catch { _fail("withdrawEarnings"); }
        actions++;
    }

    function updateOffer(uint256 seed) external {
        uint256 i = seed % PROVIDERS;
        uint64 offerId = offerIds[i];
        uint32 leased = offers.getVersion(versionIds[versionIds.length - 1]).gpusLeased;
        IOfferBook.OfferVersion memory cur = offers.versionAt(offerId, uint64(block.number));
        if (cur.versionId != 0) leased = cur.gpusLeased;
        uint32 count = uint32(leased + 1 + (seed >> 8) % 4);
        VM.prank(providers[i]);
        try offers.updateOffer(offerId, count, uint128(1 + (seed >> 16) % (3 * USD))) returns (uint64 v) {
            versionIds.push(v);
        } catch {
            _fail("updateOffer");
        }
        actions++;
    }

    // ------------------------------------------------------------ helpers

    function _pickOrder(uint256 seed) private view returns (uint64) {
        uint64 n = market.orderCount();
        return n == 0 ? 0 : uint64(1 + seed % n);
    }

    function _pickLease(uint256 seed) private view returns (uint64) {
        uint256 n = leaseIds.length;
        return n == 0 ? 0 : leaseIds[seed % n];
    }

    function leaseCount() external view returns (uint256) {
        return leaseIds.length;
    }

    function _fail(string memory what) private {
        if (bytes(failure).length == 0) failure = what;
    }
}

/// Money conservation as an invariant over random action sequences (deposit via createOrder, cancel, expire,
/// assign, advance time, mark ready, extend, settle, close by the renter, by the provider and for a handoff
/// timeout, complete, provider fault, withdraw, offer updates).
contract MarketInvariantTest {
    MarketHandler private handler;
    Marketplace private market;
    PaymentToken private pay;

    function setUp() public {
        pay = new PaymentToken(address(this));
        StakeToken stake = new StakeToken(address(this));
        IGpuCatalog.ModelSeed[] memory seed = new IGpuCatalog.ModelSeed[](2);
        seed[0] = IGpuCatalog.ModelSeed({id: 1, name: "NVIDIA RTX 4090", vramGb: 24, listPriceUsd: 1_900});
        seed[1] = IGpuCatalog.ModelSeed({id: 2, name: "NVIDIA H100 SXM", vramGb: 80, listPriceUsd: 30_000});
        GpuCatalog catalog = new GpuCatalog(address(this), seed);
        ProviderRegistry registry = new ProviderRegistry(address(this), address(stake), 1e18, 5);
        OfferBook offers = new OfferBook(address(this), address(catalog), address(registry));
        market = new Marketplace(address(this), address(catalog), address(registry), address(offers), 500);
        offers.setMarketplace(address(market));
        registry.setMarketplace(address(market), address(offers));
        market.setPaymentTokenAllowed(address(pay), true);
        // The handler mints in its constructor, so it must own the tokens while it is built; it is then the
        // service manager of the marketplace and of the registry.
        address predicted = _nextAddress();
        pay.transferOwnership(predicted);
        stake.transferOwnership(predicted);
        market.setServiceManager(predicted);
        registry.setServiceManager(predicted);
        handler = new MarketHandler(market, offers, pay, registry, stake);
        require(address(handler) == predicted, "handler address prediction");
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// escrowed + earned + refundable + withdrawn = deposited; balance = deposited − withdrawn; the per-account
    /// balances and per-order escrows add up to their totals; no well-formed call reverted.
    /// forge-config: default.invariant.runs = 10000
    /// forge-config: default.invariant.depth = 15
    function invariant_moneyConserved() public view {
        require(bytes(handler.failure()).length == 0, string.concat("unexpected revert: ", handler.failure()));
        IMarketplace.MoneyTotals memory t = market.moneyTotals(address(pay));
        require(t.escrowed + t.earned + t.refundable + t.withdrawn == t.deposited, "identity");
        require(pay.balanceOf(address(market)) == t.deposited - t.withdrawn, "balance");
        require(t.deposited == handler.ghostDeposited(), "deposited");

        uint256 refundable;
        for (uint256 i = 0; i < 4; i++) refundable += market.refundableOf(address(pay), handler.renters(i));
        require(refundable == t.refundable, "refundable sum");
        uint256 earned;
        for (uint256 i = 0; i < 3; i++) earned += market.earningsOf(address(pay), handler.providers(i));
        require(earned == t.earned, "earned sum");

        uint256 escrowed;
        uint64 n = market.orderCount();
        for (uint64 id = 1; id <= n; id++) {
            IMarketplace.Order memory o = market.getOrder(id);
            if (o.status == IMarketplace.OrderStatus.Open) {
                escrowed += uint256(o.params.maxPricePerGpuHour) * o.params.gpuCount * o.params.durationHours;
            } else if (o.status == IMarketplace.OrderStatus.Matched) {
                IMarketplace.Lease memory l = market.getLease(id);
                if (l.status == IMarketplace.LeaseStatus.Active) {
                    uint256 leaseHours = (l.endsAt - l.startedAt) / 3600; // the order's hours + extensions
                    require(leaseHours >= o.params.durationHours, "lease hours");
                    escrowed += uint256(l.pricePerGpuHour) * l.gpuCount * leaseHours - l.paidOut;
                    escrowed += market.excessEscrowOf(id);
                }
            }
        }
        require(escrowed == t.escrowed, "escrow sum");
    }

    /// The invariant is only as good as the paths the handler reaches: a fixed sequence must create orders,
    /// apply some of them, mark some ready, extend some, close some for a handoff timeout, and complete leases at
    /// their end without an unexpected revert.
    function test_handlerReachesLeasePaths() public {
        for (uint256 i = 0; i < 20; i++) handler.createOrder(uint256(keccak256(abi.encode(i))));
        require(market.orderCount() == 20, "orders");
        for (uint256 i = 0; i < 20; i++) handler.applyBatch(uint256(keccak256(abi.encode(i, "b"))));
        require(bytes(handler.failure()).length == 0, handler.failure());
        uint256 matched;
        for (uint64 id = 1; id <= 20; id++) if (market.getOrder(id).status == IMarketplace.OrderStatus.Matched) matched++;
        require(matched > 0, "none matched");
        require(matched > 1, "one lease is not enough");
        handler.markLeaseReady(0); // the first lease; the others stay unready and time out below
        for (uint256 i = 0; i < 6; i++) handler.extendLease(i);
        require(handler.extensions() > 0, "no extension");
        for (uint256 i = 0; i < 20; i++) handler.closeForHandoffTimeout(i); // seed >> 128 = 0: rolls to the deadline
        require(bytes(handler.failure()).length == 0, handler.failure());
        uint256 ready;
        uint256 timedOut;
        for (uint256 i = 0; i < handler.leaseCount(); i++) {
            IMarketplace.Lease memory l = market.getLease(handler.leaseIds(i));
            if (l.readyAt != 0) ready++;
            if (l.closeReason == IMarketplace.CloseReason.HandoffTimeout) timedOut++;
        }
        require(ready > 0, "no lease marked ready");
        require(timedOut > 0, "no handoff-timeout close");
        handler.advance(29_000, 5);
        for (uint256 i = 0; i < 20; i++) handler.completeLease(i);
        require(bytes(handler.failure()).length == 0, handler.failure());
        require(handler.leaseCount() == matched, "lease tracking");
        require(market.getLease(handler.leaseIds(0)).status == IMarketplace.LeaseStatus.Closed, "completed");
    }

    function _nextAddress() private view returns (address) {
        // CREATE address of this contract's next deployment: a contract's nonce starts at 1 and setUp created six.
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xd6), bytes1(0x94), address(this), bytes1(0x07))))));
    }
}
