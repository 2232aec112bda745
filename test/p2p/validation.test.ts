import { expect } from "chai";
import type { Hex } from "viem";
import { silentLogger } from "../../protocol/log/logger.js";
import { createMetrics } from "../../protocol/metrics/metrics.js";
import { GossipAction, GossipErrorCode, GossipValidationError } from "../../protocol/p2p/errors.js";
import { encodePartialSignatureMessage, encodeResultListMessage, encodeSeedMessage } from "../../protocol/p2p/messages.js";
import { GossipValidationContext, defaultGossipValidationOpts } from "../../protocol/p2p/validation/context.js";
import { validatePartialSignatureMessage } from "../../protocol/p2p/validation/partial.js";
import { assignmentsHash as hashAssignments } from "../../protocol/matching/encode.js";
import { validateResultListMessage } from "../../protocol/p2p/validation/resultList.js";
import { validateSeedMessage } from "../../protocol/p2p/validation/seed.js";
import { InsecureTestBls, TestBatchView, TestOperatorSet, testOperator, testResultDigest } from "../support/p2p-fixtures.js";

const SEED: Hex = `0x${"5e".repeat(32)}`;
const RESULT_A: Hex = `0x${"a1".repeat(32)}`;
const RESULT_B: Hex = `0x${"b2".repeat(32)}`;
const FALLBACK_SEED: Hex = `0x${"fb".repeat(32)}`;

async function expectVerdict(p: Promise<unknown>, action: GossipAction, code: GossipErrorCode): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof GossipValidationError)) throw err;
    expect({ action: err.action, code: err.code }).to.deep.equal({ action, code });
    return;
  }
  expect.fail(`expected ${action} ${code}, got accept`);
}

