/**
 * The explorer indexer's cases, run on every engine the index supports: test/explorer/indexer.test.ts (SQLite) and
 * test/explorer/postgres.test.ts (PostgreSQL) call `describeIndexerCases` with their own backend. No side effects at
 * import (mocha loads every file under test/).
 */
import { expect } from "chai";
import type { NetworkConnection } from "hardhat/types/network";
import { createPublicClient, custom, type PublicClient } from "viem";
import type { SqlDb } from "../../explorer/db.js";
import { Indexer } from "../../explorer/indexer.js";
import { skipReasonName } from "../../explorer/handlers.js";
import { SCHEMA_VERSION, SchemaVersionError } from "../../explorer/schema.js";
import {
  as, deployMarket, EXIT_DELAY, H100, MIN_STAKE, placeOrder, providerWithOffer, SkipReason, USD, Zones, type Market,
} from "./market.js";
import { assignmentsHash, batchSignedBy, buildSubmission, deploySystem, orders, providerOffer, resultMessage } from "./serviceManager.js";

/** Where an index lives for one test, and how the indexer's connection to it is opened. */
export interface IndexBackend {
  /** A fresh, empty index target (file path or database URL) and its removal. */
  fresh(): Promise<{ target: string; remove(): Promise<void> }>;
  openWriter(target: string): Promise<SqlDb>;
}

/** A viem client over the in-process chain that records every RPC method and its params. */
export function recordingClientOf(connection: NetworkConnection): { client: PublicClient; calls: { method: string; params: unknown }[] } {
  const calls: { method: string; params: unknown }[] = [];
  const provider = connection.provider;
  const client = createPublicClient({
    transport: custom({
      async request({ method, params }: { method: string; params?: unknown }) {
        calls.push({ method, params });
        return provider.request({ method, params: params as unknown[] | undefined });
      },
    }),
  }) as PublicClient;
  return { client, calls };
}

async function withIndexOf<T>(backend: IndexBackend, fn: (target: string) => Promise<T>): Promise<T> {
  const index = await backend.fresh();
  try {
    return await fn(index.target);
  } finally {
    await index.remove();
  }
}

async function indexOnceOf(
  backend: IndexBackend,
  connection: NetworkConnection,
  deployment: ConstructorParameters<typeof Indexer>[0],
  target: string,
  client?: PublicClient,
  rangeBlocks = 50,
) {
  const db = await backend.openWriter(target);
  const indexer = new Indexer(deployment, { client: client ?? recordingClientOf(connection).client, db }, { rangeBlocks });
  await indexer.open();
  await indexer.syncToHead();
  return { db, indexer };
}

async function moneyMatchesChain(db: SqlDb, m: { marketplace: Market["marketplace"]; paymentToken: Market["paymentToken"] }) {
  const onChain = await m.marketplace.read.moneyTotals([m.paymentToken.address]);
  const row = await db.get<Record<string, string>>("SELECT * FROM money WHERE token = ?", [m.paymentToken.address.toLowerCase()]);
  expect(row, "money row").to.not.equal(undefined);
  for (const k of ["deposited", "escrowed", "earned", "refundable", "withdrawn"] as const) {
    expect(BigInt(row![k]!), k).to.equal(onChain[k]);
  }
}

