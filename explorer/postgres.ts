/**
 * The index on PostgreSQL (a public deployment; docs/explorer.md "PostgreSQL"): the `SqlDb` of explorer/db.ts over
 * the `pg` driver, with the schema of explorer/schema.ts rendered for PostgreSQL. The writer is a pool of one
 * connection (the indexer is the only writer; a dropped connection is replaced on the next query), the API reads
 * through a pool of its own. Statements keep the `?` placeholders of the SQLite path; they are numbered `$1…$n`
 * here once per statement text and sent as named prepared statements.
 *
 * Integers come back as numbers, as better-sqlite3 returns them: BIGINT columns and COUNT(*) (int8) and SUM over
 * BIGINT (numeric) are parsed to a JavaScript number when they are safe integers, so the API answers the same JSON
 * on both engines (test/explorer/postgres.test.ts compares them). Amounts are TEXT on both.
 *
 * The connection URL may carry a password: it is never logged, and every error names the server as
 * `describePostgresUrl` prints it (user, host, port, database — no password).
 */
import pg from "pg";
import type { SqlDb, SqlValue } from "./db.js";
import { checkSchemaVersion, ddl } from "./schema.js";

/** `postgres://` or `postgresql://`: the URL schemes that select PostgreSQL instead of an SQLite file. */
export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value);
}

/** Thrown for a connection URL that cannot be used; the message never contains the password. */
export class DatabaseUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DatabaseUrlError";
  }
}

/** Thrown when the server cannot be reached or refuses the connection (exit code 3 of `npm run explorer`). */
export class DatabaseUnavailableError extends Error {
  constructor(where: string, cause: string) {
    super(`explorer index: cannot use PostgreSQL at ${where}: ${cause}`);
    this.name = "DatabaseUnavailableError";
  }
}

interface ParsedUrl {
  url: URL;
  description: string;
}

