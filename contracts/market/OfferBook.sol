// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IOfferBook} from "../interfaces/IOfferBook.sol";
import {IGpuCatalog} from "../interfaces/IGpuCatalog.sol";
import {IProviderRegistry} from "../interfaces/IProviderRegistry.sol";
import {IMarketplace} from "../interfaces/IMarketplace.sol";

/// @title OfferBook
/// @notice Versioned offers. Model, payment token and provider are fixed per offer; count and price change by
///         versions. A version is active on blocks [activeFrom, activeUntil): created in block X it is visible in
///         the state at X, replaced in block Y it is no longer active at Y. Capacity in use (`gpusLeased`) is
///         offer-wide and moved only by the marketplace.
contract OfferBook is IOfferBook, Ownable {
    /// Offer-wide data the marketplace reads per assignment, in one slot (and the one it writes).
    struct OfferRecord {
        address provider;
        uint32 gpusLeased;
        uint16 modelId;
        IGpuCatalog.Tier tier;
        bool withdrawn;
        /// GPUs of the offer's current version, 0 once withdrawn: assignments made at an older version's
        /// capacity are checked against it too (docs/contracts.md, "Applying assignments").
        uint32 gpuCapacity;
    }

    /// Two slots per version: what changes between versions, plus the offer id and token to avoid a third read.
    struct VersionRecord {
        uint128 pricePerGpuHour;
        uint64 activeFrom;
        uint64 activeUntil;
        uint64 offerId;
        uint32 gpuCount;
        address paymentToken;
    }

    /// Bytes per entry of `activeOffersPacked` (IOfferBook).
    uint256 private constant PACKED_OFFER_BYTES = 104;

    IGpuCatalog private immutable _catalog;
    IProviderRegistry private immutable _registry;
    address public marketplace;

    /// @inheritdoc IOfferBook
    uint64 public offerCount;
    /// @inheritdoc IOfferBook
    uint64 public versionCount;
    mapping(uint64 offerId => OfferRecord) private _offers;
    mapping(uint64 offerId => uint64[]) private _versionIds;
    mapping(uint64 versionId => VersionRecord) private _versions;
    mapping(address provider => uint64[]) private _offerIdsOf;

    modifier onlyMarketplace() {
        if (msg.sender != marketplace) revert OfferBookNotMarketplace(msg.sender);
        _;
    }

    constructor(address initialOwner, address catalog_, address registry_) Ownable(initialOwner) {
        _catalog = IGpuCatalog(catalog_);
        _registry = IProviderRegistry(registry_);
    }

    /// @notice Sets the marketplace, once (the two contracts reference each other). Only the owner.
    function setMarketplace(address marketplace_) external onlyOwner {
        if (marketplace_ == address(0) || marketplace != address(0)) revert OfferBookMarketplaceAlreadySet();
        marketplace = marketplace_;
        emit MarketplaceSet(marketplace_);
    }

    /// @inheritdoc IOfferBook
    function createOffer(uint16 modelId, uint32 gpuCount, uint128 pricePerGpuHour, address paymentToken)
        external
        returns (uint64 offerId, uint64 versionId)
    {
        _requireActiveProvider();
        if (!_catalog.exists(modelId)) revert OfferBookUnknownModel(modelId);
        if (gpuCount == 0) revert OfferBookZeroGpuCount();
        if (pricePerGpuHour == 0) revert OfferBookZeroPrice();
        if (!IMarketplace(marketplace).isPaymentTokenAllowed(paymentToken)) {
            revert OfferBookPaymentTokenNotAllowed(paymentToken);
        }
        offerId = ++offerCount;
        _offers[offerId] = OfferRecord({
            provider: msg.sender,
            gpusLeased: 0,
            modelId: modelId,
            tier: _catalog.tierOf(modelId),
            withdrawn: false,
            gpuCapacity: gpuCount
        });
        _offerIdsOf[msg.sender].push(offerId);
        emit OfferCreated(offerId, msg.sender, modelId, paymentToken);
        versionId = _openVersion(offerId, gpuCount, pricePerGpuHour, paymentToken);
    }

    /// @inheritdoc IOfferBook
    function updateOffer(uint64 offerId, uint32 gpuCount, uint128 pricePerGpuHour) external returns (uint64 versionId) {
        OfferRecord storage o = _ownedLiveOffer(offerId);
        _requireActiveProvider();
        if (gpuCount == 0) revert OfferBookZeroGpuCount();
        if (pricePerGpuHour == 0) revert OfferBookZeroPrice();
        if (gpuCount < o.gpusLeased) revert OfferBookCapacityBelowLeased(gpuCount, o.gpusLeased);
        uint64[] storage ids = _versionIds[offerId];
        VersionRecord storage current = _versions[ids[ids.length - 1]];
        address token = current.paymentToken;
        _closeVersion(offerId, ids[ids.length - 1], current);
        o.gpuCapacity = gpuCount;
        versionId = _openVersion(offerId, gpuCount, pricePerGpuHour, token);
    }

    /// @inheritdoc IOfferBook
    function withdrawOffer(uint64 offerId) external {
        OfferRecord storage o = _ownedLiveOffer(offerId);
        uint64[] storage ids = _versionIds[offerId];
        uint64 versionId = ids[ids.length - 1];
        o.withdrawn = true;
        o.gpuCapacity = 0;
        _closeVersion(offerId, versionId, _versions[versionId]);
        emit OfferWithdrawn(offerId);
    }

    /// @inheritdoc IOfferBook
    function leaseCapacity(uint64 offerId, uint32 gpuCount) external onlyMarketplace {
        OfferRecord storage o = _offers[offerId];
        // No event here: the marketplace's AssignmentApplied reports this change, and a second log per applied
        // assignment would cost ~1 700 gas on the hot path.
        o.gpusLeased += gpuCount;
    }

    /// @inheritdoc IOfferBook
    function releaseCapacity(uint64 offerId, uint32 gpuCount) external onlyMarketplace {
        OfferRecord storage o = _offers[offerId];
        if (gpuCount > o.gpusLeased) revert OfferBookCapacityOutOfRange(offerId);
        // Reported by the marketplace's LeaseClosed, like leaseCapacity.
        o.gpusLeased -= gpuCount;
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IOfferBook
    function getVersion(uint64 versionId) public view returns (OfferVersion memory) {
        VersionRecord storage v = _versions[versionId];
        if (v.offerId == 0) revert OfferBookUnknownVersion(versionId);
        return _toVersion(versionId, v);
    }

    /// @inheritdoc IOfferBook
    function versionAt(uint64 offerId, uint64 blockNumber) external view returns (OfferVersion memory) {
        if (_versionIds[offerId].length == 0) revert OfferBookUnknownOffer(offerId);
        return _versionAt(offerId, blockNumber);
    }

    /// @inheritdoc IOfferBook
    function versionsAt(uint64 fromOfferId, uint64 maxOffers, uint64 blockNumber)
        external
        view
        returns (OfferVersion[] memory versions, uint64 next)
    {
        if (fromOfferId == 0 || maxOffers == 0) revert OfferBookInvalidPage(fromOfferId, maxOffers);
        uint64 count = offerCount;
        if (fromOfferId > count) return (versions, 0);
        uint64 last = count - fromOfferId < maxOffers ? count : fromOfferId + maxOffers - 1;
        OfferVersion[] memory found = new OfferVersion[](last - fromOfferId + 1);
        uint256 n;
        for (uint64 id = fromOfferId; id <= last; id++) {
            OfferVersion memory v = _versionAt(id, blockNumber);
            if (v.versionId != 0) found[n++] = v;
        }
        versions = new OfferVersion[](n);
        for (uint256 i = 0; i < n; i++) versions[i] = found[i];
        next = last == count ? 0 : last + 1;
    }

    /// @inheritdoc IOfferBook
    function activeOffersPacked(uint64 fromOfferId, uint64 maxOffers, uint64 blockNumber)
        external
        view
        returns (bytes memory packed, uint64 next)
    {
        if (fromOfferId == 0 || maxOffers == 0) revert OfferBookInvalidPage(fromOfferId, maxOffers);
        uint64 count = offerCount;
        if (fromOfferId > count) return (packed, 0);
        uint64 last = count - fromOfferId < maxOffers ? count : fromOfferId + maxOffers - 1;
        packed = new bytes(uint256(last - fromOfferId + 1) * PACKED_OFFER_BYTES);
        uint256 end;
        for (uint64 id = fromOfferId; id <= last; id++) {
            uint64 versionId = _versionIdAt(id, blockNumber);
            if (versionId == 0) continue;
            OfferRecord storage o = _offers[id];
            VersionRecord storage v = _versions[versionId];
            // Each mstore writes a whole word; the next one overwrites its tail, and the last ends at the entry's end.
            assembly ("memory-safe") {
                let p := add(add(packed, 32), end)
                mstore(p, shl(192, versionId))
                mstore(add(p, 8), sload(o.slot))
                mstore(add(p, 40), sload(v.slot))
                mstore(add(p, 72), sload(add(v.slot, 1)))
            }
            end += PACKED_OFFER_BYTES;
        }
        assembly ("memory-safe") {
            mstore(packed, end)
        }
        next = last == count ? 0 : last + 1;
    }

    /// @inheritdoc IOfferBook
    function versionIdsOf(uint64 offerId) external view returns (uint64[] memory) {
        return _versionIds[offerId];
    }

    /// @inheritdoc IOfferBook
    function offerIdsOf(address provider) external view returns (uint64[] memory) {
        return _offerIdsOf[provider];
    }

    /// @inheritdoc IOfferBook
    function hasLeasedCapacity(address provider) external view returns (bool) {
        uint64[] storage ids = _offerIdsOf[provider];
        for (uint256 i = 0; i < ids.length; i++) {
            if (_offers[ids[i]].gpusLeased != 0) return true;
        }
        return false;
    }

    /// @inheritdoc IOfferBook
    function leaseTerms(uint64 versionId) external view returns (LeaseTerms memory t) {
        VersionRecord storage v = _versions[versionId];
        uint64 offerId = v.offerId;
        if (offerId == 0) return t;
        OfferRecord storage o = _offers[offerId];
        t.provider = o.provider;
        t.modelId = o.modelId;
        t.tier = o.tier;
        t.gpusLeased = o.gpusLeased;
        t.gpuCount = v.gpuCount;
        t.offerGpuCount = o.gpuCapacity;
        t.pricePerGpuHour = v.pricePerGpuHour;
        t.paymentToken = v.paymentToken;
        t.activeFrom = v.activeFrom;
        t.activeUntil = v.activeUntil;
        t.offerId = offerId;
    }

    // ---------------------------------------------------------------- internals

    /// The version of `offerId` active at `blockNumber`, or an empty one (versionId 0) if none was.
    function _versionAt(uint64 offerId, uint64 blockNumber) private view returns (OfferVersion memory found) {
        uint64 versionId = _versionIdAt(offerId, blockNumber);
        if (versionId != 0) found = _toVersion(versionId, _versions[versionId]);
    }

    /// The id of the version of `offerId` active at `blockNumber`, or 0 if none was.
    function _versionIdAt(uint64 offerId, uint64 blockNumber) private view returns (uint64) {
        uint64[] storage ids = _versionIds[offerId];
        // activeFrom is non-decreasing along the list: find the last version with activeFrom ≤ blockNumber. Reads at
        // a recent block mostly find the newest one, so it is tried before the binary search.
        uint256 hi = ids.length;
        if (hi == 0) return 0;
        uint256 lo = hi;
        if (_versions[ids[hi - 1]].activeFrom > blockNumber) {
            lo = 0;
            hi--;
            while (lo < hi) {
                uint256 mid = (lo + hi) / 2;
                if (_versions[ids[mid]].activeFrom <= blockNumber) lo = mid + 1;
                else hi = mid;
            }
            if (lo == 0) return 0;
        }
        uint64 versionId = ids[lo - 1];
        uint64 until = _versions[versionId].activeUntil;
        // A version replaced in its own block has an empty range; so has one ending at or before blockNumber.
        if (until != 0 && until <= blockNumber) return 0;
        return versionId;
    }

    function _requireActiveProvider() private view {
        (IProviderRegistry.ProviderStatus s,,,,,) = _registry.matchingProfile(msg.sender);
        if (s != IProviderRegistry.ProviderStatus.Active && s != IProviderRegistry.ProviderStatus.Maintenance) {
            revert OfferBookNotActiveProvider(msg.sender);
        }
    }

    function _ownedLiveOffer(uint64 offerId) private view returns (OfferRecord storage o) {
        o = _offers[offerId];
        if (o.provider == address(0)) revert OfferBookUnknownOffer(offerId);
        if (o.provider != msg.sender) revert OfferBookNotOfferProvider(offerId, msg.sender);
        if (o.withdrawn) revert OfferBookOfferWithdrawn(offerId);
    }

    function _openVersion(uint64 offerId, uint32 gpuCount, uint128 price, address token)
        private
        returns (uint64 versionId)
    {
        versionId = ++versionCount;
        _versions[versionId] = VersionRecord({
            pricePerGpuHour: price,
            activeFrom: uint64(block.number),
            activeUntil: 0,
            offerId: offerId,
            gpuCount: gpuCount,
            paymentToken: token
        });
        _versionIds[offerId].push(versionId);
        emit OfferVersionActivated(offerId, versionId, gpuCount, price, uint64(block.number));
    }

    function _closeVersion(uint64 offerId, uint64 versionId, VersionRecord storage v) private {
        v.activeUntil = uint64(block.number);
        emit OfferVersionDeactivated(offerId, versionId, uint64(block.number));
    }

    function _toVersion(uint64 versionId, VersionRecord storage v) private view returns (OfferVersion memory) {
        OfferRecord storage o = _offers[v.offerId];
        return OfferVersion({
            versionId: versionId,
            offerId: v.offerId,
            provider: o.provider,
            modelId: o.modelId,
            gpuCount: v.gpuCount,
            gpusLeased: o.gpusLeased,
            pricePerGpuHour: v.pricePerGpuHour,
            paymentToken: v.paymentToken,
            activeFrom: v.activeFrom,
            activeUntil: v.activeUntil
        });
    }
}