describe("protocol/p2p validation", () => {
  const [alice, bob, carol] = [testOperator(1), testOperator(2), testOperator(3)];
  let batches: TestBatchView;
  let operators: TestOperatorSet;
  let ctx: GossipValidationContext<ReturnType<typeof InsecureTestBls.publicKey>>;
  let metrics: ReturnType<typeof createMetrics>;

  const partialBytes = (op = alice, batch = 1n, resultHash = RESULT_A, seed = SEED) =>
    encodePartialSignatureMessage({ batch, resultHash, seed, operatorId: op!.id, signature: InsecureTestBls.sign(op!.sk, testResultDigest(batch, resultHash, seed)) });

  beforeEach(() => {
    batches = new TestBatchView();
    operators = new TestOperatorSet();
    operators.add(alice!);
    operators.add(bob!);
    metrics = createMetrics();
    ctx = new GossipValidationContext(
      { ...defaultGossipValidationOpts, unknownBatchWaitMs: 200 },
      { batches, operators, verifier: new InsecureTestBls(), logger: silentLogger(), metrics },
    );
  });

  describe("partial signatures", () => {
    beforeEach(() => batches.open(1n, { seeds: [SEED] }));

    it("given a valid partial → it should accept it with the operator's stake and the verified digest, timing the check", async () => {
      const v = await validatePartialSignatureMessage(ctx, partialBytes());
      expect(v.operator.stake).to.equal(100n);
      expect(v.messageHash).to.equal(testResultDigest(1n, RESULT_A, SEED));
      expect(v.equivocates).to.equal(undefined);
      const hist = await metrics.blsVerifySeconds.get();
      expect(hist.values.find((x) => x.metricName === "matchnet_bls_verify_seconds_count")?.value).to.equal(1);
    });

    it("given the same partial again → it should ignore it as AlreadySeen before any signature work", async () => {
      await validatePartialSignatureMessage(ctx, partialBytes());
      await expectVerdict(validatePartialSignatureMessage(ctx, partialBytes()), GossipAction.Ignore, GossipErrorCode.AlreadySeen);
    });

    it("given a signature by another key → it should reject it as InvalidSignature", async () => {
      const forged = encodePartialSignatureMessage({ batch: 1n, resultHash: RESULT_A, seed: SEED, operatorId: alice!.id, signature: InsecureTestBls.sign(bob!.sk, testResultDigest(1n, RESULT_A, SEED)) });
      await expectVerdict(validatePartialSignatureMessage(ctx, forged), GossipAction.Reject, GossipErrorCode.InvalidSignature);
    });

    it("given a sender not registered at R_b → it should reject it as UnknownOperator", async () => {
      await expectVerdict(validatePartialSignatureMessage(ctx, partialBytes(carol)), GossipAction.Reject, GossipErrorCode.UnknownOperator);
      operators.add(carol!, 11n); // registered after R_1 = 10
      await expectVerdict(validatePartialSignatureMessage(ctx, partialBytes(carol)), GossipAction.Reject, GossipErrorCode.UnknownOperator);
    });

    it("given a final batch → it should ignore it as BatchFinal", async () => {
      batches.finalize(1n);
      await expectVerdict(validatePartialSignatureMessage(ctx, partialBytes()), GossipAction.Ignore, GossipErrorCode.BatchFinal);
    });

    it("given a batch far ahead → it should ignore it as FutureBatch without waiting", async () => {
      const started = Date.now();
      await expectVerdict(validatePartialSignatureMessage(ctx, partialBytes(alice, 5n)), GossipAction.Ignore, GossipErrorCode.FutureBatch);
      expect(Date.now() - started).to.be.below(100);
    });

    it("given the next batch whose close arrives during the wait → it should hold and then accept it", async () => {
      setTimeout(() => batches.open(2n, { seeds: [SEED] }), 50);
      const v = await validatePartialSignatureMessage(ctx, partialBytes(alice, 2n));
      expect(v.message.batch).to.equal(2n);
    });

    it("given the next batch that never closes → it should ignore it as BatchUnknown after the wait", async () => {
      await expectVerdict(validatePartialSignatureMessage(ctx, partialBytes(alice, 2n)), GossipAction.Ignore, GossipErrorCode.BatchUnknown);
    });

    it("given a batch whose seed is not known yet → it should ignore it as SeedUnknown", async () => {
      batches.open(2n);
      await expectVerdict(validatePartialSignatureMessage(ctx, partialBytes(alice, 2n)), GossipAction.Ignore, GossipErrorCode.SeedUnknown);
    });

    it("given a partial naming a seed not verified here → it should ignore it as SeedUnknown, not reject it", async () => {
      await expectVerdict(validatePartialSignatureMessage(ctx, partialBytes(alice, 1n, RESULT_A, FALLBACK_SEED)), GossipAction.Ignore, GossipErrorCode.SeedUnknown);
    });

    it("given two verified seeds (fallback leader) → it should verify each partial against the seed it names", async () => {
      batches.open(3n, { seeds: [SEED, FALLBACK_SEED] });
      expect((await validatePartialSignatureMessage(ctx, partialBytes(alice, 3n, RESULT_A, SEED))).messageHash).to.equal(testResultDigest(3n, RESULT_A, SEED));
      expect((await validatePartialSignatureMessage(ctx, partialBytes(bob, 3n, RESULT_B, FALLBACK_SEED))).messageHash).to.equal(testResultDigest(3n, RESULT_B, FALLBACK_SEED));
    });

    it("given one operator signing the same result under two seeds → it should flag the second as equivocation", async () => {
      batches.open(3n, { seeds: [SEED, FALLBACK_SEED] });
      await validatePartialSignatureMessage(ctx, partialBytes(alice, 3n, RESULT_A, SEED));
      const v = await validatePartialSignatureMessage(ctx, partialBytes(alice, 3n, RESULT_A, FALLBACK_SEED));
      expect(v.equivocates?.seed).to.equal(SEED);
    });

    it("given a second valid partial with another result → it should accept it once as equivocation evidence, then ignore more", async () => {
      await validatePartialSignatureMessage(ctx, partialBytes(alice, 1n, RESULT_A));
      const v = await validatePartialSignatureMessage(ctx, partialBytes(alice, 1n, RESULT_B));
      expect(v.equivocates?.resultHash).to.equal(RESULT_A);
      expect(v.message.resultHash).to.equal(RESULT_B);
      const third: Hex = `0x${"c3".repeat(32)}`;
      await expectVerdict(validatePartialSignatureMessage(ctx, partialBytes(alice, 1n, third)), GossipAction.Ignore, GossipErrorCode.AlreadySeen);
    });

    it("given a forged conflicting partial → it should reject it and keep no evidence", async () => {
      await validatePartialSignatureMessage(ctx, partialBytes(alice, 1n, RESULT_A));
      const forged = encodePartialSignatureMessage({ batch: 1n, resultHash: RESULT_B, seed: SEED, operatorId: alice!.id, signature: InsecureTestBls.sign(bob!.sk, testResultDigest(1n, RESULT_B, SEED)) });
      await expectVerdict(validatePartialSignatureMessage(ctx, forged), GossipAction.Reject, GossipErrorCode.InvalidSignature);
      expect(ctx.seenPartials.get(1n, alice!.id.toLowerCase())?.conflicting).to.equal(undefined);
    });
  });

  describe("seeds", () => {
    const seedBytes = (op = alice, batch = 1n, signWith = op!.sk) =>
      encodeSeedMessage({ batch, signer: op!.id, signature: InsecureTestBls.sign(signWith, batches.batch(batch)!.seedMessageHash) });

    beforeEach(() => batches.open(1n, { leaderOrder: [alice!.id, bob!.id], leadersAllowed: 1 }));

    it("given the first leader's valid seed → it should accept it with rank 0", async () => {
      expect((await validateSeedMessage(ctx, seedBytes())).rank).to.equal(0);
      await expectVerdict(validateSeedMessage(ctx, seedBytes()), GossipAction.Ignore, GossipErrorCode.AlreadySeen);
    });

    it("given the fallback leader before its turn → it should ignore it as LeaderTurnNotYet, and accept it after", async () => {
      await expectVerdict(validateSeedMessage(ctx, seedBytes(bob)), GossipAction.Ignore, GossipErrorCode.LeaderTurnNotYet);
      batches.batch(1n)!.leadersAllowed = 2;
      expect((await validateSeedMessage(ctx, seedBytes(bob))).rank).to.equal(1);
    });

    it("given a signer outside the fallback order → it should reject it as NotLeader", async () => {
      operators.add(carol!);
      await expectVerdict(validateSeedMessage(ctx, seedBytes(carol)), GossipAction.Reject, GossipErrorCode.NotLeader);
    });

    it("given a wrong signature → it should reject it as InvalidSignature", async () => {
      await expectVerdict(validateSeedMessage(ctx, seedBytes(alice, 1n, bob!.sk)), GossipAction.Reject, GossipErrorCode.InvalidSignature);
    });
  });

  describe("result lists", () => {
    const assignments = [
      { orderId: 3n, offerVersionId: 1n, gpuCount: 1, pricePerGpuHour: 500n },
      { orderId: 8n, offerVersionId: 2n, gpuCount: 4, pricePerGpuHour: 900n },
    ];
    beforeEach(() => batches.open(1n));

    it("given a list whose hash matches → it should accept it once", async () => {
      const bytes = encodeResultListMessage({ batch: 1n, resultHash: hashAssignments(assignments), assignments });
      expect((await validateResultListMessage(ctx, bytes)).message.assignments).to.deep.equal(assignments);
      await expectVerdict(validateResultListMessage(ctx, bytes), GossipAction.Ignore, GossipErrorCode.AlreadySeen);
    });

    it("given a list with another hash → it should reject it as ResultHashMismatch", async () => {
      const bytes = encodeResultListMessage({ batch: 1n, resultHash: RESULT_A, assignments });
      await expectVerdict(validateResultListMessage(ctx, bytes), GossipAction.Reject, GossipErrorCode.ResultHashMismatch);
    });

    it("given assignments out of order → it should reject it as NotCanonical", async () => {
      const swapped = [assignments[1]!, assignments[0]!];
      const bytes = encodeResultListMessage({ batch: 1n, resultHash: hashAssignments(swapped), assignments: swapped });
      await expectVerdict(validateResultListMessage(ctx, bytes), GossipAction.Reject, GossipErrorCode.NotCanonical);
    });
  });
});
