/**
 * Child-process supervision for the devnet: every child is spawned by pid with its output in a log file, and
 * `stopAll()` (also wired to SIGINT/SIGTERM) stops each one by its own pid — never through an `npx` wrapper, which
 * would orphan the real process — escalating from SIGTERM to SIGKILL, so no process is left behind.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { openSync, closeSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";

export interface ChildSpec {
  name: string;
  command: string;
  args: readonly string[];
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export interface SupervisedChild {
  name: string;
  pid: number;
  logFile: string;
  process: ChildProcess;
  /** Resolves with the exit code (or the signal name) once the child has exited. */
  exited: Promise<number | string>;
}

const STOP_GRACE_MS = 3_000;

export class Supervisor {
  private readonly children = new Map<number, SupervisedChild>();
  private signalHandler: (() => void) | null = null;
  private closed = false;

  spawn(spec: ChildSpec): SupervisedChild {
    if (this.closed) throw new Error(`devnet: shutting down, ${spec.name} not started`);
    mkdirSync(dirname(spec.logFile), { recursive: true });
    const fd = openSync(spec.logFile, "a");
    let child: ChildProcess;
    try {
      child = spawn(spec.command, spec.args, {
        cwd: spec.cwd,
        env: spec.env ?? process.env,
        stdio: ["ignore", fd, fd],
      });
    } finally {
      closeSync(fd); // the child holds its own copy of the descriptor
    }
    if (child.pid === undefined) throw new Error(`devnet: could not start ${spec.name} (${spec.command})`);
    const pid = child.pid;
    const exited = new Promise<number | string>((resolve) => {
      child.once("exit", (code, signal) => {
        this.children.delete(pid);
        resolve(code ?? signal ?? "unknown");
      });
    });
    const supervised: SupervisedChild = { name: spec.name, pid, logFile: spec.logFile, process: child, exited };
    this.children.set(pid, supervised);
    return supervised;
  }

  get running(): readonly SupervisedChild[] {
    return [...this.children.values()];
  }

  async stop(child: SupervisedChild, signal: NodeJS.Signals = "SIGTERM"): Promise<number | string> {
    if (!this.children.has(child.pid)) return child.exited;
    try {
      process.kill(child.pid, signal);
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }, STOP_GRACE_MS);
    try {
      return await child.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops children in reverse start order (clients before the chain they talk to). */
  async stopAll(): Promise<void> {
    for (const child of [...this.children.values()].reverse()) await this.stop(child);
  }

  /** Stops every child and refuses to start new ones (a Ctrl-C during start-up must not leave a late child behind). */
  async shutdown(): Promise<void> {
    this.closed = true;
    await this.stopAll();
  }

  /** On Ctrl-C or SIGTERM: stop every child, then run `after` (which should exit the process). */
  stopOnSignals(after: (signal: NodeJS.Signals) => void): void {
    const handler = (signal: NodeJS.Signals) => {
      void this.stopAll().finally(() => after(signal));
    };
    const onInt = () => handler("SIGINT");
    const onTerm = () => handler("SIGTERM");
    process.once("SIGINT", onInt);
    process.once("SIGTERM", onTerm);
    this.signalHandler = () => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
    };
  }

  releaseSignals(): void {
    this.signalHandler?.();
    this.signalHandler = null;
  }
}
