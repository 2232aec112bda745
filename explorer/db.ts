/**
 * The SQL connection the index is written and read through. Asynchronous so that a PostgreSQL driver fits the same
 * shape (docs/explorer.md); the embedded implementation is better-sqlite3 in WAL mode, with one connection that
 * writes (the indexer) and one that reads (the HTTP API), so readers only ever see committed blocks.
 * Statements use `?` placeholders; a PostgreSQL adapter numbers them `$1, $2, …`.
 */
import Database from "better-sqlite3";
import { ddl } from "./schema.js";

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
  for (const statement of ddl("sqlite")) db.exec(statement);
  return new SqliteDb(db);
}

/** Opens the SQLite index at `path` read-only (the HTTP API's connection); the writer must have created it. */
export function openSqliteReader(path: string): SqlDb {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  db.pragma("busy_timeout = 5000");
  return new SqliteDb(db);
}
