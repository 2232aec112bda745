/** Keystore files: written 0600 (owner read/write only), never overwritten silently. */
import { chmod, readFile, writeFile } from "node:fs/promises";
import { KeystoreError, KeystoreErrorCode } from "./errors.js";
import { parseKeystore, unlockKeystore, type Keystore } from "./keystore.js";
import type { SecretKey } from "../bls/index.js";

export async function writeKeystoreFile(path: string, keystore: Keystore, opts: { overwrite?: boolean } = {}): Promise<void> {
  await writeSecretJsonFile(path, parseKeystore(keystore), opts);
}

/** Writes an already validated keystore object 0600, refusing to overwrite unless asked. */
export async function writeSecretJsonFile(path: string, value: unknown, opts: { overwrite?: boolean } = {}): Promise<void> {
  const text = JSON.stringify(value, null, 2) + "\n";
  try {
    await writeFile(path, text, { mode: 0o600, flag: opts.overwrite ? "w" : "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      throw new KeystoreError(KeystoreErrorCode.FileExists, `${path} exists; refusing to overwrite a keystore`, { cause: err });
    }
    throw err;
  }
  // `mode` only applies when the file is created; an overwritten file keeps its old mode unless reset.
  await chmod(path, 0o600);
}

export async function readKeystoreFile(path: string): Promise<Keystore> {
  return parseKeystore(await readFile(path, "utf8"));
}

export async function unlockKeystoreFile(path: string, password: string): Promise<SecretKey> {
  return unlockKeystore(await readKeystoreFile(path), password);
}
