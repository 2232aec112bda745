import { type GpuModel, tierOfListPrice } from "./types.js";
import models from "./gpu-catalog.json" with { type: "json" };

/**
 * The GPU catalog seeded at deployment, kept as data in gpu-catalog.json. List prices are whole US dollars, rounded
 * street prices of the card as sold (late 2026); the tier follows from the price exactly as docs/protocol.md §2 says,
 * so it is computed, never written by hand. Ids are stable: a model keeps its id forever, new models get new ids.
 */
const MODELS: ReadonlyArray<Omit<GpuModel, "tier">> = models;

export const GPU_CATALOG: ReadonlyArray<GpuModel> = MODELS.map((m) => ({ ...m, tier: tierOfListPrice(m.listPriceUsd) }));

/** Regions (0‥63) with their zones; zone id = region << 8 | local zone (1‥255). */
export const REGIONS: ReadonlyArray<{ id: number; name: string; zones: number }> = [
  { id: 0, name: "us-east", zones: 3 },
  { id: 1, name: "us-west", zones: 2 },
  { id: 2, name: "eu-central", zones: 3 },
  { id: 3, name: "eu-west", zones: 2 },
  { id: 4, name: "ap-southeast", zones: 2 },
  { id: 5, name: "ap-northeast", zones: 2 },
];

export const zoneId = (region: number, localZone: number): number => (region << 8) | localZone;
