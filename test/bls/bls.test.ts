import { expect } from "chai";
import { bn254 } from "@noble/curves/bn254.js";
import { keccak256, toBytes } from "viem";
import {
  BlsError,
  BlsErrorCode,
  FP_MODULUS,
  FR_MODULUS,
  G1_GENERATOR,
  G2_GENERATOR,
  POP_DOMAIN,
  RESULT_DOMAIN,
  SEED_DOMAIN,
  SecretKey,
  aggregateG1,
  aggregateG2,
  decodeG1, decodeG2, encodeG1, encodeG2, // the 64/128-byte wire encodings
  g1FromEvm, g1ToEvm, g2FromEvm, g2ToEvm, // the pairing precompile's word order
  hashToG1,
  operatorId,
  popMessageHash,
  signProofOfPossession,
  verify,
  verifyProofOfPossession,
  type G1Point,
  type G2Point,
  type Hex,
} from "../../protocol/bls/index.js";
import { skFromScalar, digestOf, modPow, offCurveG2, wrongSubgroupG2 } from "../support/bls.js";

function codeOf(fn: () => unknown): BlsError["code"] | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof BlsError) return err.code;
    throw err;
  }
  return undefined;
}

const word = (v: bigint): Hex => `0x${v.toString(16).padStart(64, "0")}`;

