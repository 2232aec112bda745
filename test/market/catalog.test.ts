import { describe, it } from "mocha";
import { expect } from "chai";
import { network } from "hardhat";
import { GPU_CATALOG } from "../../protocol/market/catalog.js";
import { tierOfListPrice } from "../../protocol/market/types.js";
import { as, deployMarket } from "../support/market.js";

const connection = await network.create();
const { networkHelpers, viem } = connection;
const fixture = () => deployMarket(connection);

describe("GpuCatalog", () => {
  describe("given a deployment seeded from protocol/market/catalog.ts", () => {
    it("→ it should hold every model with its name, VRAM, list price and the tier derived on-chain", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      expect((await m.catalog.read.modelIds()).map(Number)).to.deep.equal(GPU_CATALOG.map((g) => g.id));
      for (const g of GPU_CATALOG) {
        const model = await m.catalog.read.getModel([g.id]);
        expect(model).to.deep.equal({ id: g.id, name: g.name, vramGb: g.vramGb, listPriceUsd: g.listPriceUsd, tier: g.tier });
      }
      // The same models in one call, in the order they were added.
      expect(await m.catalog.read.getModels()).to.deep.equal(GPU_CATALOG.map((g) => ({ id: g.id, name: g.name, vramGb: g.vramGb, listPriceUsd: g.listPriceUsd, tier: g.tier })));
    });

    it("→ it should compute tiers with each bound in the higher tier, like types.ts", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      for (const price of [0, 1, 999, 1_000, 1_999, 2_000, 4_999, 5_000, 14_999, 15_000, 4_000_000_000]) {
        expect(await m.catalog.read.tierOfListPrice([price])).to.equal(tierOfListPrice(price));
      }
    });
  });

  describe("given the owner adds a model", () => {
    it("→ it should store it with its derived tier and emit ModelAdded", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const tx = m.catalog.write.addModel([{ id: 42, name: "NVIDIA B200", vramGb: 192, listPriceUsd: 45_000 }]);
      await viem.assertions.emitWithArgs(tx, m.catalog, "ModelAdded", [42, "NVIDIA B200", 192, 45_000, 4]);
      expect(await m.catalog.read.tierOf([42])).to.equal(4);
      expect(await m.catalog.read.exists([42])).to.equal(true);
    });
    it("→ it should refuse id 0, a duplicate id, an empty name or zero price", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      await viem.assertions.revertWithCustomError(
        m.catalog.write.addModel([{ id: 0, name: "x", vramGb: 1, listPriceUsd: 1 }]), m.catalog, "GpuCatalogReservedModelId");
      await viem.assertions.revertWithCustomError(
        m.catalog.write.addModel([{ id: 1, name: "x", vramGb: 1, listPriceUsd: 1 }]), m.catalog, "GpuCatalogDuplicateModel");
      await viem.assertions.revertWithCustomError(
        m.catalog.write.addModel([{ id: 50, name: "", vramGb: 1, listPriceUsd: 1 }]), m.catalog, "GpuCatalogInvalidModel");
      await viem.assertions.revertWithCustomError(
        m.catalog.write.addModel([{ id: 50, name: "x", vramGb: 1, listPriceUsd: 0 }]), m.catalog, "GpuCatalogInvalidModel");
    });
  });

  describe("given a caller that is not the owner", () => {
    it("→ it should refuse addModel with OwnableUnauthorizedAccount", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      const c = await as(m, m.stranger);
      await viem.assertions.revertWithCustomError(
        c.catalog.write.addModel([{ id: 60, name: "x", vramGb: 1, listPriceUsd: 1 }]), m.catalog, "OwnableUnauthorizedAccount");
    });
  });

  describe("given an unknown model id", () => {
    it("→ it should revert getModel and tierOf with GpuCatalogUnknownModel", async () => {
      const m = await networkHelpers.loadFixture(fixture);
      await viem.assertions.revertWithCustomError(m.catalog.read.getModel([999]), m.catalog, "GpuCatalogUnknownModel");
      await viem.assertions.revertWithCustomError(m.catalog.read.tierOf([999]), m.catalog, "GpuCatalogUnknownModel");
    });
  });
});
