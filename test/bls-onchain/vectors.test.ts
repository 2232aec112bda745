import { expect } from "chai";
import { readFileSync } from "node:fs";
import { network } from "hardhat";
import { getAddress, type Hex } from "viem";
import { G1_GENERATOR } from "../../protocol/bls/index.js";
import { VECTORS_PATH, g1FromJson, g2FromJson, type BlsVectors } from "../support/make-bls-vectors.js";

/**
 * The shared vector file test/vectors/bls.json, made by the TypeScript library, checked on-chain: every hash, key,
 * signature, aggregate and proof of possession must be reproduced or verified by the Solidity libraries, and every
 * invalid case refused.
 */
describe("test/vectors/bls.json checked on-chain (BN254/BLS Solidity libraries)", function () {
  const v = JSON.parse(readFileSync(VECTORS_PATH, "utf8")) as BlsVectors;
  const secretOf = new Map(v.keys.map((k) => [k.name, BigInt(k.secret)] as const));
  const keyOf = new Map(v.keys.map((k) => [k.name, k] as const));
  let ctx: Awaited<ReturnType<typeof deploy>>;

  async function deploy() {
    const { viem } = await network.create();
    const [owner] = await viem.getWalletClients();
    // Deployed first, by account 0 at nonce 0, so it lands at the registry address the PoP vectors were made for.
    const registry = await viem.deployContract("OperatorRegistry", [
      owner!.account.address,
      owner!.account.address, // any non-zero token: only popMessageHash is used here
      owner!.account.address,
      1n,
      1,
    ]);
    const harness = await viem.deployContract("BLSHarness");
    return { registry, harness };
  }

  before(async () => {
    ctx = await deploy();
  });

  describe("given the hashToG1 vectors", () => {
    it("should map every digest to the same point in Solidity", async () => {
      expect(v.hashToG1.length).to.be.greaterThan(0);
      for (const h of v.hashToG1) {
        expect(await ctx.harness.read.hashToG1([h.digest]), h.note).to.deep.equal(g1FromJson(h.point));
      }
    });
  });

  describe("given the key vectors", () => {
    it("should derive each G1 key on-chain from its secret and accept each G2 key as a twist point", async () => {
      for (const k of v.keys) {
        expect(await ctx.harness.read.scalarMul([G1_GENERATOR, BigInt(k.secret)]), k.name).to.deep.equal(g1FromJson(k.pkG1));
        expect(await ctx.harness.read.isOnCurveG2([g2FromJson(k.pkG2)]), k.name).to.equal(true);
      }
    });
  });

  describe("given the signature vectors", () => {
    it("should hash, re-sign and verify each one in Solidity", async () => {
      expect(v.signatures.length).to.be.greaterThan(0);
      for (const s of v.signatures) {
        const key = keyOf.get(s.key)!;
        const label = `${s.key}: ${s.message}`;
        expect(await ctx.harness.read.hashToG1([s.digest]), label).to.deep.equal(g1FromJson(s.hash));
        expect(await ctx.harness.read.scalarMul([g1FromJson(s.hash), secretOf.get(s.key)!]), label).to.deep.equal(
          g1FromJson(s.signature),
        );
        expect(await ctx.harness.read.verify([g2FromJson(key.pkG2), s.digest, g1FromJson(s.signature)]), label).to.equal(true);
        expect(
          (await ctx.harness.read.verifyBound([s.digest, g1FromJson(key.pkG1), g2FromJson(key.pkG2), g1FromJson(s.signature)])).slice(0, 2),
          label,
        ).to.deep.equal([true, true]);
      }
    });
  });

  describe("given the aggregate vectors", () => {
    it("should rebuild apkG1 by on-chain additions and verify the aggregate both ways", async () => {
      expect(v.aggregates.length).to.be.greaterThan(0);
      for (const a of v.aggregates) {
        let apk = g1FromJson(keyOf.get(a.signers[0]!)!.pkG1);
        for (const name of a.signers.slice(1)) apk = await ctx.harness.read.plus([apk, g1FromJson(keyOf.get(name)!.pkG1)]);
        expect(apk).to.deep.equal(g1FromJson(a.apkG1));
        const [apkG2, sig] = [g2FromJson(a.apkG2), g1FromJson(a.signature)];
        expect(await ctx.harness.read.verify([apkG2, a.digest, sig])).to.equal(true);
        expect((await ctx.harness.read.verifyBound([a.digest, apk, apkG2, sig])).slice(0, 2)).to.deep.equal([true, true]);
      }
    });
  });

  describe("given the proof-of-possession vectors", () => {
    it("should compute the same digest in the registry, the same gamma, and accept the proof", async () => {
      expect(v.proofsOfPossession.length).to.be.greaterThan(0);
      for (const p of v.proofsOfPossession) {
        const key = keyOf.get(p.key)!;
        expect(BigInt(p.chainId)).to.equal(31337n);
        expect(getAddress(ctx.registry.address)).to.equal(getAddress(p.registry));
        expect(await ctx.registry.read.popMessageHash([p.operator])).to.equal(p.messageHash);
        expect(await ctx.harness.read.hashToG1([p.messageHash])).to.deep.equal(g1FromJson(p.messagePoint));
        const [pkG1, pkG2, sig] = [g1FromJson(key.pkG1), g2FromJson(key.pkG2), g1FromJson(p.signature)];
        expect(await ctx.harness.read.popGamma([pkG1, pkG2, g1FromJson(p.messagePoint), sig])).to.equal(BigInt(p.gamma));
        expect(await ctx.harness.read.verifyProofOfPossession([pkG1, pkG2, p.messageHash as Hex, sig])).to.equal(true);
      }
    });
  });

  describe("given the invalid vectors", () => {
    it("should refuse every one in Solidity, flagging malformed points as refused input", async () => {
      expect(v.invalid.length).to.be.greaterThan(0);
      for (const bad of v.invalid) {
        const [pkG2, sig] = [g2FromJson(bad.pkG2), g1FromJson(bad.signature)];
        expect(await ctx.harness.read.verify([pkG2, bad.digest, sig]), bad.name).to.equal(false);
        // With the matching G1 key where one exists (by G2 key), the bound check refuses too.
        const owner = v.keys.find((k) => k.pkG2.X[0] === bad.pkG2.X[0] && k.pkG2.Y[1] === bad.pkG2.Y[1]);
        const pkG1 = owner ? g1FromJson(owner.pkG1) : G1_GENERATOR;
        const [ok, callOk] = await ctx.harness.read.verifyBound([bad.digest, pkG1, pkG2, sig]);
        expect(ok, bad.name).to.equal(false);
        if (bad.decodeError !== null) expect(callOk, `${bad.name}: refused as malformed`).to.equal(false);
      }
    });
  });
});
