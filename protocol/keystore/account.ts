/**
 * The Ethereum account key (secp256k1) an operator or aggregator sends transactions with, kept in the same
 * encrypted EIP-2335 layout as the BLS key (scrypt + aes-128-ctr + sha256 checksum), with the account's 20-byte
 * address as `pubkey`. Unlocking checks that the decrypted key controls that address, so a wrong file or a
 * corrupted one is an error, never a different account.
 */
import { readFile } from "node:fs/promises";
import { bytesToHex, getAddress, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { KeystoreError, KeystoreErrorCode } from "./errors.js";
import { writeSecretJsonFile } from "./file.js";
import {
  checkEip2335,
  decryptKeystoreSecret,
  encryptSecretBytes,
  hexBytes,
  publicFieldIs,
  toObject,
  type Keystore,
  type KeystoreOptions,
} from "./keystore.js";

export async function encryptAccountKey(privateKey: Hex, password: string, opts: KeystoreOptions = {}): Promise<Keystore> {
  const secret = hexBytes(privateKey, "private key", 32);
  let account: PrivateKeyAccount;
  try {
    account = privateKeyToAccount(bytesToHex(secret));
  } catch (err) {
    secret.fill(0);
    throw new KeystoreError(KeystoreErrorCode.InvalidSecret, "not a secp256k1 private key", { cause: err });
  }
  try {
    return await encryptSecretBytes(
      secret,
      password,
      { description: "matchnet Ethereum account key (secp256k1)", pubkey: account.address.slice(2).toLowerCase() },
      opts,
    );
  } finally {
    secret.fill(0);
  }
}

export async function createAccountKeystore(password: string, opts: KeystoreOptions = {}): Promise<{ keystore: Keystore; address: Hex }> {
  const privateKey = generatePrivateKey();
  const keystore = await encryptAccountKey(privateKey, password, opts);
  return { keystore, address: getAddress(`0x${keystore.pubkey}`) };
}

/** Validates an account keystore without decrypting it. */
export function parseAccountKeystore(input: string | unknown): Keystore {
  const raw = toObject(input);
  checkEip2335(raw);
  if (typeof raw.pubkey !== "string") throw new KeystoreError(KeystoreErrorCode.Malformed, "missing string pubkey");
  const pk = hexBytes(raw.pubkey, "pubkey");
  if (pk.length !== 20) {
    throw new KeystoreError(KeystoreErrorCode.Malformed, `pubkey of an account keystore must be a 20-byte address, got ${pk.length} bytes (a BLS keystore?)`);
  }
  return raw as unknown as Keystore;
}

export async function unlockAccountKeystore(keystore: Keystore | string, password: string): Promise<PrivateKeyAccount> {
  const ks = parseAccountKeystore(keystore);
  const secret = await decryptKeystoreSecret(ks, password);
  let account: PrivateKeyAccount;
  try {
    account = privateKeyToAccount(bytesToHex(secret));
  } catch (err) {
    throw new KeystoreError(KeystoreErrorCode.InvalidSecret, "decrypted secret is not a secp256k1 private key", { cause: err });
  } finally {
    secret.fill(0);
  }
  if (!publicFieldIs(ks.pubkey, "pubkey", account.address)) {
    throw new KeystoreError(KeystoreErrorCode.PubkeyMismatch, "decrypted key does not control the keystore's address");
  }
  return account;
}

export async function writeAccountKeystoreFile(path: string, keystore: Keystore, opts: { overwrite?: boolean } = {}): Promise<void> {
  await writeSecretJsonFile(path, parseAccountKeystore(keystore), opts);
}

export async function unlockAccountKeystoreFile(path: string, password: string): Promise<PrivateKeyAccount> {
  return unlockAccountKeystore(await readFile(path, "utf8"), password);
}