function parseUrl(value: string): ParsedUrl {
  let url: URL;
  try {
    // libpq's unix-socket form leaves the host empty (postgres://user:pw@/db?host=/run/postgresql), which the
    // WHATWG parser refuses after credentials: read it with a placeholder host; the socket dir names the server.
    url = new URL(value.replace(/^(postgres(?:ql)?:\/\/(?:[^@/?#]*@)?)\//i, "$1localhost/"));
  } catch {
    // The text may hold a password: name the problem, not the value.
    throw new DatabaseUrlError("explorer index: the PostgreSQL URL is malformed (expected postgres://user[:password]@host[:port]/database)");
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new DatabaseUrlError(`explorer index: a PostgreSQL URL starts with postgres:// or postgresql://, not ${url.protocol}//`);
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (database === "" || database.includes("/")) throw new DatabaseUrlError(`explorer index: the PostgreSQL URL names no database (postgres://…@${url.host || "host"}/<database>)`);
  return { url, description: describe(url, database) };
}

function describe(url: URL, database: string): string {
  // A unix-socket directory is given as ?host=/path (libpq's form); the URL's own host is then empty.
  const host = url.searchParams.get("host") ?? (url.hostname === "" ? "localhost" : url.hostname);
  const user = url.username === "" ? "" : `${decodeURIComponent(url.username)}@`;
  return `postgres://${user}${host}${url.port === "" ? "" : `:${url.port}`}/${database}`;
}

/** The server and database a URL points at, without its password (for logs and errors). */
export function describePostgresUrl(value: string): string {
  return parseUrl(value).description;
}

/** Whether the URL carries a password (a password in a command line is visible to every user in `ps`). */
export function urlHasPassword(value: string): boolean {
  try {
    return new URL(value).password !== "" || /[?&]password=/i.test(value);
  } catch {
    return false;
  }
}

/** int8 and numeric as numbers when they are safe integers (as better-sqlite3 returns INTEGER), else as text. */
const INT8_OID = 20;
const NUMERIC_OID = 1700;
function toNumber(text: string): number | string {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
}
const TYPES = {
  getTypeParser: ((oid: number, format?: "text" | "binary") => {
    if (oid === INT8_OID || oid === NUMERIC_OID) return toNumber;
    return format === undefined ? pg.types.getTypeParser(oid) : pg.types.getTypeParser(oid, format);
  }) as typeof pg.types.getTypeParser,
};

/** `?` → `$n`, outside quoted strings and identifiers (the statements are the SQLite path's). */
function numbered(sql: string): string {
  let out = "";
  let n = 0;
  let quote: string | null = null;
  for (const ch of sql) {
    if (quote !== null) {
      if (ch === quote) quote = null;
      out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else if (ch === "?") {
      n += 1;
      out += `$${n}`;
    } else out += ch;
  }
  return out;
}

/** One prepared-statement name per distinct statement text, shared by every connection of the process. */
const statements = new Map<string, { name: string; text: string }>();
function statement(sql: string): { name: string; text: string } {
  let s = statements.get(sql);
  if (s === undefined) {
    s = { name: `matchnet_explorer_${statements.size}`, text: numbered(sql) };
    statements.set(sql, s);
  }
  return s;
}

class PgDb implements SqlDb {
  /** The connection of the running transaction: every statement of `fn` goes to it. */
  private tx: pg.PoolClient | null = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly where: string,
  ) {}

  private async query(sql: string, params: readonly SqlValue[]): Promise<pg.QueryResult<Record<string, unknown>>> {
    const s = statement(sql);
    const q = { name: s.name, text: s.text, values: params as unknown[] };
    try {
      return await (this.tx ?? this.pool).query<Record<string, unknown>>(q);
    } catch (err) {
      throw wrap(err, this.where);
    }
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return (await this.query(sql, params)).rowCount ?? 0;
  }

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return (await this.query(sql, params)).rows as T[];
  }

  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return (await this.query(sql, params)).rows[0] as T | undefined;
  }

  /** A statement without parameters, sent as is (the schema's DDL: not a prepared statement). */
  async exec(sql: string): Promise<void> {
    try {
      await (this.tx ?? this.pool).query(sql);
    } catch (err) {
      throw wrap(err, this.where);
    }
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.tx !== null) throw new Error("explorer db: nested transaction");
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw wrap(err, this.where);
    }
    this.tx = client;
    let broken: Error | undefined;
    try {
      await client.query("BEGIN");
      const out = await fn();
      await client.query("COMMIT");
      return out;
    } catch (err) {
      await client.query("ROLLBACK").catch((e: Error) => (broken = e));
      throw err;
    } finally {
      this.tx = null;
      // A connection whose ROLLBACK failed is in an unknown state: the pool closes it instead of reusing it.
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Connection-level failures (refused, unknown host, bad password, no such database) become one error naming the
 * server without its password; SQL errors keep their own message. */
function wrap(err: unknown, where: string): Error {
  if (!(err instanceof Error)) return new Error(String(err));
  const code = (err as { code?: string }).code;
  const connection =
    code === undefined ||
    /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOENT|EACCES)$/.test(code) ||
    code.startsWith("08") || // connection exception
    code.startsWith("28") || // invalid authorization (wrong password, unknown role)
    code === "3D000" || // invalid catalog name: the database does not exist
    code === "57P03"; // cannot connect now (starting up, shutting down)
  if (!connection || err instanceof DatabaseUnavailableError) return err;
  return new DatabaseUnavailableError(where, err.message === "" ? (code ?? "no answer") : err.message);
}

export interface PostgresIndex {
  writer: SqlDb;
  reader: SqlDb;
  /** The server and database, without the password. */
  description: string;
}

/** How long a connection attempt may take before the explorer gives up (an unreachable host, a firewall). */
const CONNECT_TIMEOUT_MS = 10_000;
/** API connections: enough for a few pages at once; the index is read with short, indexed queries. */
const READER_POOL_SIZE = 4;

function pool(url: string, max: number, where: string, onIdleError: (msg: string) => void): pg.Pool {
  const p = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: "matchnet-explorer",
    types: TYPES,
  });
  // An idle connection that the server closes (a restart, an idle timeout) must not crash the process; the pool
  // opens a new one on the next query.
  p.on("error", (err) => onIdleError(`explorer index: PostgreSQL connection to ${where} lost: ${err.message}`));
  return p;
}

/**
 * Opens the index in the PostgreSQL database of `url`: checks the connection and the schema version, creates the
 * tables when absent (explorer/schema.ts, `ddl("postgres")`) and returns a writer and a reader.
 */
export async function openPostgresIndex(url: string, opts: { onIdleError?: (msg: string) => void } = {}): Promise<PostgresIndex> {
  const { description } = parseUrl(url);
  const onIdleError = opts.onIdleError ?? (() => {});
  const writer = new PgDb(pool(url, 1, description, onIdleError), description);
  const reader = new PgDb(pool(url, READER_POOL_SIZE, description, onIdleError), description);
  try {
    // to_regclass follows the connection's search_path, like the unqualified table names of every statement.
    const hasMeta = (await writer.get<{ t: string | null }>("SELECT to_regclass('meta')::text AS t"))?.t != null;
    if (hasMeta) {
      const rows = await writer.all<{ key: string; value: string }>("SELECT key, value FROM meta WHERE key IN ('schema_version', 'chain_id')");
      const m = new Map(rows.map((r) => [r.key, r.value]));
      checkSchemaVersion(description, { version: m.get("schema_version"), chainId: m.get("chain_id") });
    }
    // Two explorers creating the tables at once would race on the catalog: the DDL runs in one transaction.
    await writer.transaction(async () => {
      for (const s of ddl("postgres")) await writer.exec(s);
    });
    return { writer, reader, description };
  } catch (err) {
    await writer.close().catch(() => {});
    await reader.close().catch(() => {});
    throw err;
  }
}
