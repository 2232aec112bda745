/**
 * Starting many node processes on a small machine. Two rules, so that readiness is never a race against a fixed
 * bound (32 operators on 2 cores each get 1/16 of a core while they load their modules and unlock their keystores):
 *
 * - A process is given up on only when it stops making progress: its log has not grown and its CPU time (utime +
 *   stime from /proc/<pid>/stat) has not advanced for `stallMs`. A process that is slow because the machine is busy
 *   keeps going; one that hangs (waiting on a dead RPC, a deadlock) is reported.
 * - Processes start a few at a time (`startInWaves`): each start is CPU-bound, so starting more at once than there are
 *   cores only makes every one of them slower to become ready, and the ones already running (polling the chain)
 *   slower too.
 */
import { readFile, stat } from "node:fs/promises";
import { readLogLines } from "./processes.js";
import type { SupervisedChild } from "./supervisor.js";

/** CPU time of a live process in clock ticks (utime + stime), or null when /proc cannot be read. */
export async function cpuTicks(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces and parentheses): the last ")" ends it.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of proc(5))
  } catch {
    return null;
  }
}

async function logSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

async function tail(file: string, lines = 15): Promise<string> {
  try {
    return (await readFile(file, "utf8")).trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

export interface ReadyProgress {
  /** Give up after this long without log output or CPU time. */
  stallMs: number;
  /** Log lines to skip (a restarted process appends to its log). */
  fromLine?: number;
  pollMs?: number;
}

/**
 * Resolves with the `{"msg":"ready"}` log line once it appears after `fromLine`; rejects if the process exits first
 * or makes no progress (log or CPU) for `stallMs`. Returns how long it took.
 */
export async function waitForReadyByProgress(child: SupervisedChild, opts: ReadyProgress): Promise<{ line: Record<string, unknown>; ms: number }> {
  const started = Date.now();
  let exit: number | string | undefined;
  void child.exited.then((code) => (exit = code));
  let lastSize = -1;
  let lastTicks: number | null = -1;
  let lastProgress = Date.now();
  for (;;) {
    const size = await logSize(child.logFile);
    if (size !== lastSize) {
      lastSize = size;
      lastProgress = Date.now();
      const ready = (await readLogLines(child.logFile)).slice(opts.fromLine ?? 0).find((l) => l.msg === "ready");
      if (ready !== undefined) return { line: ready, ms: Date.now() - started };
    }
    if (exit !== undefined) {
      throw new Error(`devnet: ${child.name} exited (${exit}) before it was ready; last lines of ${child.logFile}:\n${await tail(child.logFile)}`);
    }
    const ticks = await cpuTicks(child.pid);
    if (ticks !== null && ticks !== lastTicks) {
      lastTicks = ticks;
      lastProgress = Date.now();
    }
    if (Date.now() - lastProgress > opts.stallMs) {
      throw new Error(
        `devnet: ${child.name} made no progress (no log output, no CPU time) for ${Math.round(opts.stallMs / 1000)} s and logged no "ready" line ` +
          `(${Math.round((Date.now() - started) / 1000)} s after its start); see ${child.logFile}:\n${await tail(child.logFile)}`,
      );
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 200));
  }
}

/**
 * Runs `start(i)` for i in 0‥n−1 with at most `concurrency` in flight; the first failure stops new starts and is
 * rethrown once those in flight have settled.
 */
export async function startInWaves(n: number, concurrency: number, start: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  let failure: unknown = null;
  const lane = async () => {
    while (failure === null && next < n) {
      const i = next++;
      try {
        await start(i);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, n)) }, lane));
  if (failure !== null) throw failure;
}
