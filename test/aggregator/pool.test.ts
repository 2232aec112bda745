import { expect } from "chai";
import { bn254 } from "@noble/curves/bn254.js";
import {
  createBlsVerifier,
  g1FromEvm,
  g1ToEvm,
  verify,
  type BlsVerifier,
  type Hex,
} from "../../protocol/bls/index.js";
import { Registry } from "prom-client";
import { AggregationPool, AggregatorErrorCode, createAggregatorMetrics, type AggregationPoolOpts } from "../../aggregator/index.js";
import {
  CountingMetrics,
  RecordingLogger,
  newBatchTable,
  closeBatch,
  TestOperatorSets,
  makeCandidate,
  makeOperators,
  digestFor,
  partialOf,
  sampleAssignments,
  setOf,
  type SigningOperator,
} from "../support/aggregator.js";

const R = 100n;

describe("aggregator/pool", function () {
  this.timeout(60_000);
  let mcl: BlsVerifier;
  let four: SigningOperator[];
  let sixteen: SigningOperator[];
  let outsider: SigningOperator;

  before(async () => {
    mcl = await createBlsVerifier("mcl");
    // Stakes chosen so that the quorum line (6 667 bps of 10 000) falls exactly on a subset sum.
    four = makeOperators([3333n, 3333n, 3333n, 1n], 4n);
    sixteen = makeOperators(Array.from({ length: 16 }, () => 10n), 16n);
    outsider = makeOperators([10n], 99n)[0]!;
  });

  function setup(ops: SigningOperator[], opts: AggregationPoolOpts = {}) {
    const batches = newBatchTable();
    const sets = new TestOperatorSets();
    const logger = new RecordingLogger();
    const metrics = new CountingMetrics();
    const batch = closeBatch(batches, 1n, R);
    sets.put(setOf(R, ops));
    const pool = new AggregationPool(opts, { verifier: mcl, batches, operatorSets: sets, logger, metrics });
    pool.onNewBlock(R + 1n);
    const digest = digestFor(batch, makeCandidate(ops[0]!.sk, "b1", sampleAssignments(3)));
    return { batches, sets, logger, metrics, pool, batch, digest };
  }

  describe("given 4 operators with stakes 3333, 3333, 3333, 1 (total 10 000)", () => {
    it("should not reach quorum at 6 666 bps and reach it at exactly 6 667 bps", () => {
      const { pool, digest } = setup(four);
      const big = four.filter((o) => o.info.stake === 3333n);
      const small = four.find((o) => o.info.stake === 1n)!;
      for (const o of big.slice(0, 2)) expect(pool.addPartial(partialOf(o, 1n, digest))).to.deep.equal({ status: "queued" });
      expect(pool.flush()).to.equal(2);
      let [t] = pool.tallies(1n);
      expect(t!.signedStake).to.equal(6666n);
      expect(t!.quorumAtBlock).to.equal(null);
      pool.onNewBlock(R + 5n);
      expect(pool.readyResults()).to.have.length(0);

      pool.addPartial(partialOf(small, 1n, digest));
      pool.flush();
      [t] = pool.tallies(1n);
      expect(t!.signedStake).to.equal(6667n);
      expect(t!.quorumAtBlock).to.equal(R + 5n);
    });

    it("given quorum with a non-signer and waitBlocks 1 → it should be ready one block later, not in the same block", () => {
      const { pool, digest } = setup(four, { waitBlocks: 1 });
      for (const o of four.slice(0, 3)) pool.addPartial(partialOf(o, 1n, digest));
      pool.onNewBlock(R + 2n);
      expect(pool.tallies(1n)[0]!.quorumAtBlock).to.equal(R + 2n);
      expect(pool.readyResults()).to.have.length(0);
      pool.onNewBlock(R + 3n);
      const ready = pool.readyResults();
      expect(ready).to.have.length(1);
      expect(ready[0]!.resultHash).to.equal(digest);
      expect(ready[0]!.signers).to.have.length(3);
    });

    it("given every operator signed → it should be ready at once, without waiting", () => {
      const { pool, digest } = setup(four, { waitBlocks: 5 });
      for (const o of four) pool.addPartial(partialOf(o, 1n, digest));
      pool.onNewBlock(R + 2n);
      expect(pool.readyResults()).to.have.length(1);
    });
  });

  describe("given 16 operators of equal stake", () => {
    it("should need 11 signers (11·10 000 ≥ 16·6 667 > 10·10 000)", () => {
      const { pool, digest } = setup(sixteen, { waitBlocks: 0 });
      for (const o of sixteen.slice(0, 10)) pool.addPartial(partialOf(o, 1n, digest));
      pool.onNewBlock(R + 2n);
      expect(pool.readyResults()).to.have.length(0);
      pool.addPartial(partialOf(sixteen[10]!, 1n, digest));
      pool.onNewBlock(R + 2n);
      const ready = pool.readyResults();
      expect(ready).to.have.length(1);
      expect(ready[0]!.signedStake).to.equal(110n);
      expect(ready[0]!.totalStake).to.equal(160n);
    });

    it("given one bad partial among 16 → it should drop it (counted by code) and still tally the other 15", () => {
      const { pool, digest, metrics, logger } = setup(sixteen, { waitBlocks: 0 });
      const partials = sixteen.map((o) => partialOf(o, 1n, digest));
      // Operator 7's signature moved by the generator: on the curve, well-formed, wrong.
      const bad = partials[7]!;
      partials[7] = { ...bad, signature: g1ToEvm(g1FromEvm(bad.signature).add(bn254.G1.Point.BASE)) };
      for (const p of partials) expect(pool.addPartial(p).status).to.equal("queued");
      expect(pool.flush()).to.equal(15);
      expect(metrics.count(`partials{outcome=invalid,code=${AggregatorErrorCode.InvalidSignature}}`)).to.equal(1);
      expect(metrics.count("partials{outcome=verified,code=}")).to.equal(15);
      const [t] = pool.tallies(1n);
      expect(t!.signers.size).to.equal(15);
      expect(t!.signers.has(sixteen[7]!.info.operatorId)).to.equal(false);
      expect(logger.at("warn").some((l) => (l.obj as { code?: string }).code === AggregatorErrorCode.InvalidSignature)).to.equal(true);
    });

    it("given a signature by another operator's key or on another message → it should drop each and keep the rest", () => {
      const { pool, digest, metrics } = setup(sixteen, { waitBlocks: 0 });
      const partials = sixteen.map((o) => partialOf(o, 1n, digest));
      partials[2] = { ...partials[2]!, signature: sixteen[3]!.sk.sign(digest) };
      partials[12] = { ...partials[12]!, signature: sixteen[12]!.sk.sign(("0x" + "ab".repeat(32)) as Hex) };
      for (const p of partials) pool.addPartial(p);
      expect(pool.flush()).to.equal(14);
      expect(metrics.count(`partials{outcome=invalid,code=${AggregatorErrorCode.InvalidSignature}}`)).to.equal(2);
      expect(pool.tallies(1n)[0]!.signers.size).to.equal(14);
    });

    it("given an off-curve signature → it should be dropped as invalid, not crash the pool", () => {
      const { pool, digest, metrics } = setup(sixteen);
      pool.addPartial({ ...partialOf(sixteen[0]!, 1n, digest), signature: { X: 1n, Y: 3n } });
      pool.addPartial(partialOf(sixteen[1]!, 1n, digest));
      expect(pool.flush()).to.equal(1);
      expect(metrics.count(`partials{outcome=invalid,code=${AggregatorErrorCode.InvalidSignature}}`)).to.equal(1);
    });

    it("given duplicates before and after verification → it should ignore them and count stake once", () => {
      const { pool, digest, metrics } = setup(sixteen);
      const p = partialOf(sixteen[0]!, 1n, digest);
      expect(pool.addPartial(p).status).to.equal("queued");
      expect(pool.addPartial({ ...p })).to.deep.equal({ status: "ignored", code: AggregatorErrorCode.DuplicatePartial });
      pool.flush();
      expect(pool.addPartial({ ...p, operatorId: p.operatorId.toUpperCase().replace("0X", "0x") as Hex })).to.deep.equal({
        status: "ignored",
        code: AggregatorErrorCode.DuplicatePartial,
      });
      expect(pool.tallies(1n)[0]!.signedStake).to.equal(10n);
      expect(metrics.count(`partials{outcome=ignored,code=${AggregatorErrorCode.DuplicatePartial}}`)).to.equal(2);
    });

    it("given an operator signing two results of one batch → it should log both results and count only the first", () => {
      const { pool, batch, digest, metrics, logger } = setup(sixteen);
      const other = digestFor(batch, makeCandidate(sixteen[0]!.sk, "b1", sampleAssignments(2, 50)));
      const eq = sixteen[5]!;
      const first = partialOf(eq, 1n, digest);
      const second = partialOf(eq, 1n, other);
      expect(pool.addPartial(first).status).to.equal("queued");
      expect(pool.addPartial(second).status).to.equal("queued");
      pool.flush();
      const seen = logger.lines.filter((l) => (l.obj as { event?: string }).event === "operator_equivocated");
      expect(seen.map((l) => l.obj)).to.deep.equal([{ event: "operator_equivocated", batch: 1n, operatorId: eq.info.operatorId, first: digest, second: other }]);
      expect(metrics.count("equivocations")).to.equal(1);
      const tallies = pool.tallies(1n);
      expect(tallies).to.have.length(1);
      expect(tallies[0]!.resultHash).to.equal(digest);
      const third = digestFor(batch, makeCandidate(sixteen[0]!.sk, "b1", sampleAssignments(1, 70)));
      expect(pool.addPartial(partialOf(eq, 1n, third))).to.deep.equal({ status: "ignored", code: AggregatorErrorCode.OperatorEquivocated });
    });

    it("given a forged second result for an honest operator → it should drop the forgery and see no equivocation", () => {
      const { pool, batch, digest, metrics } = setup(sixteen);
      const other = digestFor(batch, makeCandidate(sixteen[0]!.sk, "b1", sampleAssignments(2, 50)));
      const victim = sixteen[4]!;
      pool.addPartial(partialOf(victim, 1n, digest));
      pool.addPartial({ ...partialOf(victim, 1n, other), signature: sixteen[9]!.sk.sign(other) });
      pool.flush();
      expect(metrics.count("equivocations")).to.equal(0);
      expect(pool.tallies(1n)[0]!.signers.has(victim.info.operatorId)).to.equal(true);
    });

    it("given two results (a split quorum) → it should tally them apart and release only the one at quorum", () => {
      const { pool, batch, digest } = setup(sixteen, { waitBlocks: 0 });
      const other = digestFor(batch, makeCandidate(sixteen[0]!.sk, "b1", sampleAssignments(2, 50)));
      for (const o of sixteen.slice(0, 11)) pool.addPartial(partialOf(o, 1n, digest));
      for (const o of sixteen.slice(11)) pool.addPartial(partialOf(o, 1n, other));
      pool.onNewBlock(R + 2n);
      const tallies = new Map(pool.tallies(1n).map((t) => [t.resultHash, t]));
      expect(tallies.get(digest)!.signedStake).to.equal(110n);
      expect(tallies.get(other)!.signedStake).to.equal(50n);
      expect(tallies.get(other)!.quorumAtBlock).to.equal(null);
      const ready = pool.readyResults();
      expect(ready.map((r) => r.resultHash)).to.deep.equal([digest]);
    });

    it("given a split with no result at quorum → it should release nothing", () => {
      const { pool, batch, digest } = setup(sixteen, { waitBlocks: 0 });
      const other = digestFor(batch, makeCandidate(sixteen[0]!.sk, "b1", sampleAssignments(2, 50)));
      for (const o of sixteen.slice(0, 8)) pool.addPartial(partialOf(o, 1n, digest));
      for (const o of sixteen.slice(8)) pool.addPartial(partialOf(o, 1n, other));
      pool.onNewBlock(R + 10n);
      expect(pool.readyResults()).to.have.length(0);
    });
  });

  describe("given signers outside the set at R_b", () => {
    it("given an unknown operator → it should ignore it with NotInOperatorSet before any verification", () => {
      const { pool, digest, metrics } = setup(four);
      expect(pool.addPartial(partialOf(outsider, 1n, digest))).to.deep.equal({ status: "ignored", code: AggregatorErrorCode.NotInOperatorSet });
      expect(pool.queuedCount).to.equal(0);
      expect(metrics.count(`partials{outcome=ignored,code=${AggregatorErrorCode.NotInOperatorSet}}`)).to.equal(1);
    });

    it("given an operator registered after R_b → it should be ignored for this batch and accepted for a batch whose R_b includes it", () => {
      const { pool, batches, sets, digest } = setup(four);
      const later = [...four, outsider];
      sets.put(setOf(R + 10n, later));
      expect(pool.addPartial(partialOf(outsider, 1n, digest)).status).to.equal("ignored");
      const b2 = closeBatch(batches, 2n, R + 10n);
      const d2 = digestFor(b2, makeCandidate(four[0]!.sk, "b2", sampleAssignments(1)));
      expect(pool.addPartial(partialOf(outsider, 2n, d2))).to.deep.equal({ status: "queued" });
      expect(pool.flush()).to.equal(1);
    });

    it("given a member with weight 0 at R_b (left the set) → it should be ignored", () => {
      const ops = makeOperators([10n, 10n, 0n], 7n);
      const { pool, digest } = setup(ops);
      const gone = ops.find((o) => o.info.stake === 0n)!;
      expect(pool.addPartial(partialOf(gone, 1n, digest))).to.deep.equal({ status: "ignored", code: AggregatorErrorCode.NotInOperatorSet });
    });
  });

  describe("given partials that arrive before the batch's close is seen", () => {
    it("should hold them and accept them once the close is seen", () => {
      const { pool, batches, sets, metrics } = setup(four);
      sets.put(setOf(R + 10n, four));
      // What the operators signed for batch 2, computed as they would after seeing the close.
      const b2 = { batch: 2n, referenceBlock: R + 10n, closedAtBlock: R + 11n, status: "open" as const };
      const d2 = digestFor(b2, makeCandidate(four[0]!.sk, "b2", sampleAssignments(2)));
      for (const o of four.slice(0, 3)) {
        expect(pool.addPartial(partialOf(o, 2n, d2))).to.deep.equal({ status: "held", code: AggregatorErrorCode.BatchNotSeen });
      }
      expect(pool.heldCount).to.equal(3);
      expect(metrics.gauges.get("heldPartials")).to.equal(3);
      closeBatch(batches, 2n, R + 10n);
      pool.onBatchClosed(2n);
      expect(pool.heldCount).to.equal(0);
      expect(pool.flush()).to.equal(3);
      expect(pool.tallies(2n)[0]!.signedStake).to.equal(four.slice(0, 3).reduce((s, o) => s + o.info.stake, 0n));
      expect(pool.tallies(2n)[0]!.signers.size).to.equal(3);
    });

    it("given the operator set at R_b not loaded yet → it should hold and accept once it is", () => {
      const { pool, batches, sets } = setup(four);
      const b2 = closeBatch(batches, 2n, R + 10n);
      const d2 = digestFor(b2, makeCandidate(four[0]!.sk, "b2", sampleAssignments(2)));
      expect(pool.addPartial(partialOf(four[0]!, 2n, d2))).to.deep.equal({ status: "held", code: AggregatorErrorCode.OperatorSetNotLoaded });
      sets.put(setOf(R + 10n, four));
      pool.onNewBlock(R + 12n);
      expect(pool.heldCount).to.equal(0);
      expect(pool.tallies(2n)[0]!.signers.size).to.equal(1);
    });

    it("should drop held partials after holdBlocks blocks without a close", () => {
      const { pool, metrics, digest } = setup(four, { holdBlocks: 2 });
      pool.addPartial({ ...partialOf(four[0]!, 1n, digest), batch: 2n });
      pool.onNewBlock(R + 3n);
      expect(pool.heldCount).to.equal(1);
      pool.onNewBlock(R + 4n);
      expect(pool.heldCount).to.equal(0);
      expect(metrics.count(`partials{outcome=ignored,code=${AggregatorErrorCode.HoldExpired}}`)).to.equal(1);
    });

    it("should bound the hold queue and refuse batches too far ahead", () => {
      const { pool, digest } = setup(four, { maxHeld: 2, maxBatchesAhead: 2 });
      expect(pool.addPartial({ ...partialOf(four[0]!, 1n, digest), batch: 4n })).to.deep.equal({
        status: "ignored",
        code: AggregatorErrorCode.BatchTooFarAhead,
      });
      expect(pool.addPartial({ ...partialOf(four[0]!, 1n, digest), batch: 2n }).status).to.equal("held");
      expect(pool.addPartial({ ...partialOf(four[1]!, 1n, digest), batch: 3n }).status).to.equal("held");
      expect(pool.addPartial({ ...partialOf(four[2]!, 1n, digest), batch: 3n })).to.deep.equal({
        status: "ignored",
        code: AggregatorErrorCode.HoldQueueFull,
      });
    });
  });

  describe("given batches that are over or malformed input", () => {
    it("given a final batch → it should ignore partials with BatchNotOpen and forget its tallies", () => {
      const { pool, batches, digest } = setup(four);
      pool.addPartial(partialOf(four[0]!, 1n, digest));
      pool.flush();
      batches.markFinal(1n);
      pool.onNewBlock(R + 3n);
      expect(pool.tallies(1n)).to.have.length(0);
      expect(pool.addPartial(partialOf(four[1]!, 1n, digest))).to.deep.equal({ status: "ignored", code: AggregatorErrorCode.BatchNotOpen });
    });

    it("given an old batch the view no longer knows → it should ignore it with UnknownBatch", () => {
      const { pool, batches, digest } = setup(four);
      closeBatch(batches, 5n, R + 40n);
      expect(pool.addPartial({ ...partialOf(four[0]!, 1n, digest), batch: 3n })).to.deep.equal({ status: "ignored", code: AggregatorErrorCode.UnknownBatch });
    });

    it("given malformed partials → it should ignore each with Malformed", () => {
      const { pool, digest } = setup(four);
      const good = partialOf(four[0]!, 1n, digest);
      const bad: unknown[] = [
        { ...good, batch: 1 },
        { ...good, batch: -1n },
        { ...good, resultHash: "0x1234" },
        { ...good, operatorId: "zz" },
        { ...good, signature: { X: 1, Y: 2 } },
        { ...good, signature: null },
        null,
      ];
      for (const b of bad) {
        expect(pool.addPartial(b as never)).to.deep.equal({ status: "ignored", code: AggregatorErrorCode.Malformed });
      }
    });

    it("given options out of range → it should throw a RangeError naming the option", () => {
      const m = { verifier: mcl, batches: newBatchTable(), operatorSets: new TestOperatorSets(), logger: new RecordingLogger(), metrics: null };
      expect(() => new AggregationPool({ quorumThresholdBps: 0 }, m)).to.throw(RangeError, /quorumThresholdBps/);
      expect(() => new AggregationPool({ quorumThresholdBps: 10_001 }, m)).to.throw(RangeError, /quorumThresholdBps/);
      expect(() => new AggregationPool({ waitBlocks: -1 }, m)).to.throw(RangeError, /waitBlocks/);
    });
  });

  describe("given the noble reference engine instead of mcl", () => {
    it("should drop the same bad partial and reach the same tally", async () => {
      const noble = await createBlsVerifier("noble");
      const batches = newBatchTable();
      const sets = new TestOperatorSets();
      const batch = closeBatch(batches, 1n, R);
      sets.put(setOf(R, four));
      const digest = digestFor(batch, makeCandidate(four[0]!.sk, "b1", sampleAssignments(3)));
      const tallies = [noble, mcl].map((verifier) => {
        const pool = new AggregationPool({}, { verifier, batches, operatorSets: sets, logger: new RecordingLogger(), metrics: null });
        const partials = four.map((o) => partialOf(o, 1n, digest));
        partials[1] = { ...partials[1]!, signature: four[2]!.sk.sign(digest) };
        for (const p of partials) pool.addPartial(p);
        expect(pool.flush()).to.equal(3);
        const [t] = pool.tallies(1n);
        return { stake: t!.signedStake, signers: [...t!.signers.keys()].sort() };
      });
      expect(tallies[0]).to.deep.equal(tallies[1]);
      expect(tallies[0]!.signers).to.not.include(four[1]!.info.operatorId);
    });
  });

  describe("given prom-client metrics", () => {
    it("should expose verdicts by code, equivocations and quorum blocks under matchnet_aggregator_*", async () => {
      const register = new Registry();
      const batches = newBatchTable();
      const sets = new TestOperatorSets();
      const batch = closeBatch(batches, 1n, R);
      sets.put(setOf(R, four));
      const pool = new AggregationPool({}, { verifier: mcl, batches, operatorSets: sets, logger: new RecordingLogger(), metrics: createAggregatorMetrics(register) });
      pool.onNewBlock(R + 2n);
      const digest = digestFor(batch, makeCandidate(four[0]!.sk, "b1", sampleAssignments(3)));
      const other = digestFor(batch, makeCandidate(four[0]!.sk, "b1", sampleAssignments(1)));
      const partials = four.map((o) => partialOf(o, 1n, digest));
      partials[0] = { ...partials[0]!, signature: four[1]!.sk.sign(digest) };
      for (const p of partials) pool.addPartial(p);
      pool.addPartial(partialOf(four[2]!, 1n, other));
      pool.addPartial(partialOf(outsider, 1n, digest));
      pool.onNewBlock(R + 3n);
      const text = await register.metrics();
      expect(text).to.include(`matchnet_aggregator_partials_total{outcome="invalid",code="${AggregatorErrorCode.InvalidSignature}"} 1`);
      expect(text).to.include(`matchnet_aggregator_partials_total{outcome="ignored",code="${AggregatorErrorCode.NotInOperatorSet}"} 1`);
      expect(text).to.include(`matchnet_aggregator_partials_total{outcome="verified",code=""} 4`);
      expect(text).to.include("matchnet_aggregator_equivocations_total 1");
      expect(text).to.include("matchnet_aggregator_verify_batch_size_sum 5");
      // Three valid signers of 3333 + 3333 + 1 or 3 × 3333: quorum either way, seen 2 blocks after the close (R+1).
      expect(text).to.include("matchnet_aggregator_quorum_blocks_count 1");
      expect(text).to.include('matchnet_aggregator_quorum_blocks_bucket{le="2"} 1');
    });
  });

  describe("given a large batch of partials", () => {
    it("should verify automatically once verifyBatchSize partials are queued", () => {
      const { pool, digest, metrics } = setup(sixteen, { verifyBatchSize: 8 });
      for (const o of sixteen.slice(0, 8)) pool.addPartial(partialOf(o, 1n, digest));
      expect(pool.queuedCount).to.equal(0);
      expect(metrics.observed.get("verifyBatchSize")).to.deep.equal([8]);
      expect(pool.tallies(1n)[0]!.signers.size).to.equal(8);
    });
  });
});
