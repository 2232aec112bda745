/**
 * Crashed children of the devnet come back: an operator or aggregator process that exits without being asked to
 * (a crash, an OOM kill, a SIGKILL from outside) is started again on the same data dir after a back-off that doubles
 * with each crash in a row (1, 2, 4, 8, 16 s by default). A crash loop — `tries` restarts in a row, none of which
 * stayed up for `stableMs` — stops the restarts with a message that names the process, its last exit and its log.
 * Every step is said in the live view and kept in `events`.
 *
 * A restarted operator reopens its own LevelDB, and with it its slashing protection: it re-serves a signature it
 * stored before the crash and refuses to sign different data for the same batch (docs/operator.md).
 */
import { readFile } from "node:fs/promises";
import type { SupervisedChild } from "./supervisor.js";

export interface RestartPolicy {
  /** Crashes in a row after which the process is left down. */
  tries: number;
  /** Wait before the first restart; doubles with each crash in a row. */
  backoffMs: number;
  /** A process that ran this long since its last start has recovered: its next crash starts a new count. */
  stableMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { tries: 5, backoffMs: 1_000, stableMs: 60_000 };

export type RestartEventKind = "crashed" | "retry" | "restarted" | "restart failed" | "gave up";

export interface RestartEvent {
  name: string;
  kind: RestartEventKind;
  /** The exit code or signal of the crash, or the start failure's message. */
  exit: number | string;
  /** Crash count in the current streak. */
  attempt: number;
  at: number;
  line: string;
}

export class Restarter {
  readonly events: RestartEvent[] = [];
  private readonly streaks = new Map<string, { count: number; lastStart: number }>();
  private closed = false;

  constructor(
    readonly policy: RestartPolicy,
    private readonly say: (line: string) => void,
  ) {
    if (!Number.isInteger(policy.tries) || policy.tries < 1) throw new Error(`devnet: restart tries must be an integer ≥ 1, got ${policy.tries}`);
    if (!(policy.backoffMs >= 0)) throw new Error(`devnet: restart back-off must be ≥ 0 ms, got ${policy.backoffMs}`);
  }

  /** No restart after this (the devnet is stopping). */
  close(): void {
    this.closed = true;
  }

  /** A process was started (or restarted): its stable run is counted from now. */
  started(name: string): void {
    const s = this.streaks.get(name);
    if (s === undefined) this.streaks.set(name, { count: 0, lastStart: Date.now() });
    else s.lastStart = Date.now();
  }

  /**
   * `child` exited unasked with `exit`: restarts it with `start` (which starts, waits for ready and watches the new
   * process) after the back-off, and again when that start fails, until the streak reaches `tries`.
   */
  async recover(child: SupervisedChild, exit: number | string, start: () => Promise<unknown>): Promise<void> {
    const name = child.name;
    const s = this.streaks.get(name) ?? { count: 0, lastStart: 0 };
    this.streaks.set(name, s);
    if (Date.now() - s.lastStart >= this.policy.stableMs) s.count = 0;
    let last: number | string = exit;
    for (;;) {
      if (this.closed) return;
      if (s.count >= this.policy.tries) {
        this.record(name, "gave up", last, s.count, `${name} is in a crash loop: ${s.count} restart(s) in a row did not stay up (last: ${describe(last)}); not restarting it again — its log ${child.logFile} ends with:\n${await tail(child.logFile)}`);
        return;
      }
      s.count++;
      const delay = this.policy.backoffMs * 2 ** (s.count - 1);
      const when = `in ${(delay / 1000).toFixed(1)} s (try ${s.count} of ${this.policy.tries})`;
      if (last === exit) this.record(name, "crashed", last, s.count, `${name} exited unasked (${describe(last)}); restarting it ${when}`);
      else this.record(name, "retry", last, s.count, `restarting ${name} again ${when}`);
      await new Promise((r) => setTimeout(r, delay));
      if (this.closed) return;
      try {
        await start();
        this.record(name, "restarted", last, s.count, `${name} restarted after ${describe(last)} (try ${s.count} of ${this.policy.tries})`);
        return;
      } catch (err) {
        last = (err as Error).message.split("\n")[0] ?? String(err);
        if (this.closed) return;
        this.record(name, "restart failed", last, s.count, `${name} did not come back: ${last}`);
      }
    }
  }

  private record(name: string, kind: RestartEventKind, exit: number | string, attempt: number, line: string): void {
    this.events.push({ name, kind, exit, attempt, at: Date.now(), line });
    this.say(`  ${kind === "gave up" ? "✗" : "↻"} ${line}`);
  }
}

function describe(exit: number | string): string {
  return typeof exit === "number" ? `exit code ${exit}` : /^SIG[A-Z0-9]+$/.test(exit) ? `killed by ${exit}` : exit;
}

async function tail(file: string, lines = 8): Promise<string> {
  try {
    return (await readFile(file, "utf8")).trimEnd().split("\n").slice(-lines).map((l) => `    ${l.slice(0, 300)}`).join("\n");
  } catch {
    return "    (no log)";
  }
}
