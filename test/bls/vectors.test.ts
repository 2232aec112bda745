import { expect } from "chai";
import { readFileSync } from "node:fs";
import {
  BlsError,
  SecretKey,
  aggregateG1,
  aggregateG2,
  createBlsVerifier,
  g1FromEvm,
  g2FromEvm,
  hashToG1,
  operatorId,
  popGamma,
  popMessageHash,
  verify,
  verifyProofOfPossession,
  type BlsVerifier,
  type Hex,
} from "../../protocol/bls/index.js";
import {
  VECTORS_PATH,
  buildBlsVectors,
  g1FromJson,
  g2FromJson,
  serializeVectors,
  type BlsVectors,
} from "../support/make-bls-vectors.js";
import { keccak256, toBytes } from "viem";

describe("test/vectors/bls.json (shared with the Solidity suite)", function () {
  this.timeout(120_000);
  const text = readFileSync(VECTORS_PATH, "utf8");
  const v = JSON.parse(text) as BlsVectors;
  let engines: BlsVerifier[];

  before(async () => {
    engines = [await createBlsVerifier("noble"), await createBlsVerifier("mcl")];
  });

  it("given the generator script → it should reproduce the committed file byte for byte", () => {
    expect(serializeVectors(buildBlsVectors())).to.equal(text);
  });

  it("given the file → it should hold enough cases of each kind", () => {
    expect(v.keys.length).to.be.at.least(5);
    expect(v.signatures.length).to.be.at.least(10);
    expect(v.invalid.map((c) => c.decodeError)).to.include.members([null, "NotOnCurve", "NotInSubgroup", "Infinity", "CoordinateTooLarge"]);
  });

  it("given each hashToG1 entry → it should re-derive the point", () => {
    for (const h of v.hashToG1) expect(hashToG1(h.digest), h.note).to.deep.equal(g1FromJson(h.point));
  });

  it("given each key → secret should give both public keys and the operator id", () => {
    for (const k of v.keys) {
      const sk = SecretKey.fromBytes(toBytes(k.secret));
      expect(sk.publicKeyG1(), k.name).to.deep.equal(g1FromJson(k.pkG1));
      expect(sk.publicKeyG2(), k.name).to.deep.equal(g2FromJson(k.pkG2));
      expect(operatorId(g1FromJson(k.pkG1)), k.name).to.equal(k.operatorId);
    }
  });

  it("given each signature → it should re-derive digest, hash and signature and verify in both engines", () => {
    const keys = new Map(v.keys.map((k) => [k.name, k]));
    for (const s of v.signatures) {
      const k = keys.get(s.key)!;
      expect(s.digest).to.equal(keccak256(toBytes(s.message)));
      expect(hashToG1(s.digest)).to.deep.equal(g1FromJson(s.hash));
      expect(SecretKey.fromBytes(toBytes(k.secret)).sign(s.digest)).to.deep.equal(g1FromJson(s.signature));
      for (const e of engines) expect(e.verify(g2FromJson(k.pkG2), s.digest, g1FromJson(s.signature)), `${e.engine} ${s.key}`).to.equal(true);
    }
    const items = v.signatures.map((s) => ({ pkG2: g2FromJson(keys.get(s.key)!.pkG2), digest: s.digest, sig: g1FromJson(s.signature) }));
    for (const e of engines) expect(e.verifyBatch(items), e.engine).to.equal(true);
  });

  it("given each aggregate → it should re-derive the aggregate keys and signature and verify", () => {
    const keys = new Map(v.keys.map((k) => [k.name, k]));
    for (const a of v.aggregates) {
      const ks = a.signers.map((n) => keys.get(n)!);
      expect(aggregateG1(ks.map((k) => g1FromJson(k.pkG1)))).to.deep.equal(g1FromJson(a.apkG1));
      expect(aggregateG2(ks.map((k) => g2FromJson(k.pkG2)))).to.deep.equal(g2FromJson(a.apkG2));
      const sigs = ks.map((k) => SecretKey.fromBytes(toBytes(k.secret)).sign(a.digest));
      expect(aggregateG1(sigs)).to.deep.equal(g1FromJson(a.signature));
      for (const e of engines) expect(e.verify(g2FromJson(a.apkG2), a.digest, g1FromJson(a.signature)), e.engine).to.equal(true);
    }
  });

  it("given each proof of possession → message hash, gamma and the registry check should re-derive", () => {
    const keys = new Map(v.keys.map((k) => [k.name, k]));
    for (const p of v.proofsOfPossession) {
      const k = keys.get(p.key)!;
      const params = { chainId: BigInt(p.chainId), registry: p.registry, operator: p.operator };
      expect(popMessageHash(params)).to.equal(p.messageHash);
      expect(hashToG1(p.messageHash)).to.deep.equal(g1FromJson(p.messagePoint));
      expect(popGamma(g1FromJson(k.pkG1), g2FromJson(k.pkG2), g1FromJson(p.messagePoint), g1FromJson(p.signature)).toString()).to.equal(p.gamma);
      expect(verifyProofOfPossession(g1FromJson(k.pkG1), g2FromJson(k.pkG2), params, g1FromJson(p.signature))).to.equal(true);
      expect(verify(g2FromJson(k.pkG2), p.messageHash, g1FromJson(p.signature))).to.equal(true);
    }
  });

  it("given each invalid case → every engine should refuse it, with the recorded decoding error", () => {
    for (const c of v.invalid) {
      const pk = g2FromJson(c.pkG2);
      const sig = g1FromJson(c.signature);
      expect(verify(pk, c.digest as Hex, sig), c.name).to.equal(false);
      for (const e of engines) {
        expect(e.verify(pk, c.digest, sig), `${e.engine}: ${c.name}`).to.equal(false);
        expect(e.findInvalid([{ pkG2: pk, digest: c.digest, sig }]), `${e.engine}: ${c.name}`).to.deep.equal([0]);
      }
      let code: string | null = null;
      try {
        g2FromEvm(pk);
        g1FromEvm(sig);
      } catch (err) {
        if (!(err instanceof BlsError)) throw err;
        code = err.code;
      }
      expect(code, c.name).to.equal(c.decodeError);
    }
  });
});
