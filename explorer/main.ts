/**
 * `npm run explorer -- --rpc <url> --deployment <file>`: indexes the deployment's events into an embedded SQLite
 * file and serves the live explorer page and its JSON API. See docs/explorer.md.
 */
import { resolve } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { stopOnSignals } from "../protocol/lifecycle.js";
import { startExplorer } from "./server.js";

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError("--port must be an integer in 0‥65535 (0: any free port)");
  return n;
}

function rpcUrl(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new InvalidArgumentError(`--rpc must be an http(s) URL, not ${JSON.stringify(value)}`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new InvalidArgumentError(`--rpc must be an http(s) URL, not ${JSON.stringify(value)}`);
  return value;
}

const program = new Command()
  .name("npm run explorer --")
  .description("Index matchnet's contract events and serve the live market explorer.")
  .requiredOption("--rpc <url>", "chain JSON-RPC URL", rpcUrl)
  .requiredOption("--deployment <file>", "deployment file (contract addresses, chain id, deploy block)")
  .option("--db <file>", "SQLite index file; resumed when it exists", "explorer-index.sqlite")
  .option("--host <host>", "address the HTTP server binds", "127.0.0.1")
  .option("--port <port>", "HTTP port (0: any free port)", port, 8600)
  .showHelpAfterError();

async function main(): Promise<void> {
  program.parse();
  const o = program.opts<{ rpc: string; deployment: string; db: string; host: string; port: number }>();
  const logger = {
    info: (obj: object, msg: string) => console.log(JSON.stringify({ level: "info", msg, ...obj })),
    warn: (obj: object, msg: string) => console.error(JSON.stringify({ level: "warn", msg, ...obj })),
  };
  // A signal during start-up waits for the start to end, then stops what it started (protocol/lifecycle.ts).
  let explorer: Awaited<ReturnType<typeof startExplorer>> | null = null;
  const starting = startExplorer({ rpc: o.rpc, deployment: resolve(o.deployment), db: resolve(o.db), host: o.host, port: o.port, logger });
  const stopper = stopOnSignals({
    name: "explorer",
    stop: async () => {
      explorer ??= await starting.catch(() => null);
      await explorer?.stop();
      return 0;
    },
  });
  try {
    explorer = await starting;
  } catch (err) {
    if (stopper.stopping) return;
    throw err;
  }
  console.log(`explorer: ${explorer.url}  (index ${resolve(o.db)}, block ${explorer.indexer.indexedBlock})`);
}

main().catch((err: unknown) => {
  console.error(`explorer: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
