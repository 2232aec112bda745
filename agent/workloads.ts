/**
 * The provider agent's workloads: one child process per lease (agent/workload.ts), started with a pipe on its stdin
 * that only the agent holds, so that the workload ends when the agent does — by a clean stop, or by a kill, when the
 * kernel closes the pipe. Ports come from the configured range; a port another process holds is skipped.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { CodedError } from "../protocol/errors.js";
import type { Logger } from "../protocol/log/logger.js";

/** The workload's source: Node ≥ 22.18 runs it directly (types stripped; it uses no TypeScript-only syntax). */
export const WORKLOAD_ENTRY = fileURLToPath(new URL(import.meta.url.endsWith(".ts") ? "./workload.ts" : "./workload.js", import.meta.url));
/** How long a workload may take to print its ready line (a loaded 2-core machine starts node in ≈ 0.1–1 s). */
const READY_TIMEOUT_MS = 15_000;
/** SIGTERM, then SIGKILL after this long. */
const STOP_GRACE_MS = 3_000;

export type WorkloadErrorCode = "AGENT_WORKLOAD_START_FAILED" | "AGENT_WORKLOAD_PORT_TAKEN" | "AGENT_NO_FREE_PORT";
export class WorkloadError extends CodedError<WorkloadErrorCode> {}

export interface WorkloadSpec {
  leaseId: bigint;
  port: number;
  credentialSha256: string;
  gpuModel: string;
  gpuCount: number;
}

interface Running {
  child: ChildProcess;
  port: number;
  exited: Promise<void>;
}

/** Whether `port` on `host` can be bound now. */
export function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

type WorkloadReadiness = { ok: true } | { ok: false; why: string; code?: string };

interface Spawned {
  child: ChildProcess;
  exited: Promise<void>;
  gone: boolean;
  /** Resolves with the first ready / listen-failed line, an exit, or a timeout. */
  ready(timeoutMs: number): Promise<WorkloadReadiness>;
}

function spawnWorkload(args: string[]): Spawned {
  const child = spawn(process.execPath, ["--no-warnings", WORKLOAD_ENTRY, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2_000)));
  // A write to a workload that just died must not take the agent down with EPIPE.
  child.stdin!.on("error", () => {});
  let outcome: WorkloadReadiness | null = null;
  let waiter: ((r: WorkloadReadiness) => void) | null = null;
  const settle = (r: WorkloadReadiness) => {
    if (outcome !== null) return;
    outcome = r;
    waiter?.(r);
  };
  let buf = "";
  child.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        const msg = JSON.parse(line) as { msg?: string; code?: string };
        if (msg.msg === "ready") settle({ ok: true });
        else if (msg.msg === "listen failed") settle({ ok: false, why: `cannot listen (${msg.code})`, ...(msg.code !== undefined ? { code: msg.code } : {}) });
      } catch {
        // not a JSON line
      }
    }
  });
  const s: Spawned = {
    child,
    gone: false,
    exited: new Promise<void>((resolve) => child.once("exit", () => resolve())),
    ready: (timeoutMs) =>
      new Promise<WorkloadReadiness>((resolve) => {
        if (outcome !== null) return resolve(outcome);
        const timer = setTimeout(() => settle({ ok: false, why: `no ready line within ${timeoutMs / 1000} s` }), timeoutMs);
        waiter = (r) => {
          clearTimeout(timer);
          resolve(r);
        };
      }),
  };
  child.once("exit", (code, signal) => {
    s.gone = true;
    settle({ ok: false, why: `exited (${code ?? signal}) before it was ready: ${stderr.trim().split("\n").slice(-3).join(" | ")}` });
  });
  child.once("error", (err) => settle({ ok: false, why: err.message }));
  return s;
}

export class Workloads {
  private readonly running = new Map<string, Running>();
  /** Workload processes started ahead of need, each waiting for a lease on its stdin. */
  private spares: Spawned[] = [];
  private closed = false;

  /**
   * `spares`: how many idle workload processes are kept started (default 1). A lease's workload then listens within
   * milliseconds instead of after a Node start-up (≈ 0.1–1 s on a loaded 2-core machine); the pool is refilled after
   * each start, so a block bringing up to `spares` new leases starts all of them at once.
   */
  constructor(
    private readonly opts: { host: string; portRange: readonly [number, number]; spares?: number },
    private readonly logger: Logger,
  ) {}

