// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IGpuCatalog} from "../interfaces/IGpuCatalog.sol";

/// @title GpuCatalog
/// @notice Model id → name, VRAM, list price and tier. Seeded at deployment from protocol/market/catalog.ts; the
///         owner may add models later but never change or remove one, so a model id means the same card forever
///         (orders and offer versions refer to it by id).
contract GpuCatalog is IGpuCatalog, Ownable {
    struct Entry {
        uint16 vramGb;
        uint32 listPriceUsd;
        Tier tier;
        bool present;
    }

    mapping(uint16 id => Entry) private _entries;
    mapping(uint16 id => string) private _names;
    uint16[] private _ids;

    /// @param initialOwner may add models later.
    /// @param seed the deployment's model list (tiers are computed here, never passed in).
    constructor(address initialOwner, ModelSeed[] memory seed) Ownable(initialOwner) {
        for (uint256 i = 0; i < seed.length; i++) {
            _add(seed[i]);
        }
    }

    /// @inheritdoc IGpuCatalog
    function addModel(ModelSeed calldata seed) external onlyOwner {
        _add(seed);
    }

    /// @inheritdoc IGpuCatalog
    function getModel(uint16 id) external view returns (Model memory) {
        if (!_entries[id].present) revert GpuCatalogUnknownModel(id);
        return _model(id);
    }

    /// @inheritdoc IGpuCatalog
    function getModels() external view returns (Model[] memory models) {
        models = new Model[](_ids.length);
        for (uint256 i = 0; i < _ids.length; i++) models[i] = _model(_ids[i]);
    }

    /// @inheritdoc IGpuCatalog
    function tierOf(uint16 id) external view returns (Tier) {
        Entry memory e = _entries[id];
        if (!e.present) revert GpuCatalogUnknownModel(id);
        return e.tier;
    }

    /// @inheritdoc IGpuCatalog
    function exists(uint16 id) external view returns (bool) {
        return _entries[id].present;
    }

    /// @inheritdoc IGpuCatalog
    function modelIds() external view returns (uint16[] memory) {
        return _ids;
    }

    /// @inheritdoc IGpuCatalog
    function tierOfListPrice(uint32 listPriceUsd) public pure returns (Tier) {
        // Boundaries from docs/protocol.md §2; each bound belongs to the higher tier.
        if (listPriceUsd < 1_000) return Tier.Entry;
        if (listPriceUsd < 2_000) return Tier.Low;
        if (listPriceUsd < 5_000) return Tier.Medium;
        if (listPriceUsd < 15_000) return Tier.High;
        return Tier.Ultra;
    }

    function _model(uint16 id) private view returns (Model memory) {
        Entry memory e = _entries[id];
        return Model({id: id, name: _names[id], vramGb: e.vramGb, listPriceUsd: e.listPriceUsd, tier: e.tier});
    }

    function _add(ModelSeed memory seed) private {
        if (seed.id == 0) revert GpuCatalogReservedModelId();
        if (_entries[seed.id].present) revert GpuCatalogDuplicateModel(seed.id);
        if (bytes(seed.name).length == 0 || seed.vramGb == 0 || seed.listPriceUsd == 0) {
            revert GpuCatalogInvalidModel(seed.id);
        }
        Tier tier = tierOfListPrice(seed.listPriceUsd);
        _entries[seed.id] = Entry({vramGb: seed.vramGb, listPriceUsd: seed.listPriceUsd, tier: tier, present: true});
        _names[seed.id] = seed.name;
        _ids.push(seed.id);
        emit ModelAdded(seed.id, seed.name, seed.vramGb, seed.listPriceUsd, tier);
    }
}