export function describeIndexerCases(engine: string, backend: IndexBackend, connection: NetworkConnection): void {
  const { networkHelpers } = connection;
  const recordingClient = () => recordingClientOf(connection);
  const withIndex = <T>(fn: (target: string) => Promise<T>) => withIndexOf(backend, fn);
  const indexOnce = (deployment: ConstructorParameters<typeof Indexer>[0], target: string, client?: PublicClient, rangeBlocks?: number) =>
    indexOnceOf(backend, connection, deployment, target, client, rangeBlocks);

describe(`explorer indexer (${engine})`, () => {
  describe("given a market with every kind of market event", () => {
    it("→ it should land each event in the right row, and the money totals should equal the contract's", async () => {
      const m = await deployMarket(connection);
      const p1 = await as(m, m.provider1);
      const p3 = await as(m, m.provider3);
      const r1 = await as(m, m.renter1);
      const sm = await as(m, m.sm);
      const { offerId, versionId: v1 } = await providerWithOffer(m, m.provider1, { zone: Zones.euCentral2, gpuCount: 8, price: 2n * USD });
      await p1.registry.write.topUp([5n]);
      await p1.registry.write.setMaintenance([true]);
      await p1.registry.write.setMaintenance([false]);
      await p1.offerBook.write.updateOffer([offerId, 16, 2n * USD]); // version 2 replaces version 1
      const v2 = v1 + 1n;
      const { offerId: withdrawn } = await providerWithOffer(m, m.provider2, { gpuCount: 4 });
      await (await as(m, m.provider2)).offerBook.write.withdrawOffer([withdrawn]);
      await providerWithOffer(m, m.provider3, { gpuCount: 4 });

      const matched = await placeOrder(m, m.renter1, { maxPricePerGpuHour: 3n * USD, gpuCount: 2, durationHours: 10 });
      const closedEarly = await placeOrder(m, m.renter1, { gpuCount: 4, durationHours: 5 });
      const skipped = await placeOrder(m, m.renter1, { maxPricePerGpuHour: 1n * USD });
      const cancelled = await placeOrder(m, m.renter1);
      const expiring = await placeOrder(m, m.renter2, { expiresAt: (await m.publicClient.getBlockNumber()) + 3n });
      await r1.marketplace.write.cancelOrder([cancelled]);
      const rb = await m.publicClient.getBlockNumber();
      await sm.marketplace.write.applyAssignments([7n, rb, [
        { orderId: matched, offerVersionId: v2, gpuCount: 2, pricePerGpuHour: 2n * USD },
        { orderId: closedEarly, offerVersionId: v2, gpuCount: 4, pricePerGpuHour: 2n * USD },
        { orderId: skipped, offerVersionId: v2, gpuCount: 2, pricePerGpuHour: 2n * USD },
      ]]);
      await p1.marketplace.write.markLeaseReady([matched, "0x01"]);
      await p1.marketplace.write.markLeaseReady([closedEarly, "0x02"]);
      await r1.marketplace.write.extendLease([matched, 1]);
      await networkHelpers.mine(3);
      await r1.marketplace.write.expireOrder([expiring]);
      await sm.registry.write.setUptime([m.provider1.account.address, 9_500]);
      await sm.registry.write.slash([m.provider3.account.address, MIN_STAKE / 10n, m.stranger.account.address, true]);
      await networkHelpers.time.increase(3_600);
      await r1.marketplace.write.closeLease([closedEarly]);
      await networkHelpers.time.increase(11 * 3_600); // 10 h ordered + 1 h extension
      await r1.marketplace.write.completeLease([matched]);
      await p1.marketplace.write.withdrawEarnings([m.paymentToken.address]);
      await r1.marketplace.write.withdrawRefund([m.paymentToken.address]);
      await p3.registry.write.requestExit();
      await networkHelpers.mine(Number(EXIT_DELAY) + 1);
      await p3.registry.write.completeExit();

      await withIndex(async (target) => {
        const { db, indexer } = await indexOnce(m.deployment, target);
        try {
          expect(indexer.indexedBlock).to.equal(Number(await m.publicClient.getBlockNumber()));
          const models = await db.get<{ n: number }>("SELECT COUNT(*) AS n FROM models");
          expect(models!.n).to.equal((await m.catalog.read.modelIds()).length);

          const orderRows = await db.all<{ id: number; status: string; ended_block: number | null; max_price: string; model_id: number }>("SELECT * FROM orders ORDER BY id");
          expect(orderRows.map((o) => [o.id, o.status])).to.deep.equal([
            [Number(matched), "matched"], [Number(closedEarly), "matched"], [Number(skipped), "open"],
            [Number(cancelled), "cancelled"], [Number(expiring), "expired"],
          ]);
          for (const o of orderRows) {
            const chain = await m.marketplace.read.getOrder([BigInt(o.id)]);
            expect(BigInt(o.max_price)).to.equal(chain.params.maxPricePerGpuHour);
            expect(o.model_id).to.equal(chain.params.modelId);
          }

          const leases = await db.all<Record<string, string | number | null>>("SELECT * FROM leases ORDER BY id");
          expect(leases.length).to.equal(2);
          for (const l of leases) {
            const chain = await m.marketplace.read.getLease([BigInt(l.id as number)]);
            expect(l.provider).to.equal(chain.provider.toLowerCase());
            expect(BigInt(l.price as string)).to.equal(chain.pricePerGpuHour);
            expect(l.started_time).to.equal(Number(chain.startedAt));
            expect(l.ends_time).to.equal(Number(chain.endsAt));
            expect(l.status).to.equal("closed");
            expect(l.closed_at).to.equal(Number(chain.closedAt));
            expect(BigInt(l.earned as string)).to.equal(chain.paidOut);
            expect(l.batch).to.equal(7);
          }
          expect(leases.map((l) => l.close_reason)).to.deep.equal(["completed", "renter-closed"]);

          const skips = await db.all<{ batch: number; order_id: number; reason: number }>("SELECT batch, order_id, reason FROM skipped");
          expect(skips).to.deep.equal([{ batch: 7, order_id: Number(skipped), reason: SkipReason.PriceAboveMax }]);
          expect(skipReasonName(SkipReason.PriceAboveMax)).to.equal("PriceAboveMax");

          const offers = await db.all<{ id: number; version_id: number; gpu_count: number; gpus_leased: number; withdrawn_block: number | null }>("SELECT * FROM offers ORDER BY id");
          expect(offers.find((o) => o.id === Number(offerId))).to.include({ version_id: Number(v2), gpu_count: 16, gpus_leased: 0 });
          expect(offers.find((o) => o.id === Number(withdrawn))!.withdrawn_block).to.be.a("number");
          const v1Row = await db.get<{ active_until: number | null }>("SELECT active_until FROM offer_versions WHERE id = ?", [Number(v1)]);
          expect(v1Row!.active_until).to.be.a("number");

          const providers = await db.all<Record<string, string | number | null>>("SELECT * FROM providers ORDER BY address");
          expect(providers.length).to.equal(3);
          for (const p of providers) {
            const chain = await m.registry.read.getProvider([p.address as `0x${string}`]);
            expect(BigInt(p.stake as string), `${p.address} stake`).to.equal(chain.stake);
            expect(p.leases_completed).to.equal(chain.leasesCompleted);
            expect(p.times_slashed).to.equal(chain.timesSlashed);
            expect(p.uptime_bps).to.equal(chain.uptimeBps);
            expect(p.zone).to.equal(chain.zone);
          }
          const byAddr = new Map(providers.map((p) => [p.address, p]));
          expect(byAddr.get(m.provider3.account.address.toLowerCase())!.status).to.equal("exited");
          expect(byAddr.get(m.provider1.account.address.toLowerCase())!.status).to.equal("active");
          const slashes = await db.all<{ kind: string; subject: string; amount: string }>("SELECT kind, subject, amount FROM slashes");
          expect(slashes).to.deep.equal([{ kind: "provider", subject: m.provider3.account.address.toLowerCase(), amount: (MIN_STAKE / 10n).toString() }]);

          await moneyMatchesChain(db, m);
          const names = (await db.all<{ name: string }>("SELECT DISTINCT name FROM events")).map((e) => e.name);
          for (const n of [
            "ModelAdded", "ProviderRegistered", "StakeAdded", "MaintenanceSet", "OfferCreated", "OfferVersionActivated",
            "OfferVersionDeactivated", "OfferWithdrawn", "OrderCreated", "OrderCancelled", "OrderExpired", "AssignmentApplied",
            "AssignmentSkipped", "EarningsSettled", "LeaseClosed", "LeaseOutcomeRecorded", "UptimeSet", "ProviderSlashed",
            "RefundWithdrawn", "EarningsWithdrawn", "ExitRequested", "ExitCompleted", "LeaseReady", "LeaseExtended",
          ]) expect(names, n).to.include(n);
        } finally {
          await db.close();
        }
      });
    });
  });

  describe("given batches closed and finalized by the operators", () => {
    it("→ it should record the batch's leader, seed, signers and non-signers, gas, assignments, and an equivocation slash", async () => {
      const s = await deploySystem(connection);
      const versionId = await providerOffer(s, 0);
      const ids = await orders(s, 3);
      await s.serviceManager.write.closeBatch();
      const rows = [
        { orderId: ids[0]!, offerVersionId: versionId, gpuCount: 2, pricePerGpuHour: 2n * 1_000_000n },
        { orderId: ids[1]!, offerVersionId: versionId, gpuCount: 3, pricePerGpuHour: 2n * 1_000_000n }, // GpuCountMismatch
      ];
      const nonSigner = s.ops[0]!;
      const sub = await buildSubmission(s, 1n, rows, { signers: s.ops.slice(1) });
      const hash = await s.serviceManager.write.submitResult(sub.args);
      const receipt = await s.publicClient.getTransactionReceipt({ hash });
      const batch = await s.serviceManager.read.getBatch([1n]);
      // Operator 3 also signs a different result for batch 1: equivocation.
      const op = s.ops[3]!;
      const other = [rows[0]!];
      const a = { seed: sub.seed, assignmentsHash: assignmentsHash(rows), sigma: op.sk.sign(sub.msg) };
      const b = { seed: sub.seed, assignmentsHash: assignmentsHash(other), sigma: op.sk.sign(resultMessage(s, 1n, batch.referenceBlock, sub.seed, other)) };
      await s.serviceManager.write.slashEquivocation([op.id, 1n, a, b], { account: s.wallets[1]!.account });

      await withIndex(async (target) => {
        const { db } = await indexOnce(s.deployment, target);
        try {
          const row = await db.get<Record<string, string | number | null>>("SELECT * FROM batches WHERE id = 1");
          expect(row).to.include({
            status: "final", reference_block: batch.referenceBlock, closed_block: batch.closedAt, finalized_block: batch.finalizedAt,
            leader: await s.serviceManager.read.leaderOf([1n, 0n]), seed: sub.seed, assignments: 2, applied: 1, skipped: 1,
            seed_signer_index: 0, gas_used: receipt.gasUsed.toString(), tx: hash, open_orders: 3,
          });
          expect(row!.signed_bps).to.equal(9_000); // stakes 100/200/300/400: all but the 100 signed
          const ops = await db.all<{ operator_id: string; signed: number }>("SELECT operator_id, signed FROM batch_operators WHERE batch = 1 ORDER BY operator_id");
          expect(ops.length).to.equal(4);
          expect(ops.filter((o) => o.signed === 0).map((o) => o.operator_id)).to.deep.equal([nonSigner.id]);
          const skips = await db.all<{ order_id: number; reason: number }>("SELECT order_id, reason FROM skipped WHERE batch = 1");
          expect(skips).to.deep.equal([{ order_id: Number(ids[1]!), reason: SkipReason.GpuCountMismatch }]);
          const opRow = await db.get<Record<string, string | number>>("SELECT * FROM operators WHERE id = ?", [op.id]);
          const chainOp = await s.operatorRegistry.read.getOperator([op.id]);
          expect(BigInt(opRow!.stake as string)).to.equal(chainOp.stake);
          expect(opRow).to.include({ status: "jailed", times_slashed: 1 });
          const slash = await db.get<Record<string, string | number>>("SELECT * FROM slashes WHERE kind = 'operator'");
          // Revealed without a commitment: the bounty is withheld by the service manager (docs/contracts-avs.md).
          expect(slash).to.include({ subject: op.id, beneficiary: s.serviceManager.address.toLowerCase() });
          expect((await db.get<{ n: number }>("SELECT COUNT(*) AS n FROM operators"))!.n).to.equal(4);
          await moneyMatchesChain(db, s);
        } finally {
          await db.close();
        }
      });
    });
  });

  describe("given a result proven invalid, its signers slashed, a lease handed over, and an operator ejected", () => {
    it("→ it should record the proof on the batch, each slash as an invalid-result slash of that batch, and the lease's ready block", async () => {
      const s = await deploySystem(connection);
      const versionId = await providerOffer(s, 0);
      const ids = await orders(s, 1);
      await s.serviceManager.write.closeBatch();
      const rows = [ids[0]!, 99n].map((orderId) => ({ orderId, offerVersionId: versionId, gpuCount: 2, pricePerGpuHour: 2n * USD }));
      const [, b, c] = s.ops;
      const sub = await buildSubmission(s, 1n, rows, { signers: s.ops.slice(1) });
      const proof = await s.publicClient.waitForTransactionReceipt({ hash: await s.serviceManager.write.submitResult(sub.args) });
      for (const op of [b!, c!]) await s.serviceManager.write.slashInvalidResultSigner([1n, op.id, sub.args[5].nonSignerPubkeys]);
      const ready = await s.publicClient.waitForTransactionReceipt({ hash: await s.marketplace.write.markLeaseReady([ids[0]!, "0x01"], { account: s.wallets[5]!.account }) });
      await withIndex(async (target) => {
        const { db } = await indexOnce(s.deployment, target);
        try {
          expect(await db.get("SELECT invalid_block, invalid_order, invalid_reason FROM batches WHERE id = 1")).to.deep.equal({
            invalid_block: Number(proof.blockNumber), invalid_order: 99, invalid_reason: SkipReason.UnknownOrder,
          });
          const slashes = await db.all<{ subject: string; duty_key: string }>("SELECT subject, duty_key FROM slashes WHERE kind = 'invalid-result' ORDER BY block");
          expect(slashes).to.deep.equal([b!, c!].map((o) => ({ subject: o.id, duty_key: "1" })));
          expect(await db.get("SELECT COUNT(*) AS n FROM slashes WHERE kind = 'operator'")).to.deep.equal({ n: 0 });
          expect(await db.get("SELECT ready_block, status FROM leases WHERE id = ?", [Number(ids[0]!)])).to.deep.equal({ ready_block: Number(ready.blockNumber), status: "active" });
        } finally {
          await db.close();
        }
      });
    });

    it("→ it should show an ejected operator as ejected at the last batch of its row", async () => {
      const s = await deploySystem(connection);
      const [silent, ...others] = s.ops;
      const missed = [];
      for (let i = 0; i < 5; i++) missed.push(await batchSignedBy(s, others));
      await s.serviceManager.write.ejectInactive([silent!.id, missed]);
      await withIndex(async (target) => {
        const { db } = await indexOnce(s.deployment, target);
        try {
          expect(await db.get("SELECT status, ejected_batch FROM operators WHERE id = ?", [silent!.id])).to.deep.equal({ status: "ejected", ejected_batch: 5 });
          expect(await db.get("SELECT status, ejected_batch FROM operators WHERE id = ?", [others[0]!.id])).to.deep.equal({ status: "registered", ejected_batch: null });
        } finally {
          await db.close();
        }
      });
    });
  });

  describe("given an index that was stopped", () => {
    it("→ it should resume from the last indexed block without scanning the earlier ones again", async () => {
      const m = await deployMarket(connection);
      await providerWithOffer(m, m.provider1);
      await placeOrder(m, m.renter1);
      await withIndex(async (target) => {
        const first = await indexOnce(m.deployment, target);
        const stoppedAt = first.indexer.indexedBlock;
        await first.db.close();
        const late = await placeOrder(m, m.renter1, { gpuCount: 3 });

        const rec = recordingClient();
        const second = await indexOnce(m.deployment, target, rec.client);
        try {
          const ranges = rec.calls.filter((c) => c.method === "eth_getLogs").map((c) => (c.params as [{ fromBlock: string }])[0].fromBlock);
          expect(ranges.map((r) => Number(BigInt(r)))).to.deep.equal([stoppedAt + 1]);
          const rows = await second.db.all<{ id: number; gpu_count: number }>("SELECT id, gpu_count FROM orders ORDER BY id");
          expect(rows.map((r) => r.id)).to.deep.equal([1, Number(late)]);
          expect(rows[1]!.gpu_count).to.equal(3);
          expect((await second.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM events WHERE name = 'OrderCreated'"))!.n).to.equal(2);
        } finally {
          await second.db.close();
        }
      });
    });

    it("→ it should refuse an index built for another deployment, naming both", async () => {
      const m = await deployMarket(connection);
      await withIndex(async (target) => {
        const first = await indexOnce(m.deployment, target);
        await first.db.close();
        const other = { ...m.deployment, contracts: { ...m.deployment.contracts, marketplace: m.deployment.contracts.offerBook } };
        const db = await backend.openWriter(target);
        try {
          const err = await new Indexer(other, { client: recordingClient().client, db }).open().then(() => null, (e: Error) => e);
          expect(err?.message).to.match(/built for marketplace 0x[0-9a-f]{40}, not 0x[0-9a-f]{40}/);
        } finally {
          await db.close();
        }
      });
    });
  });

  describe("given an index written with another schema version", () => {
    it("→ it should open its own version and refuse the one below and the one above, naming both versions", async () => {
      const m = await deployMarket(connection);
      expect(SCHEMA_VERSION).to.be.greaterThan(0);
      for (const version of [SCHEMA_VERSION - 1, SCHEMA_VERSION, SCHEMA_VERSION + 1]) {
        await withIndex(async (target) => {
          const first = await indexOnce(m.deployment, target);
          expect((await first.db.get<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'"))?.value).to.equal(String(SCHEMA_VERSION));
          await first.db.run("UPDATE meta SET value = ? WHERE key = 'schema_version'", [String(version)]);
          const cursor = first.indexer.indexedBlock;
          await first.db.close();
          const reopened = await backend.openWriter(target).then((db) => db, (e: Error) => e);
          if (version === SCHEMA_VERSION) {
            expect(reopened).to.not.be.instanceOf(Error);
            const db = reopened as SqlDb;
            try {
              const indexer = new Indexer(m.deployment, { client: recordingClient().client, db });
              await indexer.open();
              expect(indexer.indexedBlock).to.equal(cursor);
            } finally {
              await db.close();
            }
          } else {
            expect(reopened).to.be.instanceOf(SchemaVersionError);
            expect((reopened as Error).message).to.include(`schema version ${version}; this explorer reads version ${SCHEMA_VERSION}`);
          }
        });
      }
    });
    it("→ it should read an index that records no schema version (written before the version was recorded) as version 1, and refuse it naming that version", async () => {
      const m = await deployMarket(connection);
      expect(SCHEMA_VERSION).to.be.greaterThan(1);
      await withIndex(async (target) => {
        const first = await indexOnce(m.deployment, target);
        await first.db.run("DELETE FROM meta WHERE key = 'schema_version'");
        await first.db.close();
        const reopened = await backend.openWriter(target).then((db) => db, (e: Error) => e);
        expect(reopened).to.be.instanceOf(SchemaVersionError);
        expect((reopened as Error).message).to.include(`schema version 1; this explorer reads version ${SCHEMA_VERSION}`);
      });
    });
  });

  // Hardhat's multi-block `hardhat_mine` serves an empty state at the blocks inside the range (of `mine(10)` after
  // block b, only b + 1, b + 2, b + 9 and b + 10 have state): an eth_call there finds no contract. A chain read at
  // such a block would fail the step on every retry and stop the index, so the indexer makes none there.
  describe("given blocks mined many in one call (no state inside the range)", () => {
    const noStateAt = async (client: { getCode(a: { address: `0x${string}`; blockNumber: bigint }): Promise<unknown> }, address: `0x${string}`, block: bigint) =>
      (await client.getCode({ address, blockNumber: block })) === undefined;

    it("→ it should index a batch whose R_b is inside the range, with the operator set at R_b", async () => {
      const s = await deploySystem(connection);
      const versionId = await providerOffer(s, 0);
      const ids = await orders(s, 2);
      await s.serviceManager.write.closeBatch();
      await s.serviceManager.write.submitResult((await buildSubmission(s, 1n, [{ orderId: ids[0]!, offerVersionId: versionId, gpuCount: 2, pricePerGpuHour: 2n * USD }])).args);
      await networkHelpers.mine((await s.serviceManager.read.batchTiming()).batchInterval);
      await s.serviceManager.write.closeBatch();
      const rb = BigInt((await s.serviceManager.read.getBatch([2n])).referenceBlock);
      expect(await noStateAt(s.publicClient, s.operatorRegistry.address, rb), "no state at R_b").to.equal(true);
      const sub = await buildSubmission(s, 2n, [{ orderId: ids[1]!, offerVersionId: versionId, gpuCount: 2, pricePerGpuHour: 2n * USD }], { signers: s.ops.slice(1) });
      await s.serviceManager.write.submitResult(sub.args);

      await withIndex(async (target) => {
        const { db, indexer } = await indexOnce(s.deployment, target);
        try {
          expect(indexer.indexedBlock).to.equal(Number(await s.publicClient.getBlockNumber()));
          const row = await db.get<Record<string, string | number | null>>("SELECT * FROM batches WHERE id = 2");
          expect(row).to.include({ status: "final", reference_block: Number(rb), seed: sub.seed, applied: 1, signed_bps: 9_000 });
          const ops = await db.all<{ operator_id: string; stake: string; signed: number }>("SELECT operator_id, stake, signed FROM batch_operators WHERE batch = 2 ORDER BY operator_id");
          const atRb = await s.operatorRegistry.read.operatorsAt([Number(rb)]); // its checkpoints, read at the head
          expect(ops.map((o) => [o.operator_id, BigInt(o.stake)])).to.deep.equal(
            atRb.map((o) => [o.operatorId, o.stake] as const).sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : 1)),
          );
          expect(ops.filter((o) => o.signed === 0).map((o) => o.operator_id)).to.deep.equal([s.ops[0]!.id]);
        } finally {
          await db.close();
        }
      });
    });

    it("→ it should load the orders of a step whose last block is inside the range", async () => {
      const m = await deployMarket(connection);
      await providerWithOffer(m, m.provider1);
      const order = await placeOrder(m, m.renter1, { gpuCount: 3 });
      const placedAt = await m.publicClient.getBlockNumber();
      await networkHelpers.mine(10);
      const stepEnd = placedAt + 5n; // inside the range: one step indexes the deployment up to here
      expect(await noStateAt(m.publicClient, m.marketplace.address, stepEnd), "no state at the step's last block").to.equal(true);

      await withIndex(async (target) => {
        const { db, indexer } = await indexOnce(m.deployment, target, undefined, Number(stepEnd) - (m.deployment.deployBlock - 1));
        try {
          expect(indexer.indexedBlock).to.equal(Number(await m.publicClient.getBlockNumber()));
          const rows = await db.all<{ id: number; gpu_count: number; status: string }>("SELECT id, gpu_count, status FROM orders ORDER BY id");
          expect(rows).to.deep.equal([{ id: Number(order), gpu_count: 3, status: "open" }]);
        } finally {
          await db.close();
        }
      });
    });
  });

  describe("given a chain that reorganises under the index", () => {
    it("→ it should unwind the replaced blocks and index the new ones", async () => {
      const m = await deployMarket(connection);
      const { versionId } = await providerWithOffer(m, m.provider1);
      const kept = await placeOrder(m, m.renter1, { gpuCount: 2 });
      const snapshot = await networkHelpers.takeSnapshot();
      const gone = await placeOrder(m, m.renter1, { gpuCount: 5, modelId: H100 });
      await (await as(m, m.sm)).marketplace.write.applyAssignments([1n, await m.publicClient.getBlockNumber(), [
        { orderId: kept, offerVersionId: versionId, gpuCount: 2, pricePerGpuHour: 2n * USD },
      ]]);
      await withIndex(async (target) => {
        const { db, indexer } = await indexOnce(m.deployment, target);
        try {
          expect((await db.all<{ id: number }>("SELECT id FROM leases")).map((l) => l.id)).to.deep.equal([Number(kept)]);
          expect((await db.get<{ gpu_count: number }>("SELECT gpu_count FROM orders WHERE id = ?", [Number(gone)]))!.gpu_count).to.equal(5);

          await snapshot.restore();
          const replaced = await placeOrder(m, m.renter2, { gpuCount: 7 });
          await networkHelpers.mine(3);
          expect(replaced).to.equal(gone); // same id, other order
          const reorgs: number[] = [];
          indexer.on("reorg", (b) => reorgs.push(b));
          await indexer.syncToHead();

          expect(reorgs.length).to.equal(1);
          expect(indexer.indexedBlock).to.equal(Number(await m.publicClient.getBlockNumber()));
          const rows = await db.all<{ id: number; gpu_count: number; status: string; renter: string }>("SELECT id, gpu_count, status, renter FROM orders ORDER BY id");
          expect(rows).to.deep.equal([
            { id: Number(kept), gpu_count: 2, status: "open", renter: m.renter1.account.address.toLowerCase() },
            { id: Number(replaced), gpu_count: 7, status: "open", renter: m.renter2.account.address.toLowerCase() },
          ]);
          expect(await db.all("SELECT id FROM leases")).to.deep.equal([]);
          expect((await db.get<{ gpus_leased: number }>("SELECT gpus_leased FROM offers"))!.gpus_leased).to.equal(0);
          expect((await db.get<{ n: number }>("SELECT COUNT(*) AS n FROM events WHERE name = 'AssignmentApplied'"))!.n).to.equal(0);
          await moneyMatchesChain(db, m);
        } finally {
          await db.close();
        }
      });
    });

    it("→ it should refuse a reorg deeper than its reorg window, naming the block, and leave the index as it was", async () => {
      const m = await deployMarket(connection);
      await providerWithOffer(m, m.provider1);
      const snapshot = await networkHelpers.takeSnapshot();
      await placeOrder(m, m.renter1, { gpuCount: 2 });
      await networkHelpers.mine(5);
      await placeOrder(m, m.renter1, { gpuCount: 3 });
      await withIndex(async (target) => {
        const db = await backend.openWriter(target);
        const indexer = new Indexer(m.deployment, { client: recordingClient().client, db }, { rangeBlocks: 1, reorgWindow: 3 });
        try {
          await indexer.open();
          const before = await indexer.syncToHead();
          await snapshot.restore();
          await placeOrder(m, m.renter2, { gpuCount: 7 });
          await networkHelpers.mine(10);
          const err = await indexer.syncToHead().then(() => null, (e: Error) => e);
          expect(err?.name).to.equal("ReorgTooDeepError");
          expect(err?.message).to.match(/reorganised below block \d+, older than the reorg window/);
          expect(indexer.indexedBlock).to.equal(before);
          expect((await db.all<{ gpu_count: number }>("SELECT gpu_count FROM orders ORDER BY id")).map((o) => o.gpu_count)).to.deep.equal([2, 3]);
        } finally {
          await db.close();
        }
      });
    });
  });
});
}
