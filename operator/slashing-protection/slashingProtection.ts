/**
 * Slashing protection: the last gate before any BLS signature leaves the operator (docs/protocol.md §3.4 and §3.8).
 *
 * For each duty (result, seed) and each (operator, batch) it remembers the one message hash the operator decided
 * to sign. The first request records it, synced to disk, before the signer is called; a request for the same hash
 * is a safe re-sign and returns the stored signature when there is one (so a restarted node re-gossips what it
 * signed instead of deciding again); a request for a different hash is refused with `DoubleSign`.
 *
 * Check-and-insert is serialized per key inside the process, so two concurrent requests cannot both see "no
 * record". Across processes LevelDB's lock file forbids a second node on the same data dir.
 *
 * Records do not pile up: `prune` deletes those of batches below a cutoff and, in the same synced write, raises a
 * low watermark per (duty, operator) to cutoff − 1, as EIP-3076 does per key; no batch at or below the watermark is
 * signed again (`BelowWatermark`), so a pruned record can never let a second message through.
 */
import type { Hex } from "viem";
import { toBytes32, toOperatorId, type Bytes32 } from "../../protocol/chain/ids.js";
import { Bucket } from "../../protocol/db/buckets.js";
import type { KvBatchOp, KvController } from "../../protocol/db/controller.js";
import type { Logger } from "../../protocol/log/logger.js";
import type { Metrics } from "../../protocol/metrics/metrics.js";
import type { G1Like } from "../../protocol/p2p/points.js";
import { SlashingProtectionError, SlashingProtectionErrorCode } from "./errors.js";
import { SignedMessageRepository, WatermarkRepository, type SignedMessageRecord, type SigningKey } from "./repository.js";

export enum SigningDuty {
  /** The operator's partial signature over a batch's result message. */
  Result = "result",
  /** The leader's BLS signature over the batch's seed message (the VRF output). */
  Seed = "seed",
}

export type Signer = (messageHash: Hex) => G1Like | Promise<G1Like>;

export interface SignOutcome {
  signature: G1Like;
  /** False when the signature came from the store (a re-sign after a restart or a repeated request). */
  fresh: boolean;
}

export interface CheckOutcome {
  /** "new": recorded now; "same": this very hash was recorded before (safe to sign again). */
  status: "new" | "same";
  record: SignedMessageRecord;
}

export type SlashingProtectionOpts = Record<string, never>;

export interface SlashingProtectionModules {
  db: KvController;
  logger: Logger;
  metrics: Metrics | null;
}

const HASH32 = /^0x[0-9a-fA-F]{64}$/;
const MAX_UINT64 = (1n << 64n) - 1n;

export class SlashingProtection {
  private readonly repos: Record<SigningDuty, SignedMessageRepository>;
  private readonly watermarks: WatermarkRepository;
  private readonly db: KvController;
  private readonly locks = new Map<string, Promise<void>>();
  private readonly logger: Logger;
  private readonly metrics: Metrics | null;

  constructor(_opts: SlashingProtectionOpts, modules: SlashingProtectionModules) {
    this.repos = {
      [SigningDuty.Result]: new SignedMessageRepository(modules.db, Bucket.SlashingProtectionResult),
      [SigningDuty.Seed]: new SignedMessageRepository(modules.db, Bucket.SlashingProtectionSeed),
    };
    this.watermarks = new WatermarkRepository(modules.db, Bucket.SlashingProtectionWatermark);
    this.db = modules.db;
    this.logger = modules.logger;
    this.metrics = modules.metrics;
  }

  /** The low watermark of (duty, operator): batches at or below it are refused (undefined: nothing pruned yet). */
  async watermark(duty: SigningDuty, operatorId: Hex): Promise<bigint | undefined> {
    validate({ operatorId, batch: 0n });
    return this.watermarks.get({ duty, operatorId });
  }

  /**
   * Deletes the records of `operatorId`'s batches below `cutoff` for every duty and raises each duty's watermark to
   * cutoff − 1, in one atomic, synced write. Returns how many records were deleted. A watermark never goes down.
   */
  async prune(operatorId: Hex, cutoff: bigint): Promise<number> {
    validate({ operatorId, batch: cutoff });
    if (cutoff === 0n) return 0;
    const mark = cutoff - 1n;
    const ops: KvBatchOp[] = [];
    for (const duty of Object.values(SigningDuty)) {
      const repo = this.repos[duty];
      for await (const { id } of repo.entries({ gte: { operatorId, batch: 0n }, lt: { operatorId, batch: cutoff } })) ops.push(repo.delOp(id));
      const current = await this.watermarks.get({ duty, operatorId });
      if (current === undefined || current < mark) ops.push(this.watermarks.putOp({ duty, operatorId }, mark));
    }
    if (ops.length > 0) await this.db.batch(ops);
    return ops.filter((o) => o.type === "del").length;
  }

