import { expect } from "chai";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { privateKeyToAccount } from "viem/accounts";
import {
  KeystoreError,
  KeystoreErrorCode,
  createAccountKeystore,
  createKeystore,
  encryptAccountKey,
  unlockAccountKeystore,
  unlockAccountKeystoreFile,
  writeAccountKeystoreFile,
} from "../../protocol/keystore/index.js";

const FAST = { scrypt: { n: 1024, r: 8, p: 1 } };
// Hardhat's first well-known development key: public, never used outside local chains.
const DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcaa1b2ea7a6e5f1b0" as const;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(KeystoreError);
    return (err as KeystoreError).code;
  }
  throw new Error("expected a KeystoreError");
}

describe("protocol/keystore account keys (secp256k1)", () => {
  it("given a private key → it should encrypt it with the address as pubkey and unlock to the same account", async () => {
    const ks = await encryptAccountKey(DEV_KEY, "correct horse", FAST);
    expect(ks.pubkey).to.equal(privateKeyToAccount(DEV_KEY).address.slice(2).toLowerCase());
    expect(JSON.stringify(ks)).to.not.contain(DEV_KEY.slice(2));
    const account = await unlockAccountKeystore(ks, "correct horse");
    expect(account.address).to.equal(privateKeyToAccount(DEV_KEY).address);
  });

  it("given a wrong password → it should refuse with WrongPassword, never return another account", async () => {
    const { keystore } = await createAccountKeystore("pw-1", FAST);
    expect(await codeOf(unlockAccountKeystore(keystore, "pw-2"))).to.equal(KeystoreErrorCode.WrongPassword);
  });

  it("given a BLS keystore → it should refuse it as an account keystore (Malformed), naming the size", async () => {
    const { keystore } = await createKeystore("pw", FAST);
    expect(await codeOf(unlockAccountKeystore(keystore, "pw"))).to.equal(KeystoreErrorCode.Malformed);
  });

  it("given a keystore whose address was edited → it should refuse with PubkeyMismatch", async () => {
    const ks = await encryptAccountKey(DEV_KEY, "pw", FAST);
    const edited = { ...ks, pubkey: "11".repeat(20) };
    expect(await codeOf(unlockAccountKeystore(edited, "pw"))).to.equal(KeystoreErrorCode.PubkeyMismatch);
  });

  it("given a keystore file → it should be written 0600, not overwritten, and unlock from disk", async () => {
    const dir = mkdtempSync(join(tmpdir(), "matchnet-account-"));
    try {
      const path = join(dir, "account.json");
      const { keystore, address } = await createAccountKeystore("pw", FAST);
      await writeAccountKeystoreFile(path, keystore);
      expect(statSync(path).mode & 0o777).to.equal(0o600);
      expect(await codeOf(writeAccountKeystoreFile(path, keystore))).to.equal(KeystoreErrorCode.FileExists);
      expect((await unlockAccountKeystoreFile(path, "pw")).address).to.equal(address);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
