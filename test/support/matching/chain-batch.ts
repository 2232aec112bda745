/**
 * A hand-built batch that only an augmenting chain solves (docs/matching.md §7.6): three H100 offers with one free
 * GPU each, X in eu-central, Y in us-east, Z in ap-southeast. Order 1 accepts X or Y and prefers X's zone, order 2
 * accepts Y or Z and prefers Y's zone, order 3 accepts only X and pays exactly X's ask (price score 0). Every phase
 * before the chains puts order 1 on X and order 2 on Y and leaves order 3 open: no single move serves it (order 1
 * cannot move to Y, which order 2 holds). The chain "3 enters X, 1 moves to Y, 2 moves to Z" serves all three.
 */
import { GPU_CATALOG, zoneId } from "../../../protocol/market/catalog.js";
import type { MatchInputs } from "../../../protocol/matching/types.js";
import { DEFAULT_WEIGHTS, REFERENCE_BLOCK } from "./generator.js";
import { offer, order, provider } from "./tiny.js";

export const EU = 2;
export const US = 0;
export const AP = 4;

export function chainBatch(): MatchInputs {
  const px = provider(1, { zone: zoneId(EU, 1) });
  const py = provider(2, { zone: zoneId(US, 1) });
  const pz = provider(3, { zone: zoneId(AP, 1) });
  const one = { gpuCount: 8, gpusLeased: 7 };
  return {
    referenceBlock: REFERENCE_BLOCK,
    catalog: GPU_CATALOG,
    providers: [px, py, pz],
    offers: [offer(1, px, one), offer(2, py, one), offer(3, pz, one)],
    orders: [
      order(1, { regionMask: (1n << BigInt(EU)) | (1n << BigInt(US)), preferredZone: zoneId(EU, 1), maxPricePerGpuHour: 5_000_000n }),
      order(2, { regionMask: (1n << BigInt(US)) | (1n << BigInt(AP)), preferredZone: zoneId(US, 1), maxPricePerGpuHour: 5_000_000n }),
      order(3, { regionMask: 1n << BigInt(EU), preferredZone: zoneId(EU, 2), maxPricePerGpuHour: 2_500_000n }),
    ],
    weights: DEFAULT_WEIGHTS,
  };
}
