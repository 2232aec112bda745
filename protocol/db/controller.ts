/**
 * The key-value store every node component persists through. A small interface over LevelDB (as Lodestar's
 * `DatabaseController`), so repositories never see the driver and tests run the real LevelDB in a temp dir.
 *
 * Keys and values are raw bytes. Every write is synced to disk before its promise resolves: the node's only
 * durable state (slashing protection above all) must survive a power cut, and it writes a handful of records per
 * batch, so the fsync cost does not matter.
 */
import { Level } from "level";
import { CodedError } from "../errors.js";

export interface KvRange {
  /** Inclusive lower bound. */
  gte?: Uint8Array;
  /** Exclusive upper bound. */
  lt?: Uint8Array;
  reverse?: boolean;
  limit?: number;
}

export type KvBatchOp =
  | { type: "put"; key: Uint8Array; value: Uint8Array }
  | { type: "del"; key: Uint8Array };

export interface KvController {
  /** The stored value, or undefined when the key is absent. */
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  put(key: Uint8Array, value: Uint8Array): Promise<void>;
  delete(key: Uint8Array): Promise<void>;
  /** Applies all operations atomically. */
  batch(ops: KvBatchOp[]): Promise<void>;
  /** Entries in key order (byte-wise), within the range. */
  entries(range: KvRange): AsyncIterable<[Uint8Array, Uint8Array]>;
  close(): Promise<void>;
}

export interface LevelDbControllerOpts {
  /** Directory of the database; created when missing. */
  path: string;
}

export class DbError extends CodedError<"DbClosed" | "DbOpenFailed" | "DbLocked"> {}

const VIEW = { keyEncoding: "view", valueEncoding: "view" } as const;
const SYNC = { ...VIEW, sync: true } as const;

export class LevelDbController implements KvController {
  private constructor(private readonly db: Level<Uint8Array, Uint8Array>) {}

  /**
   * Opens (creating if needed) the database. LevelDB holds a lock file, so a second process opening the same
   * directory fails here instead of racing the first one's writes.
   */
  static async open(opts: LevelDbControllerOpts): Promise<LevelDbController> {
    return LevelDbController.openLevel(new Level<Uint8Array, Uint8Array>(opts.path, VIEW), opts.path);
  }

  /**
   * The same over a `Level` instance made by the caller (created with view encodings, not yet open): how a test
   * watches the options of every write that reaches the real LevelDB.
   */
  static async openLevel(db: Level<Uint8Array, Uint8Array>, path: string): Promise<LevelDbController> {
    try {
      await db.open({ createIfMissing: true });
    } catch (err) {
      // classic-level reports a held LOCK file as "Database failed to open" with the reason in its cause.
      if ((err as { cause?: { code?: string } }).cause?.code === "LEVEL_LOCKED") {
        throw new DbError("DbLocked", `LevelDB at ${path} is locked by another process`, { cause: err });
      }
      throw new DbError("DbOpenFailed", `cannot open LevelDB at ${path}: ${(err as Error).message}${(err as Error).cause instanceof Error ? ` (${((err as Error).cause as Error).message})` : ""}`, { cause: err });
    }
    return new LevelDbController(db);
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.assertOpen();
    return (await this.db.get(key, VIEW)) ?? undefined;
  }

  async put(key: Uint8Array, value: Uint8Array): Promise<void> {
    this.assertOpen();
    await this.db.put(key, value, SYNC);
  }

  async delete(key: Uint8Array): Promise<void> {
    this.assertOpen();
    await this.db.del(key, SYNC);
  }

  async batch(ops: KvBatchOp[]): Promise<void> {
    this.assertOpen();
    if (ops.length === 0) return;
    await this.db.batch(ops, SYNC);
  }

  async *entries(range: KvRange): AsyncIterable<[Uint8Array, Uint8Array]> {
    this.assertOpen();
    const options: Record<string, unknown> = { ...VIEW, reverse: range.reverse ?? false, limit: range.limit ?? -1 };
    if (range.gte) options.gte = range.gte;
    if (range.lt) options.lt = range.lt;
    for await (const [key, value] of this.db.iterator(options)) yield [key, value];
  }

  async close(): Promise<void> {
    if (this.db.status === "open" || this.db.status === "opening") await this.db.close();
  }

  private assertOpen(): void {
    if (this.db.status !== "open") throw new DbError("DbClosed", `database is ${this.db.status}`);
  }
}
