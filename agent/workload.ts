/**
 * The workload stand-in: what a GPU container would be, as a real separate process that the provider agent starts
 * for one lease (docs/agent.md "Workload"). It serves HTTP on 127.0.0.1 (or the configured host) and answers only
 * requests carrying that lease's one-time credential as `Authorization: Bearer <credential>`:
 * `GET /` → 200 `{"leaseId": "…", "gpuModel": "…", "gpuCount": n}`; everything else → 401.
 *
 * It never sees the credential itself: the agent passes its SHA-256, and a request's token is hashed and compared
 * in constant time (`timingSafeEqual`), so no process argument, file or log holds the secret.
 *
 * It stops on SIGTERM/SIGINT, and when its stdin closes — the agent holds the other end of that pipe, so a killed
 * agent never leaves a workload behind (the restarted agent starts it again on the same port, docs/agent.md).
 *
 * `node agent/workload.ts --lease <id> --host <h> --port <p> --credential-sha256 <hex> --gpu-model <name>
 *  --gpu-count <n>`; prints one JSON line `{"msg":"ready","port":p}` once listening, or
 * `{"msg":"listen failed","code":"EADDRINUSE"}` and exits 3 when the port cannot be bound. With `--spare` instead,
 * it starts without a lease and reads those arguments as one JSON array line on stdin: the agent keeps one spare
 * started ahead, so a new lease's workload listens within milliseconds instead of a process start (≈ 0.2–3 s on a
 * loaded machine; bench/agent.bench.ts).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { parseArgs } from "node:util";

export const EXIT_LISTEN_FAILED = 3;
export const EXIT_USAGE = 2;

/** A spare started ahead of need reads its lease's arguments as one JSON line of argv-style strings on stdin. */
function spareArgs(): Promise<string[]> {
  return new Promise((resolve) => {
    let buf = "";
    const onData = (chunk: Buffer) => {
      buf += chunk.toString();
      const i = buf.indexOf("\n");
      if (i < 0) return;
      process.stdin.off("data", onData);
      process.stdin.off("end", onEnd);
      let argv: unknown;
      try {
        argv = JSON.parse(buf.slice(0, i));
      } catch {
        argv = null;
      }
      if (!Array.isArray(argv) || !argv.every((a) => typeof a === "string")) {
        process.stderr.write("workload: --spare: the first stdin line must be a JSON array of strings\n");
        process.exit(EXIT_USAGE);
      }
      resolve(argv as string[]);
    };
    // The agent went away before giving this spare a lease.
    const onEnd = () => process.exit(0);
    process.stdin.on("data", onData);
    process.stdin.on("end", onEnd);
  });
}

async function main(): Promise<void> {
  const argv = process.argv.includes("--spare") ? await spareArgs() : process.argv.slice(2);
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        lease: { type: "string" },
        host: { type: "string", default: "127.0.0.1" },
        port: { type: "string" },
        "credential-sha256": { type: "string" },
        "gpu-model": { type: "string", default: "unknown" },
        "gpu-count": { type: "string", default: "1" },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`workload: ${(err as Error).message}\n`);
    process.exit(EXIT_USAGE);
  }
  const lease = args.lease ?? "";
  const port = Number(args.port);
  const hashHex = args["credential-sha256"] ?? "";
  if (!/^\d+$/.test(lease) || !Number.isInteger(port) || port < 1 || port > 65_535 || !/^[0-9a-f]{64}$/.test(hashHex)) {
    process.stderr.write("workload: --lease <id>, --port <1..65535> and --credential-sha256 <64 hex> are required\n");
    process.exit(EXIT_USAGE);
  }
  const expected = Buffer.from(hashHex, "hex");
  const body = JSON.stringify({ leaseId: lease, gpuModel: args["gpu-model"], gpuCount: Number(args["gpu-count"]) });

  const authorized = (req: IncomingMessage): boolean => {
    const header = req.headers.authorization ?? "";
    const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header);
    // Hashing first gives both sides the same length, so the comparison is constant-time whatever was sent.
    const got = createHash("sha256").update(m?.[1] ?? "").digest();
    return timingSafeEqual(got, expected) && m !== null;
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (!authorized(req)) {
      res.writeHead(401, { "content-type": "application/json", "www-authenticate": 'Bearer realm="matchnet-lease"' });
      res.end('{"error":"unauthorized"}');
      return;
    }
    if (req.method === "GET" && (req.url === "/" || req.url === "")) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(body);
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end('{"error":"not found"}');
  });
  // Keep-alive sockets would hold the process (and the port) open after close(): none are kept.
  server.keepAliveTimeout = 0;

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 2_000).unref();
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  process.stdin.on("end", stop);
  process.stdin.on("close", stop);
  process.stdin.on("error", stop);
  process.stdin.resume();

  // A port the previous run of this workload (its agent just killed) still holds is freed within moments.
  let attempts = 0;
  server.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EADDRINUSE" && attempts++ < 20) {
      setTimeout(() => server.listen(port, args.host), 150);
      return;
    }
    process.stdout.write(JSON.stringify({ msg: "listen failed", code: err.code ?? "error" }) + "\n");
    process.exit(EXIT_LISTEN_FAILED);
  });
  server.listen(port, args.host, () => {
    process.stdout.write(JSON.stringify({ msg: "ready", leaseId: lease, port }) + "\n");
  });
}

void main();
