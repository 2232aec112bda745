/**
 * How every long-running matchnet process stops (operator, aggregator, explorer, devnet, provider agent): one
 * helper, so that they all behave the same whoever sends the signal — a terminal's Ctrl-C (SIGINT to the whole
 * foreground process group), `timeout` or a process manager (SIGTERM), a CI cancel, npm relaying either, or the
 * launcher dying (docs/operator.md, "Stopping").
 *
 * - SIGINT, SIGTERM and SIGHUP start one stop; the handlers stay installed, so a repeated signal (a second Ctrl-C, a
 *   wrapper relaying the terminal's signal once more) never falls back to Node's default of dying on the spot with
 *   children, a database or a temp dir left behind. A repeated signal only prints that the stop is under way.
 * - The parent is watched: SIGKILL cannot be trapped, so a process whose parent was killed that way (its parent pid
 *   changes when it is re-parented) stops itself the same way, and no child of a killed launcher runs on unseen.
 * - A stop that hangs is cut short after `forceExitMs` with exit code 1: a stuck stop must not keep a port forever.
 */

/** Why a process stops. */
export type StopReason = "SIGINT" | "SIGTERM" | "SIGHUP" | "parent-exited";

/** The signals every long-running process handles. */
export const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** The conventional exit code of a process stopped by `reason` (128 + the signal's number; parent gone as SIGHUP). */
export function signalExitCode(reason: StopReason): number {
  switch (reason) {
    case "SIGINT":
      return 130;
    case "SIGTERM":
      return 143;
    case "SIGHUP":
    case "parent-exited":
      return 129;
  }
}

/**
 * How often the parent pid is checked. Re-parenting is seen within this time; checking is one syscall, so a
 * half-second poll costs nothing and keeps a killed launcher's children from outliving it by more than that.
 */
export const PARENT_POLL_MS = 500;

/** A stop that has not finished after this long exits anyway (every stop step of the processes is bounded below it). */
export const FORCE_EXIT_MS = 30_000;

export interface StopOnSignalsOptions {
  /** Process name for the lines written to stderr ("operator", "devnet", …). */
  name: string;
  /** Stops everything the process owns; resolves with the exit code. */
  stop: (reason: StopReason) => Promise<number>;
  /** One line per event ("stopping on SIGTERM", "already stopping"); default: `<name>: <line>` on stderr. */
  say?: (line: string, reason: StopReason) => void;
  /** Watch the parent pid (default true; off when the parent is pid 1: nothing to outlive). */
  watchParent?: boolean;
  parentPollMs?: number;
  forceExitMs?: number;
  /** Called with the exit code once the stop is done; default process.exit. */
  exit?: (code: number) => void;
}

export interface StopHandle {
  /** True once a stop has started. */
  readonly stopping: boolean;
  /** Starts the stop now (as a signal would); resolves with the exit code. */
  trigger(reason: StopReason): Promise<number>;
  /** Removes the handlers and the parent watch (the process stops by itself). */
  release(): void;
}

/**
 * Installs the stop handlers of a long-running process. The stop runs once; `exit` is called with its code (1 if it
 * threw, or if it did not finish within `forceExitMs`).
 */
export function stopOnSignals(opts: StopOnSignalsOptions): StopHandle {
  const say = opts.say ?? ((line: string) => process.stderr.write(`${opts.name}: ${line}\n`));
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let stopping: Promise<number> | null = null;
  const initialParent = process.ppid;

  const trigger = (reason: StopReason): Promise<number> => {
    if (stopping !== null) {
      say(`${reason === "parent-exited" ? "parent exited" : reason} again: already stopping, waiting for the stop to finish`, reason);
      return stopping;
    }
    say(reason === "parent-exited" ? `parent process ${initialParent} exited: stopping` : `${reason}: stopping`, reason);
    const force = setTimeout(() => {
      say(`stop did not finish within ${Math.round((opts.forceExitMs ?? FORCE_EXIT_MS) / 1000)} s: exiting anyway`, reason);
      exit(1);
    }, opts.forceExitMs ?? FORCE_EXIT_MS);
    force.unref();
    stopping = opts.stop(reason).then(
      (code) => code,
      (err: unknown) => {
        say(`stop failed: ${err instanceof Error ? err.message : String(err)}`, reason);
        return 1;
      },
    );
    void stopping.then((code) => {
      clearTimeout(force);
      exit(code);
    });
    return stopping;
  };

  const handlers = STOP_SIGNALS.map((signal) => {
    const h = () => void trigger(signal);
    process.on(signal, h);
    return [signal, h] as const;
  });

  let watch: NodeJS.Timeout | null = null;
  if ((opts.watchParent ?? true) && initialParent > 1) {
    watch = setInterval(() => {
      if (process.ppid !== initialParent) {
        clearInterval(watch!);
        void trigger("parent-exited");
      }
    }, opts.parentPollMs ?? PARENT_POLL_MS);
    watch.unref();
  }

  return {
    get stopping() {
      return stopping !== null;
    },
    trigger,
    release() {
      for (const [signal, h] of handlers) process.off(signal, h);
      if (watch !== null) clearInterval(watch);
    },
  };
}

/**
 * Runs `boot` on a thing that can stop; when boot throws, stops the thing (whatever boot started so far) before the
 * error goes on, so a failed start leaves no port, timer, child or open database behind.
 */
export async function startedOrStopped<T extends { stop(): Promise<unknown> }>(thing: T, boot: (thing: T) => Promise<void>): Promise<T> {
  try {
    await boot(thing);
  } catch (err) {
    await thing.stop();
    throw err;
  }
  return thing;
}
