/**
 * Encrypted BN254 BLS keystore in the EIP-2335 layout (https://eips.ethereum.org/EIPS/eip-2335), see docs/keystore.md.
 *
 *   decryption_key = scrypt(password, salt, n, r, p, dklen = 32)        (or pbkdf2-hmac-sha256 when importing)
 *   checksum       = sha256(decryption_key[16:32] ‖ ciphertext)
 *   ciphertext     = aes-128-ctr(key = decryption_key[0:16], iv, secret)
 *
 * The checksum is compared before anything is decrypted, so a wrong password is always an error, never a wrong key;
 * after decryption the key must also reproduce the file's public key(s).
 */
import { createCipheriv, createDecipheriv, createHash, pbkdf2, randomBytes, randomUUID, scrypt, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import { BlsError, SecretKey, encodeG1, encodeG2 } from "../bls/index.js";
import { KeystoreError, KeystoreErrorCode } from "./errors.js";

const scryptAsync = promisify(scrypt) as (pw: Buffer, salt: Buffer, keylen: number, opts: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;
const pbkdf2Async = promisify(pbkdf2);

export interface ScryptParams {
  dklen: number;
  n: number;
  r: number;
  p: number;
  salt: string;
}
export interface Pbkdf2Params {
  dklen: number;
  c: number;
  prf: "hmac-sha256";
  salt: string;
}

export interface Keystore {
  crypto: {
    kdf: { function: "scrypt"; params: ScryptParams; message: "" } | { function: "pbkdf2"; params: Pbkdf2Params; message: "" };
    checksum: { function: "sha256"; params: Record<string, never>; message: string };
    cipher: { function: "aes-128-ctr"; params: { iv: string }; message: string };
  };
  description: string;
  /** G1 public key X ‖ Y, 64 bytes hex without 0x (EIP-2335 keeps hex unprefixed). */
  pubkey: string;
  /** G2 public key X[0] ‖ X[1] ‖ Y[0] ‖ Y[1] (imaginary part first), 128 bytes hex: not in EIP-2335, matchnet's addition. */
  pubkeyG2?: string;
  path: string;
  uuid: string;
  version: 4;
}

/** EIP-2335's scrypt default. */
export const DEFAULT_SCRYPT = { n: 262144, r: 8, p: 1 } as const;

// Resource limits on parameters read from a file: scrypt needs 128·n·r bytes, so n = 2^20, r = 8 is already 1 GiB.
const MAX_SCRYPT_MEMORY = 1024 * 1024 * 1024;
const MAX_SCRYPT_P = 16;
const MAX_PBKDF2_C = 1 << 24;
const DKLEN = 32;
const MIN_SALT_BYTES = 16;

export interface KeystoreOptions {
  /** scrypt cost; the EIP-2335 default n = 262144, r = 8, p = 1 takes ≈ 0.5 s and 256 MiB. Tests may lower n. */
  scrypt?: { n?: number; r?: number; p?: number };
  description?: string;
  /** EIP-2334 derivation path; "" for keys not derived from a mnemonic (all matchnet keys). */
  path?: string;
}

/** EIP-2335 password processing: NFKD, then drop C0 (0x00–0x1F), DEL (0x7F) and C1 (0x80–0x9F) control codes. */
export function normalizePassword(password: string): Buffer {
  if (typeof password !== "string") throw new KeystoreError(KeystoreErrorCode.Malformed, "password must be a string");
  // eslint-disable-next-line no-control-regex
  const cleaned = password.normalize("NFKD").replace(/[\u0000-\u001f\u007f-\u009f]/g, "");
  return Buffer.from(cleaned, "utf8");
}

export function hexBytes(v: unknown, what: string, length?: number): Buffer {
  if (typeof v !== "string" || !/^(0x)?([0-9a-fA-F]{2})*$/.test(v)) {
    throw new KeystoreError(KeystoreErrorCode.Malformed, `${what} must be a hex string`);
  }
  const b = Buffer.from(v.replace(/^0x/, ""), "hex");
  if (length !== undefined && b.length !== length) {
    throw new KeystoreError(KeystoreErrorCode.Malformed, `${what} must be ${length} bytes, got ${b.length}`);
  }
  return b;
}

/**
 * Whether a keystore's public field (`pubkey`, `pubkeyG2`: hex, any case, 0x optional) holds exactly the bytes of
 * `expected` (0x-hex): the field is decoded to bytes once and compared as bytes, never as a re-cased string.
 */
export function publicFieldIs(field: string, what: string, expected: `0x${string}`): boolean {
  return hexBytes(field, what).equals(Buffer.from(expected.slice(2), "hex"));
}

function checkScryptParams(p: Partial<ScryptParams>): asserts p is ScryptParams {
  const { n, r, p: par, dklen } = p;
  const isInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v > 0;
  if (!isInt(n) || n < 2 || (n & (n - 1)) !== 0) {
    throw new KeystoreError(KeystoreErrorCode.InvalidKdfParams, `scrypt n must be a power of two ≥ 2, got ${String(n)}`);
  }
  if (!isInt(r)) throw new KeystoreError(KeystoreErrorCode.InvalidKdfParams, `scrypt r must be a positive integer, got ${String(r)}`);
  if (!isInt(par) || par > MAX_SCRYPT_P) {
    throw new KeystoreError(KeystoreErrorCode.InvalidKdfParams, `scrypt p must be an integer in [1, ${MAX_SCRYPT_P}], got ${String(par)}`);
  }
  if (128 * n * r > MAX_SCRYPT_MEMORY) {
    throw new KeystoreError(KeystoreErrorCode.InvalidKdfParams, `scrypt n·r needs ${(128 * n * r) / 2 ** 20} MiB, above the 1024 MiB limit`);
  }
  if (dklen !== DKLEN) throw new KeystoreError(KeystoreErrorCode.InvalidKdfParams, `kdf dklen must be ${DKLEN}, got ${String(dklen)}`);
  if (hexBytes(p.salt, "kdf salt").length < MIN_SALT_BYTES) {
    throw new KeystoreError(KeystoreErrorCode.InvalidKdfParams, `kdf salt must be at least ${MIN_SALT_BYTES} bytes`);
  }
}

function checkPbkdf2Params(p: Partial<Pbkdf2Params>): asserts p is Pbkdf2Params {
  if (p.prf !== "hmac-sha256") throw new KeystoreError(KeystoreErrorCode.UnsupportedFunction, `pbkdf2 prf must be hmac-sha256, got ${String(p.prf)}`);
  if (typeof p.c !== "number" || !Number.isSafeInteger(p.c) || p.c < 1 || p.c > MAX_PBKDF2_C) {
    throw new KeystoreError(KeystoreErrorCode.InvalidKdfParams, `pbkdf2 c must be an integer in [1, 2^24], got ${String(p.c)}`);
  }
  if (p.dklen !== DKLEN) throw new KeystoreError(KeystoreErrorCode.InvalidKdfParams, `kdf dklen must be ${DKLEN}, got ${String(p.dklen)}`);
  if (hexBytes(p.salt, "kdf salt").length < MIN_SALT_BYTES) {
    throw new KeystoreError(KeystoreErrorCode.InvalidKdfParams, `kdf salt must be at least ${MIN_SALT_BYTES} bytes`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function field(obj: Record<string, unknown>, key: string, where: string): Record<string, unknown> {
  const v = obj[key];
  if (!isObject(v)) throw new KeystoreError(KeystoreErrorCode.Malformed, `missing object ${where}${key}`);
  return v;
}

export function toObject(input: string | unknown): Record<string, unknown> {
  let raw: unknown = input;
  if (typeof input === "string") {
    try {
      raw = JSON.parse(input);
    } catch (err) {
      throw new KeystoreError(KeystoreErrorCode.Malformed, "keystore is not valid JSON", { cause: err });
    }
  }
  if (!isObject(raw)) throw new KeystoreError(KeystoreErrorCode.Malformed, "keystore must be a JSON object");
  return raw;
}

/** The curve-independent part of EIP-2335: version and the crypto section. */
export function checkEip2335(raw: Record<string, unknown>): void {
  if (raw.version !== 4) {
    throw new KeystoreError(KeystoreErrorCode.UnsupportedVersion, `keystore version must be 4 (EIP-2335), got ${JSON.stringify(raw.version)}`);
  }
  const crypto = field(raw, "crypto", "");
  const kdf = field(crypto, "kdf", "crypto.");
  const checksum = field(crypto, "checksum", "crypto.");
  const cipher = field(crypto, "cipher", "crypto.");
  const kdfParams = field(kdf, "params", "crypto.kdf.");
  if (kdf.function === "scrypt") checkScryptParams(kdfParams as Partial<ScryptParams>);
  else if (kdf.function === "pbkdf2") checkPbkdf2Params(kdfParams as Partial<Pbkdf2Params>);
  else throw new KeystoreError(KeystoreErrorCode.UnsupportedFunction, `kdf function must be scrypt or pbkdf2, got ${JSON.stringify(kdf.function)}`);
  if (checksum.function !== "sha256") {
    throw new KeystoreError(KeystoreErrorCode.UnsupportedFunction, `checksum function must be sha256, got ${JSON.stringify(checksum.function)}`);
  }
  hexBytes(checksum.message, "crypto.checksum.message", 32);
  if (cipher.function !== "aes-128-ctr") {
    throw new KeystoreError(KeystoreErrorCode.UnsupportedFunction, `cipher function must be aes-128-ctr, got ${JSON.stringify(cipher.function)}`);
  }
  hexBytes(field(cipher, "params", "crypto.cipher.").iv, "crypto.cipher.params.iv", 16);
  hexBytes(cipher.message, "crypto.cipher.message", 32);
}

/**
 * Validates a BN254 keystore (a JSON string or an already parsed value) without decrypting it. Every problem is a
 * KeystoreError naming the field.
 */
export function parseKeystore(input: string | unknown): Keystore {
  const raw = toObject(input);
  checkEip2335(raw);
  if (typeof raw.pubkey !== "string") throw new KeystoreError(KeystoreErrorCode.Malformed, "missing string pubkey");
  const pk = hexBytes(raw.pubkey, "pubkey");
  if (pk.length === 48) {
    throw new KeystoreError(KeystoreErrorCode.PubkeyMismatch, "pubkey is 48 bytes: a BLS12-381 (Ethereum validator) keystore, not a BN254 one");
  }
  if (pk.length !== 64) throw new KeystoreError(KeystoreErrorCode.Malformed, `pubkey must be a 64-byte BN254 G1 key (X ‖ Y), got ${pk.length} bytes`);
  if (raw.pubkeyG2 !== undefined) hexBytes(raw.pubkeyG2, "pubkeyG2", 128);
  for (const key of ["uuid", "path"] as const) {
    if (typeof raw[key] !== "string") throw new KeystoreError(KeystoreErrorCode.Malformed, `missing string ${key}`);
  }
  if (raw.description !== undefined && typeof raw.description !== "string") {
    throw new KeystoreError(KeystoreErrorCode.Malformed, "description must be a string");
  }
  return raw as unknown as Keystore;
}

async function deriveKey(kdf: Keystore["crypto"]["kdf"], password: string): Promise<Buffer> {
  const pw = normalizePassword(password);
  const salt = hexBytes(kdf.params.salt, "kdf salt");
  if (kdf.function === "scrypt") {
    const { n, r, p, dklen } = kdf.params;
    return scryptAsync(pw, salt, dklen, { N: n, r, p, maxmem: 128 * n * r + 1024 * 1024 });
  }
  return pbkdf2Async(pw, salt, kdf.params.c, kdf.params.dklen, "sha256");
}

function checksumOf(dk: Buffer, ciphertext: Buffer): Buffer {
  return createHash("sha256").update(dk.subarray(16, 32)).update(ciphertext).digest();
}

const strip0x = (h: string) => h.replace(/^0x/, "");

/** What a keystore says about the key it holds, beside the encrypted secret. */
export interface KeystoreHeader {
  description: string;
  pubkey: string;
  pubkeyG2?: string;
}

/**
 * Encrypts 32 secret bytes in the EIP-2335 layout with a fresh salt and iv; the caller names the key in `header`.
 * Shared by the BLS keys here and the Ethereum account keys of account.ts.
 */
export async function encryptSecretBytes(secret: Uint8Array, password: string, header: KeystoreHeader, opts: KeystoreOptions = {}): Promise<Keystore> {
  const pw = normalizePassword(password);
  if (pw.length === 0) {
    throw new KeystoreError(KeystoreErrorCode.EmptyPassword, "password is empty after NFKD normalization and control-character removal");
  }
  const params: ScryptParams = {
    dklen: DKLEN,
    n: opts.scrypt?.n ?? DEFAULT_SCRYPT.n,
    r: opts.scrypt?.r ?? DEFAULT_SCRYPT.r,
    p: opts.scrypt?.p ?? DEFAULT_SCRYPT.p,
    salt: randomBytes(32).toString("hex"),
  };
  checkScryptParams(params);
  const kdf = { function: "scrypt", params, message: "" } as const;
  const dk = await deriveKey(kdf, password);
  const iv = randomBytes(16);
  const c = createCipheriv("aes-128-ctr", dk.subarray(0, 16), iv);
  const ciphertext = Buffer.concat([c.update(secret), c.final()]);
  const keystore: Keystore = {
    crypto: {
      kdf,
      checksum: { function: "sha256", params: {}, message: checksumOf(dk, ciphertext).toString("hex") },
      cipher: { function: "aes-128-ctr", params: { iv: iv.toString("hex") }, message: ciphertext.toString("hex") },
    },
    description: opts.description ?? header.description,
    pubkey: header.pubkey,
    ...(header.pubkeyG2 === undefined ? {} : { pubkeyG2: header.pubkeyG2 }),
    path: opts.path ?? "",
    uuid: randomUUID(),
    version: 4,
  };
  dk.fill(0);
  return keystore;
}

/** Encrypts an existing secret key (the "import" path). */
export async function encryptSecretKey(sk: SecretKey, password: string, opts: KeystoreOptions = {}): Promise<Keystore> {
  const secret = Buffer.from(sk.toBytes());
  try {
    return await encryptSecretBytes(
      secret,
      password,
      {
        description: "matchnet operator BLS key (BN254)",
        pubkey: strip0x(encodeG1(sk.publicKeyG1())),
        pubkeyG2: strip0x(encodeG2(sk.publicKeyG2())),
      },
      opts,
    );
  } finally {
    secret.fill(0);
  }
}

/** Generates a fresh key from the CSPRNG and encrypts it (the "create" path). */
export async function createKeystore(password: string, opts: KeystoreOptions = {}): Promise<{ keystore: Keystore; secretKey: SecretKey }> {
  const secretKey = SecretKey.generate();
  return { keystore: await encryptSecretKey(secretKey, password, opts), secretKey };
}

/** Imports a raw 32-byte big-endian secret (bytes or hex) into a new keystore. */
export async function importSecretKey(secret: Uint8Array | string, password: string, opts: KeystoreOptions = {}): Promise<Keystore> {
  const bytes = typeof secret === "string" ? hexBytes(secret, "secret key", 32) : secret;
  return encryptSecretKey(secretKeyOf(bytes, "secret"), password, opts);
}

/** The BN254 secret key in `bytes`; KeystoreError(InvalidSecret) naming `what` when they are not one. */
function secretKeyOf(bytes: Uint8Array, what: string): SecretKey {
  try {
    return SecretKey.fromBytes(bytes);
  } catch (err) {
    if (err instanceof BlsError) throw new KeystoreError(KeystoreErrorCode.InvalidSecret, `${what} is not a BN254 secret key in [1, r-1]`, { cause: err });
    throw err;
  }
}

/**
 * Low-level EIP-2335 decryption: checks the checksum and returns the 32 secret bytes, without interpreting them
 * (used by unlockKeystore and by the EIP-2335 test vectors, whose key is a BLS12-381 one).
 */
export async function decryptKeystoreSecret(keystore: Keystore | string | unknown, password: string): Promise<Uint8Array> {
  const raw = toObject(keystore);
  checkEip2335(raw);
  const ks = raw as unknown as Keystore;
  const dk = await deriveKey(ks.crypto.kdf, password);
  const ciphertext = hexBytes(ks.crypto.cipher.message, "crypto.cipher.message", 32);
  const expected = hexBytes(ks.crypto.checksum.message, "crypto.checksum.message", 32);
  if (!timingSafeEqual(checksumOf(dk, ciphertext), expected)) {
    dk.fill(0);
    throw new KeystoreError(KeystoreErrorCode.WrongPassword, "wrong password: the keystore checksum does not match (nothing was decrypted)");
  }
  const d = createDecipheriv("aes-128-ctr", dk.subarray(0, 16), hexBytes(ks.crypto.cipher.params.iv, "iv", 16));
  const secret = Buffer.concat([d.update(ciphertext), d.final()]);
  dk.fill(0);
  return new Uint8Array(secret);
}

/** Decrypts a keystore (object or JSON text) into its SecretKey, checking it against the stored public key(s). */
export async function unlockKeystore(keystore: Keystore | string, password: string): Promise<SecretKey> {
  const ks = parseKeystore(keystore);
  const secret = await decryptKeystoreSecret(ks, password);
  let sk: SecretKey;
  try {
    sk = secretKeyOf(secret, "decrypted secret");
  } finally {
    secret.fill(0);
  }
  if (!publicFieldIs(ks.pubkey, "pubkey", encodeG1(sk.publicKeyG1()))) {
    throw new KeystoreError(KeystoreErrorCode.PubkeyMismatch, "decrypted key does not match the keystore's pubkey (G1)");
  }
  if (ks.pubkeyG2 !== undefined && !publicFieldIs(ks.pubkeyG2, "pubkeyG2", encodeG2(sk.publicKeyG2()))) {
    throw new KeystoreError(KeystoreErrorCode.PubkeyMismatch, "decrypted key does not match the keystore's pubkeyG2");
  }
  return sk;
}
