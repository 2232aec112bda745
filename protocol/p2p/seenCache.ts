/**
 * Per-batch memory of what validation has already let through, so repeats are ignored before any signature
 * work. Entries are grouped by batch and the oldest batches are dropped first: messages for batches that old
 * fail the freshness check anyway.
 */
export class SeenCache<T> {
  private readonly byBatch = new Map<bigint, Map<string, T>>();

  constructor(private readonly maxBatches: number) {}

  get(batch: bigint, key: string): T | undefined {
    return this.byBatch.get(batch)?.get(key);
  }

  set(batch: bigint, key: string, value: T): void {
    let entries = this.byBatch.get(batch);
    if (!entries) {
      entries = new Map();
      this.byBatch.set(batch, entries);
      this.evict();
    }
    entries.set(key, value);
  }

  get batchCount(): number {
    return this.byBatch.size;
  }

  private evict(): void {
    while (this.byBatch.size > this.maxBatches) {
      let oldest: bigint | undefined;
      for (const b of this.byBatch.keys()) if (oldest === undefined || b < oldest) oldest = b;
      this.byBatch.delete(oldest!);
    }
  }
}
