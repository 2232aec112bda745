/**
 * One table from event to handler: `HANDLERS["marketplace.OrderCreated"]` says what an event does to the index.
 * An event without an entry still lands in `events` (its history and search). A handler may declare what it needs
 * read from the chain (`load`): the indexer fetches all of a block range's needs at once, before the range's
 * single transaction, so that handlers only write.
 */
import { enumName } from "../protocol/chain/enumNames.js";
import { CloseReason, SkipReason } from "../protocol/market/types.js";
import type { Address, Hex } from "viem";
import type { SqlValue } from "./db.js";
import type { BlockWriter, Row } from "./store.js";
import type { ContractKey } from "./contracts.js";

/** What a handler may ask the chain for (resolved by explorer/loader.ts). */
export interface Needs {
  order(id: bigint): void;
  finalization(batch: bigint, tx: Hex, block: bigint): void;
}

export interface LoadedOrder {
  modelId: number;
  minTier: number;
  gpuCount: number;
  regionMask: bigint;
  preferredZone: number;
  maxPricePerGpuHour: bigint;
  durationHours: number;
  minUptimeBps: number;
  minReputationBps: number;
  maxTimesSlashed: number;
  expiresAt: bigint;
}

export interface LoadedFinalization {
  referenceBlock: number;
  /** Null when the finalizing transaction is not a direct `submitResult` call (its calldata cannot be read). */
  seedSignerIndex: number | null;
  seedSigner: Hex | null;
  /** leaderOf(b, 0): the draw is not in BatchClosed (docs/protocol.md §3.2). */
  leader: Hex;
  gasUsed: bigint;
  /** The operator set at R_b with stakes, and whether each one signed (null: calldata unreadable). */
  operators: { operatorId: Hex; stake: bigint; signed: boolean | null }[];
}

export interface Loaded {
  orders: Map<bigint, LoadedOrder>;
  finalizations: Map<bigint, LoadedFinalization>;
}

export interface EventCtx {
  w: BlockWriter;
  block: number;
  time: number;
  logIndex: number;
  tx: Hex;
  loaded: Loaded;
}

type Args = Record<string, unknown>;

export interface EventHandler {
  load?(args: Args, needs: Needs, block: bigint, tx: Hex): void;
  apply(ctx: EventCtx, args: Args): Promise<void>;
}

const big = (v: unknown): bigint => v as bigint;
const num = (v: unknown): number => Number(v as bigint | number);
const addr = (v: unknown): string => (v as Address).toLowerCase();
const add = (a: SqlValue | undefined, b: bigint): string => (BigInt((a as string | null) ?? "0") + b).toString();

/** A SkipReason's name as the contract declares it (`PriceAboveMax`). */
export const skipReasonName = (value: number): string => SkipReason[value] ?? `reason ${value}`;

type Money = "deposited" | "escrowed" | "earned" | "refundable" | "withdrawn";

/** Moves `amount` of `token` between the five money totals (Marketplace keeps the same books). */
async function money(w: BlockWriter, token: string, changes: Partial<Record<Money, bigint>>): Promise<void> {
  const zero: Row = { token, deposited: "0", escrowed: "0", earned: "0", refundable: "0", withdrawn: "0" };
  const old = (await w.get<Row>("money", [token])) ?? null;
  if (old === null) await w.insert("money", zero);
  const base = old ?? zero;
  const next: Row = {};
  for (const [k, v] of Object.entries(changes) as [Money, bigint][]) next[k] = add(base[k], v);
  await w.update("money", [token], next);
}

async function orderRow(w: BlockWriter, id: bigint): Promise<Row> {
  const o = await w.get<Row>("orders", [Number(id)]);
  if (o === undefined) throw new Error(`explorer: event for order ${id}, which the index does not have`);
  return o;
}

async function leaseRow(w: BlockWriter, id: bigint): Promise<Row> {
  const l = await w.get<Row>("leases", [Number(id)]);
  if (l === undefined) throw new Error(`explorer: event for lease ${id}, which the index does not have`);
  return l;
}

async function providerUpdate(w: BlockWriter, provider: string, changes: Row): Promise<void> {
  if (!(await w.update("providers", [provider], changes))) {
    throw new Error(`explorer: event for provider ${provider}, which the index does not have`);
  }
}

async function operatorUpdate(w: BlockWriter, id: Hex, changes: (old: Row) => Row): Promise<void> {
  const old = await w.get<Row>("operators", [id]);
  if (old === undefined) throw new Error(`explorer: event for operator ${id}, which the index does not have`);
  await w.update("operators", [id], changes(old));
}