  /**
   * Records `messageHash` for (duty, operator, batch) unless one is recorded; returns once the record is on disk.
   * Throws `DoubleSign` when a different hash was recorded.
   */
  async checkAndInsert(duty: SigningDuty, key: SigningKey, messageHash: Hex): Promise<CheckOutcome> {
    validate(key, messageHash);
    const hash = toBytes32(messageHash);
    return this.withLock(duty, key, () => this.checkAndInsertUnlocked(duty, key, hash));
  }

  /**
   * The one way the node should sign: check-and-insert, then return the stored signature if there is one, else
   * call `signer` and store its signature (synced) before returning it to be gossiped.
   */
  async sign(duty: SigningDuty, key: SigningKey, messageHash: Hex, signer: Signer): Promise<SignOutcome> {
    validate(key, messageHash);
    const hash = toBytes32(messageHash);
    return this.withLock(duty, key, async () => {
      const { record } = await this.checkAndInsertUnlocked(duty, key, hash);
      if (record.signature) return { signature: record.signature, fresh: false };
      const signature = await signer(hash);
      await this.repos[duty].put(key, { messageHash: hash, signature });
      return { signature, fresh: true };
    });
  }

  /** What was recorded for (duty, operator, batch), if anything. */
  async get(duty: SigningDuty, key: SigningKey): Promise<SignedMessageRecord | undefined> {
    validate(key);
    return this.repos[duty].get(key);
  }

  private async checkAndInsertUnlocked(duty: SigningDuty, key: SigningKey, messageHash: Bytes32): Promise<CheckOutcome> {
    // The record first, then the watermark: a prune that commits between the two reads is seen by the second.
    const existing = await this.repos[duty].get(key);
    const mark = await this.watermarks.get({ duty, operatorId: key.operatorId });
    if (mark !== undefined && key.batch <= mark) {
      this.metrics?.slashingProtectionRefusals.inc({ duty });
      this.logger.error(
        { event: "slashing_protection_below_watermark", duty, operatorId: key.operatorId, batch: key.batch, watermark: mark, requested: messageHash },
        "slashing protection refused to sign a batch at or below its low watermark",
      );
      throw new SlashingProtectionError(
        SlashingProtectionErrorCode.BelowWatermark,
        `refusing to sign ${duty} message ${messageHash} for batch ${key.batch}: at or below the low watermark ${mark} (records pruned)`,
        { meta: { duty, batch: key.batch, operatorId: key.operatorId, watermark: mark, requested: messageHash } },
      );
    }
    if (existing === undefined) {
      const record = { messageHash };
      await this.repos[duty].put(key, record);
      return { status: "new", record };
    }
    if (existing.messageHash === messageHash) return { status: "same", record: existing };
    this.metrics?.slashingProtectionRefusals.inc({ duty });
    this.logger.error(
      { event: "slashing_protection_double_sign", duty, operatorId: key.operatorId, batch: key.batch, recorded: existing.messageHash, requested: messageHash },
      "slashing protection refused to sign a second message for a batch",
    );
    throw new SlashingProtectionError(
      SlashingProtectionErrorCode.DoubleSign,
      `refusing to sign ${duty} message ${messageHash} for batch ${key.batch}: ${existing.messageHash} was signed`,
      { meta: { duty, batch: key.batch, operatorId: key.operatorId, recorded: existing.messageHash, requested: messageHash } },
    );
  }

  private async withLock<T>(duty: SigningDuty, key: SigningKey, fn: () => Promise<T>): Promise<T> {
    const id = `${duty}:${toOperatorId(key.operatorId)}:${key.batch}`;
    const previous = this.locks.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.locks.set(id, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.locks.get(id) === tail) this.locks.delete(id);
    }
  }
}

function validate(key: SigningKey, messageHash?: Hex): void {
  if (typeof key.operatorId !== "string" || !HASH32.test(key.operatorId)) {
    throw new SlashingProtectionError(SlashingProtectionErrorCode.InvalidInput, `operator id must be 32 bytes of hex, got ${String(key.operatorId)}`);
  }
  if (typeof key.batch !== "bigint" || key.batch < 0n || key.batch > MAX_UINT64) {
    throw new SlashingProtectionError(SlashingProtectionErrorCode.InvalidInput, `batch must be a uint64, got ${String(key.batch)}`);
  }
  if (messageHash !== undefined && (typeof messageHash !== "string" || !HASH32.test(messageHash))) {
    throw new SlashingProtectionError(SlashingProtectionErrorCode.InvalidInput, `message hash must be 32 bytes of hex, got ${String(messageHash)}`);
  }
}
