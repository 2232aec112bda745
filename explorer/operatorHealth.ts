/**
 * Each operator's node API health, for the operators page: the explorer polls `GET <url>/eigen/node/health`
 * (EigenLayer's AVS node API, operator/api.ts: 200 healthy, 206 partially healthy, 503 unhealthy) of every node API
 * it was told about, in the background, and the API answers from the last result. A page never waits for a node: a
 * slow or hostile node API costs at most one timed-out request per poll, and its answer is read up to a small size.
 *
 * Where the URLs come from: the OperatorRegistry records each operator's libp2p socket, not its node API, so the
 * explorer is told (`--operator-api <operator id or address>=<url>`; the devnet passes its operators' own).
 */

export type NodeHealthStatus = "healthy" | "partially healthy" | "unhealthy" | "unreachable" | "not checked yet";

export interface NodeHealth {
  url: string;
  status: NodeHealthStatus;
  /** The HTTP status of the last answer; null when there was none. */
  httpStatus: number | null;
  /** The node's own reasons (operator/api.ts), or why it could not be reached. */
  reasons: string[];
  /** When the last check finished (ms since the epoch); null before the first. */
  checkedAt: number | null;
}

export interface OperatorApiTarget {
  /** Lower-case operator id (0x + 64 hex) or operator address (0x + 40 hex). */
  operator: string;
  url: string;
}

/** Parses `<operator id or address>=<http(s) URL>` (the `--operator-api` flag). */
export function parseOperatorApi(value: string): OperatorApiTarget {
  const eq = value.indexOf("=");
  const operator = (eq < 0 ? "" : value.slice(0, eq)).trim().toLowerCase();
  const url = eq < 0 ? "" : value.slice(eq + 1).trim();
  if (!/^0x([0-9a-f]{40}|[0-9a-f]{64})$/.test(operator)) {
    throw new Error(`--operator-api takes <operator id or address>=<url>, with a 0x-prefixed 32-byte id or 20-byte address; got ${JSON.stringify(value)}`);
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--operator-api: ${JSON.stringify(url)} is not a URL`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error(`--operator-api: the node API URL must be http(s), not ${u.protocol}//`);
  return { operator, url: url.replace(/\/+$/, "") };
}

export interface OperatorHealthOpts {
  /** Time between two checks of one node. */
  intervalMs?: number;
  /** How long one check may take before the node counts as unreachable. */
  timeoutMs?: number;
}

/** The most of an answer read (the reasons of a healthy node fit in a few hundred bytes). */
const MAX_BODY_BYTES = 4_096;
/** The most reasons kept, and their length: a node's text goes into the page. */
const MAX_REASONS = 8;
const MAX_REASON_CHARS = 200;

const STATUS_OF: Record<number, NodeHealthStatus> = { 200: "healthy", 206: "partially healthy", 503: "unhealthy" };

export class OperatorHealthMonitor {
  private readonly health = new Map<string, NodeHealth>();
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private timer: NodeJS.Timeout | null = null;
  private round: Promise<void> = Promise.resolve();
  private readonly aborts = new Set<AbortController>();
  private stopped = false;

  constructor(
    targets: readonly OperatorApiTarget[],
    opts: OperatorHealthOpts = {},
  ) {
    for (const t of targets) this.health.set(t.operator, { url: t.url, status: "not checked yet", httpStatus: null, reasons: [], checkedAt: null });
    // Every 15 s: the node's own health changes on the scale of blocks and batches, not of page loads.
    this.intervalMs = opts.intervalMs ?? 15_000;
    // The node answers from memory and one eth_blockNumber with its own 2 s timeout (operator/node.ts `health`).
    this.timeoutMs = opts.timeoutMs ?? 3_000;
  }

  get size(): number {
    return this.health.size;
  }

  /** The last known health of the operator with this id or address; null when no node API was given for it. */
  of(id: string | null, address: string | null): NodeHealth | null {
    const h = (id === null ? undefined : this.health.get(id.toLowerCase())) ?? (address === null ? undefined : this.health.get(address.toLowerCase()));
    return h === undefined ? null : { ...h, reasons: [...h.reasons] };
  }

  /** Checks every node now, then every `intervalMs`. Does not wait for the first round. */
  start(): void {
    if (this.health.size === 0 || this.timer !== null || this.stopped) return;
    const tick = () => {
      this.round = this.checkAll().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
      });
    };
    tick();
  }

  /** One round of checks (all nodes at once); resolves when every node answered or timed out. */
  async checkAll(): Promise<void> {
    await Promise.all([...this.health.entries()].map(([key, h]) => this.check(key, h.url)));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const a of this.aborts) a.abort();
    await this.round;
  }

  private async check(key: string, url: string): Promise<void> {
    const ac = new AbortController();
    this.aborts.add(ac);
    const timer = setTimeout(() => ac.abort(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    let next: Omit<NodeHealth, "url" | "checkedAt">;
    try {
      // A redirect is an answer of its own (unhealthy), not a hop to another host the operator chose.
      const res = await fetch(`${url}/eigen/node/health`, { signal: ac.signal, redirect: "manual", headers: { accept: "application/json" } });
      const body = await readSome(res, MAX_BODY_BYTES);
      next = { status: STATUS_OF[res.status] ?? "unhealthy", httpStatus: res.status, reasons: reasonsOf(body, res.status) };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const why = ac.signal.aborted ? String((ac.signal.reason as Error | undefined)?.message ?? "aborted") : (e.cause?.code ?? e.cause?.message ?? e.message);
      next = { status: "unreachable", httpStatus: null, reasons: [why] };
    } finally {
      clearTimeout(timer);
      this.aborts.delete(ac);
    }
    if (this.stopped && next.status === "unreachable") return; // aborted by stop(): keep the last real result
    this.health.set(key, { url, ...next, checkedAt: Date.now() });
  }
}

/** Reads at most `max` bytes of the body and cancels the rest (a node could stream without end). */
async function readSome(res: Response, max: number): Promise<string> {
  if (res.body === null) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, max));
}

function reasonsOf(body: string, status: number): string[] {
  try {
    const parsed = JSON.parse(body) as { reasons?: unknown };
    if (Array.isArray(parsed.reasons)) {
      return parsed.reasons.filter((r): r is string => typeof r === "string").slice(0, MAX_REASONS).map((r) => r.slice(0, MAX_REASON_CHARS));
    }
  } catch {
    // not JSON (or cut at MAX_BODY_BYTES): the status code alone is the answer, as the node API spec defines it
  }
  return STATUS_OF[status] === undefined ? [`HTTP ${status}`] : [];
}
