/**
 * The per-batch random values of docs/matching.md §5.8. A keccak costs microseconds, so there is none per pair
 * (10 000 × 10 000 pairs would take minutes) and not even one per id: one hash yields eight 32-bit values, for the
 * eight ids that share `id >> 3`. The value of id is word (id & 7) of
 *   keccak256(abi.encodePacked(bytes32 seed, uint8 tag, uint64 id >> 3)),
 * a word being four bytes big-endian. The pair's term is then `mixRandom(orderValue, offerValue)` (score.ts).
 */
import { keccak256Bytes } from "./keccak.js";

export const RANDOM_TAG_ORDER = 1;
export const RANDOM_TAG_OFFER = 2;

/** Per-id values for one tag; remembers the last hash, so ids asked in ascending order cost one keccak per 8. */
export class RandomValues {
  private readonly buf = new Uint8Array(41);
  private readonly view = new DataView(this.buf.buffer);
  private group = -1n;
  private hash: Uint8Array = new Uint8Array(32);

  constructor(seed: Uint8Array, tag: number) {
    this.buf.set(seed, 0);
    this.buf[32] = tag;
  }

  of(id: bigint): number {
    const group = id >> 3n;
    if (group !== this.group) {
      this.view.setBigUint64(33, group, false);
      this.hash = keccak256Bytes(this.buf);
      this.group = group;
    }
    const at = Number(id & 7n) * 4;
    const h = this.hash;
    return ((h[at]! << 24) | (h[at + 1]! << 16) | (h[at + 2]! << 8) | h[at + 3]!) >>> 0;
  }
}

/** The value of one id, computed on its own (the reference form of the rule above). */
export function randomValue(seed: Uint8Array, tag: number, id: bigint): number {
  return new RandomValues(seed, tag).of(id);
}
