/**
 * Equivocation evidence kept past the node's in-memory caches (docs/protocol.md §5, "Late double signatures").
 *
 * The contract slashes two signatures of one operator on different result messages of any closed batch; the
 * operator's stake stays in the registry for `slashingWindow` blocks after the batch (the exit delay is at least that
 * long), so a double signature gossiped that late still slashes. The validator and the node keep a batch's partials
 * in memory only for the last 64 batches. This store keeps, per batch that went final or was abandoned, each
 * operator's first valid partial (seed, result hash, signature — what `slashEquivocation` needs) until the batch's
 * window has passed, and answers the partial validator's late path from it.
 *
 * While a batch is open, each operator's first accepted partial is written here as it is accepted (`keepPartial`),
 * without the batch record: a node restarted during the batch reads them back (`partialsOf`) before it hears gossip
 * for the batch again, so a conflicting partial arriving after the restart is still caught (docs/operator.md,
 * "Late double signatures"). Without them the restarted node would take the conflicting one for the operator's first.
 *
 * Buckets: `EvidenceBatch` batch(uint64 BE) → version ‖ R_b ‖ closedAt (uint64 BE each);
 * `EvidencePartial` batch ‖ operatorId(32) → version ‖ seed(32) ‖ resultHash(32) ‖ signature(G1, 64) ‖ conflicting(1).
 * A batch's records are written in one atomic, synced write when it is over; pruning deletes whole batches at once,
 * with the partials written while they were open.
 */
import type { Hex } from "viem";
import { resultMessageDigest } from "../avs/messages.js";
import { toOperatorId, type OperatorId } from "../chain/ids.js";
import { Bucket } from "../db/buckets.js";
import type { KvController } from "../db/controller.js";
import { bytesToHex, concatBytes, hexToFixedBytes, readUint64BE, uint64BE } from "../db/keys.js";
import { Repository } from "../db/repository.js";
import type { LateEvidence, LateEvidenceView } from "./interfaces.js";
import { G1_BYTES, decodeG1, encodeG1, type G1Like } from "./points.js";

const VERSION = 1;

export interface EvidencePartial {
  seed: Hex;
  resultHash: Hex;
  signature: G1Like;
}

interface BatchTimes {
  referenceBlock: bigint;
  closedAt: bigint;
}

interface PartialRecord extends EvidencePartial {
  conflicting: boolean;
}

class BatchRepository extends Repository<bigint, BatchTimes> {
  constructor(db: KvController) {
    super(db, Bucket.EvidenceBatch);
  }
  protected encodeId(batch: bigint): Uint8Array {
    return uint64BE(batch);
  }
  protected decodeId(key: Uint8Array): bigint {
    return readUint64BE(key, 0);
  }
  protected encodeValue(r: BatchTimes): Uint8Array {
    return concatBytes(Uint8Array.of(VERSION), uint64BE(r.referenceBlock), uint64BE(r.closedAt));
  }
  protected decodeValue(b: Uint8Array): BatchTimes {
    if (b.length !== 17 || b[0] !== VERSION) throw new Error(`evidence batch record corrupt: ${b.length} bytes, version ${b[0]}`);
    return { referenceBlock: readUint64BE(b, 1), closedAt: readUint64BE(b, 9) };
  }
}

class PartialRepository extends Repository<{ batch: bigint; operatorId: OperatorId }, PartialRecord> {
  constructor(db: KvController) {
    super(db, Bucket.EvidencePartial);
  }
  protected encodeId(id: { batch: bigint; operatorId: OperatorId }): Uint8Array {
    return concatBytes(uint64BE(id.batch), hexToFixedBytes(id.operatorId, 32));
  }
  protected decodeId(key: Uint8Array): { batch: bigint; operatorId: OperatorId } {
    return { batch: readUint64BE(key, 0), operatorId: toOperatorId(bytesToHex(key.subarray(8, 40))) };
  }
  protected encodeValue(r: PartialRecord): Uint8Array {
    return concatBytes(Uint8Array.of(VERSION), hexToFixedBytes(r.seed, 32), hexToFixedBytes(r.resultHash, 32), encodeG1(r.signature), Uint8Array.of(r.conflicting ? 1 : 0));
  }
  protected decodeValue(b: Uint8Array): PartialRecord {
    if (b.length !== 1 + 64 + G1_BYTES + 1 || b[0] !== VERSION) throw new Error(`evidence partial record corrupt: ${b.length} bytes, version ${b[0]}`);
    return { seed: bytesToHex(b.subarray(1, 33)), resultHash: bytesToHex(b.subarray(33, 65)), signature: decodeG1(b.subarray(65, 65 + G1_BYTES)), conflicting: b[65 + G1_BYTES] === 1 };
  }
}

