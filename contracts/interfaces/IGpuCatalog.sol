// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IGpuCatalog
/// @notice The GPU models a provider can offer and a renter can ask for. Mirrors `GpuModel` and `Tier` in
///         protocol/market/types.ts field for field.
interface IGpuCatalog {
    /// @notice GPU tier, derived from the list price in whole US dollars (docs/protocol.md §2).
    enum Tier {
        Entry, // < $1 000
        Low, // $1 000 ≤ p < $2 000
        Medium, // $2 000 ≤ p < $5 000
        High, // $5 000 ≤ p < $15 000
        Ultra // $15 000 ≤ p
    }

    /// @notice A catalog entry as read by off-chain code (`GpuModel` in types.ts).
    struct Model {
        uint16 id;
        string name;
        uint16 vramGb;
        uint32 listPriceUsd;
        Tier tier;
    }

    /// @notice What the owner passes to add a model; the tier is never passed in, it is computed from the price.
    struct ModelSeed {
        uint16 id;
        string name;
        uint16 vramGb;
        uint32 listPriceUsd;
    }

    /// @notice Thrown when a model id is 0 (reserved for "any model of tier ≥ minTier").
    error GpuCatalogReservedModelId();
    /// @notice Thrown when a model id is already in the catalog (ids are stable forever).
    error GpuCatalogDuplicateModel(uint16 id);
    /// @notice Thrown when a model id is not in the catalog.
    error GpuCatalogUnknownModel(uint16 id);
    /// @notice Thrown when a model has an empty name, zero VRAM or a zero list price.
    error GpuCatalogInvalidModel(uint16 id);

    /// @notice Emitted when a model is added (at deployment for the seed list, or later by the owner).
    event ModelAdded(uint16 indexed id, string name, uint16 vramGb, uint32 listPriceUsd, Tier tier);

    /// @notice Adds a model; its tier is derived from `listPriceUsd`. Only the owner.
    function addModel(ModelSeed calldata seed) external;

    /// @notice The model with id `id`; reverts with `GpuCatalogUnknownModel` if absent.
    function getModel(uint16 id) external view returns (Model memory);

    /// @notice The tier of model `id`; reverts with `GpuCatalogUnknownModel` if absent.
    function tierOf(uint16 id) external view returns (Tier);

    /// @notice Whether model `id` is in the catalog.
    function exists(uint16 id) external view returns (bool);

    /// @notice Every model id, in the order they were added.
    function modelIds() external view returns (uint16[] memory);

    /// @notice Every model, in the order they were added (one call instead of `getModel` per id).
    function getModels() external view returns (Model[] memory);

    /// @notice The tier docs/protocol.md §2 assigns to a list price in whole US dollars.
    function tierOfListPrice(uint32 listPriceUsd) external pure returns (Tier);
}
