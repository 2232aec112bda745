import { type GpuModel, tierOfListPrice } from "./types.js";

/**
 * The GPU catalog seeded at deployment. List prices are whole US dollars, rounded street prices of the card as
 * sold (late 2026); the tier follows from the price exactly as docs/protocol.md §2 says, so it is computed, never
 * written by hand. Ids are stable: a model keeps its id forever, new models get new ids.
 */
const MODELS: ReadonlyArray<Omit<GpuModel, "tier">> = [
  { id: 1, name: "NVIDIA RTX 3060", vramGb: 12, listPriceUsd: 330 },
  { id: 2, name: "NVIDIA RTX A4000", vramGb: 16, listPriceUsd: 900 },
  { id: 3, name: "NVIDIA T4", vramGb: 16, listPriceUsd: 1_400 },
  { id: 4, name: "NVIDIA RTX 3090", vramGb: 24, listPriceUsd: 1_100 },
  { id: 5, name: "NVIDIA RTX 4090", vramGb: 24, listPriceUsd: 1_900 },
  { id: 6, name: "NVIDIA L4", vramGb: 24, listPriceUsd: 2_500 },
  { id: 7, name: "NVIDIA A10", vramGb: 24, listPriceUsd: 3_500 },
  { id: 8, name: "NVIDIA L40S", vramGb: 48, listPriceUsd: 8_000 },
  { id: 9, name: "NVIDIA A100 40GB", vramGb: 40, listPriceUsd: 10_000 },
  { id: 10, name: "NVIDIA A100 80GB", vramGb: 80, listPriceUsd: 15_000 },
  { id: 11, name: "NVIDIA H100 SXM", vramGb: 80, listPriceUsd: 30_000 },
  { id: 12, name: "NVIDIA H200", vramGb: 141, listPriceUsd: 35_000 },
];

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
