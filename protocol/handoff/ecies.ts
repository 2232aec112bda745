/**
 * ECIES over secp256k1 for the lease handoff (docs/agent.md "Sealed access"): the provider agent seals the lease's
 * endpoint and one-time credential to the renter's Ethereum public key, the renter opens it with its account key.
 *
 * Construction (all primitives from @noble, none written here):
 * - a fresh ephemeral secp256k1 key e per seal; shared point S = e · P_renter (ECDH), its x-coordinate is the input
 *   key material;
 * - key = HKDF-SHA256(ikm = S.x, salt = E ‖ P_renter (both compressed), info = label), 32 bytes, where
 *   label = "matchnet/lease-handoff/v1" ‖ chainId (u64 BE) ‖ marketplace (20 bytes) ‖ leaseId (u64 BE):
 *   a blob sealed for one lease, marketplace or chain derives another key anywhere else and does not open there;
 * - XChaCha20-Poly1305 with a random 24-byte nonce (no nonce reuse worry at any volume), the format byte, E and the
 *   label as associated data.
 *
 * Wire format (version 1): `0x01 ‖ E (33 bytes, compressed) ‖ nonce (24) ‖ ciphertext ‖ tag (16)`; 74 bytes of
 * overhead, so a plaintext of at most 950 bytes fits the marketplace's 1..1024-byte `sealedAccess`.
 */
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { randomBytes } from "@noble/ciphers/utils.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { getAddress, hexToBytes, type Address, type Hex } from "viem";
import { CodedError } from "../errors.js";

export const SEAL_VERSION = 1;
const LABEL_PREFIX = new TextEncoder().encode("matchnet/lease-handoff/v1");
const EPHEMERAL_LEN = 33;
const NONCE_LEN = 24;
const TAG_LEN = 16;
export const SEAL_OVERHEAD = 1 + EPHEMERAL_LEN + NONCE_LEN + TAG_LEN;
/** The marketplace accepts 1..1024 bytes of sealed access (docs/contracts.md, markLeaseReady). */
export const MAX_SEALED_BYTES = 1024;
export const MAX_PLAINTEXT_BYTES = MAX_SEALED_BYTES - SEAL_OVERHEAD;

export type HandoffErrorCode =
  | "HANDOFF_BAD_PUBLIC_KEY"
  | "HANDOFF_PLAINTEXT_TOO_LONG"
  | "HANDOFF_MALFORMED"
  | "HANDOFF_UNKNOWN_VERSION"
  | "HANDOFF_CANNOT_OPEN"
  | "HANDOFF_BAD_PAYLOAD"
  | "HANDOFF_KEY_NOT_RECOVERABLE";

export class HandoffError extends CodedError<HandoffErrorCode> {}

/** What binds a sealed blob to one lease: the chain, the marketplace and the lease id. */
export interface HandoffDomain {
  chainId: bigint | number;
  marketplace: Address;
  leaseId: bigint;
}

export function handoffLabel(d: HandoffDomain): Uint8Array {
  const out = new Uint8Array(LABEL_PREFIX.length + 8 + 20 + 8);
  const view = new DataView(out.buffer);
  out.set(LABEL_PREFIX, 0);
  view.setBigUint64(LABEL_PREFIX.length, BigInt(d.chainId));
  out.set(hexToBytes(getAddress(d.marketplace)), LABEL_PREFIX.length + 8);
  view.setBigUint64(LABEL_PREFIX.length + 28, d.leaseId);
  return out;
}

function point(publicKey: Uint8Array | Hex) {
  const bytes = typeof publicKey === "string" ? hexToBytes(publicKey) : publicKey;
  try {
    return secp256k1.Point.fromBytes(bytes);
  } catch (err) {
    throw new HandoffError("HANDOFF_BAD_PUBLIC_KEY", `not a secp256k1 public key (${bytes.length} bytes)`, { cause: err });
  }
}

function deriveKey(shared: Uint8Array, ephemeral: Uint8Array, recipient: Uint8Array, label: Uint8Array): Uint8Array {
  const salt = new Uint8Array(EPHEMERAL_LEN * 2);
  salt.set(ephemeral, 0);
  salt.set(recipient, EPHEMERAL_LEN);
  // getSharedSecret returns the compressed point: its x-coordinate follows the parity byte.
  return hkdf(sha256, shared.subarray(1), salt, label, 32);
}

function aad(ephemeral: Uint8Array, label: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + EPHEMERAL_LEN + label.length);
  out[0] = SEAL_VERSION;
  out.set(ephemeral, 1);
  out.set(label, 1 + EPHEMERAL_LEN);
  return out;
}

