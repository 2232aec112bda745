/**
 * Writes of one block's events, journaled so that a reorg can take them back. A state-table write records the row's
 * previous value (or its absence) in `journal`, tagged with the block; `unwindAfter(n)` replays the journal of the
 * blocks above n backwards and deletes the log-table rows of those blocks. The journal of blocks older than the
 * reorg window is pruned: a reorg deeper than that is refused with a clear error (rebuild the index).
 */
import type { SqlDb, SqlValue } from "./db.js";
import { TABLES, type TableDef, type TableName } from "./schema.js";

export type Row = Record<string, SqlValue>;

export class ReorgTooDeepError extends Error {
  constructor(
    readonly forkBlock: number,
    readonly oldestJournaled: number,
  ) {
    super(`explorer index: the chain reorganised below block ${forkBlock + 1}, older than the reorg window (journal from block ${oldestJournaled}); delete the index file to rebuild it`);
    this.name = "ReorgTooDeepError";
  }
}

function def(table: TableName): TableDef {
  return TABLES[table];
}

function pkOf(table: TableName, row: Row): SqlValue[] {
  return def(table).pk.map((c) => {
    const v = row[c];
    if (v === undefined) throw new Error(`explorer store: ${table}.${c} (primary key) missing`);
    return v;
  });
}

function where(table: TableName): string {
  return def(table).pk.map((c) => `${c} = ?`).join(" AND ");
}

export class Store {
  private seq = 0;

  constructor(readonly db: SqlDb) {}

  async init(): Promise<void> {
    const r = await this.db.get<{ s: number | null }>("SELECT MAX(seq) AS s FROM journal");
    this.seq = r?.s ?? 0;
  }

  /** A writer for the events of `block` (must run inside a transaction of `db`). */
  at(block: number): BlockWriter {
    return new BlockWriter(this, block);
  }

  nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  /** Takes back every write of the blocks above `block`. */
  async unwindAfter(block: number): Promise<void> {
    const entries = await this.db.all<{ seq: number; tbl: TableName; pk: string; old: string | null }>(
      "SELECT seq, tbl, pk, old FROM journal WHERE block > ? ORDER BY seq DESC",
      [block],
    );
    for (const e of entries) {
      const pk = JSON.parse(e.pk) as SqlValue[];
      await this.db.run(`DELETE FROM ${e.tbl} WHERE ${where(e.tbl)}`, pk);
      if (e.old !== null) await insertRow(this.db, e.tbl, decodeRow(e.old));
    }
    await this.db.run("DELETE FROM journal WHERE block > ?", [block]);
    for (const [name, d] of Object.entries(TABLES) as [TableName, TableDef][]) {
      if (d.log === true) await this.db.run(`DELETE FROM ${name} WHERE block > ?`, [block]);
    }
  }

  /** Forgets the journal of blocks ≤ `block` (they can no longer be unwound). */
  async prune(block: number): Promise<void> {
    await this.db.run("DELETE FROM journal WHERE block <= ?", [block]);
  }
}

/** Rows are serialised with bigints as {"$big":"…"} so that a restored row has the types it was written with. */
function encodeRow(row: Row): string {
  return JSON.stringify(row, (_k, v: unknown) => (typeof v === "bigint" ? { $big: v.toString() } : v));
}

function decodeRow(text: string): Row {
  return JSON.parse(text, (_k, v: unknown) =>
    v !== null && typeof v === "object" && "$big" in v ? BigInt((v as { $big: string }).$big) : v,
  ) as Row;
}

async function insertRow(db: SqlDb, table: TableName, row: Row): Promise<void> {
  const cols = Object.keys(row);
  await db.run(`INSERT INTO ${table} (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`, cols.map((c) => row[c]!));
}

export class BlockWriter {
  constructor(
    private readonly store: Store,
    readonly block: number,
  ) {}

  get db(): SqlDb {
    return this.store.db;
  }

  /** Inserts a row. Log tables get the block column set; state-table inserts are journaled. */
  async insert(table: TableName, row: Row): Promise<void> {
    const d = def(table);
    const full = d.log === true ? { ...row, block: this.block } : row;
    await insertRow(this.db, table, full);
    if (d.log !== true) await this.journal(table, pkOf(table, full), null);
  }

  /** The row of `table` with primary key `pk`, or undefined. */
  async get<T = Row>(table: TableName, pk: readonly SqlValue[]): Promise<T | undefined> {
    return this.db.get<T>(`SELECT * FROM ${table} WHERE ${where(table)}`, pk);
  }

  /** Updates columns of an existing state-table row; journals its previous value. Returns false if absent. */
  async update(table: TableName, pk: readonly SqlValue[], changes: Row): Promise<boolean> {
    const old = await this.get<Row>(table, pk);
    if (old === undefined) return false;
    const cols = Object.keys(changes);
    if (cols.length === 0) return true;
    await this.db.run(`UPDATE ${table} SET ${cols.map((c) => `${c} = ?`).join(", ")} WHERE ${where(table)}`, [
      ...cols.map((c) => changes[c]!),
      ...pk,
    ]);
    await this.journal(table, [...pk], old);
    return true;
  }

  /** Inserts the row, or updates it with `changes(old)` when one with its primary key exists. */
  async upsert(table: TableName, row: Row, changes: (old: Row) => Row): Promise<void> {
    const pk = pkOf(table, row);
    const old = await this.get<Row>(table, pk);
    if (old === undefined) await this.insert(table, row);
    else await this.update(table, pk, changes(old));
  }

  private async journal(table: TableName, pk: SqlValue[], old: Row | null): Promise<void> {
    await this.db.run("INSERT INTO journal (seq, block, tbl, pk, old) VALUES (?, ?, ?, ?, ?)", [
      this.store.nextSeq(),
      this.block,
      table,
      encodeRow(pk as unknown as Row),
      old === null ? null : encodeRow(old),
    ]);
  }
}
