/**
 * Aggregator figures (rows in bench/README.md). The scenario: 128 registered operators, each batch's result signed
 * by all of them; partials go through AggregationPool.addPartial (cheap checks, queue) and batch verification with
 * the mcl engine (random linear combination, findInvalid only on failure) into the per-result tallies — the pool
 * end to end, on one core. Keys were decoded at registration, so the verifier's key cache is warm, as in a running
 * aggregator. Signatures are made beforehand with mcl (signing speed is not what is measured here).
 */
import mcl from "mcl-wasm";
import { aggregateG1, createBlsVerifier, mclG1ToEvm, verify, type Hex } from "../protocol/bls/index.js";
import { createMclBackend } from "../protocol/bls/mclBackend.js";
import { AggregationPool, buildSubmission, checkSubmission, createG2KeySummer } from "../aggregator/index.js";
import {
  CTX, RecordingLogger, newBatchTable, closeBatch, TestOperatorSets, digestFor, makeCandidate, makeOperators, sampleAssignments, setOf,
} from "../test/support/aggregator.js";
import type { PartialSignature } from "../aggregator/types.js";

const OPERATORS = 128;
const BATCHES = 4;
const MIN_CPU_MS = 2000;

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const round = (v: number, digits = 3) => Number(v.toFixed(digits));

export default async function (): Promise<Record<string, number>> {
  const verifier = await createBlsVerifier("mcl");
  const backend = createMclBackend();
  const ops = makeOperators(Array.from({ length: OPERATORS }, (_, i) => 1000n + BigInt(i)), 2026n);
  const set = setOf(100n, ops, aggregateG1(ops.map((o) => o.info.pkG1)));
  const frs = ops.map((o) => {
    const fr = new mcl.Fr();
    fr.setStr(BigInt(`0x${Buffer.from(o.sk.toBytes()).toString("hex")}`).toString(10), 10);
    return fr;
  });

  // Batch b has R_b = 100 + 10·b; every operator set at those blocks is the same 128 operators.
  const sets = new TestOperatorSets();
  const infos = Array.from({ length: BATCHES }, (_, i) => {
    const b = BigInt(i + 1);
    sets.put({ ...set, referenceBlock: 100n + 10n * b });
    return { batch: b, referenceBlock: 100n + 10n * b };
  });
  const candidates = infos.map((info) => makeCandidate(ops[0]!.sk, `bench ${info.batch}`, sampleAssignments(32)));
  const digests: Hex[] = infos.map((info, i) => digestFor(info, candidates[i]!));
  const partials: PartialSignature[][] = digests.map((digest, bi) => {
    const h = backend.hashToG1(digest);
    return ops.map((o, i) => ({ batch: infos[bi]!.batch, resultHash: digest, operatorId: o.info.operatorId, signature: mclG1ToEvm(mcl.mul(h, frs[i]!)) }));
  });
  // The mcl-made signatures are the real thing: spot-check with the noble reference.
  for (const p of [partials[0]![0]!, partials[BATCHES - 1]![OPERATORS - 1]!]) {
    const op = ops.find((o) => o.info.operatorId === p.operatorId)!;
    if (!verify(op.info.pkG2, p.resultHash, p.signature)) throw new Error("bench: an mcl-made signature does not verify");
  }
  verifier.verifyBatch(ops.map((o) => ({ pkG2: o.info.pkG2, digest: digests[0]!, sig: partials[0]![0]!.signature }))); // registration-time key decoding

  const logger = new RecordingLogger();
  // The same partials with one signature per batch swapped for another operator's: the batch check fails and
  // findInvalid bisects (the cost a single forged partial imposes, if gossip validation let it through).
  const tainted = partials.map((batch) => batch.map((p, i) => (i === 37 ? { ...p, signature: batch[38]!.signature } : p)));
  const runOnce = (input = partials): AggregationPool => {
    const batches = newBatchTable();
    for (const info of infos) closeBatch(batches, info.batch, info.referenceBlock);
    const pool = new AggregationPool({ waitBlocks: 0 }, { verifier, batches, operatorSets: sets, logger, metrics: null });
    pool.onNewBlock(200n);
    for (const batch of input) {
      for (const p of batch) if (pool.addPartial(p).status !== "queued") throw new Error("bench: partial not queued");
      pool.flush();
    }
    return pool;
  };

  const check = runOnce();
  for (const info of infos) {
    const [t] = check.tallies(info.batch);
    if (t === undefined || t.signers.size !== OPERATORS) throw new Error(`bench: batch ${info.batch} did not tally all ${OPERATORS} signers`);
  }

  let done = 0;
  const t0 = cpuMs();
  while (cpuMs() - t0 < MIN_CPU_MS) {
    runOnce();
    done += OPERATORS * BATCHES;
  }
  const perSecond = done / ((cpuMs() - t0) / 1000);

  const taintedCheck = runOnce(tainted);
  if (taintedCheck.tallies(1n)[0]!.signers.size !== OPERATORS - 1) throw new Error("bench: the swapped signature was not dropped");
  let doneTainted = 0;
  const t1 = cpuMs();
  while (cpuMs() - t1 < MIN_CPU_MS) {
    runOnce(tainted);
    doneTainted += OPERATORS * BATCHES;
  }
  const perSecondTainted = doneTainted / ((cpuMs() - t1) / 1000);

  // Building and locally checking one submission: 96 signers, 32 non-signers.
  const g2 = await createG2KeySummer();
  const batches = newBatchTable();
  closeBatch(batches, 1n, infos[0]!.referenceBlock);
  const pool = new AggregationPool({ waitBlocks: 0 }, { verifier, batches, operatorSets: sets, logger, metrics: null });
  pool.onNewBlock(200n);
  for (const p of partials[0]!.slice(0, 96)) pool.addPartial(p);
  pool.flush();
  const [ready] = pool.readyResults();
  if (ready === undefined) throw new Error("bench: no ready result");
  const buildTimes = Array.from({ length: 5 }, () => {
    const t = cpuMs();
    const sub = buildSubmission(CTX, ready, candidates[0]!, g2);
    checkSubmission(sub, ready.operatorSet, 6667);
    return cpuMs() - t;
  });

  return {
    "aggregator.partials_verified_per_s": Math.round(perSecond),
    "aggregator.partials_verified_per_s_one_invalid": Math.round(perSecondTainted),
    "aggregator.submission_build_ms": round(median(buildTimes)),
  };
}
