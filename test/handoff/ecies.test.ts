import { describe, it } from "mocha";
import { expect } from "chai";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { bytesToHex, hexToBytes } from "viem";
import {
  HandoffError,
  MAX_PLAINTEXT_BYTES,
  MAX_SEALED_BYTES,
  SEAL_OVERHEAD,
  decodeAccess,
  encodeAccess,
  open,
  seal,
  type HandoffDomain,
} from "../../protocol/handoff/ecies.js";

const MARKET = "0x5FbDB2315678afecb367f032d93F642f64180aa3" as const;
const domain = (leaseId: bigint, over: Partial<HandoffDomain> = {}): HandoffDomain => ({ chainId: 31337n, marketplace: MARKET, leaseId, ...over });
const text = (s: string) => new TextEncoder().encode(s);

function account() {
  const sk = secp256k1.utils.randomSecretKey();
  return { sk, pub: secp256k1.getPublicKey(sk, false) };
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(HandoffError);
    return (err as HandoffError).code;
  }
  throw new Error("expected a HandoffError");
}

/**
 * Fixed vector: renter key = Hardhat dev key 1, ephemeral key 0x11…11, nonce 0x22…22, chain 31337, marketplace
 * 0x5FbD…0aa3, lease 7. Computed once with this module and pinned: a change of the KDF label, the salt, the AAD or
 * the layout changes these bytes.
 */
const VECTOR = {
  renterSk: "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  plaintext: '{"endpoint":"http://127.0.0.1:40000/","credential":"abc"}',
  sealed:
    "0x01034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa222222222222222222222222222222222222222222222222fbe8402dcf53d1d7b791f0323512d0ebb2418fd2a33932616703dfc93c28569ccb5585cd552723183f42b411cc66434a5734f831bed353bfc9aa298e934983565e274e3fd8629d7086",
} as const;

