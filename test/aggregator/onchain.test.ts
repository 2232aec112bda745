/*
 * The aggregator core against the real OperatorRegistry and BLSSignatureChecker (through AvsHarness): the local
 * checkSubmission gives exactly the on-chain checkSignatures result, and the equivocation the pool logs slashes
 * on-chain through AvsHarness.slashEquivocation.
 */
import { expect } from "chai";
import { createBlsVerifier, verify, type Hex } from "../../protocol/bls/index.js";
import { resultMessageDigest } from "../../protocol/avs/messages.js";
import { assignmentsHash } from "../../protocol/matching/encode.js";
import { AggregationPool, buildSubmission, checkSubmission, createG2KeySummer } from "../../aggregator/index.js";
import { quorumSignatureOf } from "../../aggregator/chainSubmitter.js";
import type { OperatorSetAtBlock } from "../../protocol/chain/operatorSets.js";
import { toOperatorId } from "../../protocol/chain/ids.js";
import { deployAvs, makeOperator, register, MIN_STAKE } from "../support/avs.js";
import { newBatchTable, closeBatch, TestOperatorSets, RecordingLogger, makeCandidate, sampleAssignments } from "../support/aggregator.js";

describe("aggregator against the real OperatorRegistry and BLSSignatureChecker", function () {
  this.timeout(120_000);
  it("given 6 registered operators, 5 signers and one equivocator → checkSignatures on-chain should equal the local check, and the equivocation it logged should slash", async () => {
    const avs = await deployAvs();
    const ops = Array.from({ length: 6 }, (_, i) => makeOperator(avs, i));
    for (let i = 0; i < ops.length; i++) await register(avs, ops[i]!, MIN_STAKE + BigInt(i) * 10n ** 18n);
    await avs.networkHelpers.mine(1);
    const R = (await avs.publicClient.getBlockNumber()) - 1n;
    const raw = await avs.registry.read.operatorsAt([Number(R)]);
    const apk = await avs.registry.read.apkAt([Number(R)]);
    const set: OperatorSetAtBlock = {
      referenceBlock: R,
      operators: raw.map((o) => ({ operatorId: toOperatorId(o.operatorId), pkG1: o.pkG1, pkG2: { X: o.pkG2.X, Y: o.pkG2.Y }, stake: o.stake }))
        .sort((a, b) => (BigInt(a.operatorId) < BigInt(b.operatorId) ? -1 : 1)),
      totalStake: await avs.registry.read.totalStakeAt([Number(R)]),
      apkG1: apk,
    };
    const batches = newBatchTable();
    closeBatch(batches, 7n, R);
    const sets = new TestOperatorSets();
    sets.put(set);
    const ctx = { chainId: avs.chainId, serviceManager: avs.avs.address as Hex };
    const cand = makeCandidate(ops[0]!.sk, "x", sampleAssignments(3));
    const ah = assignmentsHash(cand.assignments);
    const digest = resultMessageDigest({ ...ctx, batch: 7n, referenceBlock: R, seed: cand.seed, assignmentsHash: ah });
    expect(await avs.avs.read.resultMessageHash([7n, Number(R), cand.seed, ah])).to.equal(digest);

    const mcl = await createBlsVerifier("mcl");
    const logger = new RecordingLogger();
    const pool = new AggregationPool({ waitBlocks: 0 }, { verifier: mcl, batches, operatorSets: sets, logger, metrics: null });
    pool.onNewBlock(R + 1n);
    const signers = [ops[0]!, ops[2]!, ops[3]!, ops[5]!, ops[4]!];
    for (const o of signers) pool.addPartial({ batch: 7n, resultHash: digest, operatorId: o.id, signature: o.sk.sign(digest) });
    const cand2 = makeCandidate(ops[0]!.sk, "x", sampleAssignments(2, 40));
    const ah2 = assignmentsHash(cand2.assignments);
    const digest2 = resultMessageDigest({ ...ctx, batch: 7n, referenceBlock: R, seed: cand.seed, assignmentsHash: ah2 });
    pool.addPartial({ batch: 7n, resultHash: digest2, operatorId: ops[1]!.id, signature: ops[1]!.sk.sign(digest2) });
    pool.addPartial({ batch: 7n, resultHash: digest, operatorId: ops[1]!.id, signature: ops[1]!.sk.sign(digest) });
    pool.onNewBlock(R + 2n);
    const [ready] = pool.readyResults();
    const sub = buildSubmission(ctx, ready!, cand, await createG2KeySummer());
    expect(sub.nonSignerIds).to.deep.equal([ops[1]!.id]);
    const local = checkSubmission(sub, set, 6667);
    const hints = await avs.avs.read.signatureCheckHints([digest, Number(R), sub.nonSignerPubkeys]);
    const [signedStake, totalStake] = await avs.avs.read.checkSignatures([digest, Number(R), quorumSignatureOf(sub, hints)]);
    expect(signedStake).to.equal(local.signedStake);
    expect(totalStake).to.equal(local.totalStake);
    expect(verify(sub.apkG2, digest, sub.sigma)).to.equal(true);

    await avs.registry.write.setSlasher([avs.avs.address]);
    // The equivocation the pool saw (first the digest it counted, then the other), proven with the same signatures.
    const seen = logger.lines.filter((l) => (l.obj as { event?: string }).event === "operator_equivocated").map((l) => l.obj as { operatorId: Hex; first: Hex; second: Hex });
    expect(seen).to.have.length(1);
    expect(seen[0]!.operatorId).to.equal(ops[1]!.id);
    const byHash = new Map([[digest.toLowerCase(), ah], [digest2.toLowerCase(), ah2]]);
    const hash = await avs.avs.write.slashEquivocation([
      seen[0]!.operatorId, 7n, Number(R), cand.seed,
      { assignmentsHash: byHash.get(seen[0]!.first.toLowerCase())!, sigma: ops[1]!.sk.sign(seen[0]!.first) },
      { assignmentsHash: byHash.get(seen[0]!.second.toLowerCase())!, sigma: ops[1]!.sk.sign(seen[0]!.second) },
    ]);
    const rc = await avs.publicClient.waitForTransactionReceipt({ hash });
    expect(rc.status).to.equal("success");
  });
});
