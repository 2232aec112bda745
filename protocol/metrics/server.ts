/**
 * The Prometheus scrape endpoint: GET /metrics on its own port (the node API has another), so the metrics port
 * can be exposed to a monitoring network without exposing the API.
 *
 * A scrape must stay cheap whoever sends it (docs/operator.md, "Hostile peers"): a collection runs the registry's
 * collect callbacks (process stats, gauges read from the node), so one collection is shared by every request in
 * flight and its text reused for `cacheMs`; a socket may send at most `maxRequestsPerSocket` requests (pipelined
 * ones beyond that get a 503 and the socket is closed); headers, whole requests and idle keep-alive sockets have
 * deadlines, and at most `maxConnections` sockets are open at once. Every refusal is counted in
 * `matchnet_http_refusals_total` by reason.
 */
import { createServer, type Server } from "node:http";
import type { Counter, Registry } from "prom-client";
import { metricsOn } from "./define.js";
import type { Logger } from "../log/logger.js";
import { listen, type ListeningServer } from "../http.js";

export interface MetricsServerOpts {
  host: string;
  /** 0 picks a free port (tests); the bound port is returned. */
  port: number;
  /** How long a collection's text is served again. Prometheus scrapes every 15 s or more: 1 s changes nothing for it. */
  cacheMs?: number;
  /** Requests one socket may send (keep-alive or pipelined); a scraper sends one per interval. */
  maxRequestsPerSocket?: number;
  /** Sockets open at once; a scraper or two and a person with curl need a few. */
  maxConnections?: number;
  /** Deadline for a request's headers, and for the whole request. */
  headersTimeoutMs?: number;
  /** A keep-alive socket with no request for this long is closed. */
  idleTimeoutMs?: number;
  /** The config field named when the port cannot be bound (default `metrics.port`). */
  field?: string;
}

export const defaultMetricsServerLimits = {
  cacheMs: 1_000,
  maxRequestsPerSocket: 100,
  maxConnections: 32,
  headersTimeoutMs: 5_000,
  idleTimeoutMs: 10_000,
} as const;

export type MetricsServer = ListeningServer;

const REFUSALS = "matchnet_http_refusals_total";

/** The refusal counter on `register` (one per registry, whichever server of the process made it first). */
function refusalCounter(register: Registry): Counter<"server" | "reason"> {
  const existing = register.getSingleMetric(REFUSALS);
  if (existing) return existing as Counter<"server" | "reason">;
  return metricsOn(register).counter(REFUSALS, "HTTP requests or sockets refused by a node's server, by server and reason (per_socket_limit, connections, timeout, bad_request)", ["server", "reason"]);
}

/** Shares one collection among concurrent callers and reuses its text for `cacheMs`. */
export class CachedCollection {
  #inflight: Promise<string> | null = null;
  #cached: { at: number; text: string } | null = null;

  constructor(
    private readonly collect: () => Promise<string>,
    private readonly cacheMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(): Promise<string> {
    if (this.#cached !== null && this.now() - this.#cached.at < this.cacheMs) return Promise.resolve(this.#cached.text);
    if (this.#inflight !== null) return this.#inflight;
    const started = this.now();
    this.#inflight = this.collect()
      .then((text) => {
        this.#cached = { at: started, text };
        return text;
      })
      .finally(() => (this.#inflight = null));
    return this.#inflight;
  }
}

export async function startMetricsServer(opts: MetricsServerOpts, modules: { register: Registry; logger: Logger }): Promise<MetricsServer> {
  const limits = { ...defaultMetricsServerLimits, ...definedOnly(opts) };
  const refusals = refusalCounter(modules.register);
  const refuse = (reason: string) => refusals.inc({ server: "metrics", reason });
  const collection = new CachedCollection(() => modules.register.metrics(), limits.cacheMs);
  const server: Server = createServer(
    { requestTimeout: limits.headersTimeoutMs * 2, headersTimeout: limits.headersTimeoutMs, keepAliveTimeout: limits.idleTimeoutMs },
    (req, res) => {
      if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
        return;
      }
      collection
        .get()
        .then((body) => res.writeHead(200, { "content-type": modules.register.contentType }).end(body))
        .catch((err: unknown) => {
          modules.logger.error({ err }, "collecting metrics failed");
          res.writeHead(500, { "content-type": "text/plain" }).end("metrics collection failed\n");
        });
    },
  );
  server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
  server.maxConnections = limits.maxConnections;
  // node answers requests past the per-socket limit with 503 itself, and drops sockets past maxConnections.
  server.on("dropRequest", () => refuse("per_socket_limit"));
  server.on("drop", () => refuse("connections"));
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    refuse(err.code === "ERR_HTTP_REQUEST_TIMEOUT" || err.code === "ERR_HTTP_HEADERS_TIMEOUT" ? "timeout" : "bad_request");
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
    else socket.destroy();
  });
  // An idle socket (no request, or a client that stopped reading) is closed after idleTimeoutMs.
  server.setTimeout(limits.idleTimeoutMs, (socket) => {
    refuse("timeout");
    socket.destroy();
  });
  return listen(server, { host: opts.host, port: opts.port }, modules.logger, "metrics server", opts.field ?? "metrics.port");
}

function definedOnly(opts: MetricsServerOpts): Partial<typeof defaultMetricsServerLimits> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(defaultMetricsServerLimits) as (keyof typeof defaultMetricsServerLimits)[]) {
    const v = opts[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}
