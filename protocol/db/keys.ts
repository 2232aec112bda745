/**
 * Key encodings. Numbers are big-endian so that LevelDB's byte-wise key order is numeric order and a range scan
 * over (prefix ‖ batch) returns batches in ascending order.
 */
export class KeyEncodingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeyEncodingError";
  }
}

const MAX_UINT64 = (1n << 64n) - 1n;

export function uint64BE(value: bigint): Uint8Array {
  if (value < 0n || value > MAX_UINT64) throw new KeyEncodingError(`${value} is not a uint64`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value, false);
  return out;
}

export function readUint64BE(bytes: Uint8Array, offset = 0): bigint {
  if (bytes.length < offset + 8) throw new KeyEncodingError(`need 8 bytes at offset ${offset}, have ${bytes.length - offset}`);
  return new DataView(bytes.buffer, bytes.byteOffset + offset, 8).getBigUint64(0, false);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Parses a 0x-prefixed hex string of exactly `length` bytes. */
export function hexToFixedBytes(hex: string, length: number): Uint8Array {
  if (!/^0x[0-9a-fA-F]*$/.test(hex) || hex.length !== 2 + 2 * length) {
    throw new KeyEncodingError(`expected 0x-prefixed hex of ${length} bytes, got ${hex.slice(0, 80)}`);
  }
  return Uint8Array.from(Buffer.from(hex.slice(2), "hex"));
}

export function bytesToHex(bytes: Uint8Array): `0x${string}` {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")}`;
}
