/**
 * BN254 secret keys. Signing happens only here, with noble's constant-time-style scalar multiplication; the fast
 * engine (mcl) only ever verifies, because its `mul` is variable-time.
 */
import { randomBytes } from "node:crypto";
import { inspect } from "node:util";
import { bn254 } from "@noble/curves/bn254.js";
import { BlsError, BlsErrorCode } from "./errors.js";
import { FR_MODULUS, g1ToEvm, g2ToEvm, type G1Point, type G2Point, type Hex } from "./encoding.js";
import { hashToG1Point } from "./hashToG1.js";

const SECRET_KEY_BYTES = 32;
// r < 2^254: masking the two top bits keeps candidates uniform over [0, 2^254) and rejects ~24% of draws.
const TOP_BYTE_MASK = 0x3f;

function bytesToBigInt(b: Uint8Array): bigint {
  let v = 0n;
  for (const byte of b) v = (v << 8n) | BigInt(byte);
  return v;
}

export class SecretKey {
  readonly #sk: bigint;
  #pkG1?: G1Point;
  #pkG2?: G2Point;

  private constructor(sk: bigint) {
    this.#sk = sk;
  }

  /** A fresh key from the OS CSPRNG, uniform in [1, r-1] by rejection sampling. */
  static generate(): SecretKey {
    for (;;) {
      const b = randomBytes(SECRET_KEY_BYTES);
      b[0] = b[0]! & TOP_BYTE_MASK;
      const v = bytesToBigInt(b);
      b.fill(0);
      if (v !== 0n && v < FR_MODULUS) return new SecretKey(v);
    }
  }

  /** Imports a 32-byte big-endian secret; 0 and values >= r are refused rather than reduced. */
  static fromBytes(b: Uint8Array): SecretKey {
    if (!(b instanceof Uint8Array) || b.length !== SECRET_KEY_BYTES) {
      throw new BlsError(BlsErrorCode.InvalidSecretKey, `secret key must be ${SECRET_KEY_BYTES} bytes`);
    }
    const v = bytesToBigInt(b);
    if (v === 0n || v >= FR_MODULUS) throw new BlsError(BlsErrorCode.InvalidSecretKey, "secret key is not in [1, r-1]");
    return new SecretKey(v);
  }

  /** 32-byte big-endian encoding of the secret scalar. */
  toBytes(): Uint8Array {
    const out = new Uint8Array(SECRET_KEY_BYTES);
    let v = this.#sk;
    for (let i = SECRET_KEY_BYTES - 1; i >= 0; i--) {
      out[i] = Number(v & 0xffn);
      v >>= 8n;
    }
    return out;
  }

  /** sk·G1 in EVM form: the key behind the operator id and the registry's aggregate key. */
  publicKeyG1(): G1Point {
    this.#pkG1 ??= g1ToEvm(bn254.G1.Point.BASE.multiply(this.#sk));
    return this.#pkG1;
  }

  /** sk·G2 in EVM form ([im, re]): the key signatures are verified against. */
  publicKeyG2(): G2Point {
    this.#pkG2 ??= g2ToEvm(bn254.G2.Point.BASE.multiply(this.#sk));
    return this.#pkG2;
  }

  /** sk·hashToG1(digest). Only ever pass keccak256 outputs (see hashToG1). */
  sign(digest: Hex): G1Point {
    return g1ToEvm(hashToG1Point(digest).multiply(this.#sk));
  }

  // Secrets are never logged: console.log, util.inspect, JSON.stringify and template strings all see a placeholder.
  toString(): string {
    return "SecretKey(<redacted>)";
  }
  toJSON(): string {
    return this.toString();
  }
  [inspect.custom](): string {
    return this.toString();
  }
}
