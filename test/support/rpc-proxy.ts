/**
 * Serves an in-process Hardhat chain over HTTP JSON-RPC, so that a child process (the operator's main.ts) can use
 * the same chain as the test. A transport only: every request goes to the real EDR provider unchanged; errors are
 * passed back with their code and data (revert data included). No side effects at import.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

interface Upstream {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
}

interface RpcRequest {
  id?: unknown;
  method: string;
  params?: unknown[];
}

export async function startRpcProxy(provider: Upstream): Promise<{ url: string; close(): Promise<void> }> {
  const answer = async (req: RpcRequest) => {
    try {
      const result = await provider.request({ method: req.method, params: req.params ?? [] });
      return { jsonrpc: "2.0", id: req.id ?? null, result };
    } catch (err) {
      const e = err as { code?: number; message?: string; data?: unknown };
      return { jsonrpc: "2.0", id: req.id ?? null, error: { code: e.code ?? -32603, message: e.message ?? String(err), data: e.data } };
    }
  };
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      let parsed: RpcRequest | RpcRequest[];
      try {
        parsed = JSON.parse(body) as RpcRequest | RpcRequest[];
      } catch {
        res.writeHead(400).end();
        return;
      }
      const out = Array.isArray(parsed) ? Promise.all(parsed.map(answer)) : answer(parsed);
      void out.then((v) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? `0x${x.toString(16)}` : x))));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
