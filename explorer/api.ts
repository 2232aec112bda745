/**
 * The explorer's read side: one function per JSON answer, each a handful of indexed SQL queries over the index
 * (explorer/schema.ts) plus integer arithmetic in TypeScript. Amounts stay decimal strings of token units; the
 * page formats them with the token's decimals (`status.tokenDecimals`).
 */
import { REGIONS } from "../protocol/market/catalog.js";
import { Tier, reputationBps } from "../protocol/market/types.js";
import { enumValues } from "../protocol/chain/enumNames.js";
import type { SqlDb } from "./db.js";
import { skipReasonName } from "./handlers.js";
import type { NodeHealth } from "./operatorHealth.js";
import type { Row } from "./store.js";

/** The tiers' names by value, as the contract declares them (`High`). */
const TIER_NAMES: readonly string[] = enumValues(Tier).map((t) => Tier[t]);

/** Why each order open at a batch's R_b was left unmatched (explorer/explain.ts); null when not available. */
export interface OpenOrderExplainer {
  explain(batch: number): Promise<{ orderId: number; reason: string }[] | null>;
}

export class NotFoundError extends Error {
  constructor(what: string) {
    super(`${what} not found`);
    this.name = "NotFoundError";
  }
}

const regionName = (zone: number): string => REGIONS[zone >> 8]?.name ?? `region ${zone >> 8}`;

function regionsOfMask(mask: string): string {
  const m = BigInt(mask);
  if (m === 0n) return "any";
  return REGIONS.filter((r) => (m >> BigInt(r.id)) & 1n).map((r) => r.name).join(", ");
}

export class ExplorerApi {
  constructor(
    private readonly db: SqlDb,
    private readonly opts: {
      chainId: number;
      tokenDecimals: number;
      stakeDecimals?: number;
      explainer?: OpenOrderExplainer;
      /** The last polled node API health per operator (explorer/operatorHealth.ts); never waited for. */
      nodeHealth?: { of(id: string | null, address: string | null): NodeHealth | null };
    } = { chainId: 0, tokenDecimals: 6 },
  ) {}

  private async cursor(): Promise<number> {
    const r = await this.db.get<{ value: string }>("SELECT value FROM meta WHERE key = 'cursor'");
    return Number(r?.value ?? "0");
  }

  async status() {
    const count = async (sql: string, p: (string | number)[] = []) => (await this.db.get<{ n: number }>(sql, p))?.n ?? 0;
    const indexedBlock = await this.cursor();
    return {
      chainId: this.opts.chainId,
      tokenDecimals: this.opts.tokenDecimals,
      stakeDecimals: this.opts.stakeDecimals ?? 18,
      indexedBlock,
      orders: await count("SELECT COUNT(*) AS n FROM orders"),
      openOrders: await count("SELECT COUNT(*) AS n FROM orders WHERE status = 'open' AND expires_at > ?", [indexedBlock]),
      leases: await count("SELECT COUNT(*) AS n FROM leases"),
      activeLeases: await count("SELECT COUNT(*) AS n FROM leases WHERE status = 'active'"),
      batches: await count("SELECT COUNT(*) AS n FROM batches"),
      providers: await count("SELECT COUNT(*) AS n FROM providers"),
      operators: await count("SELECT COUNT(*) AS n FROM operators"),
    };
  }

