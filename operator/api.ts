/**
 * The node API over plain node:http: EigenLayer's AVS node API (`/eigen/node`, `/eigen/node/health`,
 * `/eigen/node/services`, `/eigen/node/services/:id/health`) and matchnet's own read-only routes under
 * `/matchnet/v1/`. Every answer is JSON; bigints are decimal strings.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Logger } from "../protocol/log/logger.js";
import { listen, type ListeningServer } from "../protocol/http.js";
import type { OperatorNode } from "./node.js";

/** The version of EigenLayer's AVS node API specification these routes follow. */
export const EIGEN_NODE_SPEC_VERSION = "v0.0.1";
export const NODE_NAME = "matchnet-operator";

export type NodeApi = ListeningServer;

type ApiRoute = (node: OperatorNode, match: RegExpExecArray) => Promise<{ code: number; body?: unknown }>;

const routes: [RegExp, ApiRoute][] = [
  [/^\/eigen\/node$/, async (node) => ({ code: 200, body: { node_name: NODE_NAME, spec_version: EIGEN_NODE_SPEC_VERSION, node_version: node.opts.nodeVersion } })],
  // The spec defines the health answer by status code alone; the reasons are extra, for people.
  [/^\/eigen\/node\/health$/, async (node) => {
    const h = await node.health();
    return { code: h.code, body: { reasons: h.reasons } };
  }],
  [/^\/eigen\/node\/services$/, async (node) => ({ code: 200, body: { services: await services(node) } })],
  [/^\/eigen\/node\/services\/([^/]+)\/health$/, async (node, m) => {
    const svc = (await services(node)).find((s) => s.id === m[1]);
    if (!svc) return { code: 404, body: { error: `unknown service ${m[1]}` } };
    return { code: svc.status === "Up" ? 200 : 503 };
  }],
  [/^\/matchnet\/v1\/status$/, async (node) => ({ code: 200, body: node.status() })],
  [/^\/matchnet\/v1\/peers$/, async (node) => ({ code: 200, body: { count: node.peerCount(), peers: node.peers() } })],
  [/^\/matchnet\/v1\/batches\/([^/]+)$/, async (node, m) => {
    if (!/^\d{1,20}$/.test(m[1]!)) return { code: 400, body: { error: "batch must be a decimal number" } };
    const report = node.batchReport(BigInt(m[1]!));
    return report ? { code: 200, body: report } : { code: 404, body: { error: `batch ${m[1]} not known to this node` } };
  }],
];

async function services(node: OperatorNode) {
  const health = await node.health();
  const chainUp = health.code !== 503;
  return [
    { id: "chain-follower", name: "Chain follower", description: "Follows the service manager's batches over JSON-RPC", status: chainUp ? "Up" : "Down" },
    { id: "p2p", name: "Gossip network", description: "libp2p gossipsub: seeds, partial signatures, result lists", status: node.peerCount() > 0 ? "Up" : "Initializing" },
    { id: "signer", name: "Batch signer", description: "Matches each batch at R_b and signs its result", status: node.status().registered ? "Up" : "Down" },
  ];
}

export async function startNodeApi(opts: { host: string; port: number }, modules: { node: OperatorNode; logger: Logger }): Promise<NodeApi> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0]!;
    const send = (code: number, body?: unknown) => {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(body === undefined ? "" : JSON.stringify(body, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) + "\n");
    };
    if (req.method !== "GET") return send(405, { error: "only GET" });
    for (const [re, route] of routes) {
      const m = re.exec(path);
      if (!m) continue;
      route(modules.node, m)
        .then((r) => send(r.code, r.body))
        .catch((err: unknown) => {
          modules.logger.error({ path, err: (err as Error).message }, "node API route failed");
          send(500, { error: "internal error" });
        });
      return;
    }
    send(404, { error: "not found" });
  });
  return listen(server, opts, modules.logger, "node API", "api.port");
}
