/**
 * Double signatures gossiped after their batch left the node's memory: the first partials kept on disk (real
 * LevelDB), real BLS keys and the mcl verifier, a real BatchTable that keeps two batches.
 */
import { expect } from "chai";
import type { Hex } from "viem";
import { LevelDbController } from "../../protocol/db/controller.js";
import { silentLogger } from "../../protocol/log/logger.js";
import { createMetrics, type Metrics } from "../../protocol/metrics/metrics.js";
import { BatchTable } from "../../protocol/p2p/batchTable.js";
import { GossipAction, GossipErrorCode, GossipValidationError } from "../../protocol/p2p/errors.js";
import { encodePartialSignatureMessage } from "../../protocol/p2p/messages.js";
import { PartialEvidenceStore } from "../../protocol/p2p/partialEvidence.js";
import { GossipValidationContext, defaultGossipValidationOpts } from "../../protocol/p2p/validation/context.js";
import { validatePartialSignatureMessage } from "../../protocol/p2p/validation/partial.js";
import { resultMessageDigest } from "../../protocol/avs/messages.js";
import {
  TEST_CHAIN_ID,
  TEST_SERVICE_MANAGER,
  TEST_SEED_TIMEOUT,
  TestOperatorSet,
  closeBatch,
  testOperator,
  testPartial,
  testResultDigest,
  testSeedProof,
  testVerifier,
  type PK,
} from "../support/p2p-fixtures.js";
import { makeTempDir } from "../support/tempdir.js";

const RESULT_A: Hex = `0x${"a1".repeat(32)}`;
const RESULT_B: Hex = `0x${"b2".repeat(32)}`;
/** Batch 1 closes at block 11 (test tables close batch b at 10·b + 1). */
const CLOSED_AT = 11n;
const WINDOW = 100n;

async function verdictOf(p: Promise<unknown>): Promise<{ action: GossipAction; code: GossipErrorCode } | "accept"> {
  try {
    await p;
    return "accept";
  } catch (err) {
    if (!(err instanceof GossipValidationError)) throw err;
    return { action: err.action, code: err.code };
  }
}

