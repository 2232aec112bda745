/**
 * protocol/matching/keccak.ts (hash-wasm's Keccak) against @noble/hashes, the reference the rest of the code base
 * uses: at every length around the sponge's rate of 136 bytes (where padding moves to a new block), on the sizes
 * the matcher hashes (41-byte random-value inputs, a 128-row result page), and on a known answer.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import { expect } from "chai";
import { bytesToHex } from "viem";
import { keccak256Bytes } from "../../protocol/matching/keccak.js";

function bytes(length: number, salt: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 131 + salt * 17 + (i >> 8)) & 255;
  return out;
}

describe("keccak256 of the matcher (protocol/matching/keccak.ts)", () => {
  it("given the empty input: it should give keccak256's known answer", () => {
    expect(bytesToHex(keccak256Bytes(new Uint8Array(0)))).to.equal("0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  });

  it("given every length at the rate boundaries (135, 136, 137 and twice and three times the rate, ±1): it should equal @noble/hashes", () => {
    const lengths = [1, 41, 64];
    for (const k of [1, 2, 3]) lengths.push(136 * k - 1, 136 * k, 136 * k + 1);
    for (const n of lengths) {
      const data = bytes(n, n);
      expect(bytesToHex(keccak256Bytes(data)), `length ${n}`).to.equal(bytesToHex(keccak_256(data)));
    }
  });

  it("given a full 128-row result page (96 + 128 × 128 bytes) and a 1.2 MB input: it should equal @noble/hashes", () => {
    for (const n of [96 + 128 * 128, 1_212_224]) {
      const data = bytes(n, 3);
      expect(bytesToHex(keccak256Bytes(data)), `length ${n}`).to.equal(bytesToHex(keccak_256(data)));
    }
  });

  it("given two hashes in a row: the second should not depend on the first (the hasher is reset per call)", () => {
    const a = bytes(200, 1);
    const b = bytes(7, 2);
    keccak256Bytes(a);
    expect(bytesToHex(keccak256Bytes(b))).to.equal(bytesToHex(keccak_256(b)));
    // The returned digest is the caller's: a later hash does not overwrite it.
    const first = keccak256Bytes(a);
    const copy = Uint8Array.from(first);
    keccak256Bytes(b);
    expect(first).to.deep.equal(copy);
  });
});
