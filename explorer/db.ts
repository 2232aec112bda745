/**
 * The SQL connection the index is written and read through. Asynchronous so that a PostgreSQL driver fits the same
 * shape (docs/explorer.md); the embedded implementation is better-sqlite3 in WAL mode, with one connection that
 * writes (the indexer) and one that reads (the HTTP API), so readers only ever see committed blocks.
 * Statements use `?` placeholders; the PostgreSQL adapter (explorer/postgres.ts) numbers them `$1, $2, …`.
 * `openIndex` picks the engine: a postgres:// URL selects PostgreSQL, anything else is an SQLite file path.
 */
import Database from "better-sqlite3";
import { isPostgresUrl, openPostgresIndex } from "./postgres.js";
import { checkSchemaVersion, ddl } from "./schema.js";

export type SqlValue = string | number | bigint | null;

export interface SqlDb {
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** Runs `fn` in one transaction: all of its writes land, or none. Not re-entrant. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

class SqliteDb implements SqlDb {
  private readonly statements = new Map<string, ReturnType<Database["prepare"]>>();

  constructor(private readonly db: Database) {}

  private stmt(sql: string) {
    let s = this.statements.get(sql);
    if (s === undefined) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.stmt(sql).run(...params).changes;
  }

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.stmt(sql).all(...params) as T[];
  }

  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return this.stmt(sql).get(...params) as T | undefined;
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.db.inTransaction) throw new Error("explorer db: nested transaction");
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const out = await fn();
      this.db.exec("COMMIT");
      return out;
    } catch (err) {
      this.db.exec("ROLLBACK");
      throw err;
    }
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

/** Opens (creating if needed) the SQLite index at `path` for writing and applies the schema. */
export function openSqliteWriter(path: string): SqlDb {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  // A commit is durable against a crash of the process (the index can always be rebuilt from the chain after a
  // power loss, so fsync on every commit is not needed).
  db.pragma("synchronous = NORMAL");
  db.pragma("busy_timeout = 5000");
  try {
    const hasMeta = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get() !== undefined;
    if (hasMeta) {
      const value = (key: string) => (db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as { value: string } | undefined)?.value;
      checkSchemaVersion(path, { version: value("schema_version"), chainId: value("chain_id") });
    }
    for (const statement of ddl("sqlite")) db.exec(statement);
  } catch (err) {
    db.close();
    throw err;
  }
  return new SqliteDb(db);
}

/** Opens the SQLite index at `path` read-only (the HTTP API's connection); the writer must have created it. */
export function openSqliteReader(path: string): SqlDb {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  db.pragma("busy_timeout = 5000");
  return new SqliteDb(db);
}

export interface OpenedIndex {
  engine: "sqlite" | "postgres";
  /** The indexer's connection. */
  writer: SqlDb;
  /** The HTTP API's connection(s): only committed ranges are visible through it. */
  reader: SqlDb;
  /** Where the index is, for logs: the file path, or the PostgreSQL server and database without the password. */
  description: string;
}

/**
 * Opens the index at `target`: a postgres:// or postgresql:// URL (explorer/postgres.ts) or an SQLite file path.
 * Creates the tables when absent; refuses an index of another schema version (`SchemaVersionError`).
 */
export async function openIndex(target: string, opts: { onIdleError?: (msg: string) => void } = {}): Promise<OpenedIndex> {
  if (isPostgresUrl(target)) return { engine: "postgres", ...(await openPostgresIndex(target, opts)) };
  const writer = openSqliteWriter(target);
  try {
    return { engine: "sqlite", writer, reader: openSqliteReader(target), description: target };
  } catch (err) {
    await writer.close();
    throw err;
  }
}
