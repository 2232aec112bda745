import { expect } from "chai";
import fc from "fast-check";
import { bn254 } from "@noble/curves/bn254.js";
import { FR_MODULUS, createBlsVerifier, g1FromEvm, g1ToEvm, type BlsVerifier, type Hex } from "../../protocol/bls/index.js";
import { skFromScalar } from "../support/bls.js";

// Seeded, so a failure reproduces; each run signs and derives G2 keys with noble (~15 ms), so runs are few.
const FC = { seed: 0x6d61746368, numRuns: 12 };
const scalar = fc.bigInt({ min: 1n, max: FR_MODULUS - 1n });
const digest = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `0x${Buffer.from(b).toString("hex")}` as Hex);

describe("bls properties (seeded fast-check)", function () {
  this.timeout(300_000);
  let engines: BlsVerifier[];
  before(async () => {
    engines = [await createBlsVerifier("noble"), await createBlsVerifier("mcl")];
  });

  it("given any secret, digest and non-zero offset → both engines accept the signature and reject it offset", () => {
    fc.assert(
      fc.property(scalar, digest, scalar, (s, d, off) => {
        const sk = skFromScalar(s);
        const sig = sk.sign(d);
        const bad = g1ToEvm(g1FromEvm(sig).add(bn254.G1.Point.BASE.multiply(off)));
        for (const e of engines) {
          expect(e.verify(sk.publicKeyG2(), d, sig), e.engine).to.equal(true);
          expect(e.verify(sk.publicKeyG2(), d, bad), e.engine).to.equal(false);
        }
      }),
      FC,
    );
  });

  it("given a batch of 8 on one digest with any one signature replaced by another signer's → the mcl engine finds it", () => {
    fc.assert(
      fc.property(fc.array(scalar, { minLength: 8, maxLength: 8 }), digest, fc.nat({ max: 7 }), (ss, d, badIndex) => {
        const sks = ss.map(skFromScalar);
        const items = sks.map((sk) => ({ pkG2: sk.publicKeyG2(), digest: d, sig: sk.sign(d) }));
        const other = (badIndex + 1) % 8;
        // Equal secrets would make the swap valid; fast-check could draw them in theory.
        fc.pre(ss[badIndex] !== ss[other]);
        items[badIndex] = { ...items[badIndex]!, sig: items[other]!.sig };
        expect(engines[1]!.verifyBatch(items)).to.equal(false);
        expect(engines[1]!.findInvalid(items)).to.deep.equal([badIndex]);
      }),
      { ...FC, numRuns: 4 },
    );
  });
});
