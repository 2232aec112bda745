import { expect } from "chai";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SecretKey, encodeG1 } from "../../protocol/bls/index.js";
import {
  KeystoreError,
  KeystoreErrorCode,
  createKeystore,
  decryptKeystoreSecret,
  importSecretKey,
  normalizePassword,
  parseKeystore,
  readKeystoreFile,
  unlockKeystore,
  unlockKeystoreFile,
  writeKeystoreFile,
  type Keystore,
} from "../../protocol/keystore/index.js";

// Small scrypt cost so the suite stays fast; the default (n = 2^18) is exercised by the EIP-2335 vector below.
const FAST = { scrypt: { n: 1024, r: 8, p: 1 } };

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<KeystoreError["code"] | "ok"> {
  try {
    await (typeof p === "function" ? p() : p);
    return "ok";
  } catch (err) {
    if (err instanceof KeystoreError) return err.code;
    throw err;
  }
}

const clone = (k: Keystore): Keystore => JSON.parse(JSON.stringify(k)) as Keystore;

// EIP-2335 test vectors (https://eips.ethereum.org/EIPS/eip-2335#test-cases). The secret there is a BLS12-381 key,
// so these exercise the curve-independent layer (password processing, kdf, checksum, cipher) only.
const EIP2335_PASSWORD = "𝔱𝔢𝔰𝔱𝔭𝔞𝔰𝔰𝔴𝔬𝔯𝔡🔑";
const EIP2335_SECRET = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f";
const eip2335 = (kdf: unknown, checksum: string, ciphertext: string) => ({
  crypto: {
    kdf,
    checksum: { function: "sha256", params: {}, message: checksum },
    cipher: { function: "aes-128-ctr", params: { iv: "264daa3f303d7259501c93d997d84fe6" }, message: ciphertext },
  },
  description: "EIP-2335 test vector",
  pubkey: "9612d7a727c9d0a22e185a1c768478dfe919cada9266988cb32359c11f2b7b27f4ae4040902382ae2910c15e2b420d07",
  path: "m/12381/60/3141592653/589793238",
  uuid: "1d85ae20-35c5-4611-98e8-aa14a633906f",
  version: 4,
});
const SALT = "d4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3";

