// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IGpuCatalog} from "./IGpuCatalog.sol";

/// @title IOfferBook
/// @notice Providers' versioned offers. Every create or update makes a new version with a new, globally unique
///         version id, active on blocks [activeFrom, activeUntil); old versions stay readable, so what a provider
///         offered at any reference block can be proven later. Mirrors `OfferVersion` in protocol/market/types.ts.
interface IOfferBook {
    /// @notice One version of an offer (`OfferVersion` in types.ts). `gpusLeased` belongs to the offer (all its
    ///         versions show the same, current value); `activeUntil` 0 means still active.
    struct OfferVersion {
        uint64 versionId;
        uint64 offerId;
        address provider;
        uint16 modelId;
        uint32 gpuCount;
        uint32 gpusLeased;
        uint128 pricePerGpuHour;
        address paymentToken;
        uint64 activeFrom;
        uint64 activeUntil;
    }

    /// @notice What the marketplace checks when it applies an assignment (one call, four storage slots).
    struct LeaseTerms {
        uint64 offerId;
        address provider;
        uint16 modelId;
        IGpuCatalog.Tier tier;
        uint32 gpuCount;
        /// GPUs the offer has now: its current version's count, 0 once withdrawn.
        uint32 offerGpuCount;
        uint32 gpusLeased;
        uint128 pricePerGpuHour;
        address paymentToken;
        uint64 activeFrom;
        uint64 activeUntil;
    }

    /// @notice Thrown when the caller is not a provider in status Active or Maintenance.
    error OfferBookNotActiveProvider(address caller);
    /// @notice Thrown when the caller is not the offer's provider.
    error OfferBookNotOfferProvider(uint64 offerId, address caller);
    /// @notice Thrown when a capacity hook is called by someone other than the marketplace.
    error OfferBookNotMarketplace(address caller);
    /// @notice Thrown when the marketplace address is zero or set a second time.
    error OfferBookMarketplaceAlreadySet();
    /// @notice Thrown when the model is not in the catalog.
    error OfferBookUnknownModel(uint16 modelId);
    /// @notice Thrown when the GPU count is zero.
    error OfferBookZeroGpuCount();
    /// @notice Thrown when the price per GPU-hour is zero.
    error OfferBookZeroPrice();
    /// @notice Thrown when the payment token is not allow-listed by the marketplace.
    error OfferBookPaymentTokenNotAllowed(address token);
    /// @notice Thrown when the offer does not exist.
    error OfferBookUnknownOffer(uint64 offerId);
    /// @notice Thrown when the version does not exist.
    error OfferBookUnknownVersion(uint64 versionId);
    /// @notice Thrown by `versionsAt` for a page starting at offer 0 or asking for 0 offers.
    error OfferBookInvalidPage(uint64 fromOfferId, uint64 maxOffers);
    /// @notice Thrown when the offer was withdrawn.
    error OfferBookOfferWithdrawn(uint64 offerId);
    /// @notice Thrown when releasing more GPUs than are leased, or leasing beyond the offer's count.
    error OfferBookCapacityOutOfRange(uint64 offerId);
    /// @notice Thrown when an update lowers the GPU count below the GPUs currently leased.
    error OfferBookCapacityBelowLeased(uint32 gpuCount, uint32 gpusLeased);

    event OfferCreated(uint64 indexed offerId, address indexed provider, uint16 modelId, address paymentToken);
    event OfferVersionActivated(
        uint64 indexed offerId, uint64 indexed versionId, uint32 gpuCount, uint128 pricePerGpuHour, uint64 activeFrom
    );
    event OfferVersionDeactivated(uint64 indexed offerId, uint64 indexed versionId, uint64 activeUntil);
    event OfferWithdrawn(uint64 indexed offerId);
    event MarketplaceSet(address marketplace);

