/**
 * A hand-built batch that only make room by ejection serves (docs/matching.md §7.7). Four H100 offers, one per
 * region: X (4 free GPUs), Y, Z and W (2 free each), each asking a little more than the one before. Orders 1 and 2
 * (2 GPUs each) accept X or Y, resp. X or Z, and prefer X, the cheapest; order 3 (2 GPUs) accepts Z or W; order 4
 * (4 GPUs) accepts only X, pays exactly its ask and prefers a zone outside every region (price and region scores
 * 0), so that even its 4 GPUs are worth less on X than orders 1 and 2 together. Every phase before §7.7 puts 1 and 2
 * on X and 3 on Z and leaves 4 open: no single occupant frees X (chains, relocate, displace), and the make room of
 * the repair (§7.4) would have to drop order 2, which has no offer with room. Serving 4 takes 1 → Y, 2 → Z and 3,
 * ejected from Z, → W. Without W (`withW = false`) order 3 would have to be dropped, which costs more than order 4
 * brings: 4 stays open.
 */
import { GPU_CATALOG, zoneId } from "../../../protocol/market/catalog.js";
import type { MatchInputs } from "../../../protocol/matching/types.js";
import { REFERENCE_BLOCK } from "./generator.js";
import { offer, order, provider } from "./tiny.js";

/** No random term, so that nothing but the asks, regions and sizes orders the pairs. */
export const MAKE_ROOM_WEIGHTS = { region: 2_000, price: 4_000, uptime: 1_000, reputation: 1_000, availability: 1_000, slashing: 500, stake: 500, random: 0 };

const X = 10;
const Y = 11;
const Z = 12;
const W = 13;
const bit = (region: number): bigint => 1n << BigInt(region);

export function makeRoomBatch(withW = true): MatchInputs {
  const regions = withW ? [X, Y, Z, W] : [X, Y, Z];
  const providers = regions.map((r, i) => provider(i + 1, { zone: zoneId(r, 1) }));
  const ask = (i: number): bigint => 2_000_000n + 20_000n * BigInt(i);
  const offers = providers.map((p, i) => offer(i + 1, p, { gpuCount: 8, gpusLeased: i === 0 ? 4 : 6, pricePerGpuHour: ask(i) }));
  const orders = [
    order(1, { gpuCount: 2, regionMask: bit(X) | bit(Y), maxPricePerGpuHour: 5_000_000n }),
    order(2, { gpuCount: 2, regionMask: bit(X) | bit(Z), maxPricePerGpuHour: 5_000_000n }),
    order(3, { gpuCount: 2, regionMask: bit(Z) | bit(W), maxPricePerGpuHour: 5_000_000n }),
    order(4, { gpuCount: 4, regionMask: bit(X), preferredZone: zoneId(20, 1), maxPricePerGpuHour: ask(0) }),
  ];
  return { referenceBlock: REFERENCE_BLOCK, catalog: GPU_CATALOG, providers, offers, orders, weights: MAKE_ROOM_WEIGHTS };
}
