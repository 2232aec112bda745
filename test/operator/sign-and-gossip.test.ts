/**
 * The pieces the node will compose, composed: slashing protection decides and stores, the network gossips, and a
 * restart (new database handle, new network instance) re-gossips the stored signature. Because message ids are
 * content hashes, receivers drop the identical re-gossip as a duplicate instead of processing it twice.
 */
import { expect } from "chai";
import type { Hex } from "viem";
import { LevelDbController } from "../../protocol/db/controller.js";
import { silentLogger } from "../../protocol/log/logger.js";
import { createMetrics, type Metrics } from "../../protocol/metrics/metrics.js";
import { MatchnetNetwork, defaultNetworkOpts } from "../../protocol/p2p/network.js";
import { GossipTopicName } from "../../protocol/p2p/topics.js";
import { SlashingProtectionError, SlashingProtectionErrorCode } from "../../operator/slashing-protection/errors.js";
import { SigningDuty, SlashingProtection } from "../../operator/slashing-protection/slashingProtection.js";
import { TestOperatorSet, closeBatch, testBatchTable, testOperator, testResultDigest, testSeedProof, testVerifier, type PK } from "../support/p2p-fixtures.js";
import { makeTempDir } from "../support/tempdir.js";
const RESULT: Hex = `0x${"a1".repeat(32)}`;
const OTHER_RESULT: Hex = `0x${"b2".repeat(32)}`;

describe("operator: slashing protection → gossip, across a restart", function () {
  this.timeout(30_000);
  const me = testOperator(1);
  const batches = testBatchTable();
  const operators = new TestOperatorSet();
  operators.add(me);
  // This operator leads batch 1 too; its seed is verified up front.
  const proof = testSeedProof(me, 1n);
  const SEED = proof.seed;
  closeBatch(batches, 1n, { seeds: [SEED], leaderOrder: [me.id] });

  const start = async (bootstrap: string[], metrics: Metrics | null, onPartial: () => void = () => {}) =>
    MatchnetNetwork.start<PK>(
      { ...defaultNetworkOpts, chainId: 31337, listen: ["/ip4/127.0.0.1/tcp/0"], bootstrap },
      { batches, operators, verifier: await testVerifier(), logger: silentLogger(), metrics, processors: { partial: onPartial } },
    );

  it("given a crash after signing → it should re-gossip the stored signature, processed once by peers, and refuse another result", async () => {
    const dir = await makeTempDir("sign-gossip");
    const receiverMetrics = createMetrics();
    let processed = 0;
    const receiver = await start([], receiverMetrics, () => void processed++);
    const digest = testResultDigest(1n, RESULT, SEED);
    const key = { operatorId: me.id, batch: 1n };
    try {
      // Run 1: decide, sign, gossip.
      let db = await LevelDbController.open({ path: dir.path });
      let sp = new SlashingProtection({}, { db, logger: silentLogger(), metrics: null });
      let node = await start(receiver.multiaddrs(), null);
      const first = await sp.sign(SigningDuty.Result, key, digest, (h) => me.sk.sign(h));
      expect(first.fresh).to.equal(true);
      await node.publishPartial({ batch: 1n, resultHash: RESULT, operatorId: me.id, signature: first.signature, ...proof });
      await waitFor(() => processed === 1);
      await node.stop();
      await db.close();

      // Run 2 (after the "crash"): the stored decision is re-served, not re-made.
      db = await LevelDbController.open({ path: dir.path });
      sp = new SlashingProtection({}, { db, logger: silentLogger(), metrics: null });
      node = await start(receiver.multiaddrs(), null);
      const stored = (await sp.get(SigningDuty.Result, { operatorId: me.id, batch: 1n }))!;
      expect(stored.messageHash).to.equal(digest);
      const again = await sp.sign(SigningDuty.Result, key, stored.messageHash, () => expect.fail("must not sign again"));
      expect(again).to.deep.equal({ signature: first.signature, fresh: false });
      await waitFor(() => node.subscribers(GossipTopicName.Partial).length === 1);
      const recipients = await node.publishPartial({ batch: 1n, resultHash: RESULT, operatorId: me.id, signature: again.signature, ...proof });
      expect(recipients).to.equal(1);
      await new Promise((r) => setTimeout(r, 300));
      expect(processed).to.equal(1);
      // Same bytes → same message id: gossipsub drops the re-gossip before our validator runs (no second verdict).
      const verdicts = (await receiverMetrics.gossipValidation.get()).values.map((v) => [v.labels.verdict, v.labels.code, v.value]);
      expect(verdicts).to.deep.equal([["accept", "ok", 1]]);

      try {
        await sp.sign(SigningDuty.Result, key, testResultDigest(1n, OTHER_RESULT, SEED), () => expect.fail("must not sign"));
        expect.fail("expected DoubleSign");
      } catch (err) {
        expect((err as SlashingProtectionError).code).to.equal(SlashingProtectionErrorCode.DoubleSign);
      }
      await node.stop();
      await db.close();
    } finally {
      await receiver.stop();
      await dir.remove();
    }
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}
