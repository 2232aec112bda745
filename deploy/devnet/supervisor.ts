/**
 * Child-process supervision for the devnet: every child is spawned by pid with its output in a log file, and
 * `stopAll()` (the devnet's stop on SIGINT/SIGTERM, protocol/lifecycle.ts) stops each one by its own pid — never
 * through an `npx` wrapper, which would orphan the real process — escalating from SIGTERM to SIGKILL, so no process
 * is left behind.
 *
 * Each child leads its own process group (and session): a terminal's Ctrl-C reaches the devnet alone, which stops
 * the children in order (clients before the chain they talk to), and a stop signals the child's whole group, so
 * anything the child started goes with it. A child must not outlive a devnet killed with SIGKILL (which no handler
 * sees): the operator and aggregator watch their parent pid (protocol/lifecycle.ts), and other Node children — the
 * hardhat node — are started with `exit-with-parent.mjs` preloaded, which does the same; anvil, a native binary, runs
 * under `run-with-parent.mjs`, a Node wrapper that does it for it.
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
        detached: true,
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
    killGroup(child.pid, signal);
    const timer = setTimeout(() => killGroup(child.pid, "SIGKILL"), STOP_GRACE_MS);
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
}

/** Signals a child's process group (it leads one: `detached`), or the child alone if the group is gone. */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}