export interface PartialEvidenceOpts {
  chainId: bigint;
  serviceManager: Hex;
  /** ServiceManager.slashingWindow(): blocks after a batch's close during which its double signatures slash. */
  slashingWindow: bigint;
}

export class PartialEvidenceStore implements LateEvidenceView {
  private readonly batches: BatchRepository;
  private readonly partials: PartialRepository;
  /** Every batch below this one was pruned (its window passed): partials for it are ignored without a lookup. */
  private floor = 0n;

  constructor(
    private readonly opts: PartialEvidenceOpts,
    private readonly db: KvController,
  ) {
    this.batches = new BatchRepository(db);
    this.partials = new PartialRepository(db);
  }

  oldestProvable(): bigint {
    return this.floor;
  }

  /** Keeps the first valid partial of each operator for `batch` (one atomic write); a batch kept already is left as is. */
  async keepBatch(batch: bigint, referenceBlock: bigint, closedAt: bigint, partials: ReadonlyMap<OperatorId, EvidencePartial>): Promise<void> {
    if (batch < this.floor || partials.size === 0 || (await this.batches.has(batch))) return;
    await this.db.batch([
      this.batches.putOp(batch, { referenceBlock, closedAt }),
      ...[...partials].map(([operatorId, p]) =>
        this.partials.putOp({ batch, operatorId }, { seed: p.seed, resultHash: p.resultHash, signature: p.signature, conflicting: false }),
      ),
    ]);
  }

  /**
   * Keeps `operatorId`'s first accepted partial of an open batch (one synced write); a partial kept already for it
   * is left as is. Called off the validation path, once per operator and batch.
   */
  async keepPartial(batch: bigint, operatorId: OperatorId, p: EvidencePartial): Promise<void> {
    if (batch < this.floor || (await this.partials.has({ batch, operatorId }))) return;
    await this.partials.put({ batch, operatorId }, { seed: p.seed, resultHash: p.resultHash, signature: p.signature, conflicting: false });
  }

  /** Every operator's kept first partial of `batch`, in operator-id order (what a restarted node starts from). */
  async partialsOf(batch: bigint): Promise<Map<OperatorId, EvidencePartial>> {
    const out = new Map<OperatorId, EvidencePartial>();
    if (batch < this.floor) return out;
    const lowest = toOperatorId(`0x${"00".repeat(32)}`);
    for await (const { id, value } of this.partials.entries({ gte: { batch, operatorId: lowest }, lt: { batch: batch + 1n, operatorId: lowest } })) {
      out.set(id.operatorId, { seed: value.seed, resultHash: value.resultHash, signature: value.signature });
    }
    return out;
  }

  async first(batch: bigint, operatorId: OperatorId): Promise<LateEvidence | undefined> {
    if (batch < this.floor) return undefined;
    const record = await this.batches.get(batch);
    if (record === undefined) return undefined;
    const p = await this.partials.get({ batch, operatorId });
    if (p === undefined) return undefined;
    return {
      referenceBlock: record.referenceBlock,
      closedAt: record.closedAt,
      message: { batch, operatorId, seed: p.seed, resultHash: p.resultHash, signature: p.signature },
      conflicting: p.conflicting,
    };
  }

  async markConflict(batch: bigint, operatorId: OperatorId): Promise<void> {
    const p = await this.partials.get({ batch, operatorId });
    if (p !== undefined && !p.conflicting) await this.partials.put({ batch, operatorId }, { ...p, conflicting: true });
  }

  resultMessageHash(batch: bigint, referenceBlock: bigint, seed: Hex, resultHash: Hex): Hex {
    return resultMessageDigest({ chainId: this.opts.chainId, serviceManager: this.opts.serviceManager, batch, referenceBlock, seed, assignmentsHash: resultHash });
  }

  /**
   * Deletes the batches whose window has passed at `head` (closedAt + slashingWindow < head) with their partials,
   * and raises the floor past them. Batches close in order, so the scan stops at the first one still provable.
   */
  async prune(head: bigint): Promise<number> {
    const gone: bigint[] = [];
    for await (const { id, value } of this.batches.entries()) {
      if (value.closedAt + this.opts.slashingWindow >= head) break;
      gone.push(id);
    }
    if (gone.length === 0) return 0;
    const last = gone[gone.length - 1]!;
    const ops = gone.map((b) => this.batches.delOp(b));
    for await (const { id } of this.partials.entries({ lt: { batch: last + 1n, operatorId: toOperatorId(`0x${"00".repeat(32)}`) } })) ops.push(this.partials.delOp(id));
    await this.db.batch(ops);
    if (last + 1n > this.floor) this.floor = last + 1n;
    return gone.length;
  }
}
