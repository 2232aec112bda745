/**
 * `npm run explorer -- --rpc <url> --deployment <file>`: indexes the deployment's events into an embedded SQLite
 * file (or a PostgreSQL database: `--database-url`, or MATCHNET_EXPLORER_DATABASE_URL in the environment) and
 * serves the live explorer page and its JSON API. See docs/explorer.md for the exit codes.
 */
import { createServer } from "node:net";
import { resolve } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { IndexMismatchError } from "./indexer.js";
import { DatabaseUnavailableError, DatabaseUrlError, describePostgresUrl, isPostgresUrl, urlHasPassword } from "./postgres.js";
import { SchemaVersionError } from "./schema.js";
import { ReorgTooDeepError } from "./store.js";
import { parseOperatorApi, type OperatorApiTarget } from "./operatorHealth.js";
import { stopOnSignals } from "../protocol/lifecycle.js";
import { startExplorer } from "./server.js";

/** The environment variable that selects a PostgreSQL index (a URL there is not visible in `ps`). */
export const DATABASE_URL_ENV = "MATCHNET_EXPLORER_DATABASE_URL";

/** Exit codes (docs/explorer.md): 1 bad input or chain, 3 database unreachable, 4 an index the explorer cannot use. */
const EXIT_DATABASE_UNAVAILABLE = 3;
const EXIT_INDEX_UNUSABLE = 4;

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError("--port must be an integer in 0‥65535 (0: any free port)");
  return n;
}

/** The --port / --host pair cannot be bound: named after the flags, with what to do (no stack). */
class ListenError extends Error {
  override name = "ListenError";
}

function listenError(err: unknown, host: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  const where = `${host}:${port}`;
  if (code === "EADDRINUSE") return new ListenError(`--port ${port}: ${where} is already in use by another process (another explorer or devnet?); stop that process, or pick a free port with --port (0: any free port)`, { cause: err });
  if (code === "EACCES") return new ListenError(`--port ${port}: no permission to listen on ${where} (ports below 1024 need privileges); pick a port ≥ 1024 with --port`, { cause: err });
  if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND" || code === "EAI_AGAIN") return new ListenError(`--host ${host} is not an address of this machine; bind one of its addresses (127.0.0.1, 0.0.0.0, …) with --host`, { cause: err });
  return err;
}

/**
 * Binds --host:--port once and lets it go, before the index is opened or the chain asked anything: a port in use is
 * reported at once and leaves no index file behind. The server's own listen maps the same errors (the port may be
 * taken in between).
 */
async function checkListen(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  await new Promise<void>((done, fail) => {
    probe.once("error", (err) => fail(listenError(err, host, port)));
    probe.listen(port, host, () => probe.close(() => done()));
  });
}

function collect(value: string, previous: OperatorApiTarget[]): OperatorApiTarget[] {
  try {
    return [...previous, parseOperatorApi(value)];
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** The index target: --database-url, else --db, else the environment's URL, else the default SQLite file. */
function indexTarget(o: { db?: string; databaseUrl?: string }): { target: string; fromArgv: boolean } {
  if (o.db !== undefined && o.databaseUrl !== undefined) throw new DatabaseUrlError("explorer: give either --db or --database-url, not both");
  if (o.databaseUrl !== undefined) {
    if (!isPostgresUrl(o.databaseUrl)) throw new DatabaseUrlError("explorer: --database-url must be a postgres:// or postgresql:// URL");
    return { target: o.databaseUrl, fromArgv: true };
  }
  if (o.db !== undefined) return { target: isPostgresUrl(o.db) ? o.db : resolve(o.db), fromArgv: true };
  const env = process.env[DATABASE_URL_ENV];
  if (env !== undefined && env !== "") {
    if (!isPostgresUrl(env)) throw new DatabaseUrlError(`explorer: ${DATABASE_URL_ENV} must be a postgres:// or postgresql:// URL`);
    return { target: env, fromArgv: false };
  }
  return { target: resolve("explorer-index.sqlite"), fromArgv: false };
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
  .option("--db <file|url>", "SQLite index file, resumed when it exists (default explorer-index.sqlite), or a postgres:// URL")
  .option("--database-url <url>", `PostgreSQL index (postgres://user@host:port/database); prefer ${DATABASE_URL_ENV} when the URL holds a password`)
  .option("--operator-api <operator=url>", "an operator's node API (operator id or address = http(s) URL), polled for the operators page; repeatable", collect, [])
  .option("--host <host>", "address the HTTP server binds", "127.0.0.1")
  .option("--port <port>", "HTTP port (0: any free port)", port, 8600)
  .showHelpAfterError();

async function main(): Promise<void> {
  program.parse();
  const o = program.opts<{ rpc: string; deployment: string; db?: string; databaseUrl?: string; operatorApi: OperatorApiTarget[]; host: string; port: number }>();
  const logger = {
    info: (obj: object, msg: string) => console.log(JSON.stringify({ level: "info", msg, ...obj })),
    warn: (obj: object, msg: string) => console.error(JSON.stringify({ level: "warn", msg, ...obj })),
  };
  const { target, fromArgv } = indexTarget(o);
  if (isPostgresUrl(target)) {
    const where = describePostgresUrl(target); // validates the URL before anything else runs
    if (fromArgv && urlHasPassword(target)) {
      logger.warn({ index: where }, `explorer: the database URL on the command line holds a password, which every user of this machine can read with ps; set ${DATABASE_URL_ENV} instead`);
    }
  }
  await checkListen(o.host, o.port);
  // A signal during start-up waits for the start to end, then stops what it started (protocol/lifecycle.ts).
  let explorer: Awaited<ReturnType<typeof startExplorer>> | null = null;
  const starting = startExplorer({ rpc: o.rpc, deployment: resolve(o.deployment), db: target, host: o.host, port: o.port, logger, operatorApis: o.operatorApi }).catch((err: unknown) => {
    throw listenError(err, o.host, o.port);
  });
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
  console.log(`explorer: ${explorer.url}  (index ${explorer.index}, block ${explorer.indexer.indexedBlock})`);
}

main().catch((err: unknown) => {
  console.error(`explorer: ${err instanceof Error ? err.message : String(err)}`);
  if (err instanceof DatabaseUnavailableError) process.exit(EXIT_DATABASE_UNAVAILABLE);
  if (err instanceof SchemaVersionError || err instanceof IndexMismatchError || err instanceof ReorgTooDeepError) process.exit(EXIT_INDEX_UNUSABLE);
  process.exit(1);
});