describe("protocol/p2p late double signatures (first partials on disk)", function () {
  this.timeout(30_000);
  const [leader, alice, bob] = [testOperator(7), testOperator(1), testOperator(2)];
  const proof = testSeedProof(leader, 1n);
  let dir: { path: string; remove: () => Promise<void> };
  let db: LevelDbController;
  let metrics: Metrics;

  beforeEach(async () => {
    dir = await makeTempDir("late-evidence");
    db = await LevelDbController.open({ path: dir.path });
    metrics = createMetrics();
  });
  afterEach(async () => {
    await db.close();
    await dir.remove();
  });

  const pairings = async () =>
    (await metrics.blsVerifySeconds.get()).values.find((x) => x.metricName === "matchnet_bls_verify_seconds_count" && x.labels.kind === "partial")?.value ?? 0;

  /** Batch 1 final with alice's partial on RESULT_A kept, then batches 2 and 3 closed: batch 1 is out of the table. */
  async function world(): Promise<{ ctx: GossipValidationContext<PK>; store: PartialEvidenceStore }> {
    const store = new PartialEvidenceStore({ chainId: TEST_CHAIN_ID, serviceManager: TEST_SERVICE_MANAGER, slashingWindow: WINDOW }, db);
    const table = new BatchTable(
      { seedTimeoutBlocks: TEST_SEED_TIMEOUT, retainBatches: 2 },
      { resultMessageHash: (batch, referenceBlock, seed, resultHash) => resultMessageDigest({ chainId: TEST_CHAIN_ID, serviceManager: TEST_SERVICE_MANAGER, batch, referenceBlock, seed, assignmentsHash: resultHash }) },
    );
    for (const b of [1n, 2n, 3n]) closeBatch(table, b, { leaderOrder: [leader.id] });
    expect(table.batch(1n)).to.equal(undefined);
    const first = testPartial(alice, 1n, RESULT_A, proof);
    await store.keepBatch(1n, 10n, CLOSED_AT, new Map([[alice.id, first]]));
    const operators = new TestOperatorSet();
    for (const op of [leader, alice, bob]) operators.add(op);
    const ctx = new GossipValidationContext<PK>(defaultGossipValidationOpts, { batches: table, operators, verifier: await testVerifier(), logger: silentLogger(), metrics, evidence: store });
    return { ctx, store };
  }

  describe("given alice's first partial of batch 1 kept on disk and batch 1 gone from memory", () => {
    it("→ a conflicting partial signed by alice should be accepted once as late evidence carrying both messages, also after a restart", async () => {
      const { ctx } = await world();
      const v = await validatePartialSignatureMessage(ctx, encodePartialSignatureMessage(testPartial(alice, 1n, RESULT_B, proof)));
      expect(v.late).to.equal(true);
      expect(v.equivocates).to.deep.include({ batch: 1n, operatorId: alice.id, resultHash: RESULT_A, seed: proof.seed });
      expect(v.message.resultHash).to.equal(RESULT_B);
      expect(v.messageHash).to.equal(testResultDigest(1n, RESULT_B, proof.seed));
      expect(v.seedRank).to.equal(-1);
      expect(await pairings()).to.equal(1);

      // The same conflict again, and after the database is reopened: nothing new to prove, no pairing.
      const again = encodePartialSignatureMessage(testPartial(alice, 1n, `0x${"c3".repeat(32)}`, proof));
      expect(await verdictOf(validatePartialSignatureMessage(ctx, again))).to.deep.equal({ action: GossipAction.Ignore, code: GossipErrorCode.BatchFinal });
      await db.close();
      db = await LevelDbController.open({ path: dir.path });
      const reopened = await world();
      expect(await verdictOf(validatePartialSignatureMessage(reopened.ctx, again))).to.deep.equal({ action: GossipAction.Ignore, code: GossipErrorCode.BatchFinal });
      expect(await pairings()).to.equal(1);
    });

    it("→ the kept message itself, or a partial of an operator with nothing kept, should be ignored without a pairing", async () => {
      const { ctx } = await world();
      expect(await verdictOf(validatePartialSignatureMessage(ctx, encodePartialSignatureMessage(testPartial(alice, 1n, RESULT_A, proof))))).to.deep.equal({ action: GossipAction.Ignore, code: GossipErrorCode.BatchFinal });
      expect(await verdictOf(validatePartialSignatureMessage(ctx, encodePartialSignatureMessage(testPartial(bob, 1n, RESULT_B, proof))))).to.deep.equal({ action: GossipAction.Ignore, code: GossipErrorCode.BatchFinal });
      expect(await pairings()).to.equal(0);
    });

    it("→ a conflicting partial not signed by alice should be rejected and leave the evidence open for a real one", async () => {
      const { ctx } = await world();
      const forged = encodePartialSignatureMessage(testPartial(alice, 1n, RESULT_B, proof, bob.sk));
      expect(await verdictOf(validatePartialSignatureMessage(ctx, forged))).to.deep.equal({ action: GossipAction.Reject, code: GossipErrorCode.InvalidSignature });
      expect((await validatePartialSignatureMessage(ctx, encodePartialSignatureMessage(testPartial(alice, 1n, RESULT_B, proof)))).late).to.equal(true);
    });
  });

  describe("given the slashing window of batch 1 (closed at block 11, window 100 blocks)", () => {
    it("→ at head 111 the evidence should be kept; at 112 it should be deleted and a conflict ignored without a pairing", async () => {
      const { ctx, store } = await world();
      expect(await store.prune(CLOSED_AT + WINDOW)).to.equal(0);
      expect(store.oldestProvable()).to.equal(0n);
      expect(await store.first(1n, alice.id)).to.not.equal(undefined);

      expect(await store.prune(CLOSED_AT + WINDOW + 1n)).to.equal(1);
      expect(store.oldestProvable()).to.equal(2n);
      const left: unknown[] = [];
      for await (const entry of db.entries({})) left.push(entry);
      expect(left).to.deep.equal([]);
      const conflict = encodePartialSignatureMessage(testPartial(alice, 1n, RESULT_B, proof));
      expect(await verdictOf(validatePartialSignatureMessage(ctx, conflict))).to.deep.equal({ action: GossipAction.Ignore, code: GossipErrorCode.BatchFinal });
      expect(await pairings()).to.equal(0);
    });
  });

  describe("given no evidence store (a node without one)", () => {
    it("→ a partial for a batch out of memory should be ignored as BatchUnknown", async () => {
      const { ctx } = await world();
      const bare = new GossipValidationContext<PK>(defaultGossipValidationOpts, { ...ctx.modules, evidence: null });
      expect(await verdictOf(validatePartialSignatureMessage(bare, encodePartialSignatureMessage(testPartial(alice, 1n, RESULT_B, proof))))).to.deep.equal({ action: GossipAction.Ignore, code: GossipErrorCode.BatchUnknown });
    });
  });

  describe("given first partials of an open batch kept as they are accepted (a restart during the batch)", () => {
    it("→ they should be read back after the database is reopened, the first one kept per operator, and pruned with the batch", async () => {
      const store = () => new PartialEvidenceStore({ chainId: TEST_CHAIN_ID, serviceManager: TEST_SERVICE_MANAGER, slashingWindow: WINDOW }, db);
      const [a, b] = [testPartial(alice, 1n, RESULT_A, proof), testPartial(bob, 1n, RESULT_B, proof)];
      await store().keepPartial(1n, alice.id, a);
      await store().keepPartial(1n, bob.id, b);
      // A later partial of alice (the conflict) does not replace her first.
      await store().keepPartial(1n, alice.id, testPartial(alice, 1n, RESULT_B, proof));
      await store().keepPartial(2n, alice.id, testPartial(alice, 2n, RESULT_B, proof));
      await db.close();
      db = await LevelDbController.open({ path: dir.path });

      const reopened = store();
      const kept = await reopened.partialsOf(1n);
      expect([...kept.keys()]).to.deep.equal([alice.id, bob.id].sort());
      expect(kept.get(alice.id)).to.deep.equal({ seed: a.seed, resultHash: RESULT_A, signature: a.signature });
      expect(kept.get(bob.id)).to.deep.equal({ seed: b.seed, resultHash: RESULT_B, signature: b.signature });
      expect([...(await reopened.partialsOf(2n)).keys()]).to.deep.equal([alice.id]);
      expect((await reopened.partialsOf(3n)).size).to.equal(0);
      // Not late evidence until the batch is over (no batch record yet); then it is, and the window prunes it.
      expect(await reopened.first(1n, alice.id)).to.equal(undefined);
      await reopened.keepBatch(1n, 10n, CLOSED_AT, kept);
      expect((await reopened.first(1n, alice.id))?.message.resultHash).to.equal(RESULT_A);
      expect((await reopened.first(1n, alice.id))?.closedAt).to.equal(CLOSED_AT);
      expect(await reopened.prune(CLOSED_AT + WINDOW + 1n)).to.equal(1);
      expect((await reopened.partialsOf(1n)).size).to.equal(0);
      await reopened.keepPartial(1n, alice.id, a);
      expect((await reopened.partialsOf(1n)).size, "a batch below the floor is not kept again").to.equal(0);
    });
  });
});
