/**
 * The explorer's HTTP server: the JSON API (explorer/api.ts) under /api/, a server-sent-event stream that says
 * when a new block was indexed (/api/events), and the web page with its assets — every file served from this
 * repository or node_modules (uPlot), nothing from a CDN. `startExplorer` runs the indexer and the server together.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createPublicClient, http, type PublicClient } from "viem";
import { paymentTokenAbi, stakeTokenAbi } from "../protocol/chain/abi.js";
import { readDeployment, systemAddresses, type Deployment } from "../protocol/chain/deployment.js";
import { ExplorerApi, NotFoundError, type OpenOrderExplainer } from "./api.js";
import { openIndex } from "./db.js";
import { MatcherExplainer } from "./explain.js";
import { Indexer, type IndexerLogger } from "./indexer.js";
import { OperatorHealthMonitor, type OperatorApiTarget, type OperatorHealthOpts } from "./operatorHealth.js";

const WEB_DIR = join(dirname(fileURLToPath(import.meta.url)), "web");
const require = createRequire(import.meta.url);
const UPLOT_DIR = dirname(require.resolve("uplot/package.json"));

/** The files the page loads, by URL path: a fixed table, so no request can reach another file. */
const STATIC: Record<string, { file: string; type: string }> = {
  "/": { file: join(WEB_DIR, "index.html"), type: "text/html; charset=utf-8" },
  "/app.js": { file: join(WEB_DIR, "app.js"), type: "text/javascript; charset=utf-8" },
  "/app.css": { file: join(WEB_DIR, "app.css"), type: "text/css; charset=utf-8" },
  "/vendor/uplot.js": { file: join(UPLOT_DIR, "dist", "uPlot.iife.min.js"), type: "text/javascript; charset=utf-8" },
  "/vendor/uplot.css": { file: join(UPLOT_DIR, "dist", "uPlot.min.css"), type: "text/css; charset=utf-8" },
};

type ExplorerRoute = (api: ExplorerApi, m: RegExpMatchArray, url: URL) => Promise<unknown>;

const ROUTES: [RegExp, ExplorerRoute][] = [
  [/^\/api\/status$/, (api) => api.status()],
  [/^\/api\/market$/, (api) => api.market()],
  [/^\/api\/batches$/, (api, _m, url) => api.batches({ before: intParam(url, "before"), limit: intParam(url, "limit") })],
  [/^\/api\/batches\/(\d+)$/, (api, m) => api.batch(Number(m[1]))],
  [/^\/api\/orders$/, (api, _m, url) => api.orders({ status: url.searchParams.get("status") ?? undefined, limit: intParam(url, "limit") })],
  [/^\/api\/orders\/(\d+)$/, (api, m) => api.order(Number(m[1]))],
  [/^\/api\/providers$/, (api) => api.providers()],
  [/^\/api\/providers\/(0x[0-9a-fA-F]{40})$/, (api, m) => api.provider(m[1]!)],
  [/^\/api\/operators$/, (api) => api.operators()],
  [/^\/api\/operators\/(0x[0-9a-fA-F]{40}|0x[0-9a-fA-F]{64})$/, (api, m) => api.operator(m[1]!)],
  [/^\/api\/renters\/(0x[0-9a-fA-F]{40})$/, (api, m) => api.renter(m[1]!)],
  [/^\/api\/search$/, (api, _m, url) => api.search(url.searchParams.get("q") ?? "")],
];

class BadRequestError extends Error {}

function intParam(url: URL, name: string): number | undefined {
  const v = url.searchParams.get(name);
  if (v === null) return undefined;
  if (!/^\d{1,15}$/.test(v)) throw new BadRequestError(`query parameter ${name} must be a non-negative integer, not ${JSON.stringify(v)}`);
  return Number(v);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(text);
}

export interface ExplorerServerOpts {
  host?: string;
  port?: number;
}

/** Serves `api` and the page; `indexer` (when given) drives the live event stream. */
export class ExplorerServer {
  private server: Server | null = null;
  private readonly streams = new Set<ServerResponse>();
  private lastBlock = -1;

  constructor(
    private readonly api: ExplorerApi,
    private readonly indexer: Pick<Indexer, "on" | "off" | "indexedBlock"> | null,
  ) {}

  get url(): string {
    const a = this.server?.address() as AddressInfo | null;
    if (a === null || a === undefined) throw new Error("explorer server not listening");
    return `http://${a.address.includes(":") ? `[${a.address}]` : a.address}:${a.port}/`;
  }

  private readonly onIndexed = (block: number) => {
    this.lastBlock = block;
    for (const res of this.streams) res.write(`event: indexed\ndata: ${JSON.stringify({ block })}\n\n`);
  };

