import { expect } from "chai";
import { bn254 } from "@noble/curves/bn254.js";
import mcl from "mcl-wasm";
import {
  BlsError,
  BlsErrorCode,
  FP_MODULUS,
  G2_GENERATOR,
  createBlsVerifier,
  csprngWeights,
  g1FromEvm,
  g1ToEvm,
  hashToG1,
  mclG1ToEvm,
  mclG2ToEvm,
  verify,
  type BlsVerifier,
  type G1Point,
  type G2Point,
  type Hex,
  type SignatureItem,
} from "../../protocol/bls/index.js";
import { nobleBackend } from "../../protocol/bls/nobleBackend.js";
import { createMclBackend } from "../../protocol/bls/mclBackend.js";
import { digestOf, offCurveG2, skFromScalar, wrongSubgroupG2 } from "../support/bls.js";

function codeOf(fn: () => unknown): BlsError["code"] | "ok" {
  try {
    fn();
    return "ok";
  } catch (err) {
    if (err instanceof BlsError) return err.code;
    throw err;
  }
}

const sks = Array.from({ length: 24 }, (_, i) => skFromScalar(1000n + BigInt(i) * 7919n));
const messages = [digestOf("m0"), digestOf("m1"), digestOf("m2")];

function signed(n: number, digestFor: (i: number) => Hex): SignatureItem[] {
  return Array.from({ length: n }, (_, i) => {
    const sk = sks[i % sks.length]!;
    const digest = digestFor(i);
    return { pkG2: sk.publicKeyG2(), digest, sig: sk.sign(digest) };
  });
}

function tamper(sig: G1Point): G1Point {
  return g1ToEvm(g1FromEvm(sig).add(bn254.G1.Point.BASE));
}

