/**
 * The explorer's index schema, as data: every table with its columns and primary key, and the indexes the API's
 * queries use. `ddl(dialect)` renders it for SQLite (embedded, the default) or PostgreSQL (a public deployment);
 * both accept the same statements except the few type names that differ. See docs/explorer.md.
 *
 * Amounts (uint128/uint256) are stored as decimal TEXT: neither SQLite's INTEGER nor PostgreSQL's BIGINT holds
 * them, and they are summed with BigInt in TypeScript, never with SQL floats. Block numbers, ids and counters fit
 * in a signed 64-bit integer (BIGINT / INTEGER).
 *
 * Two kinds of tables:
 * - log tables (`log: true`) only ever get inserts, each row tagged with its `block`: a reorg deletes the rows of
 *   the unwound blocks;
 * - state tables are inserted and updated by the event handlers: every write is journaled with the row's previous
 *   value (explorer/store.ts), and a reorg replays the journal backwards.
 */

export type Dialect = "sqlite" | "postgres";

/**
 * The layout of the tables below, recorded in `meta.schema_version` when an index is created and checked each time
 * one is opened (explorer/db.ts): an index of another version is refused rather than read with the wrong columns.
 * Raise it with any change of a table, a column or its meaning (not with a new order of a table's columns: rows are
 * written and read by column name). An index written before the version was recorded (no `schema_version` row) has
 * version 1.
 */
export const SCHEMA_VERSION = 2;

type ColType = "int" | "text";

export interface TableDef {
  columns: Record<string, ColType>;
  pk: readonly string[];
  log?: boolean;
}

export const TABLES = {
  meta: { columns: { key: "text", value: "text" }, pk: ["key"] },
  /** Blocks whose logs were indexed, and the cursor block: hashes to detect a reorg, times for the charts. */
  blocks: { columns: { number: "int", hash: "text", time: "int", block: "int" }, pk: ["number"], log: true },
  /** Every decoded event, for histories (order, lease, provider, operator) and search. */
  events: {
    columns: {
      block: "int", log_index: "int", tx: "text", contract: "text", name: "text", args: "text",
      order_id: "int", batch: "int", address: "text", time: "int",
    },
    pk: ["block", "log_index"],
    log: true,
  },
  journal: { columns: { seq: "int", block: "int", tbl: "text", pk: "text", old: "text" }, pk: ["seq"] },
  models: { columns: { id: "int", name: "text", vram_gb: "int", list_price_usd: "int", tier: "int" }, pk: ["id"] },
  orders: {
    columns: {
      id: "int", renter: "text", payment_token: "text", escrow: "text", model_id: "int", min_tier: "int",
      gpu_count: "int", region_mask: "text", preferred_zone: "int", max_price: "text", duration_hours: "int",
      min_uptime_bps: "int", min_reputation_bps: "int", max_times_slashed: "int", expires_at: "int",
      created_block: "int", created_time: "int", status: "text", ended_block: "int", refund: "text",
    },
    pk: ["id"],
  },
  offers: {
    columns: {
      id: "int", provider: "text", model_id: "int", payment_token: "text", version_id: "int", gpu_count: "int",
      gpus_leased: "int", price: "text", created_block: "int", withdrawn_block: "int",
    },
    pk: ["id"],
  },
  offer_versions: {
    columns: { id: "int", offer_id: "int", gpu_count: "int", price: "text", active_from: "int", active_until: "int" },
    pk: ["id"],
  },
  leases: {
    columns: {
      id: "int", batch: "int", offer_version_id: "int", offer_id: "int", provider: "text", renter: "text",
      payment_token: "text", tier: "int", gpu_count: "int", price: "text", max_price: "text", duration_hours: "int",
      started_block: "int", started_time: "int", ends_time: "int", status: "text", close_reason: "text",
      closed_block: "int", closed_at: "int", refund_at_start: "text", refund_at_close: "text", earned: "text",
      ready_block: "int",
    },
    pk: ["id"],
  },
  batches: {
    columns: {
      id: "int", status: "text", reference_block: "int", closed_block: "int", closed_time: "int",
      previous_seed: "text", leader: "text", seed: "text", result_hash: "text", finalized_block: "int",
      finalized_time: "int", signed_stake: "text", total_stake: "text", signed_bps: "int", assignments: "int",
      applied: "int", skipped: "int", open_orders: "int", seed_signer_index: "int", seed_signer: "text", gas_used: "text", tx: "text",
      abandoned_block: "int", invalid_block: "int", invalid_order: "int", invalid_reason: "int",
    },
    pk: ["id"],
  },
  /** The operator set at a batch's R_b and who signed its result. */
  batch_operators: {
    columns: { batch: "int", operator_id: "text", stake: "text", signed: "int", block: "int" },
    pk: ["batch", "operator_id"],
    log: true,
  },
  assignments: {
    columns: { batch: "int", order_id: "int", offer_version_id: "int", price: "text", refund: "text", block: "int" },
    pk: ["batch", "order_id"],
    log: true,
  },
  skipped: {
    columns: { block: "int", log_index: "int", batch: "int", order_id: "int", reason: "int" },
    pk: ["block", "log_index"],
    log: true,
  },
  providers: {
    columns: {
      address: "text", zone: "int", stake: "text", status: "text", uptime_bps: "int", leases_completed: "int",
      leases_failed: "int", times_slashed: "int", slashed: "text", earned: "text", registered_block: "int",
      exit_ready_block: "int",
    },
    pk: ["address"],
  },
  operators: {
    columns: {
      id: "text", address: "text", socket: "text", status: "text",
      stake: "text", times_slashed: "int", slashed: "text",
      registered_block: "int", exitable_at: "int", ejected_batch: "int",
    },
    pk: ["id"],
  },
  slashes: {
    columns: {
      block: "int", log_index: "int", tx: "text",
      kind: "text", subject: "text", duty_key: "text",
      amount: "text", bps: "int", beneficiary: "text", bounty: "text",
    },
    pk: ["block", "log_index"],
    log: true,
  },
  money: {
    columns: { token: "text", deposited: "text", escrowed: "text", earned: "text", refundable: "text", withdrawn: "text" },
    pk: ["token"],
  },
} as const satisfies Record<string, TableDef>;