  async market() {
    const at = await this.cursor();
    const models = new Map((await this.db.all<Row>("SELECT id, name, tier FROM models")).map((m) => [m.id as number, m]));
    const modelName = (id: number) => (id === 0 ? "any model" : ((models.get(id)?.name as string | undefined) ?? `model ${id}`));
    const open = await this.db.all<Row>(
      "SELECT model_id, min_tier, region_mask, COUNT(*) AS n, SUM(gpu_count) AS gpus FROM orders WHERE status = 'open' AND expires_at > ? GROUP BY model_id, min_tier, region_mask ORDER BY n DESC LIMIT 200",
      [at],
    );
    const offers = await this.db.all<Row>(
      `SELECT o.model_id AS model_id, p.zone AS zone, COUNT(*) AS n, SUM(o.gpu_count) AS gpus, SUM(o.gpus_leased) AS leased
       FROM offers o JOIN providers p ON p.address = o.provider
       WHERE o.withdrawn_block IS NULL AND o.version_id IS NOT NULL GROUP BY o.model_id, p.zone`,
    );
    const offerPrices = await this.db.all<Row>("SELECT model_id, price FROM offers WHERE withdrawn_block IS NULL AND version_id IS NOT NULL");
    const minPrice = new Map<number, bigint>();
    for (const o of offerPrices) {
      const p = BigInt(o.price as string);
      const cur = minPrice.get(o.model_id as number);
      if (cur === undefined || p < cur) minPrice.set(o.model_id as number, p);
    }
    const byOffer = new Map<string, { model: string; tier: string; region: string; offers: number; gpus: number; leased: number; minPrice: string }>();
    for (const o of offers) {
      const model = models.get(o.model_id as number);
      const key = `${o.model_id}/${regionName(o.zone as number)}`;
      const prev = byOffer.get(key);
      const row = prev ?? {
        model: modelName(o.model_id as number), tier: TIER_NAMES[(model?.tier as number) ?? 0] ?? "?", region: regionName(o.zone as number),
        offers: 0, gpus: 0, leased: 0, minPrice: (minPrice.get(o.model_id as number) ?? 0n).toString(),
      };
      row.offers += o.n as number;
      row.gpus += o.gpus as number;
      row.leased += o.leased as number;
      byOffer.set(key, row);
    }
    const utilByTier = TIER_NAMES.map((tier) => ({ tier, gpus: 0, leased: 0 }));
    for (const o of offers) {
      const t = (models.get(o.model_id as number)?.tier as number | undefined) ?? 0;
      utilByTier[t]!.gpus += o.gpus as number;
      utilByTier[t]!.leased += o.leased as number;
    }
    return {
      indexedBlock: at,
      openOrders: open.map((o) => ({
        model: modelName(o.model_id as number),
        tier: o.model_id === 0 ? `≥ ${TIER_NAMES[o.min_tier as number]}` : (TIER_NAMES[(models.get(o.model_id as number)?.tier as number) ?? 0] ?? "?"),
        regions: regionsOfMask(o.region_mask as string),
        orders: o.n as number,
        gpus: o.gpus as number,
      })),
      offers: [...byOffer.values()].sort((a, b) => b.gpus - a.gpus),
      utilization: utilByTier.filter((u) => u.gpus > 0),
      priceByTier: await this.priceByTier(),
      fillRate: await this.fillRate(),
      money: await this.db.all<Row>("SELECT * FROM money ORDER BY token"),
    };
  }

  /** Per finalized batch (of the last 200) and tier: the GPU-weighted mean price per GPU-hour of its new leases. */
  private async priceByTier() {
    const rows = await this.db.all<Row>(
      `SELECT l.batch AS batch, l.tier AS tier, l.price AS price, l.gpu_count AS gpus, b.finalized_time AS time
       FROM leases l JOIN batches b ON b.id = l.batch
       WHERE l.batch > (SELECT COALESCE(MAX(id), 0) - 200 FROM batches) ORDER BY l.batch`,
    );
    const acc = new Map<string, { batch: number; time: number; tier: number; sum: bigint; gpus: bigint }>();
    for (const r of rows) {
      const key = `${r.batch}/${r.tier}`;
      const a = acc.get(key) ?? { batch: r.batch as number, time: (r.time as number | null) ?? 0, tier: (r.tier as number | null) ?? 0, sum: 0n, gpus: 0n };
      a.sum += BigInt(r.price as string) * BigInt(r.gpus as number);
      a.gpus += BigInt(r.gpus as number);
      acc.set(key, a);
    }
    return [...acc.values()].map((a) => ({ batch: a.batch, time: a.time, tier: TIER_NAMES[a.tier] ?? "?", price: (a.sum / a.gpus).toString() }));
  }

  private async fillRate() {
    const rows = await this.db.all<Row>(
      "SELECT id, finalized_time, open_orders, applied, skipped FROM batches WHERE status = 'final' ORDER BY id DESC LIMIT 200",
    );
    return rows.reverse().map((b) => ({
      batch: b.id as number,
      time: b.finalized_time as number,
      open: b.open_orders as number,
      matched: (b.applied as number | null) ?? 0,
      // Basis points, integer: matched / open at R_b.
      fillBps: (b.open_orders as number) > 0 ? Math.floor((((b.applied as number | null) ?? 0) * 10_000) / (b.open_orders as number)) : 0,
    }));
  }

  async batches(opts: { before?: number; limit?: number } = {}) {
    const limit = Math.min(Math.max(opts.limit ?? 50, 1), 200);
    const rows = await this.db.all<Row>(
      `SELECT id, status, reference_block, closed_block, finalized_block, leader, seed_signer, seed_signer_index, signed_bps,
              assignments, applied, skipped, open_orders, gas_used FROM batches WHERE id < ? ORDER BY id DESC LIMIT ?`,
      [opts.before ?? Number.MAX_SAFE_INTEGER, limit],
    );
    return rows;
  }

