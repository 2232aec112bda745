import { expect } from "chai";
import { network } from "hardhat";
import { encodePacked, keccak256, toBytes, type Hex as ViemHex } from "viem";
import {
  FP_MODULUS,
  FR_MODULUS,
  G1_GENERATOR,
  G2_GENERATOR,
  aggregateG1,
  aggregateG2,
  hashToG1,
  popGamma,
  popMessageHash,
  signProofOfPossession,
  verify,
  verifyProofOfPossession,
  type G1Point,
  type G2Point,
  type Hex,
} from "../../protocol/bls/index.js";
import { digestOf, offCurveG2, skFromScalar, wrongSubgroupG2 } from "../support/bls.js";

const INFINITY_G1: G1Point = { X: 0n, Y: 0n };
const INFINITY_G2: G2Point = { X: [0n, 0n], Y: [0n, 0n] };

/** Deterministic digests: keccak256("bls-onchain <label> <i>"). */
function digests(label: string, n: number): Hex[] {
  return Array.from({ length: n }, (_, i) => keccak256(toBytes(`bls-onchain ${label} ${i}`)));
}

/** How many times hashToG1 incremented x for this digest. */
function increments(digest: Hex): bigint {
  const x0 = BigInt(digest) % FP_MODULUS;
  return (hashToG1(digest).X - x0 + FP_MODULUS) % FP_MODULUS;
}

/** The gamma of BLS.verifyBound / checkSignatures, computed independently in TypeScript. */
function checkerGamma(msgHash: Hex, apkG1: G1Point, apkG2: G2Point, sigma: G1Point): bigint {
  const packed = encodePacked(
    ["bytes32", "uint256", "uint256", "uint256", "uint256", "uint256", "uint256", "uint256", "uint256"],
    [msgHash, apkG1.X, apkG1.Y, apkG2.X[0], apkG2.X[1], apkG2.Y[0], apkG2.Y[1], sigma.X, sigma.Y],
  );
  return BigInt(keccak256(packed)) % FR_MODULUS;
}

