/**
 * The provider agent's state, one JSON file in its data dir (docs/agent.md "State"): where the lease scan stopped,
 * the provider's offer versions, and per lease its workload slot (port), the SHA-256 of its credential, the sealed
 * access it sends (or sent) on-chain and its phase. Written atomically — a temp file, fsync, rename, fsync of the
 * directory — before every step that acts on the world (starting a workload, sending `markLeaseReady`), so an agent
 * killed at any point restarts from a state that is at most one step behind the chain, never ahead of it.
 *
 * The credential itself is never stored: the renter reads it from the sealed access on-chain, and the workload is
 * given its hash. The data dir is created 0700 and the file 0600.
 */
import { mkdir, open, readFile, rename, chmod } from "node:fs/promises";
import { join } from "node:path";
import { CodedError } from "../protocol/errors.js";

export const STATE_FILE = "agent-state.json";
export const STATE_VERSION = 1;

/**
 * A lease's phase on this agent: `found` — seen in the logs, nothing done yet (recorded with the scan cursor, so a
 * crash cannot skip it); `sealed` — workload slot and sealed access fixed, `markLeaseReady` not yet seen
 * on-chain (sent or about to be); `ready` — the chain has the lease ready; `ended` — lease over, workload stopped.
 */
export type LeasePhase = "found" | "sealed" | "ready" | "ended";

export interface LeaseRecord {
  leaseId: string;
  renter: string;
  port: number;
  credentialSha256: string;
  /** Hex of the sealed access (encrypted to the renter; not a secret). */
  sealedAccess: string;
  gpuModel: string;
  gpuCount: number;
  endsAt: string;
  phase: LeasePhase;
  /** Block of the `AssignmentApplied` log the lease was found in (absent in records written before it was kept). */
  foundAt?: string;
  /** Block in which the lease was seen ready (LeaseReady), once known. */
  readyBlock?: string;
}

export interface AgentState {
  version: number;
  provider: string;
  marketplace: string;
  chainId: number;
  /** Last block whose logs were scanned (offers, assignments); the next scan starts after it. */
  scannedTo: string;
  /** Offer version id → { offerId, modelId } of this provider's offers. */
  versions: Record<string, { offerId: string; modelId: number }>;
  leases: Record<string, LeaseRecord>;
}

export type StateErrorCode = "AGENT_STATE_UNREADABLE" | "AGENT_STATE_FOREIGN";
export class StateError extends CodedError<StateErrorCode> {}

export function emptyState(provider: string, marketplace: string, chainId: number, scannedTo: bigint): AgentState {
  return { version: STATE_VERSION, provider, marketplace, chainId, scannedTo: scannedTo.toString(), versions: {}, leases: {} };
}

export class StateStore {
  private constructor(
    readonly dir: string,
    readonly file: string,
  ) {}

  /** Creates the data dir (0700) if needed. */
  static async open(dir: string): Promise<StateStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    return new StateStore(dir, join(dir, STATE_FILE));
  }

  /**
   * The stored state, or null when there is none. A state of another provider, marketplace or chain is refused
   * (a data dir reused for another deployment would otherwise start workloads for leases that do not exist).
   */
  async load(expect: { provider: string; marketplace: string; chainId: number }): Promise<AgentState | null> {
    let text: string;
    try {
      text = await readFile(this.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw new StateError("AGENT_STATE_UNREADABLE", `cannot read ${this.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    let s: AgentState;
    try {
      s = JSON.parse(text) as AgentState;
    } catch {
      throw new StateError("AGENT_STATE_UNREADABLE", `${this.file} is not JSON (it is only ever replaced whole, so something else wrote it)`);
    }
    if (s.version !== STATE_VERSION || typeof s.leases !== "object" || typeof s.versions !== "object") {
      throw new StateError("AGENT_STATE_UNREADABLE", `${this.file}: unknown state version ${String(s.version)}`);
    }
    if (s.provider.toLowerCase() !== expect.provider.toLowerCase() || s.marketplace.toLowerCase() !== expect.marketplace.toLowerCase() || s.chainId !== expect.chainId) {
      throw new StateError(
        "AGENT_STATE_FOREIGN",
        `${this.file} belongs to provider ${s.provider} on marketplace ${s.marketplace} (chain ${s.chainId}), not to ${expect.provider} on ${expect.marketplace} (chain ${expect.chainId}); use another dataDir`,
      );
    }
    return s;
  }

  /**
   * Writes `state` as it is when the write starts. Saves are serialised: the reconcile and the background receipt
   * watchers (agent/agent.ts) both save, and two writers must never share the temp file or reorder renames.
   */
  save(state: AgentState): Promise<void> {
    const next = this.queue.then(() => this.write(state));
    this.queue = next.catch(() => {});
    return next;
  }

  private queue: Promise<void> = Promise.resolve();

  private async write(state: AgentState): Promise<void> {
    const temp = `${this.file}.${process.pid}.tmp`;
    const fh = await open(temp, "w", 0o600);
    try {
      await fh.writeFile(JSON.stringify(state, null, 1) + "\n");
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temp, this.file);
    const dh = await open(this.dir, "r");
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }
}