  async batch(id: number) {
    const b = await this.db.get<Row>("SELECT * FROM batches WHERE id = ?", [id]);
    if (b === undefined) throw new NotFoundError(`batch ${id}`);
    const assignments = await this.db.all<Row>(
      `SELECT a.order_id AS order_id, a.offer_version_id AS offer_version_id, a.price AS price, a.refund AS refund,
              l.provider AS provider, l.gpu_count AS gpus, l.max_price AS max_price, l.tier AS tier
       FROM assignments a LEFT JOIN leases l ON l.id = a.order_id WHERE a.batch = ? ORDER BY a.order_id`,
      [id],
    );
    const skipped = await this.db.all<Row>("SELECT order_id, reason FROM skipped WHERE batch = ? ORDER BY log_index", [id]);
    const operators = await this.db.all<Row>(
      `SELECT bo.operator_id AS operator_id, bo.stake AS stake, bo.signed AS signed, o.address AS address
       FROM batch_operators bo LEFT JOIN operators o ON o.id = bo.operator_id WHERE bo.batch = ? ORDER BY bo.operator_id`,
      [id],
    );
    return {
      ...b,
      invalidReason: b.invalid_reason === null || b.invalid_reason === undefined ? null : skipReasonName(b.invalid_reason as number),
      appliedAssignments: assignments.map((a) => ({ ...a, tier: a.tier === null ? null : TIER_NAMES[a.tier as number] })),
      skippedAssignments: skipped.map((s) => ({ order_id: s.order_id, reason: skipReasonName(s.reason as number) })),
      operators,
      nonSigners: operators.filter((o) => o.signed === 0).map((o) => o.operator_id),
      // The deterministic matcher's re-run at R_b; null without an explainer or before the batch is final.
      openOrderReasons: this.opts.explainer === undefined ? null : await this.opts.explainer.explain(id),
    };
  }

  async order(id: number) {
    const o = await this.db.get<Row>("SELECT * FROM orders WHERE id = ?", [id]);
    if (o === undefined) throw new NotFoundError(`order ${id}`);
    const lease = (await this.db.get<Row>("SELECT * FROM leases WHERE id = ?", [id])) ?? null;
    const history = await this.db.all<Row>("SELECT block, log_index, tx, name, args, time FROM events WHERE order_id = ? ORDER BY block, log_index", [id]);
    const model = await this.db.get<Row>("SELECT name, tier FROM models WHERE id = ?", [o.model_id ?? null]);
    let paid: string | null = null;
    if (lease !== null) {
      // What the lease costs in full at its price, and what the renter saved against its max.
      paid = (BigInt(lease.price as string) * BigInt(lease.gpu_count as number) * BigInt(lease.duration_hours as number)).toString();
    }
    return {
      ...o,
      model: model?.name ?? (o.model_id === 0 ? "any model" : null),
      regions: regionsOfMask(o.region_mask as string),
      lease: lease === null ? null : { ...lease, fullCost: paid, tier: lease.tier === null ? null : TIER_NAMES[lease.tier as number] },
      skips: (await this.db.all<Row>("SELECT batch, reason FROM skipped WHERE order_id = ? ORDER BY block", [id])).map((s) => ({
        batch: s.batch,
        reason: skipReasonName(s.reason as number),
      })),
      history: history.map((h) => ({ ...h, args: JSON.parse(h.args as string) as unknown })),
    };
  }

  async orders(opts: { status?: string; limit?: number } = {}) {
    const limit = Math.min(Math.max(opts.limit ?? 50, 1), 200);
    if (opts.status !== undefined) {
      return this.db.all<Row>("SELECT id, renter, model_id, gpu_count, max_price, status, created_block FROM orders WHERE status = ? ORDER BY id DESC LIMIT ?", [opts.status, limit]);
    }
    return this.db.all<Row>("SELECT id, renter, model_id, gpu_count, max_price, status, created_block FROM orders ORDER BY id DESC LIMIT ?", [limit]);
  }

  async providers() {
    const rows = await this.db.all<Row>(
      `SELECT p.*, (SELECT COUNT(*) FROM leases l WHERE l.provider = p.address) AS leases,
              (SELECT COUNT(*) FROM leases l WHERE l.provider = p.address AND l.status = 'active') AS active_leases
       FROM providers p ORDER BY p.address`,
    );
    return rows.map((p) => this.providerView(p));
  }

  private providerView(p: Row) {
    return {
      ...p,
      region: regionName(p.zone as number),
      reputationBps: reputationBps({ leasesCompleted: p.leases_completed as number, leasesFailed: p.leases_failed as number }),
    };
  }