describe("keystore (EIP-2335 layout, BN254 keys)", function () {
  this.timeout(60_000);

  describe("given the EIP-2335 test vectors", () => {
    it("given the password → it should normalize to 'testpassword🔑' (0x7465737470617373776f7264f09f9491)", () => {
      expect(normalizePassword(EIP2335_PASSWORD).toString("hex")).to.equal("7465737470617373776f7264f09f9491");
      expect(normalizePassword("a\u0000b\u007fc\u0085d\u001f").toString()).to.equal("abcd");
    });
    it("given the scrypt vector (n = 262144) → it should decrypt the published secret", async () => {
      const v = eip2335(
        { function: "scrypt", params: { dklen: 32, n: 262144, p: 1, r: 8, salt: SALT }, message: "" },
        "d2217fe5f3e9a1e34581ef8a78f7c9928e436d36dacc5e846690a5581e8ea484",
        "06ae90d55fe0a6e9c5c3bc5b170827b2e5cce3929ed3f116c2811e6366dfe20f",
      );
      expect(Buffer.from(await decryptKeystoreSecret(v, EIP2335_PASSWORD)).toString("hex")).to.equal(EIP2335_SECRET);
      expect(await codeOf(decryptKeystoreSecret(v, "testpassword"))).to.equal(KeystoreErrorCode.WrongPassword);
    });
    it("given the pbkdf2 vector → it should decrypt the published secret", async () => {
      const v = eip2335(
        { function: "pbkdf2", params: { dklen: 32, c: 262144, prf: "hmac-sha256", salt: SALT }, message: "" },
        "8a9f5d9912ed7e75ea794bc5a89bca5f193721d30868ade6f73043c6ea6febf1",
        "cee03fde2af33149775b7223e7845e4fb2c8ae1792e5f99fe9ecf474cc8c16ad",
      );
      expect(Buffer.from(await decryptKeystoreSecret(v, EIP2335_PASSWORD)).toString("hex")).to.equal(EIP2335_SECRET);
    });
    it("given the vector as a BN254 keystore → it should refuse it as a BLS12-381 one", async () => {
      const v = eip2335({ function: "pbkdf2", params: { dklen: 32, c: 2, prf: "hmac-sha256", salt: SALT }, message: "" }, "00".repeat(32), "00".repeat(32));
      expect(await codeOf(() => parseKeystore(v))).to.equal(KeystoreErrorCode.PubkeyMismatch);
    });
  });

  describe("given a created keystore", () => {
    let created: { keystore: Keystore; secretKey: SecretKey };
    before(async () => {
      created = await createKeystore("correct horse battery staple", FAST);
    });

    it("should have the EIP-2335 layout with the G1 and G2 keys", () => {
      const k = created.keystore;
      expect(k.version).to.equal(4);
      expect(k.path).to.equal("");
      expect(k.uuid).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(k.crypto.kdf.function).to.equal("scrypt");
      expect(k.crypto.kdf.params).to.include({ dklen: 32, n: 1024, r: 8, p: 1 });
      expect(k.crypto.kdf.params.salt).to.match(/^[0-9a-f]{64}$/);
      expect(k.crypto.cipher).to.deep.include({ function: "aes-128-ctr" });
      expect(k.crypto.cipher.params.iv).to.match(/^[0-9a-f]{32}$/);
      expect(k.crypto.checksum).to.deep.include({ function: "sha256", params: {} });
      expect(k.pubkey).to.equal(encodeG1(created.secretKey.publicKeyG1()).slice(2));
      expect(k.pubkeyG2).to.have.length(256);
      expect(JSON.stringify(k)).to.not.include(Buffer.from(created.secretKey.toBytes()).toString("hex"));
    });
    it("given the right password → it should unlock the same key", async () => {
      const sk = await unlockKeystore(created.keystore, "correct horse battery staple");
      expect(sk.toBytes()).to.deep.equal(created.secretKey.toBytes());
    });
    it("given the password in another Unicode form or with control characters → it should still unlock", async () => {
      const { keystore, secretKey } = await createKeystore("ﬁancé", FAST); // U+FB01 ligature and a precomposed é
      const sk = await unlockKeystore(keystore, "fi\u0061nce\u0301\u0007");
      expect(sk.toBytes()).to.deep.equal(secretKey.toBytes());
    });
    it("given a wrong password → it should throw WrongPassword with a clear message, never return a key", async () => {
      try {
        await unlockKeystore(created.keystore, "Correct horse battery staple");
        expect.fail("unlocked with a wrong password");
      } catch (err) {
        expect(err).to.be.instanceOf(KeystoreError);
        expect((err as KeystoreError).code).to.equal(KeystoreErrorCode.WrongPassword);
        expect((err as KeystoreError).message).to.match(/wrong password/);
      }
    });
    it("given a flipped ciphertext bit → the checksum should catch it (no wrong key)", async () => {
      const k = clone(created.keystore);
      const c = Buffer.from(k.crypto.cipher.message, "hex");
      c[5] = c[5]! ^ 1;
      k.crypto.cipher.message = c.toString("hex");
      expect(await codeOf(unlockKeystore(k, "correct horse battery staple"))).to.equal(KeystoreErrorCode.WrongPassword);
    });
    it("given a pubkey swapped for another key's → it should throw PubkeyMismatch", async () => {
      const other = SecretKey.generate();
      const k = clone(created.keystore);
      k.pubkey = encodeG1(other.publicKeyG1()).slice(2);
      expect(await codeOf(unlockKeystore(k, "correct horse battery staple"))).to.equal(KeystoreErrorCode.PubkeyMismatch);
      const k2 = clone(created.keystore);
      k2.pubkeyG2 = "11".repeat(128);
      expect(await codeOf(unlockKeystore(k2, "correct horse battery staple"))).to.equal(KeystoreErrorCode.PubkeyMismatch);
    });
  });

  describe("given imports", () => {
    it("given a raw secret → it should import and unlock to the same key", async () => {
      const hex = `0x${"00".repeat(31)}2a`;
      const k = await importSecretKey(hex, "pw", FAST);
      const sk = await unlockKeystore(JSON.stringify(k), "pw");
      expect(Buffer.from(sk.toBytes()).toString("hex")).to.equal(hex.slice(2));
    });
    it("given 0, a value ≥ r or a short secret → InvalidSecret / Malformed", async () => {
      expect(await codeOf(importSecretKey(new Uint8Array(32), "pw", FAST))).to.equal(KeystoreErrorCode.InvalidSecret);
      expect(await codeOf(importSecretKey(new Uint8Array(32).fill(0xff), "pw", FAST))).to.equal(KeystoreErrorCode.InvalidSecret);
      expect(await codeOf(importSecretKey("0x1234", "pw", FAST))).to.equal(KeystoreErrorCode.Malformed);
    });
    it("given an empty password (or only control characters) → EmptyPassword", async () => {
      expect(await codeOf(createKeystore("", FAST))).to.equal(KeystoreErrorCode.EmptyPassword);
      expect(await codeOf(createKeystore("\u0000\n\t", FAST))).to.equal(KeystoreErrorCode.EmptyPassword);
    });
    it("given invalid scrypt parameters at creation → InvalidKdfParams", async () => {
      expect(await codeOf(createKeystore("pw", { scrypt: { n: 1000 } }))).to.equal(KeystoreErrorCode.InvalidKdfParams);
      expect(await codeOf(createKeystore("pw", { scrypt: { n: 1 << 22 } }))).to.equal(KeystoreErrorCode.InvalidKdfParams);
      expect(await codeOf(createKeystore("pw", { scrypt: { n: 1024, p: 0 } }))).to.equal(KeystoreErrorCode.InvalidKdfParams);
    });
  });

  describe("given malformed keystores", () => {
    let base: Keystore;
    before(async () => {
      base = (await createKeystore("pw", FAST)).keystore;
    });
    const cases: [string, (k: any) => unknown, KeystoreError["code"]][] = [
      ["version 3", (k) => ({ ...k, version: 3 }), KeystoreErrorCode.UnsupportedVersion],
      ["version as a string", (k) => ({ ...k, version: "4" }), KeystoreErrorCode.UnsupportedVersion],
      ["no crypto section", (k) => ({ ...k, crypto: undefined }), KeystoreErrorCode.Malformed],
      ["kdf argon2", (k) => ((k.crypto.kdf.function = "argon2id"), k), KeystoreErrorCode.UnsupportedFunction],
      ["cipher aes-256-gcm", (k) => ((k.crypto.cipher.function = "aes-256-gcm"), k), KeystoreErrorCode.UnsupportedFunction],
      ["checksum keccak", (k) => ((k.crypto.checksum.function = "keccak256"), k), KeystoreErrorCode.UnsupportedFunction],
      ["scrypt n not a power of two", (k) => ((k.crypto.kdf.params.n = 1000), k), KeystoreErrorCode.InvalidKdfParams],
      ["scrypt n·r above 1 GiB", (k) => ((k.crypto.kdf.params.n = 1 << 21), k), KeystoreErrorCode.InvalidKdfParams],
      ["scrypt n missing", (k) => (delete k.crypto.kdf.params.n, k), KeystoreErrorCode.InvalidKdfParams],
      ["dklen 16", (k) => ((k.crypto.kdf.params.dklen = 16), k), KeystoreErrorCode.InvalidKdfParams],
      ["short salt", (k) => ((k.crypto.kdf.params.salt = "00"), k), KeystoreErrorCode.InvalidKdfParams],
      ["iv of 8 bytes", (k) => ((k.crypto.cipher.params.iv = "00".repeat(8)), k), KeystoreErrorCode.Malformed],
      ["ciphertext not hex", (k) => ((k.crypto.cipher.message = "zz"), k), KeystoreErrorCode.Malformed],
      ["pubkey missing", (k) => (delete k.pubkey, k), KeystoreErrorCode.Malformed],
      ["uuid missing", (k) => (delete k.uuid, k), KeystoreErrorCode.Malformed],
    ];
    for (const [name, mutate, code] of cases) {
      it(`given ${name} → ${code}`, async () => {
        const bad = mutate(clone(base));
        expect(await codeOf(() => parseKeystore(bad))).to.equal(code);
        expect(await codeOf(unlockKeystore(bad as Keystore, "pw"))).to.equal(code);
      });
    }
    it("given text that is not JSON, or a JSON array → Malformed", async () => {
      expect(await codeOf(() => parseKeystore("{ not json"))).to.equal(KeystoreErrorCode.Malformed);
      expect(await codeOf(() => parseKeystore("[]"))).to.equal(KeystoreErrorCode.Malformed);
    });
  });

  describe("given keystore files", () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "matchnet-keystore-"));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("given a write → the file should be mode 0600 and unlock from disk", async () => {
      const { keystore, secretKey } = await createKeystore("pw", FAST);
      const path = join(dir, "op.json");
      await writeKeystoreFile(path, keystore);
      expect((await stat(path)).mode & 0o777).to.equal(0o600);
      expect(await readKeystoreFile(path)).to.deep.equal(keystore);
      expect((await unlockKeystoreFile(path, "pw")).toBytes()).to.deep.equal(secretKey.toBytes());
    });
    it("given an existing file → it should refuse to overwrite unless asked, and reset the mode when it does", async () => {
      const { keystore } = await createKeystore("pw", FAST);
      const path = join(dir, "existing.json");
      await writeFile(path, "old", { mode: 0o644 });
      expect(await codeOf(writeKeystoreFile(path, keystore))).to.equal(KeystoreErrorCode.FileExists);
      expect(await readFile(path, "utf8")).to.equal("old");
      await writeKeystoreFile(path, keystore, { overwrite: true });
      expect((await stat(path)).mode & 0o777).to.equal(0o600);
      expect(JSON.parse(await readFile(path, "utf8"))).to.deep.equal(keystore);
    });
  });
});
