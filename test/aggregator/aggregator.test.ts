import { expect } from "chai";
import {
  BaseError,
  ContractFunctionExecutionError,
  ContractFunctionRevertedError,
  encodeErrorResult,
  encodePacked,
  keccak256,
  parseAbi,
} from "viem";
import {
  aggregateG1,
  createBlsVerifier,
  operatorId,
  verify,
  type BlsVerifier,
} from "../../protocol/bls/index.js";
import {
  Aggregator,
  AggregatorError,
  AggregatorErrorCode,
  buildSubmission,
  checkSubmission,
  createG2KeySummer,
  isBatchOverError,
  type G2KeySummer,
  type ResultCandidate,
  type ResultSource,
  type ResultSubmission,
  type SubmitOutcome,
  type Submitter,
} from "../../aggregator/index.js";
import { AggregationPool } from "../../aggregator/pool.js";
import type { BatchRecord } from "../../protocol/chain/batches.js";
import { revertErrorName } from "../../protocol/chain/revert.js";
import { assignmentsHash } from "../../protocol/matching/encode.js";
import {
  CTX,
  CountingMetrics,
  RecordingLogger,
  newBatchTable,
  closeBatch,
  TestOperatorSets,
  digestFor,
  makeCandidate,
  makeOperators,
  partialOf,
  sampleAssignments,
  setOf,
  type SigningOperator,
} from "../support/aggregator.js";

const R = 200n;

// The custom errors a ServiceManager may revert with; decoded by name through viem, as a real revert would be.
const SM_ABI = parseAbi([
  "error ServiceManagerBatchAlreadyFinal(uint64 batch)",
  "error ServiceManagerInvalidSeed(uint64 batch)",
  "function submitResult(uint64 batch)",
]);

function revertOf(errorName: "ServiceManagerBatchAlreadyFinal" | "ServiceManagerInvalidSeed", batch: bigint): BaseError {
  const data = encodeErrorResult({ abi: SM_ABI, errorName, args: [batch] });
  const reverted = new ContractFunctionRevertedError({ abi: SM_ABI, data, functionName: "submitResult" });
  return new ContractFunctionExecutionError(reverted, { abi: SM_ABI, functionName: "submitResult", args: [batch] });
}

/** A Submitter that records what it was given and answers from a script (one entry per call). */
class ScriptedSubmitter implements Submitter {
  readonly calls: ResultSubmission[] = [];
  constructor(readonly script: (SubmitOutcome | Error)[]) {}
  async submit(s: ResultSubmission): Promise<SubmitOutcome> {
    this.calls.push(s);
    const next = this.script.shift();
    if (next === undefined) throw new Error("no scripted answer left");
    if (next instanceof Error) throw next;
    return next;
  }
}

class FixedResultSource implements ResultSource {
  asked = 0;
  constructor(readonly byBatch: Map<bigint, ResultCandidate>) {}
  async resultFor(b: BatchRecord): Promise<ResultCandidate | null> {
    this.asked++;
    return this.byBatch.get(b.batch) ?? null;
  }
}

const SUBMITTED: SubmitOutcome = { kind: "submitted", txHash: `0x${"11".repeat(32)}`, blockNumber: R + 3n, gasUsed: 250_000n };