  async listen(opts: ExplorerServerOpts = {}): Promise<string> {
    this.indexer?.on("indexed", this.onIndexed);
    this.indexer?.on("reorg", this.onIndexed);
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => resolve());
    });
    return this.url;
  }

  async close(): Promise<void> {
    this.indexer?.off("indexed", this.onIndexed);
    this.indexer?.off("reorg", this.onIndexed);
    for (const res of this.streams) res.end();
    this.streams.clear();
    const s = this.server;
    this.server = null;
    if (s === null) return;
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    // Idle keep-alive connections (a browser's, an HTTP client's) would hold close() for seconds.
    s.closeAllConnections();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://explorer");
    if (req.method !== "GET" && req.method !== "HEAD") return json(res, 405, { error: `method ${req.method} not allowed` });
    try {
      if (url.pathname === "/api/events") return this.stream(req, res);
      const asset = STATIC[url.pathname];
      if (asset !== undefined) return await this.file(res, asset.file, asset.type);
      for (const [re, route] of ROUTES) {
        const m = url.pathname.match(re);
        if (m !== null) return json(res, 200, await route(this.api, m, url));
      }
      json(res, 404, { error: `no such path ${url.pathname}` });
    } catch (err) {
      if (err instanceof NotFoundError) return json(res, 404, { error: err.message });
      if (err instanceof BadRequestError) return json(res, 400, { error: err.message });
      json(res, 500, { error: err instanceof Error ? err.message : String(err) });
    }
  }

  private stream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
    res.write(`event: indexed\ndata: ${JSON.stringify({ block: this.indexer?.indexedBlock ?? this.lastBlock })}\n\n`);
    this.streams.add(res);
    req.on("close", () => this.streams.delete(res));
  }

  private async file(res: ServerResponse, path: string, type: string): Promise<void> {
    const s = await stat(path);
    res.writeHead(200, { "content-type": type, "content-length": s.size, "cache-control": "no-cache" });
    createReadStream(path).pipe(res);
  }
}

export interface StartExplorerOpts {
  rpc: string;
  deployment: string | Deployment;
  /**
   * Where the index is: an SQLite file path (created when absent; resumed when present), or a postgres:// URL of a
   * PostgreSQL database (tables created when absent). See docs/explorer.md.
   */
  db: string;
  host?: string;
  port?: number;
  pollIntervalMs?: number;
  logger?: IndexerLogger;
  client?: PublicClient;
  /** Why open orders stayed open; default: the matcher re-run (explorer/explain.ts) when the deployment has the AVS. */
  explainer?: OpenOrderExplainer;
  /** Operators' node APIs whose health the operators page shows (explorer/operatorHealth.ts). */
  operatorApis?: readonly OperatorApiTarget[];
  operatorHealth?: OperatorHealthOpts;
}

export interface RunningExplorer {
  url: string;
  indexer: Indexer;
  api: ExplorerApi;
  /** Where the index is (file path, or PostgreSQL server and database without the password). */
  index: string;
  stop(): Promise<void>;
}

/** Opens (or resumes) the index, catches up with the chain, then serves the page while following new blocks. */
export async function startExplorer(opts: StartExplorerOpts): Promise<RunningExplorer> {
  const deployment = typeof opts.deployment === "string" ? await readDeployment(opts.deployment) : opts.deployment;
  const client = opts.client ?? (createPublicClient({ transport: http(opts.rpc) }) as PublicClient);
  // The index first: a database that cannot be used is reported before the chain is asked anything.
  const { writer, reader, description } = await openIndex(opts.db, { onIdleError: (msg) => opts.logger?.warn({}, msg) });
  const indexer = new Indexer(deployment, { client, db: writer, logger: opts.logger }, { pollIntervalMs: opts.pollIntervalMs ?? 500 });
  const health = new OperatorHealthMonitor(opts.operatorApis ?? [], opts.operatorHealth);
  try {
    await indexer.open();
    const chainId = await client.getChainId();
    if (chainId !== deployment.chainId) throw new Error(`explorer: the RPC at ${opts.rpc} serves chain ${chainId}, the deployment is for chain ${deployment.chainId}`);
    const tokenDecimals = await client.readContract({ address: deployment.contracts.paymentToken, abi: paymentTokenAbi, functionName: "decimals" });
    const stakeDecimals = await client.readContract({ address: deployment.contracts.stakeToken, abi: stakeTokenAbi, functionName: "decimals" });
    const explainer =
      opts.explainer ??
      (deployment.contracts.serviceManager !== undefined && deployment.contracts.operatorRegistry !== undefined
        ? new MatcherExplainer({ client, db: reader, addrs: systemAddresses(deployment), logger: opts.logger })
        : undefined);
    const api = new ExplorerApi(reader, { chainId, tokenDecimals, stakeDecimals, explainer, nodeHealth: health });
    const server = new ExplorerServer(api, indexer);
    // Listen first: the page shows the index catching up with a long chain.
    const url = await server.listen({ host: opts.host, port: opts.port });
    indexer.on("error", (err) => opts.logger?.warn({ err: err.message }, "explorer: indexing stopped"));
    health.start();
    await indexer.start().catch(async (err: unknown) => {
      await server.close();
      throw err;
    });
    return {
      url,
      indexer,
      api,
      index: description,
      async stop() {
        await server.close();
        await health.stop();
        await indexer.stop();
        await reader.close();
        await writer.close();
      },
    };
  } catch (err) {
    await health.stop();
    await indexer.stop();
    await reader.close();
    await writer.close();
    throw err;
  }
}
