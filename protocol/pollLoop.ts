/**
 * The poll loop of the chain followers (protocol/chain/follower.ts, explorer/indexer.ts): steps run one at a time, in
 * the order they were asked for, and a running loop asks for the next one `intervalMs` after the previous one ended
 * (never on a fixed beat, so a slow RPC never stacks steps up). `stop` waits for the step in flight, so nothing writes
 * after it returns.
 */
export interface PollLoopOpts {
  /** Pause between the end of one step and the start of the next. */
  intervalMs: number;
  /** One step (a poll of the head and what it brings). */
  step: () => Promise<void>;
  /** A step of the running loop failed: log it, or `halt()` the loop when retrying cannot help. */
  failed: (err: unknown) => void;
}

export class PollLoop {
  private timer: NodeJS.Timeout | null = null;
  private active = false;
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly opts: PollLoopOpts) {}

  /** Whether the loop repeats its step (between `start` and `halt`/`stop`). */
  get running(): boolean {
    return this.active;
  }

  /** Runs one step after those already asked for; rejects with its error (the steps after it still run). */
  run(): Promise<void> {
    const step = this.tail.then(this.opts.step);
    this.tail = step.catch(() => {});
    return step;
  }

  /**
   * Repeats the step every `intervalMs` from now on; no-op while running. With `now`, the first step runs at once
   * and the loop repeats only after it succeeded (its error is thrown, the loop left halted) — and not at all when
   * `halt`/`stop` came while it ran.
   */
  async start(opts: { now?: boolean } = {}): Promise<void> {
    if (this.active) return;
    this.active = true;
    if (opts.now === true) {
      try {
        await this.run();
      } catch (err) {
        this.halt();
        throw err;
      }
    }
    this.schedule();
  }

  /** Asks for no further step; a step in flight finishes. */
  halt(): void {
    this.active = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Halts, then waits for the step in flight (and any asked for before). */
  async stop(): Promise<void> {
    this.halt();
    await this.tail;
  }

  private schedule(): void {
    if (!this.active) return;
    this.timer = setTimeout(() => {
      this.run()
        .catch(this.opts.failed)
        .finally(() => this.schedule());
    }, this.opts.intervalMs);
  }
}