export const HANDLERS: Partial<Record<`${ContractKey}.${string}`, EventHandler>> = {
  // ---------------------------------------------------------------- catalog
  "catalog.ModelAdded": {
    async apply({ w }, a) {
      await w.insert("models", { id: num(a.id), name: a.name as string, vram_gb: num(a.vramGb), list_price_usd: num(a.listPriceUsd), tier: num(a.tier) });
    },
  },

  // ---------------------------------------------------------------- providers
  "providerRegistry.ProviderRegistered": {
    async apply({ w, block }, a) {
      const address = addr(a.provider);
      await w.upsert(
        "providers",
        {
          address, zone: num(a.zone), stake: big(a.stake).toString(), status: "active", uptime_bps: 10_000,
          leases_completed: 0, leases_failed: 0, times_slashed: 0, slashed: "0", earned: "0", registered_block: block,
          exit_ready_block: null,
        },
        // A provider that exited may register again: its counters stay.
        () => ({ zone: num(a.zone), stake: big(a.stake).toString(), status: "active", registered_block: block, exit_ready_block: null }),
      );
    },
  },
  "providerRegistry.StakeAdded": {
    async apply({ w }, a) {
      await providerUpdate(w, addr(a.provider), { stake: big(a.newStake).toString() });
    },
  },
  "providerRegistry.MaintenanceSet": {
    async apply({ w }, a) {
      await providerUpdate(w, addr(a.provider), { status: a.inMaintenance === true ? "maintenance" : "active" });
    },
  },
  "providerRegistry.ExitRequested": {
    async apply({ w }, a) {
      await providerUpdate(w, addr(a.provider), { status: "exiting", exit_ready_block: num(a.readyAtBlock) });
    },
  },
  "providerRegistry.ExitCompleted": {
    async apply({ w }, a) {
      await providerUpdate(w, addr(a.provider), { status: "exited", stake: "0" });
    },
  },
  "providerRegistry.LeaseOutcomeRecorded": {
    async apply({ w }, a) {
      await providerUpdate(w, addr(a.provider), { leases_completed: num(a.leasesCompleted), leases_failed: num(a.leasesFailed) });
    },
  },
  "providerRegistry.UptimeSet": {
    async apply({ w }, a) {
      await providerUpdate(w, addr(a.provider), { uptime_bps: num(a.uptimeBps) });
    },
  },
  "providerRegistry.ProviderSlashed": {
    async apply({ w, logIndex, tx }, a) {
      const address = addr(a.provider);
      const p = await w.get<Row>("providers", [address]);
      if (p === undefined) throw new Error(`explorer: slash of provider ${address}, which the index does not have`);
      const amount = big(a.amount);
      await w.update("providers", [address], {
        stake: (BigInt(p.stake as string) - amount).toString(),
        slashed: add(p.slashed, amount),
        times_slashed: (p.times_slashed as number) + 1,
        ...(a.jailed === true ? { status: "jailed" } : {}),
      });
      await w.insert("slashes", {
        log_index: logIndex, kind: "provider", subject: address, amount: amount.toString(), bps: null,
        beneficiary: addr(a.recipient), bounty: null, duty_key: null, tx,
      });
    },
  },

  // ---------------------------------------------------------------- offers
  "offerBook.OfferCreated": {
    async apply({ w, block }, a) {
      await w.insert("offers", {
        id: num(a.offerId), provider: addr(a.provider), model_id: num(a.modelId), payment_token: addr(a.paymentToken),
        version_id: null, gpu_count: 0, gpus_leased: 0, price: null, created_block: block, withdrawn_block: null,
      });
    },
  },
  "offerBook.OfferVersionActivated": {
    async apply({ w }, a) {
      const offerId = num(a.offerId);
      await w.insert("offer_versions", {
        id: num(a.versionId), offer_id: offerId, gpu_count: num(a.gpuCount), price: big(a.pricePerGpuHour).toString(),
        active_from: num(a.activeFrom), active_until: null,
      });
      await w.update("offers", [offerId], { version_id: num(a.versionId), gpu_count: num(a.gpuCount), price: big(a.pricePerGpuHour).toString() });
    },
  },
  "offerBook.OfferVersionDeactivated": {
    async apply({ w }, a) {
      await w.update("offer_versions", [num(a.versionId)], { active_until: num(a.activeUntil) });
    },
  },
  "offerBook.OfferWithdrawn": {
    async apply({ w, block }, a) {
      await w.update("offers", [num(a.offerId)], { withdrawn_block: block });
    },
  },

  // ---------------------------------------------------------------- orders, leases, money
  "marketplace.OrderCreated": {
    load(a, needs) {
      needs.order(big(a.orderId));
    },
    async apply({ w, block, time, loaded }, a) {
      const id = big(a.orderId);
      const o = loaded.orders.get(id);
      if (o === undefined) throw new Error(`explorer: order ${id} was not loaded`);
      const token = addr(a.paymentToken);
      await w.insert("orders", {
        id: Number(id), renter: addr(a.renter), payment_token: token, escrow: big(a.escrow).toString(), model_id: o.modelId,
        min_tier: o.minTier, gpu_count: o.gpuCount, region_mask: o.regionMask.toString(), preferred_zone: o.preferredZone,
        max_price: o.maxPricePerGpuHour.toString(), duration_hours: o.durationHours, min_uptime_bps: o.minUptimeBps,
        min_reputation_bps: o.minReputationBps, max_times_slashed: o.maxTimesSlashed, expires_at: Number(o.expiresAt),
        created_block: block, created_time: time, status: "open", ended_block: null, refund: null,
      });
      await money(w, token, { deposited: big(a.escrow), escrowed: big(a.escrow) });
    },
  },
  "marketplace.OrderCancelled": {
    async apply({ w, block }, a) {
      const o = await orderRow(w, big(a.orderId));
      await w.update("orders", [o.id!], { status: "cancelled", ended_block: block, refund: big(a.refund).toString() });
      await money(w, o.payment_token as string, { escrowed: -big(a.refund), refundable: big(a.refund) });
    },
  },
  "marketplace.OrderExpired": {
    async apply({ w, block }, a) {
      const o = await orderRow(w, big(a.orderId));
      await w.update("orders", [o.id!], { status: "expired", ended_block: block, refund: big(a.refund).toString() });
      await money(w, o.payment_token as string, { escrowed: -big(a.refund), refundable: big(a.refund) });
    },
  },
  "marketplace.AssignmentApplied": {
    async apply({ w, block, time }, a) {
      const o = await orderRow(w, big(a.orderId));
      const versionId = num(a.offerVersionId);
      const version = await w.get<Row>("offer_versions", [versionId]);
      if (version === undefined) throw new Error(`explorer: lease on offer version ${versionId}, which the index does not have`);
      const offer = (await w.get<Row>("offers", [version.offer_id!]))!;
      const model = await w.get<Row>("models", [offer.model_id!]);
      const gpus = o.gpu_count as number;
      // The excess escrow stays escrowed until releaseExcessEscrow or the lease's close (docs/contracts.md).
      const refund = big(a.excessEscrow);
      await w.update("orders", [o.id!], { status: "matched", ended_block: block, refund: refund.toString() });
      await w.update("offers", [offer.id!], { gpus_leased: (offer.gpus_leased as number) + gpus });
      await w.insert("leases", {
        id: o.id!, batch: num(a.batch), offer_version_id: versionId, offer_id: offer.id!, provider: offer.provider!,
        renter: o.renter!, payment_token: o.payment_token!, tier: (model?.tier as number | undefined) ?? null, gpu_count: gpus,
        price: big(a.pricePerGpuHour).toString(), max_price: o.max_price!, duration_hours: o.duration_hours!,
        started_block: block, started_time: time, ends_time: time + (o.duration_hours as number) * 3600, status: "active",
        close_reason: null, closed_block: null, closed_at: null, refund_at_start: "0", refund_at_close: null,
        earned: "0", ready_block: null,
      });
      await w.insert("assignments", {
        batch: num(a.batch), order_id: o.id!, offer_version_id: versionId, price: big(a.pricePerGpuHour).toString(),
        refund: refund.toString(),
      });
      const b = await w.get<Row>("batches", [num(a.batch)]);
      if (b !== undefined) await w.update("batches", [num(a.batch)], { applied: ((b.applied as number | null) ?? 0) + 1 });
    },
  },
  "marketplace.ExcessEscrowReleased": {
    async apply({ w }, a) {
      const l = await leaseRow(w, big(a.leaseId));
      const amount = big(a.amount);
      await w.update("leases", [l.id!], { refund_at_start: add(l.refund_at_start, amount) });
      await money(w, l.payment_token as string, { escrowed: -amount, refundable: amount });
    },
  },
  "marketplace.AssignmentSkipped": {
    async apply({ w, logIndex }, a) {
      const batch = num(a.batch);
      await w.insert("skipped", { log_index: logIndex, batch, order_id: num(a.orderId), reason: num(a.reason) });
      const b = await w.get<Row>("batches", [batch]);
      if (b !== undefined) await w.update("batches", [batch], { skipped: ((b.skipped as number | null) ?? 0) + 1 });
    },
  },
  "marketplace.EarningsSettled": {
    async apply({ w }, a) {
      const l = await leaseRow(w, big(a.leaseId));
      const amount = big(a.amount);
      await w.update("leases", [l.id!], { earned: add(l.earned, amount) });
      const p = await w.get<Row>("providers", [addr(a.provider)]);
      if (p !== undefined) await w.update("providers", [p.address!], { earned: add(p.earned, amount) });
      await money(w, l.payment_token as string, { escrowed: -amount, earned: amount });
    },
  },
  "marketplace.LeaseClosed": {
    async apply({ w, block }, a) {
      const l = await leaseRow(w, big(a.leaseId));
      const refund = big(a.refund);
      await w.update("leases", [l.id!], {
        status: "closed", close_reason: enumName(CloseReason, num(a.reason), `reason-${num(a.reason)}`), closed_block: block,
        closed_at: num(a.closedAt), refund_at_close: refund.toString(),
      });
      const offer = (await w.get<Row>("offers", [l.offer_id!]))!;
      await w.update("offers", [offer.id!], { gpus_leased: (offer.gpus_leased as number) - (l.gpu_count as number) });
      if (refund !== 0n) await money(w, l.payment_token as string, { escrowed: -refund, refundable: refund });
    },
  },
  "marketplace.LeaseReady": {
    async apply({ w, block }, a) {
      const l = await leaseRow(w, big(a.leaseId));
      await w.update("leases", [l.id!], { ready_block: block });
    },
  },
  "marketplace.LeaseExtended": {
    async apply({ w }, a) {
      const l = await leaseRow(w, big(a.leaseId));
      await w.update("leases", [l.id!], { ends_time: num(a.endsAt) });
      await money(w, l.payment_token as string, { deposited: big(a.paid), escrowed: big(a.paid) });
    },
  },
  "marketplace.RefundWithdrawn": {
    async apply({ w }, a) {
      await money(w, addr(a.token), { refundable: -big(a.amount), withdrawn: big(a.amount) });
    },
  },
  "marketplace.EarningsWithdrawn": {
    async apply({ w }, a) {
      await money(w, addr(a.token), { earned: -big(a.amount), withdrawn: big(a.amount) });
    },
  },

  // ---------------------------------------------------------------- operators
  "operatorRegistry.OperatorRegistered": {
    async apply({ w, block }, a) {
      const id = a.operatorId as Hex;
      await w.upsert(
        "operators",
        {
          id, address: addr(a.operator), stake: big(a.stake).toString(), socket: a.socket as string, status: "registered",
          registered_block: block, exitable_at: null, times_slashed: 0, slashed: "0", ejected_batch: null,
        },
        () => ({ stake: big(a.stake).toString(), socket: a.socket as string, status: "registered", registered_block: block, exitable_at: null }),
      );
    },
  },
  "operatorRegistry.OperatorStakeIncreased": {
    async apply({ w }, a) {
      await operatorUpdate(w, a.operatorId as Hex, () => ({ stake: big(a.newStake).toString() }));
    },
  },
  "operatorRegistry.OperatorSocketUpdated": {
    async apply({ w }, a) {
      await operatorUpdate(w, a.operatorId as Hex, () => ({ socket: a.socket as string }));
    },
  },
  "operatorRegistry.OperatorDeregistered": {
    async apply({ w }, a) {
      await operatorUpdate(w, a.operatorId as Hex, () => ({ status: "deregistered", exitable_at: num(a.exitableAt) }));
    },
  },
  "operatorRegistry.OperatorStakeWithdrawn": {
    async apply({ w }, a) {
      await operatorUpdate(w, a.operatorId as Hex, () => ({ stake: "0", status: "exited" }));
    },
  },
  "operatorRegistry.OperatorJailed": {
    async apply({ w }, a) {
      await operatorUpdate(w, a.operatorId as Hex, () => ({ status: "jailed" }));
    },
  },
  "operatorRegistry.OperatorSlashed": {
    async apply({ w, logIndex, tx }, a) {
      const id = a.operatorId as Hex;
      const slashed = big(a.slashed);
      await operatorUpdate(w, id, (old) => ({
        stake: (BigInt(old.stake as string) - slashed).toString(),
        slashed: add(old.slashed, slashed),
        times_slashed: (old.times_slashed as number) + 1,
      }));
      await w.insert("slashes", {
        log_index: logIndex, kind: "operator", subject: id, amount: slashed.toString(), bps: num(a.bps),
        beneficiary: addr(a.beneficiary), bounty: big(a.bounty).toString(), duty_key: null, tx,
      });
    },
  },

  // ---------------------------------------------------------------- batches
  "serviceManager.BatchClosed": {
    async apply({ w, block, time }, a) {
      await w.insert("batches", {
        id: num(a.batch), status: "closed", reference_block: num(a.referenceBlock), closed_block: block, closed_time: time,
        previous_seed: a.previousSeed as Hex, leader: null, seed: null, result_hash: null, finalized_block: null,
        finalized_time: null, signed_stake: null, total_stake: null, signed_bps: null, assignments: null, applied: 0, skipped: 0,
        open_orders: null, seed_signer_index: null, seed_signer: null, gas_used: null, tx: null, abandoned_block: null,
        invalid_block: null, invalid_order: null, invalid_reason: null,
      });
    },
  },
  "serviceManager.BatchFinalized": {
    load(a, needs, block, tx) {
      needs.finalization(big(a.batch), tx, block);
    },
    async apply({ w, block, time, tx, loaded }, a) {
      const batch = big(a.batch);
      const f = loaded.finalizations.get(batch);
      if (f === undefined) throw new Error(`explorer: finalization of batch ${batch} was not loaded`);
      const rb = f.referenceBlock;
      const signedStake = big(a.signedStake);
      const totalStake = big(a.totalStake);
      await w.update("batches", [Number(batch)], {
        status: "final", seed: a.seed as Hex, result_hash: a.resultHash as Hex, finalized_block: block, finalized_time: time,
        signed_stake: signedStake.toString(), total_stake: totalStake.toString(),
        signed_bps: totalStake === 0n ? 0 : Number((signedStake * 10_000n) / totalStake), leader: f.leader, assignments: 0,
        open_orders: await countOpenAt(w, rb), seed_signer_index: f.seedSignerIndex, seed_signer: f.seedSigner,
        gas_used: f.gasUsed.toString(), tx,
      });
      for (const op of f.operators) {
        await w.insert("batch_operators", { batch: Number(batch), operator_id: op.operatorId, stake: op.stake.toString(), signed: op.signed === null ? null : op.signed ? 1 : 0 });
      }
    },
  },
  "serviceManager.PageApplied": {
    async apply({ w }, a) {
      const b = await w.get<Row>("batches", [num(a.batch)]);
      if (b !== undefined) await w.update("batches", [num(a.batch)], { assignments: ((b.assignments as number | null) ?? 0) + num(a.assignments) });
    },
  },
  "serviceManager.ResultProvenInvalid": {
    async apply({ w, block }, a) {
      await w.update("batches", [num(a.batch)], { invalid_block: block, invalid_order: num(a.orderId), invalid_reason: num(a.reason) });
    },
  },
  "serviceManager.InvalidResultSignerSlashed": {
    async apply({ w, tx }, a) {
      // The registry's OperatorSlashed of the same transaction recorded the slash: name what it was for.
      const row = await w.db.get<{ block: number; log_index: number }>(
        "SELECT block, log_index FROM slashes WHERE tx = ? AND subject = ? AND kind = 'operator' ORDER BY log_index DESC LIMIT 1",
        [tx, a.operatorId as Hex],
      );
      if (row === undefined) throw new Error(`explorer: InvalidResultSignerSlashed in ${tx} without the registry's OperatorSlashed`);
      await w.update("slashes", [row.block, row.log_index], { kind: "invalid-result", duty_key: String(num(a.batch)) });
    },
  },
  "serviceManager.OperatorEjected": {
    async apply({ w }, a) {
      await operatorUpdate(w, a.operatorId as Hex, () => ({ status: "ejected", ejected_batch: num(a.lastBatch) }));
    },
  },
  "serviceManager.BatchAbandoned": {
    async apply({ w, block }, a) {
      await w.update("batches", [num(a.batch)], { status: "abandoned", abandoned_block: block });
    },
  },
};

/** Orders open at block `rb`: created at or before it, not ended by it, and not expired at it. */
async function countOpenAt(w: BlockWriter, rb: number): Promise<number> {
  const r = await w.db.get<{ n: number }>(
    "SELECT COUNT(*) AS n FROM orders WHERE created_block <= ? AND (ended_block IS NULL OR ended_block > ?) AND expires_at > ?",
    [rb, rb, rb],
  );
  return r?.n ?? 0;
}
