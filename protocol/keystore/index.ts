/** Encrypted BN254 BLS keystore (EIP-2335 layout); format in docs/keystore.md. */
export { KeystoreError, KeystoreErrorCode } from "./errors.js";
export {
  DEFAULT_SCRYPT,
  createKeystore,
  decryptKeystoreSecret,
  encryptSecretKey,
  importSecretKey,
  normalizePassword,
  parseKeystore,
  unlockKeystore,
  type Keystore,
  type KeystoreOptions,
  type Pbkdf2Params,
  type ScryptParams,
} from "./keystore.js";
export { readKeystoreFile, unlockKeystoreFile, writeKeystoreFile } from "./file.js";
export {
  createAccountKeystore,
  encryptAccountKey,
  parseAccountKeystore,
  unlockAccountKeystore,
  unlockAccountKeystoreFile,
  writeAccountKeystoreFile,
} from "./account.js";
