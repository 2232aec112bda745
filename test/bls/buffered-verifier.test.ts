import { expect } from "chai";
import type { Hex } from "viem";
import { BlsError, BlsErrorCode, SecretKey, createBlsVerifier, operatorId, type BlsVerifier, type G2Point } from "../../protocol/bls/index.js";
import { BufferedBlsVerifier } from "../../protocol/bls/bufferedVerifier.js";
import { seedFromSignature } from "../../protocol/avs/messages.js";
import { toOperatorId } from "../../protocol/chain/ids.js";
import { silentLogger } from "../../protocol/log/logger.js";
import { GossipAction, GossipErrorCode, GossipValidationError } from "../../protocol/p2p/errors.js";
import { encodePartialSignatureMessage } from "../../protocol/p2p/messages.js";
import { GossipValidationContext, defaultGossipValidationOpts } from "../../protocol/p2p/validation/context.js";
import { validatePartialSignatureMessage } from "../../protocol/p2p/validation/partial.js";
import { digestOf, skFromScalar } from "../support/bls.js";
import { closeBatch, testBatchTable } from "../support/p2p-fixtures.js";

const N = 8;
const sks = Array.from({ length: N + 2 }, (_, i) => skFromScalar(5000n + BigInt(i) * 7919n));
const digest = digestOf("buffered");

/** Signature checks of sks[0..count) on one digest; `forged` indexes sign with the next key instead of their own. */
function checks(count: number, forged: readonly number[] = []) {
  return Array.from({ length: count }, (_, i) => ({
    pkG2: sks[i]!.publicKeyG2(),
    digest,
    sig: (forged.includes(i) ? sks[i + 1]! : sks[i]!).sign(digest),
  }));
}