describe("bls verifiers (noble reference and mcl fast engine)", function () {
  this.timeout(120_000);
  let engines: BlsVerifier[];

  before(async () => {
    engines = [await createBlsVerifier("noble"), await createBlsVerifier("mcl")];
  });

  describe("given the mcl engine", () => {
    it("should run on BN_SNARK1 and reproduce noble's key derivation and hashToG1", async () => {
      await createBlsVerifier("mcl");
      expect(mcl.curveType).to.equal(mcl.BN_SNARK1);
      const g2 = createMclBackend().decodeG2(G2_GENERATOR);
      for (const sk of sks.slice(0, 4)) {
        const s = new mcl.Fr();
        s.setStr(BigInt(`0x${Buffer.from(sk.toBytes()).toString("hex")}`).toString(10), 10);
        expect(mclG2ToEvm(mcl.mul(g2, s))).to.deep.equal(sk.publicKeyG2());
      }
      const b = createMclBackend();
      for (const m of messages) expect(mclG1ToEvm(b.hashToG1(m))).to.deep.equal(hashToG1(m));
    });
  });

  describe("given the identity", () => {
    it("should pass a raw pairing check as key AND signature for any message, which is why decoding refuses (0,0)", () => {
      const b = createMclBackend();
      const zero1 = new mcl.G1();
      const zero2 = new mcl.G2();
      expect(zero1.isZero() && zero2.isZero()).to.equal(true);
      const raw = mcl.finalExp(mcl.mul(mcl.millerLoop(zero1, b.negG2Generator), mcl.millerLoop(b.hashToG1(messages[0]!), zero2)));
      expect(raw.isOne()).to.equal(true);
      for (const e of engines) expect(e.verify({ X: [0n, 0n], Y: [0n, 0n] }, messages[0]!, { X: 0n, Y: 0n })).to.equal(false);
    });
  });

  describe("given batch weights", () => {
    it("should draw n distinct non-zero 64-bit weights from the CSPRNG", () => {
      const w = csprngWeights(1000);
      expect(w).to.have.length(1000);
      expect(w.every((x) => x > 0n && x < 1n << 64n)).to.equal(true);
      expect(new Set(w).size).to.equal(1000);
      expect(w.some((x) => x >= 1n << 63n)).to.equal(true);
    });
  });

  describe("given single signatures, valid and invalid", () => {
    const sk = sks[0]!;
    const m = messages[0]!;
    const sig = sk.sign(m);
    const cases: { name: string; pk: G2Point; digest: Hex; sig: G1Point; valid: boolean }[] = [
      { name: "valid", pk: sk.publicKeyG2(), digest: m, sig, valid: true },
      { name: "wrong message", pk: sk.publicKeyG2(), digest: messages[1]!, sig, valid: false },
      { name: "wrong key", pk: sks[1]!.publicKeyG2(), digest: m, sig, valid: false },
      { name: "tampered signature", pk: sk.publicKeyG2(), digest: m, sig: tamper(sig), valid: false },
      { name: "off-curve signature", pk: sk.publicKeyG2(), digest: m, sig: { X: sig.X, Y: (sig.Y + 1n) % FP_MODULUS }, valid: false },
      { name: "signature coordinate + p", pk: sk.publicKeyG2(), digest: m, sig: { X: sig.X + FP_MODULUS, Y: sig.Y }, valid: false },
      { name: "infinity key and signature", pk: { X: [0n, 0n], Y: [0n, 0n] }, digest: m, sig: { X: 0n, Y: 0n }, valid: false },
      { name: "off-curve key", pk: offCurveG2(), digest: m, sig, valid: false },
      { name: "wrong-subgroup key", pk: wrongSubgroupG2(), digest: m, sig, valid: false },
    ];
    for (const c of cases) {
      it(`given ${c.name} → both engines and verify() should say ${c.valid}`, () => {
        expect(verify(c.pk, c.digest, c.sig)).to.equal(c.valid);
        for (const e of engines) expect(e.verify(c.pk, c.digest, c.sig), e.engine).to.equal(c.valid);
      });
      it(`given ${c.name} → both engines' decoders should give the same verdict code`, () => {
        const mclB = createMclBackend({ keyCacheSize: 0 });
        expect(codeOf(() => mclB.decodeG1(c.sig))).to.equal(codeOf(() => nobleBackend.decodeG1(c.sig)));
        expect(codeOf(() => mclB.decodeG2(c.pk))).to.equal(codeOf(() => nobleBackend.decodeG2(c.pk)));
      });
    }
    it("given a malformed digest → every engine should throw InvalidDigest", () => {
      for (const e of engines) expect(codeOf(() => e.verify(sk.publicKeyG2(), "0x12", sig))).to.equal(BlsErrorCode.InvalidDigest);
    });
    it("given a key with string coordinates after the same key as bigints → both engines say Malformed (no cache hit)", () => {
      const b = createMclBackend();
      const pk = sk.publicKeyG2();
      b.decodeG2(pk);
      const asStrings = { X: pk.X.map(String), Y: pk.Y.map(String) } as unknown as G2Point;
      expect(codeOf(() => b.decodeG2(asStrings))).to.equal(BlsErrorCode.Malformed);
      expect(codeOf(() => nobleBackend.decodeG2(asStrings))).to.equal(BlsErrorCode.Malformed);
    });
    it("given a wrong-subgroup key → mcl should name the problem NotInSubgroup, an off-curve one NotOnCurve", () => {
      const b = createMclBackend({ keyCacheSize: 0 });
      expect(codeOf(() => b.decodeG2(wrongSubgroupG2()))).to.equal(BlsErrorCode.NotInSubgroup);
      expect(codeOf(() => b.decodeG2(offCurveG2()))).to.equal(BlsErrorCode.NotOnCurve);
    });
  });

  describe("given batches", () => {
    it("given 40 valid signatures on one message → verifyBatch true, findInvalid empty", () => {
      const items = signed(40, () => messages[0]!);
      for (const e of engines) {
        expect(e.verifyBatch(items), e.engine).to.equal(true);
        expect(e.findInvalid(items), e.engine).to.deep.equal([]);
      }
    });
    it("given valid signatures on three messages → verifyBatch true", () => {
      const items = signed(30, (i) => messages[i % 3]!);
      for (const e of engines) expect(e.verifyBatch(items), e.engine).to.equal(true);
    });
    it("given an empty batch → true and nothing invalid", () => {
      for (const e of engines) {
        expect(e.verifyBatch([])).to.equal(true);
        expect(e.findInvalid([])).to.deep.equal([]);
      }
    });
    for (const bad of [0, 17, 39]) {
      it(`given one tampered signature at index ${bad} of 40 on one message → rejected and identified`, () => {
        const items = signed(40, () => messages[0]!);
        items[bad] = { ...items[bad]!, sig: tamper(items[bad]!.sig) };
        for (const e of engines) {
          expect(e.verifyBatch(items), e.engine).to.equal(false);
          expect(e.findInvalid(items), e.engine).to.deep.equal([bad]);
        }
      });
    }
    it("given several bad items of every kind across messages → exactly those are identified", () => {
      const items = signed(33, (i) => messages[i % 3]!);
      items[2] = { ...items[2]!, sig: tamper(items[2]!.sig) };
      items[5] = { ...items[5]!, digest: messages[0]! }; // signed m2, claimed for m0
      items[11] = { ...items[11]!, pkG2: sks[20]!.publicKeyG2() };
      items[20] = { ...items[20]!, pkG2: wrongSubgroupG2() };
      items[31] = { ...items[31]!, sig: { X: 0n, Y: 0n } };
      for (const e of engines) {
        expect(e.verifyBatch(items), e.engine).to.equal(false);
        expect(e.findInvalid(items), e.engine).to.deep.equal([2, 5, 11, 20, 31]);
      }
    });
    it("given two signatures with an offset moved between them → the sum still verifies, the weighted batch does not", () => {
      // sig0 + X and sig1 − X: the plain aggregate is unchanged, so aggregate-then-verify accepts both forgeries.
      const items = signed(2, (i) => messages[i]!);
      const x = bn254.G1.Point.BASE.multiply(77n);
      items[0] = { ...items[0]!, sig: g1ToEvm(g1FromEvm(items[0]!.sig).add(x)) };
      items[1] = { ...items[1]!, sig: g1ToEvm(g1FromEvm(items[1]!.sig).subtract(x)) };
      return (async () => {
        for (const engine of ["noble", "mcl"] as const) {
          const unweighted = await createBlsVerifier(engine, { randomWeights: (n) => Array<bigint>(n).fill(1n) });
          expect(unweighted.verifyBatch(items), `${engine} with weights 1`).to.equal(true);
          const weighted = await createBlsVerifier(engine);
          expect(weighted.verifyBatch(items), engine).to.equal(false);
          expect(weighted.findInvalid(items), engine).to.deep.equal([0, 1]);
        }
      })();
    });
    it("given many bad signatures among 64 → findInvalid never names a valid one", () => {
      const items = signed(64, (i) => messages[i % 2]!);
      const bad = [1, 2, 3, 10, 33, 34, 50, 63];
      for (const i of bad) items[i] = { ...items[i]!, sig: tamper(items[i]!.sig) };
      const mclEngine = engines[1]!;
      expect(mclEngine.findInvalid(items)).to.deep.equal(bad);
    });
  });
});
