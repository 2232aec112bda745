/**
 * Operator and aggregator processes. Each is started as `node [flags] .cache/js/<kind>/main.js --config <file>`
 * (the sources transpiled by deploy/compile-js.ts: less memory and a faster start than tsx), directly by node so
 * that the pid the supervisor holds is the real process, with its pino JSON log in a file. The devnet waits for the process's
 * `{"msg":"ready"}` line (the process contract), bounded in time, and reports an early exit with the log's tail.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { NODE_FLAGS } from "../compile-js.js";
import type { SupervisedChild, Supervisor } from "./supervisor.js";

export type ProcessKind = "operator" | "aggregator";

export function entryFile(root: string, kind: ProcessKind): string {
  return join(root, kind, "main.ts");
}

export function entryExists(root: string, kind: ProcessKind): boolean {
  return existsSync(entryFile(root, kind));
}

export function spawnNode(
  supervisor: Supervisor,
  opts: {
    root: string;
    kind: ProcessKind;
    entry: string;
    name: string;
    configFile: string;
    logFile: string;
    env?: NodeJS.ProcessEnv;
    /** Extra node flags before the entry (a test entry in TypeScript: `--import tsx`) and arguments after it. */
    nodeArgs?: string[];
    args?: string[];
  },
): SupervisedChild {
  return supervisor.spawn({
    name: opts.name,
    command: process.execPath,
    args: [...NODE_FLAGS[opts.kind], ...(opts.nodeArgs ?? []), opts.entry, ...(opts.args ?? []), "--config", opts.configFile],
    cwd: opts.root,
    logFile: opts.logFile,
    env: { NODE_COMPILE_CACHE: compileCacheDir(opts.root), ...process.env, ...(opts.env ?? {}) },
  });
}

/**
 * V8's code cache for the processes' modules (Node's NODE_COMPILE_CACHE): each start loads ≈ 1 250 modules, and
 * reading their compiled code back instead of compiling it again took the import of an operator's modules from
 * ≈ 1.5 to ≈ 1.25 s of CPU (measured on the 2-core machine), which 32 operators starting on 2 cores pay 32 times.
 * Node checks each entry against its source, so an edited file is compiled afresh.
 */
export function compileCacheDir(root: string): string {
  return join(root, ".cache", "node-compile");
}

/** The parsed log lines of a pino JSON log file (other lines are skipped). */
export async function readLogLines(file: string): Promise<Record<string, unknown>[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return [];
  }
  const out: Record<string, unknown>[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line being written
    }
  }
  return out;
}

async function tail(file: string, lines = 15): Promise<string> {
  try {
    return (await readFile(file, "utf8")).trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/**
 * Resolves with the `ready` line once it appears after `fromLine` lines (a restarted process appends to its log),
 * rejects if the process exits first or nothing comes within `timeoutMs`.
 */
export async function waitForReady(child: SupervisedChild, opts: { timeoutMs: number; fromLine?: number }): Promise<Record<string, unknown>> {
  let exit: number | string | undefined;
  void child.exited.then((code) => (exit = code));
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const lines = await readLogLines(child.logFile);
    const ready = lines.slice(opts.fromLine ?? 0).find((l) => l.msg === "ready");
    if (ready !== undefined) return ready;
    if (exit !== undefined) {
      throw new Error(`devnet: ${child.name} exited (${exit}) before it was ready; last lines of ${child.logFile}:\n${await tail(child.logFile)}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`devnet: ${child.name} logged no "ready" line within ${Math.round(opts.timeoutMs / 1000)} s; see ${child.logFile}:\n${await tail(child.logFile)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Peak resident memory of a live process (VmHWM in /proc/<pid>/status), in MB; null when unreadable. */
export async function peakRssMb(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}