describe("BN254/BLS Solidity library against the TypeScript BLS library", function () {
  let harness: Awaited<ReturnType<typeof deploy>>;
  const keys = [1n, 2n, 0xdeadbeefn, 0x1234567890abcdef1234567890abcdefn].map((s) => skFromScalar(s * 7919n + 13n));

  async function deploy() {
    const { viem } = await network.create();
    return viem.deployContract("BLSHarness");
  }

  before(async () => {
    harness = await deploy();
  });

  describe("given digests mapped to G1", () => {
    it("should give the same point in Solidity and TypeScript for 48 keccak digests", async () => {
      for (const d of digests("hash", 48)) {
        const onchain = await harness.read.hashToG1([d]);
        expect({ X: onchain.X, Y: onchain.Y }).to.deep.equal(hashToG1(d));
      }
    });

    it("should agree on digests that need three or more increments", async () => {
      const many = digests("increments", 400).filter((d) => increments(d) >= 3n);
      expect(many.length).to.be.greaterThan(20);
      const most = many.reduce((a, b) => (increments(b) > increments(a) ? b : a));
      expect(increments(most) >= 5n, "some digest needs 5 or more increments").to.equal(true);
      for (const d of many) {
        const onchain = await harness.read.hashToG1([d]);
        expect({ X: onchain.X, Y: onchain.Y }).to.deep.equal(hashToG1(d));
      }
    });

    it("should agree on the edge digests 0, 1, p, p−1 and 2^256−1", async () => {
      const edge: Hex[] = [0n, 1n, FP_MODULUS, FP_MODULUS - 1n, (1n << 256n) - 1n].map(
        (v) => `0x${v.toString(16).padStart(64, "0")}` as Hex,
      );
      for (const d of edge) {
        const onchain = await harness.read.hashToG1([d]);
        expect({ X: onchain.X, Y: onchain.Y }).to.deep.equal(hashToG1(d));
      }
      expect(await harness.read.hashToG1([edge[0]!])).to.deep.equal(G1_GENERATOR);
    });
  });

  describe("given digests mapped to G1 from a witness (hashToG1Witnessed)", () => {
    it("should give the TypeScript hashToG1 point from the contract's own witness, with 0 to 5 or more skipped steps", async () => {
      const sample = [...digests("witness", 12), ...digests("increments", 400).filter((d) => increments(d) >= 3n).slice(0, 12)];
      const skips = new Set<bigint>();
      for (const d of sample) {
        const witness = await harness.read.hashToG1Witness([d]);
        expect(BigInt(witness.length - 2)).to.equal(increments(d));
        skips.add(increments(d));
        const [ok, point] = await harness.read.hashToG1Witnessed([d, witness]);
        expect(ok).to.equal(true);
        expect({ X: point.X, Y: point.Y }).to.deep.equal(hashToG1(d));
      }
      expect(skips.has(0n) && skips.has(1n) && [...skips].some((k) => k >= 3n)).to.equal(true);
    });

    it("should refuse the other root, a skipped square, a missing skip and a wrong non-square witness", async () => {
      const d = digests("increments", 400).find((x) => increments(x) >= 2n)!;
      const w = await harness.read.hashToG1Witness([d]);
      const y = w[w.length - 2]!;
      const bad = [
        [...w.slice(0, -2), FP_MODULUS - y, w[w.length - 1]!], // −y: x³ + 3 holds, but −y is no square
        w.slice(1), // one skip fewer: claims success where x³ + 3 has no root
        [1n, ...w], // one skip more, with a wrong root of −(x³ + 3)
        [w[0]! + 1n, ...w.slice(1)], // a wrong root of −(x³ + 3)
      ];
      for (const witness of bad) {
        expect((await harness.read.hashToG1Witnessed([d, witness]))[0]).to.equal(false);
      }
    });
  });

  describe("given signatures made in TypeScript", () => {
    it("should verify each key's signature on several messages in the contract", async () => {
      for (const sk of keys) {
        for (const d of digests("sign", 3)) {
          const sig = sk.sign(d);
          expect(verify(sk.publicKeyG2(), d, sig)).to.equal(true);
          expect(await harness.read.verify([sk.publicKeyG2(), d, sig])).to.equal(true);
        }
      }
    });

    it("should verify an aggregate of 4 signatures with the gamma check and compute the same gamma", async () => {
      const d = digestOf("aggregate");
      const sigma = aggregateG1(keys.map((k) => k.sign(d)));
      const apkG1 = aggregateG1(keys.map((k) => k.publicKeyG1()));
      const apkG2 = aggregateG2(keys.map((k) => k.publicKeyG2()));
      expect(await harness.read.gamma([d, apkG1, apkG2, sigma])).to.equal(checkerGamma(d, apkG1, apkG2, sigma));
      expect((await harness.read.verifyBound([d, apkG1, apkG2, sigma])).slice(0, 2)).to.deep.equal([true, true]);
      expect(await harness.read.verify([apkG2, d, sigma])).to.equal(true);
      expect(verify(apkG2, d, sigma)).to.equal(true);
    });

    it("should refuse a wrong message, a wrong key and a tampered signature on both sides", async () => {
      const [a, b] = [keys[0]!, keys[1]!];
      const d = digestOf("message");
      const sig = a.sign(d);
      const other = digestOf("another message");
      const tampered = aggregateG1([sig, G1_GENERATOR]);
      const cases: [G2Point, Hex, G1Point][] = [
        [a.publicKeyG2(), other, sig],
        [b.publicKeyG2(), d, sig],
        [a.publicKeyG2(), d, tampered],
      ];
      for (const [pk, digest, s] of cases) {
        expect(verify(pk, digest, s)).to.equal(false);
        expect(await harness.read.verify([pk, digest, s])).to.equal(false);
      }
      expect((await harness.read.verifyBound([other, a.publicKeyG1(), a.publicKeyG2(), sig]))[0]).to.equal(false);
      expect((await harness.read.verifyBound([d, b.publicKeyG1(), a.publicKeyG2(), sig]))[0]).to.equal(false);
      expect((await harness.read.verifyBound([d, a.publicKeyG1(), a.publicKeyG2(), tampered]))[0]).to.equal(false);
    });

    it("should refuse off-curve and wrong-subgroup points on both sides, and report a refused input", async () => {
      const sk = keys[2]!;
      const d = digestOf("points");
      const sig = sk.sign(d);
      const offCurveSig: G1Point = { X: sig.X, Y: (sig.Y + 1n) % FP_MODULUS };
      const unreducedSig: G1Point = { X: sig.X + FP_MODULUS, Y: sig.Y };
      const cases: [string, G2Point, G1Point][] = [
        ["off-curve signature", sk.publicKeyG2(), offCurveSig],
        ["unreduced signature", sk.publicKeyG2(), unreducedSig],
        ["off-curve G2 key", offCurveG2(), sig],
        ["wrong-subgroup G2 key", wrongSubgroupG2(), sig],
      ];
      for (const [name, pk, s] of cases) {
        expect(verify(pk, d, s), name).to.equal(false);
        expect(await harness.read.verify([pk, d, s]), name).to.equal(false);
        expect((await harness.read.verifyBound([d, sk.publicKeyG1(), pk, s])).slice(0, 2), name).to.deep.equal([false, false]);
      }
      expect(await harness.read.isOnCurveG2([wrongSubgroupG2()])).to.equal(true);
      const [ok, callOk] = await harness.read.safePairing([sig, G2_GENERATOR, G1_GENERATOR, wrongSubgroupG2(), 120_000n]);
      expect([ok, callOk]).to.deep.equal([false, false]);
    });

    it("should refuse infinity keys and signatures, which a raw pairing check accepts", async () => {
      const sk = keys[3]!;
      const d = digestOf("infinity");
      const h = hashToG1(d);
      // The trap: e(0, −G2) · e(H(m), 0) == 1 for every message.
      const [raw, rawOk] = await harness.read.safePairing([INFINITY_G1, G2_GENERATOR, h, INFINITY_G2, 120_000n]);
      expect([raw, rawOk]).to.deep.equal([true, true]);
      expect(verify(INFINITY_G2, d, INFINITY_G1)).to.equal(false);
      expect(await harness.read.verify([INFINITY_G2, d, INFINITY_G1])).to.equal(false);
      expect(await harness.read.verify([sk.publicKeyG2(), d, INFINITY_G1])).to.equal(false);
      expect((await harness.read.verifyBound([d, INFINITY_G1, INFINITY_G2, INFINITY_G1])).slice(0, 2)).to.deep.equal([false, false]);
      expect((await harness.read.verifyBound([d, sk.publicKeyG1(), sk.publicKeyG2(), INFINITY_G1])).slice(0, 2)).to.deep.equal([
        false,
        false,
      ]);
    });
  });

  describe("given a proof of possession made in TypeScript", () => {
    const params = {
      chainId: 31337n,
      registry: "0x5FbDB2315678afecb367f032d93F642f64180aa3" as ViemHex,
      operator: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" as ViemHex,
    };

    it("should verify in the contract with the same gamma as TypeScript", async () => {
      const sk = keys[0]!;
      const sig = signProofOfPossession(sk, params);
      const m = popMessageHash(params);
      expect(verifyProofOfPossession(sk.publicKeyG1(), sk.publicKeyG2(), params, sig)).to.equal(true);
      expect(await harness.read.verifyProofOfPossession([sk.publicKeyG1(), sk.publicKeyG2(), m, sig])).to.equal(true);
      expect(await harness.read.popGamma([sk.publicKeyG1(), sk.publicKeyG2(), hashToG1(m), sig])).to.equal(
        popGamma(sk.publicKeyG1(), sk.publicKeyG2(), hashToG1(m), sig),
      );
    });

    it("should refuse a G1 key of another secret, another operator's message and infinity on both sides", async () => {
      const [a, b] = [keys[0]!, keys[1]!];
      const sig = signProofOfPossession(a, params);
      const m = popMessageHash(params);
      const otherOperator = { ...params, operator: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" as ViemHex };
      expect(verifyProofOfPossession(b.publicKeyG1(), a.publicKeyG2(), params, sig)).to.equal(false);
      expect(await harness.read.verifyProofOfPossession([b.publicKeyG1(), a.publicKeyG2(), m, sig])).to.equal(false);
      expect(verifyProofOfPossession(a.publicKeyG1(), a.publicKeyG2(), otherOperator, sig)).to.equal(false);
      expect(
        await harness.read.verifyProofOfPossession([a.publicKeyG1(), a.publicKeyG2(), popMessageHash(otherOperator), sig]),
      ).to.equal(false);
      expect(verifyProofOfPossession(INFINITY_G1, INFINITY_G2, params, INFINITY_G1)).to.equal(false);
      expect(await harness.read.verifyProofOfPossession([INFINITY_G1, INFINITY_G2, m, INFINITY_G1])).to.equal(false);
    });
  });
});
