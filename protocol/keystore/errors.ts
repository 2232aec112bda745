import { CodePrefixedError, type CodeOf } from "../errors.js";

/** Keystore refusals, each with a code (tests and the CLI branch on it) and a message a user can act on. */
export const KeystoreErrorCode = {
  /** The checksum does not match: wrong password (or a corrupted ciphertext). No key is returned. */
  WrongPassword: "WrongPassword",
  /** Not JSON, or a required field is missing or of the wrong type. */
  Malformed: "Malformed",
  /** `version` is not 4. */
  UnsupportedVersion: "UnsupportedVersion",
  /** A kdf, cipher or checksum function this implementation does not know. */
  UnsupportedFunction: "UnsupportedFunction",
  /** KDF parameters that are invalid or beyond the resource limits (a hostile file must not eat all memory). */
  InvalidKdfParams: "InvalidKdfParams",
  /** The decrypted secret is not a valid BN254 secret key. */
  InvalidSecret: "InvalidSecret",
  /** The decrypted key does not match the file's `pubkey`/`pubkeyG2`, e.g. a foreign (BLS12-381) keystore. */
  PubkeyMismatch: "PubkeyMismatch",
  /** A password that is empty after normalization. */
  EmptyPassword: "EmptyPassword",
  /** Refusing to overwrite an existing keystore file. */
  FileExists: "FileExists",
} as const;

/** Its `code` is one of KeystoreErrorCode's values. */
export class KeystoreError extends CodePrefixedError<CodeOf<typeof KeystoreErrorCode>> {}