  async provider(address: string) {
    const a = address.toLowerCase();
    const p = await this.db.get<Row>(
      `SELECT p.*, (SELECT COUNT(*) FROM leases l WHERE l.provider = p.address) AS leases,
              (SELECT COUNT(*) FROM leases l WHERE l.provider = p.address AND l.status = 'active') AS active_leases
       FROM providers p WHERE p.address = ?`,
      [a],
    );
    if (p === undefined) throw new NotFoundError(`provider ${address}`);
    return {
      ...this.providerView(p),
      offers: await this.db.all<Row>("SELECT * FROM offers WHERE provider = ? ORDER BY id", [a]),
      leases: await this.db.all<Row>("SELECT * FROM leases WHERE provider = ? ORDER BY id DESC LIMIT 100", [a]),
      slashes: await this.db.all<Row>("SELECT * FROM slashes WHERE subject = ? ORDER BY block", [a]),
    };
  }

  async operators() {
    const rows = await this.db.all<Row>(
      `SELECT o.*, (SELECT COUNT(*) FROM batch_operators b WHERE b.operator_id = o.id) AS duties,
              (SELECT COUNT(*) FROM batch_operators b WHERE b.operator_id = o.id AND b.signed = 1) AS signed,
              (SELECT COUNT(*) FROM batches b WHERE b.seed_signer = o.id) AS seeds
       FROM operators o ORDER BY o.id`,
    );
    return rows.map((o) => this.operatorView(o));
  }

  private operatorView(o: Row) {
    const duties = (o.duties as number) ?? 0;
    return {
      ...o,
      missed: duties - ((o.signed as number) ?? 0),
      signingBps: duties === 0 ? null : Math.floor(((o.signed as number) * 10_000) / duties),
      // null: no node API URL was given for this operator.
      nodeApi: this.opts.nodeHealth?.of(o.id as string | null, o.address as string | null) ?? null,
    };
  }

  async operator(id: string) {
    const key = id.toLowerCase();
    const o = await this.db.get<Row>(
      `SELECT o.*, (SELECT COUNT(*) FROM batch_operators b WHERE b.operator_id = o.id) AS duties,
              (SELECT COUNT(*) FROM batch_operators b WHERE b.operator_id = o.id AND b.signed = 1) AS signed,
              (SELECT COUNT(*) FROM batches b WHERE b.seed_signer = o.id) AS seeds
       FROM operators o WHERE o.id = ? OR o.address = ?`,
      [key, key],
    );
    if (o === undefined) throw new NotFoundError(`operator ${id}`);
    return {
      ...this.operatorView(o),
      batches: await this.db.all<Row>("SELECT batch, stake, signed FROM batch_operators WHERE operator_id = ? ORDER BY batch DESC LIMIT 100", [o.id ?? null]),
      slashes: await this.db.all<Row>("SELECT * FROM slashes WHERE subject = ? ORDER BY block", [o.id ?? null]),
    };
  }

  /** Where a search term leads: an order/lease or batch number, a provider, operator or renter address, an operator id. */
  async search(q: string): Promise<{ kind: string; id: string }[]> {
    const term = q.trim().toLowerCase();
    const out: { kind: string; id: string }[] = [];
    if (/^#?\d+$/.test(term)) {
      const n = Number(term.replace("#", ""));
      if (Number.isSafeInteger(n)) {
        if (await this.db.get("SELECT id FROM orders WHERE id = ?", [n])) out.push({ kind: (await this.db.get("SELECT id FROM leases WHERE id = ?", [n])) ? "lease" : "order", id: String(n) });
        if (await this.db.get("SELECT id FROM batches WHERE id = ?", [n])) out.push({ kind: "batch", id: String(n) });
      }
    } else if (/^0x[0-9a-f]{64}$/.test(term)) {
      if (await this.db.get("SELECT id FROM operators WHERE id = ?", [term])) out.push({ kind: "operator", id: term });
    } else if (/^0x[0-9a-f]{40}$/.test(term)) {
      if (await this.db.get("SELECT address FROM providers WHERE address = ?", [term])) out.push({ kind: "provider", id: term });
      const op = await this.db.get<{ id: string }>("SELECT id FROM operators WHERE address = ?", [term]);
      if (op !== undefined) out.push({ kind: "operator", id: op.id });
      if (await this.db.get("SELECT id FROM orders WHERE renter = ? LIMIT 1", [term])) out.push({ kind: "renter", id: term });
    }
    return out;
  }

  async renter(address: string) {
    const a = address.toLowerCase();
    const orders = await this.db.all<Row>("SELECT id, model_id, gpu_count, max_price, status, created_block FROM orders WHERE renter = ? ORDER BY id DESC LIMIT 200", [a]);
    if (orders.length === 0) throw new NotFoundError(`renter ${address}`);
    return { address: a, orders };
  }
}
