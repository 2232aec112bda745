/**
 * The Prometheus scrape endpoint: GET /metrics on its own port (the node API has another), so the metrics port
 * can be exposed to a monitoring network without exposing the API.
 */
import { createServer, type Server } from "node:http";
import type { Registry } from "prom-client";
import type { Logger } from "../log/logger.js";
import { listen, type ListeningServer } from "../http.js";

export interface MetricsServerOpts {
  host: string;
  /** 0 picks a free port (tests); the bound port is returned. */
  port: number;
  /** The config field named when the port cannot be bound (default `metrics.port`). */
  field?: string;
}

export type MetricsServer = ListeningServer;

export async function startMetricsServer(opts: MetricsServerOpts, modules: { register: Registry; logger: Logger }): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    modules.register
      .metrics()
      .then((body) => res.writeHead(200, { "content-type": modules.register.contentType }).end(body))
      .catch((err: unknown) => {
        modules.logger.error({ err }, "collecting metrics failed");
        res.writeHead(500, { "content-type": "text/plain" }).end("metrics collection failed\n");
      });
  });
  return listen(server, { host: opts.host, port: opts.port }, modules.logger, "metrics server", opts.field ?? "metrics.port");
}