function buffered(verifier: BlsVerifier, maxWaitMs: number) {
  const groups: { size: number; passed: boolean }[] = [];
  const v = new BufferedBlsVerifier({ maxBatch: N, maxWaitMs }, { verifier, onGroup: (size, passed) => groups.push({ size, passed }) });
  return { v, groups };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("protocol/bls/bufferedVerifier: signature checks grouped into batch checks (real mcl BLS)", function () {
  this.timeout(20_000);
  let verifier: BlsVerifier;

  before(async () => {
    verifier = await createBlsVerifier("mcl");
  });

  describe("group size at the bound N = maxBatch", () => {
    it(`given N − 1 = ${N - 1} checks → it should hold them until maxWaitMs, then check them as one group`, async () => {
      const { v, groups } = buffered(verifier, 200);
      const results = Promise.all(checks(N - 1).map((c) => v.verify(c.pkG2, c.digest, c.sig)));
      await tick();
      expect(groups, "checked before the wait ended").to.deep.equal([]);
      expect(v.pending).to.equal(N - 1);
      expect(await results).to.deep.equal(Array(N - 1).fill(true));
      expect(groups).to.deep.equal([{ size: N - 1, passed: true }]);
    });

    it(`given N = ${N} checks → it should check them at once as one group, without waiting`, async () => {
      const { v, groups } = buffered(verifier, 60_000);
      const results = Promise.all(checks(N).map((c) => v.verify(c.pkG2, c.digest, c.sig)));
      expect(groups).to.deep.equal([{ size: N, passed: true }]);
      expect(v.pending).to.equal(0);
      expect(await results).to.deep.equal(Array(N).fill(true));
    });

    it(`given N + 1 = ${N + 1} checks → it should check N at once and the last one alone after maxWaitMs`, async () => {
      const { v, groups } = buffered(verifier, 100);
      const results = Promise.all(checks(N + 1).map((c) => v.verify(c.pkG2, c.digest, c.sig)));
      expect(groups).to.deep.equal([{ size: N, passed: true }]);
      expect(v.pending).to.equal(1);
      expect(await results).to.deep.equal(Array(N + 1).fill(true));
      expect(groups).to.deep.equal([
        { size: N, passed: true },
        { size: 1, passed: true },
      ]);
    });
  });

  describe("invalid signatures", () => {
    it("given one forged signature in a full group → it should answer false for it alone and true for the other N − 1", async () => {
      const { v, groups } = buffered(verifier, 60_000);
      const results = await Promise.all(checks(N, [3]).map((c) => v.verify(c.pkG2, c.digest, c.sig)));
      expect(results).to.deep.equal(Array.from({ length: N }, (_, i) => i !== 3));
      expect(groups).to.deep.equal([{ size: N, passed: false }]);
    });

    it("given two forged signatures and a key that is not a curve point in one group → it should answer false for exactly those three", async () => {
      const { v } = buffered(verifier, 60_000);
      const items = checks(N, [0, N - 1]);
      items[4] = { ...items[4]!, pkG2: { X: [1n, 2n], Y: [3n, 4n] } as G2Point };
      const results = await Promise.all(items.map((c) => v.verify(c.pkG2, c.digest, c.sig)));
      expect(results).to.deep.equal(Array.from({ length: N }, (_, i) => ![0, 4, N - 1].includes(i)));
    });

    it("given a lone forged signature → it should answer false, checked alone", async () => {
      const { v, groups } = buffered(verifier, 5);
      const [c] = checks(1, [0]);
      expect(await v.verify(c!.pkG2, c!.digest, c!.sig)).to.equal(false);
      expect(groups).to.deep.equal([{ size: 1, passed: false }]);
    });

    it("given a malformed digest → it should throw BlsError InvalidDigest to that caller and leave the others' group intact", async () => {
      const { v, groups } = buffered(verifier, 20);
      const good = checks(2);
      const results = Promise.all(good.map((c) => v.verify(c.pkG2, c.digest, c.sig)));
      let code: unknown;
      try {
        await v.verify(good[0]!.pkG2, "0x1234" as Hex, good[0]!.sig);
      } catch (err) {
        code = err instanceof BlsError ? err.code : err;
      }
      expect(code).to.equal(BlsErrorCode.InvalidDigest);
      expect(await results).to.deep.equal([true, true]);
      expect(groups).to.deep.equal([{ size: 2, passed: true }]);
    });
  });

  describe("options", () => {
    for (const [opts, what] of [
      [{ maxBatch: 0, maxWaitMs: 10 }, "maxBatch"],
      [{ maxBatch: 1.5, maxWaitMs: 10 }, "maxBatch"],
      [{ maxBatch: 4, maxWaitMs: -1 }, "maxWaitMs"],
      [{ maxBatch: 4, maxWaitMs: Number.NaN }, "maxWaitMs"],
    ] as const) {
      it(`given ${JSON.stringify(opts)} → it should throw a RangeError naming ${what}`, () => {
        expect(() => new BufferedBlsVerifier(opts, { verifier })).to.throw(RangeError, what);
      });
    }
  });

  describe("as the partial validator's verifier", () => {
    const ids = sks.map((sk) => toOperatorId(operatorId(sk.publicKeyG1())));

    it("given N partials arriving together, one signed with another operator's key → it should reject that one as InvalidSignature and accept the others", async () => {
      const table = testBatchTable();
      closeBatch(table, 1n, { leaderOrder: [ids[0]!] });
      const seedSignature = sks[0]!.sign(table.batch(1n)!.seedMessageHash);
      const seed = seedFromSignature(seedSignature);
      table.addVerifiedSeed(1n, seed);
      const resultHash = digestOf("result");
      const resultDigest = table.batch(1n)!.resultMessageHash(resultHash, seed)!;
      const { v, groups } = buffered(verifier, 60_000);
      const ctx = new GossipValidationContext(defaultGossipValidationOpts, {
        batches: table,
        operators: { operatorAt: (id) => (ids.indexOf(toOperatorId(id)) < N ? { pkG2: sks[ids.indexOf(toOperatorId(id))]!.publicKeyG2(), stake: 10n } : undefined) },
        verifier: v,
        logger: silentLogger(),
        metrics: null,
      });
      const FORGED = 5;
      const outcomes = await Promise.all(
        Array.from({ length: N }, (_, i) =>
          validatePartialSignatureMessage(
            ctx,
            encodePartialSignatureMessage({ batch: 1n, resultHash, seed, operatorId: ids[i]!, signature: sks[i === FORGED ? 0 : i]!.sign(resultDigest), seedSigner: ids[0]!, seedSignature }),
          ).then(
            (ok) => ({ accepted: ok.operator.stake === 10n }),
            (err: unknown) => (err instanceof GossipValidationError ? { action: err.action, code: err.code } : { error: String(err) }),
          ),
        ),
      );
      expect(outcomes).to.deep.equal(
        Array.from({ length: N }, (_, i) => (i === FORGED ? { action: GossipAction.Reject, code: GossipErrorCode.InvalidSignature } : { accepted: true })),
      );
      // The seed was verified before: the N partial checks were the only ones, in one group that failed.
      expect(groups).to.deep.equal([{ size: N, passed: false }]);
    });
  });
});
