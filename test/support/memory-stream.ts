import { Writable } from "node:stream";

/** A writable that keeps every line written to it (pino writes one JSON object per line). */
export class MemoryLines extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    for (const line of chunk.toString().split("\n")) if (line.length > 0) this.lines.push(line);
    done();
  }
  objects(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}
