/**
 * One repository per stored data type (Lodestar's pattern): it owns a bucket, turns its ids into keys and its
 * values into bytes, and confines every scan to its bucket.
 */
import type { Bucket } from "./buckets.js";
import type { KvBatchOp, KvController } from "./controller.js";
import { concatBytes } from "./keys.js";

export interface RepositoryRange<I> {
  gte?: I;
  lt?: I;
  reverse?: boolean;
  limit?: number;
}

export abstract class Repository<I, T> {
  protected constructor(
    protected readonly db: KvController,
    readonly bucket: Bucket,
  ) {}

  protected abstract encodeId(id: I): Uint8Array;
  protected abstract decodeId(key: Uint8Array): I;
  protected abstract encodeValue(value: T): Uint8Array;
  protected abstract decodeValue(bytes: Uint8Array): T;

  async get(id: I): Promise<T | undefined> {
    const bytes = await this.db.get(this.key(id));
    return bytes === undefined ? undefined : this.decodeValue(bytes);
  }

  async has(id: I): Promise<boolean> {
    return (await this.db.get(this.key(id))) !== undefined;
  }

  async put(id: I, value: T): Promise<void> {
    await this.db.put(this.key(id), this.encodeValue(value));
  }

  async delete(id: I): Promise<void> {
    await this.db.delete(this.key(id));
  }

  /** Writes all entries atomically. */
  async batchPut(items: { id: I; value: T }[]): Promise<void> {
    await this.db.batch(items.map(({ id, value }) => this.putOp(id, value)));
  }

  async batchDelete(ids: I[]): Promise<void> {
    await this.db.batch(ids.map((id) => this.delOp(id)));
  }

  /** The raw key of `id` (bucket prefix included). */
  keyOf(id: I): Uint8Array {
    return this.key(id);
  }

  /** The write of `value` under `id`, for one atomic batch across repositories. */
  putOp(id: I, value: T): KvBatchOp {
    return { type: "put", key: this.key(id), value: this.encodeValue(value) };
  }

  /** The deletion of `id`, for one atomic batch across repositories. */
  delOp(id: I): KvBatchOp {
    return { type: "del", key: this.key(id) };
  }

  /** Entries of this bucket in key order, optionally within [gte, lt). */
  async *entries(range: RepositoryRange<I> = {}): AsyncIterable<{ id: I; value: T }> {
    const gte = range.gte !== undefined ? this.key(range.gte) : Uint8Array.of(this.bucket);
    const lt = range.lt !== undefined ? this.key(range.lt) : this.bucketEnd();
    for await (const [key, value] of this.db.entries({ gte, lt, reverse: range.reverse, limit: range.limit })) {
      yield { id: this.decodeId(key.subarray(1)), value: this.decodeValue(value) };
    }
  }

  async values(range: RepositoryRange<I> = {}): Promise<T[]> {
    const out: T[] = [];
    for await (const { value } of this.entries(range)) out.push(value);
    return out;
  }

  protected key(id: I): Uint8Array {
    return concatBytes(Uint8Array.of(this.bucket), this.encodeId(id));
  }

  /** The first key past this bucket: the next bucket's prefix; bucket 255 has none, so a key above any of ours. */
  private bucketEnd(): Uint8Array {
    return this.bucket < 255 ? Uint8Array.of(this.bucket + 1) : new Uint8Array(1024).fill(0xff);
  }
}
