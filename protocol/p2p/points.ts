/**
 * BN254 G1 points as they travel: 64 bytes, x ‖ y, each 32-byte big-endian — the EVM encoding (precompiles 0x06
 * to 0x08), so a gossiped signature goes on-chain byte for byte. `G1Like` matches the BLS library's `G1Point`
 * structurally, so this file needs no import of it.
 *
 * Decoding checks what is cheap and certain (coordinates below p, on the curve y² = x³ + 3, not the point at
 * infinity, which a key and a signature could both be to fool a raw pairing check — docs/protocol.md §6).
 * G1 of BN254 has cofactor 1, so on-curve means in the subgroup.
 */
import { CodedError } from "../errors.js";

export interface G1Like {
  X: bigint;
  Y: bigint;
}

/** The BN254 base field modulus. */
export const BN254_P = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;

export const G1_BYTES = 64;

export class PointEncodingError extends CodedError<"PointLength" | "PointCoordinateRange" | "PointNotOnCurve" | "PointAtInfinity"> {}

export function isOnG1(p: G1Like): boolean {
  if (p.X < 0n || p.Y < 0n || p.X >= BN254_P || p.Y >= BN254_P) return false;
  return (p.Y * p.Y - (p.X * p.X * p.X + 3n)) % BN254_P === 0n;
}

export function encodeG1(p: G1Like): Uint8Array {
  const out = new Uint8Array(G1_BYTES);
  writeUint256(out, 0, p.X);
  writeUint256(out, 32, p.Y);
  return out;
}

export function decodeG1(bytes: Uint8Array): G1Like {
  if (bytes.length !== G1_BYTES) throw new PointEncodingError("PointLength", `G1 point needs ${G1_BYTES} bytes, got ${bytes.length}`);
  const p = { X: readUint256(bytes, 0), Y: readUint256(bytes, 32) };
  if (p.X === 0n && p.Y === 0n) throw new PointEncodingError("PointAtInfinity", "G1 point at infinity");
  if (p.X >= BN254_P || p.Y >= BN254_P) throw new PointEncodingError("PointCoordinateRange", "G1 coordinate not below p");
  if (!isOnG1(p)) throw new PointEncodingError("PointNotOnCurve", "G1 point not on y² = x³ + 3");
  return p;
}

export function writeUint256(out: Uint8Array, offset: number, value: bigint): void {
  if (value < 0n || value >= 1n << 256n) throw new RangeError(`${value} is not a uint256`);
  let v = value;
  for (let i = 31; i >= 0; i--) {
    out[offset + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

export function readUint256(bytes: Uint8Array, offset: number): bigint {
  let v = 0n;
  for (let i = 0; i < 32; i++) v = (v << 8n) | BigInt(bytes[offset + i]!);
  return v;
}