  isRunning(leaseId: bigint): boolean {
    return this.running.has(leaseId.toString());
  }

  pid(leaseId: bigint): number | undefined {
    return this.running.get(leaseId.toString())?.child.pid;
  }

  /** The first spare's pid, if one is up. */
  sparePid(): number | undefined {
    return this.spares.find((s) => !s.gone)?.child.pid;
  }

  /** The pids of the spares that are up. */
  sparePids(): number[] {
    return this.spares.filter((s) => !s.gone).map((s) => s.child.pid!);
  }

  get count(): number {
    return this.running.size;
  }

  /** The lowest port of the range that no lease in `taken` holds and that can be bound now. */
  async allocatePort(taken: ReadonlySet<number>): Promise<number> {
    const [from, to] = this.opts.portRange;
    for (let p = from; p <= to; p++) {
      if (taken.has(p)) continue;
      if (await portIsFree(this.opts.host, p)) return p;
    }
    throw new WorkloadError("AGENT_NO_FREE_PORT", `no free workload port in ${from}‥${to} on ${this.opts.host} (${taken.size} held by leases)`);
  }

  /** Tops the pool of spare workload processes up to its size (each waits for a lease on stdin). */
  warm(): void {
    this.spares = this.spares.filter((s) => !s.gone);
    while (!this.closed && this.spares.length < (this.opts.spares ?? 1)) this.spares.push(spawnWorkload(["--spare"]));
  }

  /** Starts the lease's workload (in the spare when one is up) and resolves with its pid once it listens. */
  async start(spec: WorkloadSpec): Promise<number> {
    const key = spec.leaseId.toString();
    const existing = this.running.get(key);
    if (existing !== undefined) return existing.child.pid!;
    const argv = [
      "--lease", key,
      "--host", this.opts.host,
      "--port", String(spec.port),
      "--credential-sha256", spec.credentialSha256,
      "--gpu-model", spec.gpuModel,
      "--gpu-count", String(spec.gpuCount),
    ];
    let proc: Spawned | undefined;
    while (proc === undefined && this.spares.length > 0) {
      const s = this.spares.shift()!;
      if (!s.gone) proc = s;
    }
    proc ??= spawnWorkload(["--spare"]);
    proc.child.stdin!.write(JSON.stringify(argv) + "\n");
    this.warm();
    const ready = await proc.ready(READY_TIMEOUT_MS);
    if (!ready.ok) {
      proc.child.kill("SIGKILL");
      await proc.exited;
      if (ready.code === "EADDRINUSE") throw new WorkloadError("AGENT_WORKLOAD_PORT_TAKEN", `workload of lease ${key}: ${ready.why}`);
      throw new WorkloadError("AGENT_WORKLOAD_START_FAILED", `workload of lease ${key}: ${ready.why}`);
    }
    const entry: Running = { child: proc.child, port: spec.port, exited: proc.exited };
    this.running.set(key, entry);
    void proc.exited.then(() => {
      if (this.running.get(key) === entry) {
        this.running.delete(key);
        this.logger.warn({ event: "agent_workload_exited", leaseId: key, port: spec.port }, "workload exited on its own; it is started again at the next block");
      }
    });
    return proc.child.pid!;
  }

  /** Stops the lease's workload (SIGTERM, SIGKILL after a grace period); resolves once it is gone. */
  async stop(leaseId: bigint): Promise<boolean> {
    const key = leaseId.toString();
    const r = this.running.get(key);
    if (r === undefined) return false;
    this.running.delete(key);
    r.child.kill("SIGTERM");
    const timer = setTimeout(() => r.child.kill("SIGKILL"), STOP_GRACE_MS);
    await r.exited;
    clearTimeout(timer);
    return true;
  }

  /** Stops every workload and the spare; starts no new spare afterwards. */
  async stopAll(): Promise<void> {
    this.closed = true;
    const spares = this.spares;
    this.spares = [];
    for (const s of spares) s.child.kill("SIGTERM");
    await Promise.all(spares.map((s) => s.exited));
    await Promise.all([...this.running.keys()].map((k) => this.stop(BigInt(k))));
  }
}
