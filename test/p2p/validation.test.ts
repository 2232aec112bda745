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
import type { BatchTable } from "../../protocol/p2p/batchTable.js";
import { TestOperatorSet, allowLeaders, closeBatch, testBatchTable, testOperator, testPartial, testResultDigest, testSeedProof, testVerifier, type PK } from "../support/p2p-fixtures.js";

const RESULT_A: Hex = `0x${"a1".repeat(32)}`;
const RESULT_B: Hex = `0x${"b2".repeat(32)}`;

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
  // The batch's first leader and its first fallback leader (their seeds are what partials carry).
  const [leader, fallback] = [testOperator(7), testOperator(8)];
  let batches: BatchTable;
  let operators: TestOperatorSet;
  let ctx: GossipValidationContext<PK>;
  let metrics: ReturnType<typeof createMetrics>;

  const proof = (batch = 1n) => testSeedProof(leader!, batch);
  const fallbackProof = (batch = 1n) => testSeedProof(fallback!, batch);
  const openBatch = (batch: bigint, seeds: Hex[] = [proof(batch).seed], leadersAllowed = 1) =>
    closeBatch(batches, batch, { leaderOrder: [leader!.id, fallback!.id], leadersAllowed, seeds });
  const partialBytes = (op = alice, batch = 1n, resultHash = RESULT_A, seedProof = proof(batch)) =>
    encodePartialSignatureMessage(testPartial(op!, batch, resultHash, seedProof));
  const verifyCount = async (kind: string) =>
    (await metrics.blsVerifySeconds.get()).values.find((x) => x.metricName === "matchnet_bls_verify_seconds_count" && x.labels.kind === kind)?.value ?? 0;

  beforeEach(async () => {
    batches = testBatchTable();
    operators = new TestOperatorSet();
    for (const op of [alice, bob, leader, fallback]) operators.add(op!);
    metrics = createMetrics();
    ctx = new GossipValidationContext(
      { ...defaultGossipValidationOpts, unknownBatchWaitMs: 200 },
      { batches, operators, verifier: await testVerifier(), logger: silentLogger(), metrics },
    );
  });

  describe("partial signatures", () => {
    beforeEach(() => openBatch(1n));

    it("given a valid partial under a verified seed → it should accept it with the operator's stake, the digest and the seed's rank, timing one check", async () => {
      const v = await validatePartialSignatureMessage(ctx, partialBytes());
      expect(v.operator.stake).to.equal(100n);
      expect(v.messageHash).to.equal(testResultDigest(1n, RESULT_A, proof().seed));
      expect(v.seedRank).to.equal(0);
      expect(v.equivocates).to.equal(undefined);
      expect(await verifyCount("partial")).to.equal(1);
      expect(await verifyCount("seed")).to.equal(0);
    });

    it("given the same partial again → it should ignore it as AlreadySeen before any signature work", async () => {
      await validatePartialSignatureMessage(ctx, partialBytes());
      await expectVerdict(validatePartialSignatureMessage(ctx, partialBytes()), GossipAction.Ignore, GossipErrorCode.AlreadySeen);
    });

    it("given a signature by another key → it should reject it as InvalidSignature", async () => {
      const forged = encodePartialSignatureMessage(testPartial(alice!, 1n, RESULT_A, proof(), bob!.sk));
      await expectVerdict(validatePartialSignatureMessage(ctx, forged), GossipAction.Reject, GossipErrorCode.InvalidSignature);
    });

    it("given a sender not registered at R_b → it should reject it as UnknownOperator", async () => {
      await expectVerdict(validatePartialSignatureMessage(ctx, partialBytes(carol)), GossipAction.Reject, GossipErrorCode.UnknownOperator);
      operators.add(carol!, 11n); // registered after R_1 = 10
      await expectVerdict(validatePartialSignatureMessage(ctx, partialBytes(carol)), GossipAction.Reject, GossipErrorCode.UnknownOperator);
    });

    it("given a final batch → it should ignore it as BatchFinal", async () => {
      batches.markFinal(1n);
      await expectVerdict(validatePartialSignatureMessage(ctx, partialBytes()), GossipAction.Ignore, GossipErrorCode.BatchFinal);
    });

    it("given a batch far ahead → it should ignore it as FutureBatch without waiting", async () => {
      const bytes = partialBytes(alice, 5n);
      const started = Date.now();
      await expectVerdict(validatePartialSignatureMessage(ctx, bytes), GossipAction.Ignore, GossipErrorCode.FutureBatch);
      expect(Date.now() - started).to.be.below(100);
    });

    it("given the next batch whose close arrives during the wait → it should hold and then accept it", async () => {
      setTimeout(() => openBatch(2n), 50);
      const v = await validatePartialSignatureMessage(ctx, partialBytes(alice, 2n));
      expect(v.message.batch).to.equal(2n);
    });

    it("given the next batch that never closes → it should ignore it as BatchUnknown after the wait", async () => {
      await expectVerdict(validatePartialSignatureMessage(ctx, partialBytes(alice, 2n)), GossipAction.Ignore, GossipErrorCode.BatchUnknown);
    });

    it("given a partial whose seed this node never verified → it should check the leader's signature it carries, accept it and record the seed once", async () => {
      openBatch(2n, []);
      const v = await validatePartialSignatureMessage(ctx, partialBytes(alice, 2n));
      expect(v.seedRank).to.equal(0);
      expect(v.messageHash).to.equal(testResultDigest(2n, RESULT_A, proof(2n).seed));
      expect(batches.seeds(2n).map((s) => s.toLowerCase())).to.deep.equal([proof(2n).seed.toLowerCase()]);
      expect(ctx.seenSeeds.get(2n, leader!.id.toLowerCase())).to.equal(proof(2n).seed);
      // The next partial under that seed costs one pairing, not two.
      await validatePartialSignatureMessage(ctx, partialBytes(bob, 2n));
      expect(await verifyCount("seed")).to.equal(1);
      expect(await verifyCount("partial")).to.equal(2);
      // The leader's own seed message now adds nothing.
      const seedMsg = encodeSeedMessage({ batch: 2n, signer: leader!.id, signature: proof(2n).seedSignature });
      await expectVerdict(validateSeedMessage(ctx, seedMsg), GossipAction.Ignore, GossipErrorCode.AlreadySeen);
    });

    it("given partials of several operators arriving together with an unverified seed → it should pair the seed once for all", async () => {
      openBatch(2n, []);
      const vs = await Promise.all([alice, bob].map((op) => validatePartialSignatureMessage(ctx, partialBytes(op, 2n))));
      expect(vs.map((v) => v.seedRank)).to.deep.equal([0, 0]);
      expect(await verifyCount("seed")).to.equal(1);
      expect(ctx.seedChecks.size).to.equal(0);
    });

    it("given a partial carrying a seed signature by another key → it should reject it as InvalidSignature and record no seed", async () => {
      openBatch(2n, []);
      const bad = encodePartialSignatureMessage(testPartial(alice!, 2n, RESULT_A, testSeedProof(leader!, 2n, bob!.sk)));
      await expectVerdict(validatePartialSignatureMessage(ctx, bad), GossipAction.Reject, GossipErrorCode.InvalidSignature);
      expect(batches.seeds(2n)).to.deep.equal([]);
    });

    it("given a partial whose seed signer is outside the fallback order → it should reject it as NotLeader", async () => {
      const bad = encodePartialSignatureMessage(testPartial(alice!, 1n, RESULT_A, testSeedProof(carol!, 1n)));
      await expectVerdict(validatePartialSignatureMessage(ctx, bad), GossipAction.Reject, GossipErrorCode.NotLeader);
    });

    it("given a partial carrying a fallback leader's seed before that leader's turn → it should ignore it as LeaderTurnNotYet", async () => {
      await expectVerdict(validatePartialSignatureMessage(ctx, partialBytes(alice, 1n, RESULT_A, fallbackProof())), GossipAction.Ignore, GossipErrorCode.LeaderTurnNotYet);
      allowLeaders(batches, 1n, 2);
      expect((await validatePartialSignatureMessage(ctx, partialBytes(alice, 1n, RESULT_A, fallbackProof()))).seedRank).to.equal(1);
    });

    it("given two verified seeds (fallback leader) → it should verify each partial against the seed it names", async () => {
      openBatch(3n, [proof(3n).seed, fallbackProof(3n).seed], 2);
      expect((await validatePartialSignatureMessage(ctx, partialBytes(alice, 3n, RESULT_A))).messageHash).to.equal(testResultDigest(3n, RESULT_A, proof(3n).seed));
      const v = await validatePartialSignatureMessage(ctx, partialBytes(bob, 3n, RESULT_B, fallbackProof(3n)));
      expect(v.messageHash).to.equal(testResultDigest(3n, RESULT_B, fallbackProof(3n).seed));
      expect(v.seedRank).to.equal(1);
    });

    it("given one operator signing the same result under two seeds → it should flag the second as equivocation", async () => {
      openBatch(3n, [proof(3n).seed, fallbackProof(3n).seed], 2);
      await validatePartialSignatureMessage(ctx, partialBytes(alice, 3n, RESULT_A));
      const v = await validatePartialSignatureMessage(ctx, partialBytes(alice, 3n, RESULT_A, fallbackProof(3n)));
      expect(v.equivocates?.seed).to.equal(proof(3n).seed);
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
      const forged = encodePartialSignatureMessage(testPartial(alice!, 1n, RESULT_B, proof(), bob!.sk));
      await expectVerdict(validatePartialSignatureMessage(ctx, forged), GossipAction.Reject, GossipErrorCode.InvalidSignature);
      expect(ctx.seenPartials.get(1n, alice!.id.toLowerCase())?.conflicting).to.equal(undefined);
    });
  });

  describe("seeds", () => {
    const seedBytes = (op = alice, batch = 1n, signWith = op!.sk) =>
      encodeSeedMessage({ batch, signer: op!.id, signature: signWith.sign(batches.batch(batch)!.seedMessageHash) });

    beforeEach(() => closeBatch(batches, 1n, { leaderOrder: [alice!.id, bob!.id] }));

    it("given the first leader's valid seed → it should accept it with rank 0", async () => {
      expect((await validateSeedMessage(ctx, seedBytes())).rank).to.equal(0);
      await expectVerdict(validateSeedMessage(ctx, seedBytes()), GossipAction.Ignore, GossipErrorCode.AlreadySeen);
    });

    it("given the fallback leader before its turn → it should ignore it as LeaderTurnNotYet, and accept it after", async () => {
      await expectVerdict(validateSeedMessage(ctx, seedBytes(bob)), GossipAction.Ignore, GossipErrorCode.LeaderTurnNotYet);
      allowLeaders(batches, 1n, 2);
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
    beforeEach(() => openBatch(1n));

    const listBytes = (op = alice, list = assignments, resultHash = hashAssignments(list), signWith = op!.sk) =>
      encodeResultListMessage({ ...testPartial(op!, 1n, resultHash, proof(), signWith), assignments: list });

    it("given a registered operator's list whose hash matches → it should accept it once, one pairing", async () => {
      const bytes = listBytes();
      expect((await validateResultListMessage(ctx, bytes)).message.assignments).to.deep.equal(assignments);
      expect(await verifyCount("result-list")).to.equal(1);
      await expectVerdict(validateResultListMessage(ctx, bytes), GossipAction.Ignore, GossipErrorCode.AlreadySeen);
    });

    it("given a second, different list of the same operator → it should ignore it (one list per publisher and batch)", async () => {
      await validateResultListMessage(ctx, listBytes());
      await expectVerdict(validateResultListMessage(ctx, listBytes(alice, assignments.slice(1))), GossipAction.Ignore, GossipErrorCode.AlreadySeen);
      expect((await validateResultListMessage(ctx, listBytes(bob))).message.operatorId).to.equal(bob!.id);
    });

    it("given the publisher's partial already verified on the partial topic → it should accept the list without another pairing", async () => {
      await validatePartialSignatureMessage(ctx, partialBytes(alice, 1n, hashAssignments(assignments)));
      await validateResultListMessage(ctx, listBytes());
      expect(await verifyCount("partial")).to.equal(1);
      expect(await verifyCount("result-list")).to.equal(0);
    });

    it("given a list from an unregistered publisher → it should reject it as UnknownOperator", async () => {
      await expectVerdict(validateResultListMessage(ctx, listBytes(carol)), GossipAction.Reject, GossipErrorCode.UnknownOperator);
    });

    it("given a made-up list with a correct hash but a signature that is not the publisher's → it should reject it as InvalidSignature", async () => {
      await expectVerdict(validateResultListMessage(ctx, listBytes(alice, assignments, hashAssignments(assignments), bob!.sk)), GossipAction.Reject, GossipErrorCode.InvalidSignature);
    });

    it("given a list with another hash → it should reject it as ResultHashMismatch", async () => {
      await expectVerdict(validateResultListMessage(ctx, listBytes(alice, assignments, RESULT_A)), GossipAction.Reject, GossipErrorCode.ResultHashMismatch);
    });

    it("given assignments out of order → it should reject it as NotCanonical", async () => {
      const swapped = [assignments[1]!, assignments[0]!];
      const bytes = listBytes(alice, swapped);
      await expectVerdict(validateResultListMessage(ctx, bytes), GossipAction.Reject, GossipErrorCode.NotCanonical);
    });
  });
});
