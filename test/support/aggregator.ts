/**
 * Fixtures for aggregator tests and the aggregator bench (no side effects at import: mocha loads every file under
 * test/). Real BLS keys and signatures throughout; the chain views are the in-memory caches a chain follower would
 * fill, driven by hand so tests control blocks.
 */
import { keccak256, toBytes } from "viem";
import { SecretKey, operatorId, type G1Point, type Hex } from "../../protocol/bls/index.js";
import { seedFromSignature } from "../../protocol/avs/messages.js";
import type { Assignment } from "../../protocol/market/types.js";
import { resultMessageDigest } from "../../protocol/avs/messages.js";
import type { BatchRecord } from "../../protocol/chain/batches.js";
import { toOperatorId, type Bytes32 } from "../../protocol/chain/ids.js";
import type { OperatorAtBlock, OperatorSetAtBlock, OperatorSets } from "../../protocol/chain/operatorSets.js";
import { BatchTable } from "../../protocol/p2p/batchTable.js";
import type { AggregatorLogger, AggregatorMetrics, PartialSignature } from "../../aggregator/types.js";
import { candidateDigest, type ResultCandidate, type ResultContext } from "../../aggregator/result.js";

export const CTX: ResultContext = { chainId: 31337n, serviceManager: "0x5fbdb2315678afecb367f032d93f642f64180aa3" };

export interface SigningOperator {
  sk: SecretKey;
  info: OperatorAtBlock;
}

/** n operators with deterministic keys (distinct per `salt`) and the given stakes, sorted by operator id. */
export function makeOperators(stakes: readonly bigint[], salt = 1n): SigningOperator[] {
  const ops = stakes.map((stake, i) => {
    const sk = SecretKey.fromBytes(toBytes(salt * 1_000_003n + BigInt(i) * 7919n + 17n, { size: 32 }));
    const pkG1 = sk.publicKeyG1();
    return { sk, info: { operatorId: toOperatorId(operatorId(pkG1)), pkG1, pkG2: sk.publicKeyG2(), stake } };
  });
  return ops.sort((a, b) => (BigInt(a.info.operatorId) < BigInt(b.info.operatorId) ? -1 : 1));
}

export function setOf(referenceBlock: bigint, ops: readonly SigningOperator[], apkG1?: G1Point): OperatorSetAtBlock {
  const operators = ops.map((o) => o.info).sort((a, b) => (BigInt(a.operatorId) < BigInt(b.operatorId) ? -1 : 1));
  const totalStake = operators.reduce((s, o) => s + o.stake, 0n);
  return apkG1 === undefined ? { referenceBlock, operators, totalStake } : { referenceBlock, operators, totalStake, apkG1 };
}

/** The nodes' BatchTable (what the chain follower fills), for batches closed by hand with closeBatch. */
export function newBatchTable(ctx: ResultContext = CTX): BatchTable {
  return new BatchTable(
    { seedTimeoutBlocks: 2n, retainBatches: 64 },
    { resultMessageHash: (batch, referenceBlock, seed, assignmentsHash) => resultMessageDigest({ ...ctx, batch, referenceBlock, seed, assignmentsHash }) },
  );
}

/** Closes `batch` in `table` as the follower would: R_b, closed in the next block; no leader order is needed here. */
export function closeBatch(table: BatchTable, batch: bigint, referenceBlock: bigint): BatchRecord {
  table.onClosed({ batch, referenceBlock, closedAt: referenceBlock + 1n, seedMessageHash: keccak256(toBytes(`seed message ${batch}`)), leaderOrder: [] });
  return table.get(batch)!;
}

/** Operator sets loaded by hand (the pool reads only `atBlock`). */
export class TestOperatorSets implements Pick<OperatorSets, "atBlock"> {
  readonly #sets = new Map<bigint, OperatorSetAtBlock>();
  put(set: OperatorSetAtBlock): void {
    this.#sets.set(set.referenceBlock, set);
  }
  atBlock(referenceBlock: bigint): OperatorSetAtBlock | null {
    return this.#sets.get(referenceBlock) ?? null;
  }
}

export interface LogLine {
  level: "debug" | "info" | "warn" | "error";
  obj: object;
  msg: string;
}

export class RecordingLogger implements AggregatorLogger {
  readonly lines: LogLine[] = [];
  debug(obj: object, msg: string): void {
    this.lines.push({ level: "debug", obj, msg });
  }
  info(obj: object, msg: string): void {
    this.lines.push({ level: "info", obj, msg });
  }
  warn(obj: object, msg: string): void {
    this.lines.push({ level: "warn", obj, msg });
  }
  error(obj: object, msg: string): void {
    this.lines.push({ level: "error", obj, msg });
  }
  at(level: LogLine["level"]): LogLine[] {
    return this.lines.filter((l) => l.level === level);
  }
}

/** Counts every metric call by name and labels, e.g. `partials{outcome=invalid,code=…}`. */
export class CountingMetrics implements AggregatorMetrics {
  readonly counts = new Map<string, number>();
  readonly observed = new Map<string, number[]>();
  readonly gauges = new Map<string, number>();
  #inc(name: string, labels?: Record<string, string>): void {
    const key = labels === undefined ? name : `${name}{${Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(",")}}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
  #observe(name: string, v: number): void {
    const xs = this.observed.get(name) ?? [];
    xs.push(v);
    this.observed.set(name, xs);
  }
  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }
  partials = { inc: (l: { outcome: string; code: string }) => this.#inc("partials", l) };
  verifySeconds = { observe: (v: number) => this.#observe("verifySeconds", v) };
  verifyBatchSize = { observe: (v: number) => this.#observe("verifyBatchSize", v) };
  equivocations = { inc: () => this.#inc("equivocations") };
  heldPartials = { set: (v: number) => void this.gauges.set("heldPartials", v) };
  submissions = { inc: (l: { outcome: string }) => this.#inc("submissions", l) };
  quorumBlocks = { observe: (v: number) => this.#observe("quorumBlocks", v) };
}

/** A candidate result with a real seed proof signed by `leader` (signer index 0 unless given). */
export function makeCandidate(leader: SecretKey, label: string, assignments: readonly Assignment[], signerIndex = 0n): ResultCandidate {
  const signature = leader.sign(keccak256(toBytes(`seed message ${label}`)));
  return { seed: seedFromSignature(signature), seedProof: { signature, signerIndex }, assignments };
}

export function sampleAssignments(n: number, offset = 0): Assignment[] {
  return Array.from({ length: n }, (_, i) => ({
    orderId: BigInt(offset + i + 1),
    offerVersionId: BigInt(100 + offset + i),
    gpuCount: 1 + (i % 8),
    pricePerGpuHour: 1_000_000n + BigInt(i),
  }));
}

export function digestFor(batch: Pick<BatchRecord, "batch" | "referenceBlock">, c: ResultCandidate): Bytes32 {
  return candidateDigest(CTX, batch, c);
}

export function partialOf(op: SigningOperator, batch: bigint, digest: Hex): PartialSignature {
  return { batch, resultHash: digest, operatorId: op.info.operatorId, signature: op.sk.sign(digest) };
}