/**
 * Seals `plaintext` to `recipientPublicKey` (33- or 65-byte secp256k1 key) for one lease. `fixed` pins the
 * ephemeral key and nonce, for test vectors only: reusing either breaks the scheme.
 */
export function seal(recipientPublicKey: Uint8Array | Hex, domain: HandoffDomain, plaintext: Uint8Array, fixed?: { ephemeralSecretKey: Uint8Array; nonce: Uint8Array }): Uint8Array {
  if (plaintext.length > MAX_PLAINTEXT_BYTES) {
    throw new HandoffError("HANDOFF_PLAINTEXT_TOO_LONG", `plaintext of ${plaintext.length} bytes; at most ${MAX_PLAINTEXT_BYTES} fit ${MAX_SEALED_BYTES} sealed bytes`);
  }
  const recipient = point(recipientPublicKey).toBytes(true);
  const eSecret = fixed?.ephemeralSecretKey ?? secp256k1.utils.randomSecretKey();
  const ephemeral = secp256k1.getPublicKey(eSecret, true);
  const label = handoffLabel(domain);
  const key = deriveKey(secp256k1.getSharedSecret(eSecret, recipient, true), ephemeral, recipient, label);
  const nonce = fixed?.nonce ?? randomBytes(NONCE_LEN);
  const body = xchacha20poly1305(key, nonce, aad(ephemeral, label)).encrypt(plaintext);
  const out = new Uint8Array(1 + EPHEMERAL_LEN + NONCE_LEN + body.length);
  out[0] = SEAL_VERSION;
  out.set(ephemeral, 1);
  out.set(nonce, 1 + EPHEMERAL_LEN);
  out.set(body, 1 + EPHEMERAL_LEN + NONCE_LEN);
  key.fill(0);
  return out;
}

/**
 * Opens a sealed blob with the recipient's secret key for the same domain. Anything else — another key, another
 * lease, a flipped bit — is `HANDOFF_CANNOT_OPEN` (the AEAD cannot tell these apart, and neither should we).
 */
export function open(recipientSecretKey: Uint8Array | Hex, domain: HandoffDomain, sealed: Uint8Array): Uint8Array {
  if (sealed.length < SEAL_OVERHEAD) throw new HandoffError("HANDOFF_MALFORMED", `sealed access of ${sealed.length} bytes; at least ${SEAL_OVERHEAD} expected`);
  if (sealed[0] !== SEAL_VERSION) throw new HandoffError("HANDOFF_UNKNOWN_VERSION", `sealed access format ${sealed[0]}; this build reads format ${SEAL_VERSION}`);
  const secret = typeof recipientSecretKey === "string" ? hexToBytes(recipientSecretKey) : recipientSecretKey;
  const ephemeral = sealed.subarray(1, 1 + EPHEMERAL_LEN);
  const nonce = sealed.subarray(1 + EPHEMERAL_LEN, 1 + EPHEMERAL_LEN + NONCE_LEN);
  const body = sealed.subarray(1 + EPHEMERAL_LEN + NONCE_LEN);
  let shared: Uint8Array;
  try {
    shared = secp256k1.getSharedSecret(secret, ephemeral, true);
  } catch (err) {
    throw new HandoffError("HANDOFF_MALFORMED", "sealed access carries no valid ephemeral key", { cause: err });
  }
  const recipient = secp256k1.getPublicKey(secret, true);
  const label = handoffLabel(domain);
  const key = deriveKey(shared, ephemeral, recipient, label);
  try {
    return xchacha20poly1305(key, nonce, aad(ephemeral, label)).decrypt(body);
  } catch (err) {
    throw new HandoffError("HANDOFF_CANNOT_OPEN", "sealed access does not open with this key for this lease", { cause: err });
  } finally {
    key.fill(0);
  }
}

/** What the provider agent hands to the renter (the plaintext of the sealed access, JSON). */
export interface LeaseAccess {
  /** Where the workload answers, e.g. http://127.0.0.1:40123/ */
  endpoint: string;
  /** The one-time bearer credential of this lease. */
  credential: string;
}

export function encodeAccess(a: LeaseAccess): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ endpoint: a.endpoint, credential: a.credential }));
}

export function decodeAccess(bytes: Uint8Array): LeaseAccess {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    throw new HandoffError("HANDOFF_BAD_PAYLOAD", "sealed access opened but is not JSON", { cause: err });
  }
  const o = v as Record<string, unknown>;
  if (typeof v !== "object" || v === null || typeof o.endpoint !== "string" || typeof o.credential !== "string") {
    throw new HandoffError("HANDOFF_BAD_PAYLOAD", "sealed access opened but lacks endpoint and credential strings");
  }
  return { endpoint: o.endpoint, credential: o.credential };
}