describe("bls (noble reference)", function () {
  this.timeout(60_000);

  describe("given the curve constants", () => {
    it("should use the alt_bn128 moduli of EIP-196/197", () => {
      expect(FP_MODULUS).to.equal(0x30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47n);
      expect(FR_MODULUS).to.equal(0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001n);
    });
    it("should encode the G2 generator imaginary part first, as published in EIP-197", () => {
      expect(G2_GENERATOR.X).to.deep.equal([
        11559732032986387107991004021392285783925812861821192530917403151452391805634n,
        10857046999023057135944570762232829481370756359578518086990519993285655852781n,
      ]);
      expect(G2_GENERATOR.Y).to.deep.equal([
        4082367875863433681332203403145435568316851327593401208105741076214120093531n,
        8495653923123431417604973247489272438418190587263600148770280649306958101930n,
      ]);
    });
    it("should derive the domain tags as keccak256 of their strings", () => {
      expect(POP_DOMAIN).to.equal(keccak256(toBytes("matchnet/pop/v1")));
      expect(SEED_DOMAIN).to.equal(keccak256(toBytes("matchnet/seed/v1")));
      expect(RESULT_DOMAIN).to.equal(keccak256(toBytes("matchnet/result/v1")));
      expect(new Set([POP_DOMAIN, SEED_DOMAIN, RESULT_DOMAIN]).size).to.equal(3);
    });
  });

  describe("given the pairing", () => {
    it("should satisfy bilinearity e(2·G1, 3·G2) == e(6·G1, G2) and differ from e(5·G1, G2)", () => {
      const { G1, G2 } = bn254;
      const { Fp12 } = bn254.fields;
      const lhs = bn254.pairing(G1.Point.BASE.multiply(2n), G2.Point.BASE.multiply(3n));
      expect(Fp12.eql(lhs, bn254.pairing(G1.Point.BASE.multiply(6n), G2.Point.BASE))).to.equal(true);
      expect(Fp12.eql(lhs, bn254.pairing(G1.Point.BASE.multiply(5n), G2.Point.BASE))).to.equal(false);
    });
  });

  describe("hashToG1", () => {
    it("given digests 0, 1 and p → it should map all three to the generator (1, 2)", () => {
      for (const d of [0n, 1n, FP_MODULUS]) expect(hashToG1(word(d))).to.deep.equal(G1_GENERATOR);
    });
    it("given a digest ≥ p → it should reduce it mod p first", () => {
      expect(hashToG1(word(FP_MODULUS + 5n))).to.deep.equal(hashToG1(word(5n)));
    });
    it("given keccak digests → it should return the first x ≥ digest mod p whose x³+3 is a square, y = (x³+3)^((p+1)/4)", () => {
      for (let i = 0; i < 16; i++) {
        const d = digestOf(`hash-${i}`);
        const h = hashToG1(d);
        // Independent re-derivation with Euler's criterion instead of the square-root test.
        let x = BigInt(d) % FP_MODULUS;
        const isSquare = (v: bigint) => modPow(v, (FP_MODULUS - 1n) / 2n, FP_MODULUS) === 1n;
        while (!isSquare((x * x * x + 3n) % FP_MODULUS)) x = (x + 1n) % FP_MODULUS;
        expect(h.X).to.equal(x);
        expect(h.Y).to.equal(modPow((x * x * x + 3n) % FP_MODULUS, (FP_MODULUS + 1n) / 4n, FP_MODULUS));
        expect(() => g1FromEvm(h)).not.to.throw();
      }
    });
    it("given a digest that is not 32 bytes → it should throw InvalidDigest", () => {
      expect(codeOf(() => hashToG1("0x1234"))).to.equal(BlsErrorCode.InvalidDigest);
      expect(codeOf(() => hashToG1(`0x${"zz".repeat(32)}`))).to.equal(BlsErrorCode.InvalidDigest);
    });
  });

  describe("SecretKey", () => {
    it("given sk = 1 → it should have the generators as public keys", () => {
      const sk = skFromScalar(1n);
      expect(sk.publicKeyG1()).to.deep.equal(G1_GENERATOR);
      expect(sk.publicKeyG2()).to.deep.equal(G2_GENERATOR);
    });
    it("given sk = 2 → it should have G1 key 2·(1,2), known from EIP-196 doubling", () => {
      expect(skFromScalar(2n).publicKeyG1()).to.deep.equal({
        X: 0x030644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd3n,
        Y: 0x15ed738c0e0a7c92e7845f96b2ae9c0a68a6a449e3538fc7ff3ebf7a5a18a2c4n,
      });
    });
    it("given generated keys → they should be distinct, in [1, r-1], and round-trip through bytes", () => {
      const seen = new Set<string>();
      for (let i = 0; i < 8; i++) {
        const sk = SecretKey.generate();
        const b = sk.toBytes();
        expect(b.length).to.equal(32);
        const v = BigInt(`0x${Buffer.from(b).toString("hex")}`);
        expect(v > 0n && v < FR_MODULUS).to.equal(true);
        expect(SecretKey.fromBytes(b).publicKeyG1()).to.deep.equal(sk.publicKeyG1());
        seen.add(Buffer.from(b).toString("hex"));
      }
      expect(seen.size).to.equal(8);
    });
    it("given 0, r, or a wrong length → fromBytes should throw InvalidSecretKey", () => {
      expect(codeOf(() => SecretKey.fromBytes(new Uint8Array(32)))).to.equal(BlsErrorCode.InvalidSecretKey);
      expect(codeOf(() => SecretKey.fromBytes(toBytes(word(FR_MODULUS))))).to.equal(BlsErrorCode.InvalidSecretKey);
      expect(codeOf(() => SecretKey.fromBytes(new Uint8Array(31).fill(1)))).to.equal(BlsErrorCode.InvalidSecretKey);
      expect(() => SecretKey.fromBytes(toBytes(word(FR_MODULUS - 1n)))).not.to.throw();
    });
    it("given a key → it should never print its secret", () => {
      const sk = skFromScalar(0x1234567n);
      expect(`${sk}`).to.equal("SecretKey(<redacted>)");
      expect(JSON.stringify({ sk })).to.not.include("1234567");
    });
  });

  describe("sign / verify", () => {
    const sk = skFromScalar(0xc0ffeen);
    const msg = digestOf("a match result");

    it("given sk = 1 → the signature should be the hashed point itself", () => {
      expect(skFromScalar(1n).sign(msg)).to.deep.equal(hashToG1(msg));
    });
    it("given a signature → it should verify under the signer's G2 key", () => {
      expect(verify(sk.publicKeyG2(), msg, sk.sign(msg))).to.equal(true);
    });
    it("given a signature and another message → it should not verify", () => {
      expect(verify(sk.publicKeyG2(), digestOf("another"), sk.sign(msg))).to.equal(false);
    });
    it("given a signature and another key → it should not verify", () => {
      expect(verify(skFromScalar(0xc0ffefn).publicKeyG2(), msg, sk.sign(msg))).to.equal(false);
    });
    it("given a tampered signature (valid point, ± generator) → it should not verify", () => {
      const sig = g1FromEvm(sk.sign(msg));
      expect(verify(sk.publicKeyG2(), msg, g1ToEvm(sig.add(bn254.G1.Point.BASE)))).to.equal(false);
    });
    it("given key and signature both at infinity (0,0) → it should refuse them, though the raw pairing accepts", () => {
      const inf1: G1Point = { X: 0n, Y: 0n };
      const inf2: G2Point = { X: [0n, 0n], Y: [0n, 0n] };
      // The trap: with the identity as both key and signature, e(O, -G2)·e(H, O) == 1 for any message.
      const { Fp12 } = bn254.fields;
      expect(Fp12.eql(bn254.pairingBatch([]), Fp12.ONE)).to.equal(true);
      expect(verify(inf2, msg, inf1)).to.equal(false);
      expect(verify(sk.publicKeyG2(), msg, inf1)).to.equal(false);
      expect(verify(inf2, msg, sk.sign(msg))).to.equal(false);
      expect(codeOf(() => g1FromEvm(inf1))).to.equal(BlsErrorCode.Infinity);
      expect(codeOf(() => g2FromEvm(inf2))).to.equal(BlsErrorCode.Infinity);
    });
    it("given an off-curve signature or key → verify should return false and decoding throw NotOnCurve", () => {
      const sig = sk.sign(msg);
      const bad: G1Point = { X: sig.X, Y: (sig.Y + 1n) % FP_MODULUS };
      expect(verify(sk.publicKeyG2(), msg, bad)).to.equal(false);
      expect(codeOf(() => g1FromEvm(bad))).to.equal(BlsErrorCode.NotOnCurve);
      expect(verify(offCurveG2(), msg, sig)).to.equal(false);
      expect(codeOf(() => g2FromEvm(offCurveG2()))).to.equal(BlsErrorCode.NotOnCurve);
    });
    it("given a G2 key on the twist but outside the subgroup → verify false, decoding NotInSubgroup", () => {
      const bad = wrongSubgroupG2();
      expect(codeOf(() => g2FromEvm(bad))).to.equal(BlsErrorCode.NotInSubgroup);
      expect(verify(bad, msg, sk.sign(msg))).to.equal(false);
    });
    it("given a coordinate ≥ p (the same point + p) → decoding throws CoordinateTooLarge", () => {
      const sig = sk.sign(msg);
      expect(codeOf(() => g1FromEvm({ X: sig.X + FP_MODULUS, Y: sig.Y }))).to.equal(BlsErrorCode.CoordinateTooLarge);
      const pk = sk.publicKeyG2();
      expect(codeOf(() => g2FromEvm({ X: pk.X, Y: [pk.Y[0], pk.Y[1] + FP_MODULUS] }))).to.equal(BlsErrorCode.CoordinateTooLarge);
    });
    it("given non-bigint coordinates → decoding throws Malformed", () => {
      expect(codeOf(() => g1FromEvm({ X: 1, Y: 2 } as unknown as G1Point))).to.equal(BlsErrorCode.Malformed);
      expect(codeOf(() => g2FromEvm({ X: [1n], Y: [0n, 0n] } as unknown as G2Point))).to.equal(BlsErrorCode.Malformed);
    });
  });

  describe("aggregation", () => {
    const sks = [3n, 5n, 7n, 11n].map(skFromScalar);
    const msg = digestOf("batch 42 result");

    it("given signatures of one message → the aggregate verifies under the aggregate G2 key", () => {
      const sig = aggregateG1(sks.map((k) => k.sign(msg)));
      const apk = aggregateG2(sks.map((k) => k.publicKeyG2()));
      expect(verify(apk, msg, sig)).to.equal(true);
      // Known answer: Σ sk = 26, so the aggregates are 26·H(m) and 26·G2.
      expect(sig).to.deep.equal(skFromScalar(26n).sign(msg));
      expect(apk).to.deep.equal(skFromScalar(26n).publicKeyG2());
      expect(aggregateG1(sks.map((k) => k.publicKeyG1()))).to.deep.equal(skFromScalar(26n).publicKeyG1());
    });
    it("given one signer missing from the key aggregate → it should not verify", () => {
      const sig = aggregateG1(sks.map((k) => k.sign(msg)));
      expect(verify(aggregateG2(sks.slice(1).map((k) => k.publicKeyG2())), msg, sig)).to.equal(false);
    });
    it("given nothing, an invalid member, or a sum at infinity → it should refuse", () => {
      expect(codeOf(() => aggregateG1([]))).to.equal(BlsErrorCode.EmptyAggregate);
      expect(codeOf(() => aggregateG2([]))).to.equal(BlsErrorCode.EmptyAggregate);
      expect(codeOf(() => aggregateG2([sks[0]!.publicKeyG2(), wrongSubgroupG2()]))).to.equal(BlsErrorCode.NotInSubgroup);
      const p = sks[0]!.publicKeyG1();
      expect(codeOf(() => aggregateG1([p, { X: p.X, Y: FP_MODULUS - p.Y }]))).to.equal(BlsErrorCode.Infinity);
    });
  });

  describe("operator id and proof of possession", () => {
    const sk = skFromScalar(0xabcdefn);
    const p = {
      chainId: 31337n,
      registry: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      operator: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    } as const;

    it("given a G1 key → operatorId should be keccak256 of X ‖ Y", () => {
      const pk = sk.publicKeyG1();
      expect(operatorId(pk)).to.equal(keccak256(encodeG1(pk)));
      expect(operatorId(G1_GENERATOR)).to.equal(keccak256(`0x${"00".repeat(31)}01${"00".repeat(31)}02`));
    });
    it("given G2 encoding → it should be X[0] ‖ X[1] ‖ Y[0] ‖ Y[1]", () => {
      const e = encodeG2(G2_GENERATOR);
      expect(e.length).to.equal(2 + 4 * 64);
      expect(BigInt(`0x${e.slice(2, 66)}`)).to.equal(G2_GENERATOR.X[0]);
    });
    it("given encoded points → decodeG1/decodeG2 should invert encodeG1/encodeG2 and refuse wrong lengths", () => {
      const pk1 = sk.publicKeyG1();
      const pk2 = sk.publicKeyG2();
      expect(decodeG1(encodeG1(pk1))).to.deep.equal(pk1);
      expect(decodeG2(encodeG2(pk2))).to.deep.equal(pk2);
      expect(codeOf(() => decodeG1(encodeG2(pk2)))).to.equal(BlsErrorCode.Malformed);
      expect(codeOf(() => decodeG2(`${encodeG2(pk2)}00`))).to.equal(BlsErrorCode.Malformed);
    });
    it("given PoP params → the message hash is keccak256(abi.encode(domain, chainId, registry, operator))", () => {
      const expected = keccak256(
        `0x${POP_DOMAIN.slice(2)}${word(p.chainId).slice(2)}${word(BigInt(p.registry)).slice(2)}${word(BigInt(p.operator)).slice(2)}`,
      );
      expect(popMessageHash(p)).to.equal(expected);
    });
    it("given a PoP → it verifies with the matching G1/G2 keys, also by plain verify", () => {
      const pop = signProofOfPossession(sk, p);
      expect(verify(sk.publicKeyG2(), popMessageHash(p), pop)).to.equal(true);
      expect(verifyProofOfPossession(sk.publicKeyG1(), sk.publicKeyG2(), p, pop)).to.equal(true);
    });
    it("given a PoP replayed for another operator, chain or registry → it fails", () => {
      const pop = signProofOfPossession(sk, p);
      const pk1 = sk.publicKeyG1();
      const pk2 = sk.publicKeyG2();
      expect(verifyProofOfPossession(pk1, pk2, { ...p, operator: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" }, pop)).to.equal(false);
      expect(verifyProofOfPossession(pk1, pk2, { ...p, chainId: 1n }, pop)).to.equal(false);
      expect(verifyProofOfPossession(pk1, pk2, { ...p, registry: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512" }, pop)).to.equal(false);
    });
    it("given a G1 key that does not match the G2 key → it fails even though the signature is valid", () => {
      const pop = signProofOfPossession(sk, p);
      expect(verifyProofOfPossession(skFromScalar(2n).publicKeyG1(), sk.publicKeyG2(), p, pop)).to.equal(false);
    });
    it("given a rogue G2 key (pk_victim subtracted) → no PoP made with another key passes", () => {
      const victim = skFromScalar(99n);
      const attacker = skFromScalar(1234n);
      const rogue = g2ToEvm(g2FromEvm(attacker.publicKeyG2()).subtract(g2FromEvm(victim.publicKeyG2())));
      const pop = signProofOfPossession(attacker, p);
      expect(verifyProofOfPossession(attacker.publicKeyG1(), rogue, p, pop)).to.equal(false);
    });
    it("given infinity keys and signature → it fails", () => {
      expect(verifyProofOfPossession({ X: 0n, Y: 0n }, { X: [0n, 0n], Y: [0n, 0n] }, p, { X: 0n, Y: 0n })).to.equal(false);
    });
    it("given a malformed address → it throws Malformed", () => {
      expect(codeOf(() => popMessageHash({ ...p, operator: "0x1234" }))).to.equal(BlsErrorCode.Malformed);
    });
  });
});