    /// @notice Creates an offer and its first version, active from this block. Caller must be an Active or
    ///         Maintenance provider; the model must exist; the payment token must be allow-listed.
    function createOffer(uint16 modelId, uint32 gpuCount, uint128 pricePerGpuHour, address paymentToken)
        external
        returns (uint64 offerId, uint64 versionId);

    /// @notice Closes the offer's current version at this block and opens a new one with the new count and price.
    ///         Only the offer's provider; not after withdrawal; `gpuCount` ≥ GPUs currently leased.
    function updateOffer(uint64 offerId, uint32 gpuCount, uint128 pricePerGpuHour) external returns (uint64 versionId);

    /// @notice Closes the offer's current version at this block; running leases continue. Only the provider.
    function withdrawOffer(uint64 offerId) external;

    /// @notice Counts `gpuCount` more GPUs of the offer as leased. Only the marketplace, whose AssignmentApplied
    ///         event reports the change (no event here, to keep the per-assignment gas low).
    function leaseCapacity(uint64 offerId, uint32 gpuCount) external;

    /// @notice Counts `gpuCount` GPUs of the offer as free again. Only the marketplace (reported by LeaseClosed).
    function releaseCapacity(uint64 offerId, uint32 gpuCount) external;

    /// @notice Version `versionId`; reverts with `OfferBookUnknownVersion` if absent.
    function getVersion(uint64 versionId) external view returns (OfferVersion memory);

    /// @notice The version of offer `offerId` active at block `blockNumber`, or a zero struct (versionId 0) if
    ///         none was. Binary search over the offer's versions.
    function versionAt(uint64 offerId, uint64 blockNumber) external view returns (OfferVersion memory);

    /// @notice The versions active at `blockNumber` of at most `maxOffers` offers from `fromOfferId` on, ascending by
    ///         offer id (offers with none are left out), and the offer id to ask from next (0 when the last offer
    ///         was reached). One call instead of one `versionAt` per offer, for operators reading a batch's inputs.
    ///         Reverts with `OfferBookInvalidPage` when `fromOfferId` or `maxOffers` is 0.
    function versionsAt(uint64 fromOfferId, uint64 maxOffers, uint64 blockNumber)
        external
        view
        returns (OfferVersion[] memory versions, uint64 next);

    /// @notice What `versionsAt` returns, packed for bulk reads: 104 bytes per offer with a version active at
    ///         `blockNumber`, ascending by offer id — the version id (8 bytes, big-endian), then the offer's record and
    ///         the version's two records, each a storage word as stored (32 bytes each; their field layout is the
    ///         `OfferRecord` and `VersionRecord` structs of OfferBook.sol, decoded by protocol/chain/packed.ts) —
    ///         and the offer id to ask from next (0 when the last offer was reached). A third of the ABI encoding's
    ///         bytes and no per-field copying, so a page costs little more than its storage reads.
    ///         Reverts with `OfferBookInvalidPage` when `fromOfferId` or `maxOffers` is 0.
    function activeOffersPacked(uint64 fromOfferId, uint64 maxOffers, uint64 blockNumber)
        external
        view
        returns (bytes memory packed, uint64 next);

    /// @notice Every version id of the offer, oldest first.
    function versionIdsOf(uint64 offerId) external view returns (uint64[] memory);

    /// @notice Every offer id of the provider, oldest first.
    function offerIdsOf(address provider) external view returns (uint64[] memory);

    /// @notice The version terms the marketplace checks; versionId unknown → offerId 0.
    function leaseTerms(uint64 versionId) external view returns (LeaseTerms memory);

    /// @notice Whether any offer of the provider has leased GPUs (used by the exit check).
    function hasLeasedCapacity(address provider) external view returns (bool);

    /// @notice Number of offers ever created (ids are 1‥offerCount).
    function offerCount() external view returns (uint64);

    /// @notice Number of versions ever created (ids are 1‥versionCount).
    function versionCount() external view returns (uint64);

    function marketplace() external view returns (address);
}