describe("aggregator/submission and service", function () {
  this.timeout(60_000);
  let mcl: BlsVerifier;
  let noble: BlsVerifier;
  let g2: G2KeySummer;
  let sixteen: SigningOperator[];

  before(async () => {
    mcl = await createBlsVerifier("mcl");
    noble = await createBlsVerifier("noble");
    g2 = await createG2KeySummer();
    sixteen = makeOperators(Array.from({ length: 16 }, (_, i) => 10n + BigInt(i)), 161n);
  });

  function world(opts: { waitBlocks?: number; own?: ResultCandidate; script?: (SubmitOutcome | Error)[] } = {}) {
    const batches = newBatchTable();
    const sets = new TestOperatorSets();
    const logger = new RecordingLogger();
    const metrics = new CountingMetrics();
    const batch = closeBatch(batches, 1n, R);
    const apk = aggregateG1(sixteen.map((o) => o.info.pkG1));
    sets.put(setOf(R, sixteen, apk));
    const candidate = opts.own ?? makeCandidate(sixteen[0]!.sk, "b1", sampleAssignments(5));
    const source = new FixedResultSource(new Map([[1n, candidate]]));
    const submitter = new ScriptedSubmitter(opts.script ?? [SUBMITTED]);
    const agg = new Aggregator(
      { ...CTX, waitBlocks: opts.waitBlocks ?? 1 },
      { verifier: mcl, batches, operatorSets: sets, logger, metrics, resultSource: source, submitter, g2 },
    );
    return { batches, sets, logger, metrics, batch, candidate, source, submitter, agg, digest: digestFor(batch, candidate) };
  }

  describe("given 12 of 16 operators signed one result", () => {
    it("should submit non-signers sorted by id, an aggregate that verifies on both engines, and the contract's check passes", async () => {
      const w = world();
      const signers = [0, 2, 3, 4, 6, 7, 8, 9, 11, 12, 13, 15].map((i) => sixteen[i]!);
      for (const o of signers) w.agg.addPartial(partialOf(o, 1n, w.digest));
      await w.agg.onBlock(R + 2n); // quorum seen at R+2
      expect(w.submitter.calls).to.have.length(0);
      await w.agg.onBlock(R + 3n); // one block of waiting
      expect(w.submitter.calls).to.have.length(1);
      const s = w.submitter.calls[0]!;

      const nonSigners = [1, 5, 10, 14].map((i) => sixteen[i]!);
      expect(s.nonSignerIds).to.deep.equal(nonSigners.map((o) => o.info.operatorId));
      expect(s.nonSignerPubkeys).to.deep.equal(nonSigners.map((o) => o.info.pkG1));
      const ids = s.nonSignerPubkeys.map((k) => BigInt(operatorId(k)));
      for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).to.equal(true);

      expect(s.resultHash).to.equal(w.digest);
      expect(s.assignments).to.deep.equal(w.candidate.assignments);
      expect(s.assignmentsHash).to.equal(assignmentsHash(w.candidate.assignments));
      expect(s.seed).to.equal(w.candidate.seed);
      expect(s.signedStake).to.equal(signers.reduce((a, o) => a + o.info.stake, 0n));
      expect(s.totalStake).to.equal(sixteen.reduce((a, o) => a + o.info.stake, 0n));

      expect(verify(s.apkG2, s.resultHash, s.sigma)).to.equal(true); // noble reference, one pairing check
      expect(noble.verify(s.apkG2, s.resultHash, s.sigma)).to.equal(true);
      expect(mcl.verify(s.apkG2, s.resultHash, s.sigma)).to.equal(true);
      const checked = checkSubmission(s, setOf(R, sixteen), 6667);
      expect(checked.signersApkG1).to.deep.equal(aggregateG1(signers.map((o) => o.info.pkG1)));

      expect(w.agg.outcome(1n)?.kind).to.equal("submitted");
      expect(w.metrics.count("submissions{outcome=submitted}")).to.equal(1);
      // Done: later partials are ignored and nothing is submitted twice.
      expect(w.agg.addPartial(partialOf(sixteen[1]!, 1n, w.digest)).status).to.equal("ignored");
      await w.agg.onBlock(R + 4n);
      expect(w.submitter.calls).to.have.length(1);
    });
  });

  describe("given poll() between blocks", () => {
    it("given every operator signed → it should submit without a new block", async () => {
      const w = world({ waitBlocks: 3 });
      await w.agg.onBlock(R + 2n);
      for (const o of sixteen) w.agg.addPartial(partialOf(o, 1n, w.digest));
      await w.agg.poll();
      expect(w.submitter.calls).to.have.length(1);
      expect(w.submitter.calls[0]!.nonSignerPubkeys).to.deep.equal([]);
      expect(verify(w.submitter.calls[0]!.apkG2, w.digest, w.submitter.calls[0]!.sigma)).to.equal(true);
    });

    it("given a quorum with non-signers → it should still wait for waitBlocks blocks (deadlines are blocks, not polls)", async () => {
      const w = world({ waitBlocks: 2 });
      await w.agg.onBlock(R + 2n);
      for (const o of sixteen.slice(0, 14)) w.agg.addPartial(partialOf(o, 1n, w.digest));
      await w.agg.poll();
      await w.agg.poll();
      await w.agg.onBlock(R + 3n);
      expect(w.submitter.calls).to.have.length(0);
      await w.agg.onBlock(R + 4n);
      expect(w.submitter.calls).to.have.length(1);
      expect(w.submitter.calls[0]!.nonSignerIds).to.deep.equal(sixteen.slice(14).map((o) => o.info.operatorId));
    });
  });

  describe("given the contract's check re-run locally", () => {
    function readySubmission(w: ReturnType<typeof world>, signerIdx: number[]): ResultSubmission {
      const pool = new AggregationPool({ waitBlocks: 0 }, { verifier: mcl, batches: w.batches, operatorSets: w.sets, logger: w.logger, metrics: null });
      for (const i of signerIdx) pool.addPartial(partialOf(sixteen[i]!, 1n, w.digest));
      pool.onNewBlock(R + 2n);
      const [ready] = pool.readyResults();
      return buildSubmission(CTX, ready!, w.candidate, g2);
    }
    const code = (fn: () => unknown) => {
      try {
        fn();
        return "ok";
      } catch (err) {
        if (err instanceof AggregatorError) return err.code;
        throw err;
      }
    };
    const signerIdx = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

    it("given a view that lists the set unsorted → non-signers should still go out sorted by id", () => {
      const w = world();
      const reversed = { ...setOf(R, sixteen), operators: [...setOf(R, sixteen).operators].reverse() };
      w.sets.put(reversed);
      const s = readySubmission(w, [0, 2, 4, 6, 8, 10, 12, 13, 14, 15, 11, 9]);
      const ids = s.nonSignerIds.map((id) => BigInt(id));
      expect(ids).to.have.length(4);
      for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).to.equal(true);
      expect(checkSubmission(s, reversed, 6667).signedStake).to.equal(s.signedStake);
    });

    it("given non-signers out of order → it should fail like the contract", () => {
      const w = world();
      const s = readySubmission(w, signerIdx);
      expect(code(() => checkSubmission(s, setOf(R, sixteen), 6667))).to.equal("ok");
      const swapped = { ...s, nonSignerPubkeys: [...s.nonSignerPubkeys].reverse() };
      expect(code(() => checkSubmission(swapped, setOf(R, sixteen), 6667))).to.equal(AggregatorErrorCode.AggregateCheckFailed);
    });

    it("given a sigma missing one signer's signature → it should fail the pairing check", () => {
      const w = world();
      const s = readySubmission(w, signerIdx);
      const short = { ...s, sigma: aggregateG1(signerIdx.slice(1).map((i) => sixteen[i]!.sk.sign(w.digest))) };
      expect(code(() => checkSubmission(short, setOf(R, sixteen), 6667))).to.equal(AggregatorErrorCode.AggregateCheckFailed);
    });

    it("given a registry apk that is not the sum of the set's keys → it should report ApkMismatch", () => {
      const w = world();
      const s = readySubmission(w, signerIdx);
      const wrongApk = aggregateG1(sixteen.slice(1).map((o) => o.info.pkG1));
      expect(code(() => checkSubmission(s, setOf(R, sixteen, wrongApk), 6667))).to.equal(AggregatorErrorCode.ApkMismatch);
    });

    it("given a threshold above the signed stake → it should refuse", () => {
      const w = world();
      const s = readySubmission(w, signerIdx);
      expect(code(() => checkSubmission(s, setOf(R, sixteen), 9000))).to.equal(AggregatorErrorCode.AggregateCheckFailed);
    });

    it("given a candidate list that does not hash to the signed digest → buildSubmission should refuse it", () => {
      const w = world();
      const pool = new AggregationPool({ waitBlocks: 0 }, { verifier: mcl, batches: w.batches, operatorSets: w.sets, logger: w.logger, metrics: null });
      for (const i of signerIdx) pool.addPartial(partialOf(sixteen[i]!, 1n, w.digest));
      pool.onNewBlock(R + 2n);
      const other = makeCandidate(sixteen[0]!.sk, "b1", sampleAssignments(4));
      expect(code(() => buildSubmission(CTX, pool.readyResults()[0]!, other, g2))).to.equal(AggregatorErrorCode.NoAssignmentList);
    });
  });

  describe("given the assignment list of the result at quorum is not the aggregator's own", () => {
    it("given a split quorum and the right list from gossip → it should submit the quorum's result with that list", async () => {
      const w = world({ waitBlocks: 0 });
      const quorumList = makeCandidate(sixteen[0]!.sk, "b1", sampleAssignments(7, 30));
      const quorumDigest = digestFor(w.batch, quorumList);
      // 12 sign the gossiped list's result; 4 sign the aggregator's own.
      for (const o of sixteen.slice(0, 12)) w.agg.addPartial(partialOf(o, 1n, quorumDigest));
      for (const o of sixteen.slice(12)) w.agg.addPartial(partialOf(o, 1n, w.digest));
      await w.agg.onBlock(R + 2n);
      expect(w.submitter.calls).to.have.length(0);
      expect(w.metrics.count("submissions{outcome=no_assignment_list}")).to.equal(1);
      expect(w.logger.at("warn").some((l) => (l.obj as { code?: string }).code === AggregatorErrorCode.NoAssignmentList)).to.equal(true);

      expect(w.agg.addAssignmentList(1n, quorumList)).to.deep.equal({ status: "stored" });
      await w.agg.onBlock(R + 3n);
      expect(w.submitter.calls).to.have.length(1);
      const s = w.submitter.calls[0]!;
      expect(s.resultHash).to.equal(quorumDigest);
      expect(s.assignments).to.deep.equal(quorumList.assignments);
      expect(s.nonSignerIds).to.deep.equal(sixteen.slice(12).map((o) => o.info.operatorId));
      expect(verify(s.apkG2, s.resultHash, s.sigma)).to.equal(true);
      expect(w.source.asked).to.equal(1); // the source's answer is kept, not recomputed each block
    });

    it("given lists without a publisher filling the 4 slots → it should refuse a 5th, yet keep one list per named publisher and submit the quorum's", async () => {
      const w = world({ waitBlocks: 0 });
      const quorumList = makeCandidate(sixteen[0]!.sk, "b1", sampleAssignments(7, 30));
      const quorumDigest = digestFor(w.batch, quorumList);
      const forged = (i: number) => makeCandidate(sixteen[0]!.sk, "b1", sampleAssignments(5, 100 + 10 * i));
      for (let i = 0; i < 3; i++) expect(w.agg.addAssignmentList(1n, forged(i))).to.deep.equal({ status: "stored" });
      expect(w.agg.addAssignmentList(1n, forged(3))).to.deep.equal({ status: "stored" }, "the 4th");
      expect(w.agg.addAssignmentList(1n, forged(4))).to.deep.equal({ status: "ignored", code: AggregatorErrorCode.TooManyPending }, "the 5th");
      // Forged lists named after eight other publishers take nothing from the quorum's publisher.
      for (const o of sixteen.slice(4, 12)) expect(w.agg.addAssignmentList(1n, forged(5), o.info.operatorId)).to.deep.equal({ status: "stored" });
      expect(w.agg.addAssignmentList(1n, quorumList, sixteen[3]!.info.operatorId)).to.deep.equal({ status: "stored" });
      expect(w.agg.addAssignmentList(1n, forged(6), sixteen[3]!.info.operatorId)).to.deep.equal({ status: "ignored", code: AggregatorErrorCode.TooManyPending }, "a second list of one publisher");
      for (const o of sixteen.slice(0, 12)) w.agg.addPartial(partialOf(o, 1n, quorumDigest));
      for (const o of sixteen.slice(12)) w.agg.addPartial(partialOf(o, 1n, w.digest));
      await w.agg.onBlock(R + 2n);
      expect(w.submitter.calls).to.have.length(1);
      expect(w.submitter.calls[0]!.resultHash).to.equal(quorumDigest);
      expect(w.submitter.calls[0]!.assignments).to.deep.equal(quorumList.assignments);
    });

    it("given the list gossiped before the batch's close was seen → it should keep it and use it once the quorum is there", async () => {
      const w = world({ waitBlocks: 0 });
      const b2 = { batch: 2n, referenceBlock: R + 10n, closedAtBlock: R + 11n, status: "open" as const };
      const list = makeCandidate(sixteen[1]!.sk, "b2", sampleAssignments(3, 90));
      expect(w.agg.addAssignmentList(2n, list)).to.deep.equal({ status: "stored" });
      expect(w.agg.addAssignmentList(9n, list)).to.deep.equal({ status: "ignored", code: AggregatorErrorCode.BatchTooFarAhead });
      const d2 = digestFor(b2, list);
      for (const o of sixteen) expect(w.agg.addPartial(partialOf(o, 2n, d2)).status).to.equal("held");
      closeBatch(w.batches, 2n, R + 10n);
      w.sets.put(setOf(R + 10n, sixteen));
      w.agg.onBatchClosed(2n);
      await w.agg.onBlock(R + 12n);
      const s = w.submitter.calls.find((c) => c.batch === 2n);
      expect(s?.assignments).to.deep.equal(list.assignments);
      expect(s?.nonSignerIds).to.deep.equal([]);
    });

    it("given a result source that throws → it should log the error and keep going", async () => {
      const w = world({ waitBlocks: 0 });
      const failing: ResultSource = {
        resultFor: async () => {
          throw new Error("rpc down");
        },
      };
      const agg = new Aggregator(
        { ...CTX, waitBlocks: 0 },
        { verifier: mcl, batches: w.batches, operatorSets: w.sets, logger: w.logger, metrics: w.metrics, resultSource: failing, submitter: w.submitter, g2 },
      );
      for (const o of sixteen) agg.addPartial(partialOf(o, 1n, w.digest));
      await agg.onBlock(R + 2n);
      expect(w.logger.at("error").map((l) => l.msg)).to.include("aggregator: the result source failed");
      expect(w.submitter.calls).to.have.length(0);
      agg.addAssignmentList(1n, w.candidate);
      await agg.onBlock(R + 3n);
      expect(w.submitter.calls).to.have.length(1);
    });

    it("given a gossiped list whose seed its proof does not produce → it should refuse it", () => {
      const w = world();
      const c = makeCandidate(sixteen[0]!.sk, "b1", sampleAssignments(2));
      expect(w.agg.addAssignmentList(1n, { ...c, seed: keccak256(encodePacked(["string"], ["other"])) })).to.deep.equal({
        status: "ignored",
        code: AggregatorErrorCode.SeedMismatch,
      });
    });
  });

  describe("given racing aggregators", () => {
    it("given the submitter reports already final → it should log info, count it, and stop", async () => {
      const w = world({ waitBlocks: 0, script: [{ kind: "alreadyFinal", errorName: "ServiceManagerBatchAlreadyFinal" }] });
      for (const o of sixteen) w.agg.addPartial(partialOf(o, 1n, w.digest));
      await w.agg.onBlock(R + 2n);
      expect(w.agg.outcome(1n)?.kind).to.equal("alreadyFinal");
      expect(w.metrics.count("submissions{outcome=already_final}")).to.equal(1);
      expect(w.logger.at("error")).to.have.length(0);
      expect(w.logger.at("info").some((l) => (l.obj as { errorName?: string }).errorName === "ServiceManagerBatchAlreadyFinal")).to.equal(true);
      await w.agg.onBlock(R + 3n);
      expect(w.submitter.calls).to.have.length(1);
    });

    it("given a thrown revert decoded as ServiceManagerBatchAlreadyFinal → it should treat it as a lost race, not an error", async () => {
      const w = world({ waitBlocks: 0, script: [revertOf("ServiceManagerBatchAlreadyFinal", 1n)] });
      for (const o of sixteen) w.agg.addPartial(partialOf(o, 1n, w.digest));
      await w.agg.onBlock(R + 2n);
      expect(w.agg.outcome(1n)).to.include({ kind: "alreadyFinal", errorName: "ServiceManagerBatchAlreadyFinal" });
      expect(w.metrics.count("submissions{outcome=already_final}")).to.equal(1);
      expect(w.logger.at("error")).to.have.length(0);
    });

    it("given another revert → it should log an error, count it as failed, and retry on the next block", async () => {
      const w = world({ waitBlocks: 0, script: [revertOf("ServiceManagerInvalidSeed", 1n), SUBMITTED] });
      for (const o of sixteen) w.agg.addPartial(partialOf(o, 1n, w.digest));
      await w.agg.onBlock(R + 2n);
      expect(w.agg.outcome(1n)).to.equal(undefined);
      expect(w.metrics.count("submissions{outcome=failed}")).to.equal(1);
      expect(w.logger.at("error").map((l) => (l.obj as { code?: string }).code)).to.deep.equal([AggregatorErrorCode.SubmitFailed]);
      await w.agg.onBlock(R + 3n);
      expect(w.agg.outcome(1n)?.kind).to.equal("submitted");
      expect(w.submitter.calls).to.have.length(2);
    });
  });

  describe("revertErrorName", () => {
    it("should read the decoded custom-error name through viem's error chain", () => {
      expect(revertErrorName(revertOf("ServiceManagerBatchAlreadyFinal", 3n))).to.equal("ServiceManagerBatchAlreadyFinal");
      expect(isBatchOverError(revertOf("ServiceManagerBatchAlreadyFinal", 3n))).to.equal(true);
      expect(isBatchOverError(revertOf("ServiceManagerInvalidSeed", 3n))).to.equal(false);
    });

    it("should never decide on message text", () => {
      expect(revertErrorName(new Error("ServiceManagerBatchAlreadyFinal"))).to.equal(null);
      expect(isBatchOverError(new BaseError("execution reverted: ServiceManagerBatchAlreadyFinal"))).to.equal(false);
    });
  });
});