describe("lease handoff ECIES (protocol/handoff/ecies.ts)", () => {
  describe("given a renter's public key and a lease", () => {
    it("→ it should round-trip: the renter's secret key opens what was sealed to its public key", () => {
      const r = account();
      const sealed = seal(r.pub, domain(1n), text("hello lease 1"));
      expect(sealed[0]).to.equal(1);
      expect(sealed.length).to.equal(SEAL_OVERHEAD + 13);
      expect(new TextDecoder().decode(open(r.sk, domain(1n), sealed))).to.equal("hello lease 1");
    });

    it("→ it should seal to a compressed key too, and two seals of one message should differ (fresh ephemeral key and nonce)", () => {
      const r = account();
      const a = seal(secp256k1.getPublicKey(r.sk, true), domain(1n), text("x"));
      const b = seal(r.pub, domain(1n), text("x"));
      expect(bytesToHex(a)).to.not.equal(bytesToHex(b));
      expect(new TextDecoder().decode(open(r.sk, domain(1n), a))).to.equal("x");
      expect(new TextDecoder().decode(open(r.sk, domain(1n), b))).to.equal("x");
    });

    it("→ it should not open with a second account's key", () => {
      const r = account();
      const other = account();
      const sealed = seal(r.pub, domain(1n), text("secret"));
      expect(code(() => open(other.sk, domain(1n), sealed))).to.equal("HANDOFF_CANNOT_OPEN");
    });

    it("→ it should refuse every single flipped bit (format byte, ephemeral key, nonce, ciphertext, tag)", () => {
      const r = account();
      const sealed = seal(r.pub, domain(1n), text("secret"));
      for (let i = 0; i < sealed.length; i++) {
        for (const bit of [0, 7]) {
          const bad = sealed.slice();
          bad[i]! ^= 1 << bit;
          const c = code(() => open(r.sk, domain(1n), bad));
          expect(["HANDOFF_CANNOT_OPEN", "HANDOFF_UNKNOWN_VERSION", "HANDOFF_MALFORMED"], `byte ${i} bit ${bit}`).to.include(c);
        }
      }
    });

    it("→ it should not open a blob for lease A as lease B, nor on another marketplace or chain", () => {
      const r = account();
      const sealed = seal(r.pub, domain(5n), text("lease 5"));
      expect(code(() => open(r.sk, domain(6n), sealed))).to.equal("HANDOFF_CANNOT_OPEN");
      expect(code(() => open(r.sk, domain(4n), sealed))).to.equal("HANDOFF_CANNOT_OPEN");
      expect(code(() => open(r.sk, domain(5n, { marketplace: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512" }), sealed))).to.equal("HANDOFF_CANNOT_OPEN");
      expect(code(() => open(r.sk, domain(5n, { chainId: 1n }), sealed))).to.equal("HANDOFF_CANNOT_OPEN");
      expect(new TextDecoder().decode(open(r.sk, domain(5n), sealed))).to.equal("lease 5");
    });

    it("→ it should accept a plaintext of exactly the maximum (sealed = 1024 bytes) and refuse one byte more", () => {
      const r = account();
      expect(MAX_PLAINTEXT_BYTES + SEAL_OVERHEAD).to.equal(MAX_SEALED_BYTES);
      expect(seal(r.pub, domain(1n), new Uint8Array(MAX_PLAINTEXT_BYTES - 1)).length).to.equal(MAX_SEALED_BYTES - 1);
      expect(seal(r.pub, domain(1n), new Uint8Array(MAX_PLAINTEXT_BYTES)).length).to.equal(MAX_SEALED_BYTES);
      expect(code(() => seal(r.pub, domain(1n), new Uint8Array(MAX_PLAINTEXT_BYTES + 1)))).to.equal("HANDOFF_PLAINTEXT_TOO_LONG");
    });

    it("→ it should refuse a key that is not on the curve, a truncated blob and an unknown format byte", () => {
      const r = account();
      expect(code(() => seal(new Uint8Array(33), domain(1n), text("x")))).to.equal("HANDOFF_BAD_PUBLIC_KEY");
      const sealed = seal(r.pub, domain(1n), text("x"));
      expect(code(() => open(r.sk, domain(1n), sealed.subarray(0, SEAL_OVERHEAD - 1)))).to.equal("HANDOFF_MALFORMED");
      const v2 = sealed.slice();
      v2[0] = 2;
      expect(code(() => open(r.sk, domain(1n), v2))).to.equal("HANDOFF_UNKNOWN_VERSION");
    });
  });

  describe("given the fixed vector", () => {
    it("→ it should seal to exactly the pinned bytes and open them", () => {
      const sk = hexToBytes(VECTOR.renterSk);
      const sealed = seal(secp256k1.getPublicKey(sk, false), domain(7n), text(VECTOR.plaintext), {
        ephemeralSecretKey: hexToBytes(`0x${"11".repeat(32)}`),
        nonce: hexToBytes(`0x${"22".repeat(24)}`),
      });
      expect(bytesToHex(sealed)).to.equal(VECTOR.sealed);
      expect(new TextDecoder().decode(open(sk, domain(7n), hexToBytes(VECTOR.sealed)))).to.equal(VECTOR.plaintext);
      expect(decodeAccess(open(sk, domain(7n), hexToBytes(VECTOR.sealed)))).to.deep.equal({ endpoint: "http://127.0.0.1:40000/", credential: "abc" });
    });
  });

  describe("given the access payload", () => {
    it("→ it should round-trip {endpoint, credential} and refuse a payload without them", () => {
      expect(decodeAccess(encodeAccess({ endpoint: "http://h:1/", credential: "c" }))).to.deep.equal({ endpoint: "http://h:1/", credential: "c" });
      expect(code(() => decodeAccess(text('{"endpoint":"x"}')))).to.equal("HANDOFF_BAD_PAYLOAD");
      expect(code(() => decodeAccess(text("not json")))).to.equal("HANDOFF_BAD_PAYLOAD");
    });
  });
});