export type TableName = keyof typeof TABLES;

const INDEXES: ReadonlyArray<[string, TableName, string]> = [
  ["orders_status", "orders", "status, id"],
  ["orders_renter", "orders", "renter"],
  ["orders_created", "orders", "created_block"],
  ["leases_provider", "leases", "provider"],
  ["leases_renter", "leases", "renter"],
  ["leases_started", "leases", "started_time"],
  ["leases_batch", "leases", "batch"],
  ["offers_provider", "offers", "provider"],
  ["events_order", "events", "order_id"],
  ["events_address", "events", "address"],
  ["events_batch", "events", "batch"],
  ["skipped_batch", "skipped", "batch"],
  ["batch_operators_op", "batch_operators", "operator_id"],
  ["journal_block", "journal", "block"],
];

function sqlType(t: ColType, dialect: Dialect): string {
  // SQLite compares TEXT byte by byte; PostgreSQL by the database's locale unless told otherwise. "C" makes every
  // ORDER BY on text (addresses, operator ids, tokens) come back in the same order on both engines.
  if (t === "text") return dialect === "sqlite" ? "TEXT" : 'TEXT COLLATE "C"';
  return dialect === "sqlite" ? "INTEGER" : "BIGINT";
}

/** CREATE TABLE / CREATE INDEX statements (idempotent) for `dialect`. */
export function ddl(dialect: Dialect): string[] {
  const out: string[] = [];
  for (const [name, def] of Object.entries(TABLES) as [TableName, TableDef][]) {
    const cols = Object.entries(def.columns).map(([c, t]) => `${c} ${sqlType(t, dialect)}`);
    out.push(`CREATE TABLE IF NOT EXISTS ${name} (${cols.join(", ")}, PRIMARY KEY (${def.pk.join(", ")}))`);
  }
  for (const [name, table, cols] of INDEXES) out.push(`CREATE INDEX IF NOT EXISTS ${name} ON ${table} (${cols})`);
  return out;
}

export function tableDef(name: TableName): TableDef {
  return TABLES[name];
}

/** Thrown when an index was written by an explorer with another table layout (exit code 4 of `npm run explorer`). */
export class SchemaVersionError extends Error {
  constructor(
    readonly where: string,
    readonly found: string,
  ) {
    super(
      `explorer index: ${where} holds an index of schema version ${found}; this explorer reads version ${SCHEMA_VERSION}. ` +
        "Rebuild it from the chain: use a new --db file or an empty database",
    );
    this.name = "SchemaVersionError";
  }
}

/**
 * The schema version an existing index records: undefined for a fresh one (no `meta` table or no cursor yet), "1"
 * for one written before the version was recorded. Throws `SchemaVersionError` when it is not SCHEMA_VERSION.
 */
export function checkSchemaVersion(where: string, meta: { version: string | undefined; chainId: string | undefined } | null): void {
  if (meta === null) return;
  const found = meta.version ?? (meta.chainId === undefined ? undefined : "1");
  if (found !== undefined && found !== String(SCHEMA_VERSION)) throw new SchemaVersionError(where, found);
}
