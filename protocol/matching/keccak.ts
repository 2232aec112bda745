/**
 * keccak256 for the matcher's hot paths: the result commitment (docs/protocol.md §3.4: ≈ 1.2 MB of ABI words for a
 * 10 000-order batch) and the per-batch random values (docs/matching.md §5.8: one hash per eight ids). It is
 * hash-wasm's WebAssembly Keccak: on this machine 4 ms for the 1.2 MB commitment where @noble/hashes' JavaScript
 * takes 35–56 ms, and 0.7 µs for a 41-byte hash where it takes 4.6 µs. The WebAssembly module is compiled once,
 * when this module loads (its bytes ship inside the npm package; nothing is downloaded); the hash itself is
 * synchronous. test/matching/keccak.test.ts checks it against @noble/hashes at every rate boundary.
 */
import { createKeccak } from "hash-wasm";

const hasher = await createKeccak(256);

/** keccak256(data), 32 bytes. */
export function keccak256Bytes(data: Uint8Array): Uint8Array {
  return hasher.init().update(data).digest("binary");
}
