import { expect } from "chai";
import { network } from "hardhat";
import { join } from "node:path";
import type { PublicClient } from "viem";
import { startExplorer, type RunningExplorer } from "../../explorer/server.js";
import { buildSubmission, deploySystem, orders, providerOffer, USD, type System } from "../support/serviceManager.js";
import { makeTempDir } from "../support/tempdir.js";

const connection = await network.create();

/** A system with one final batch: order 1 matched, order 2 skipped (GPU count mismatch, so still open), order 3 open. */
async function marketWithBatch() {
  const s = await deploySystem(connection);
  const versionId = await providerOffer(s, 0);
  const ids = await orders(s, 3);
  await s.serviceManager.write.closeBatch();
  const sub = await buildSubmission(s, 1n, [
    { orderId: ids[0]!, offerVersionId: versionId, gpuCount: 2, pricePerGpuHour: 2n * USD },
    { orderId: ids[1]!, offerVersionId: versionId, gpuCount: 5, pricePerGpuHour: 2n * USD },
  ], { signers: s.ops.slice(1) });
  await s.serviceManager.write.submitResult(sub.args);
  return { s, ids, sub };
}

async function withExplorer<T>(s: System, fn: (e: RunningExplorer) => Promise<T>): Promise<T> {
  const dir = await makeTempDir("explorer-server");
  const e = await startExplorer({
    rpc: "in-process", deployment: s.deployment, db: join(dir.path, "index.sqlite"), port: 0, pollIntervalMs: 50,
    client: s.publicClient as PublicClient,
  });
  try {
    return await fn(e);
  } finally {
    await e.stop();
    await dir.remove();
  }
}

async function getJson(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

describe("explorer HTTP server", () => {
  describe("given an index of a market with one final batch", () => {
    it("→ the batch, order, lease, provider and operator answers should match the chain", async () => {
      const { s, ids, sub } = await marketWithBatch();
      await withExplorer(s, async (e) => {
        const status = await getJson(`${e.url}api/status`);
        expect(status.status).to.equal(200);
        expect(status.body).to.include({ tokenDecimals: 6, stakeDecimals: 18, orders: 3, leases: 1, batches: 1, providers: 1, operators: 4, openOrders: 2 }); // order 2 was skipped, so it stays open with order 3
        expect(status.body.indexedBlock).to.equal(Number(await s.publicClient.getBlockNumber()));

        const batch = (await getJson(`${e.url}api/batches/1`)).body;
        const onChain = await s.serviceManager.read.getBatch([1n]);
        expect(batch).to.include({ id: 1, status: "final", seed: sub.seed, reference_block: onChain.referenceBlock, assignments: 2, applied: 1, skipped: 1, open_orders: 3 });
        expect(batch.appliedAssignments.map((a: { order_id: number }) => a.order_id)).to.deep.equal([Number(ids[0]!)]);
        expect(batch.skippedAssignments).to.deep.equal([{ order_id: Number(ids[1]!), reason: "GpuCountMismatch" }]);
        expect(batch.nonSigners).to.deep.equal([s.ops[0]!.id]);
        expect(batch.openOrderReasons).to.deep.equal([]); // the matcher itself would have matched every open order

        const order = (await getJson(`${e.url}api/orders/${ids[0]}`)).body;
        const lease = await s.marketplace.read.getLease([ids[0]!]);
        expect(order.status).to.equal("matched");
        expect(order.lease).to.include({ provider: lease.provider.toLowerCase(), price: lease.pricePerGpuHour.toString(), max_price: (3n * USD).toString() });
        // The excess escrow, (max − price) × GPUs × hours, stays escrowed at the start (docs/contracts.md).
        expect(order.lease.refund_at_start).to.equal("0");
        expect(order.refund).to.equal(((3n - 2n) * USD * 2n * 10n).toString());
        expect(order.history.map((h: { name: string }) => h.name)).to.deep.equal(["OrderCreated", "AssignmentApplied"]);
        const skippedOrder = (await getJson(`${e.url}api/orders/${ids[1]}`)).body;
        expect(skippedOrder.skips).to.deep.equal([{ batch: 1, reason: "GpuCountMismatch" }]);

        const providers = (await getJson(`${e.url}api/providers`)).body;
        expect(providers.length).to.equal(1);
        expect(providers[0]).to.include({ address: lease.provider.toLowerCase(), leases: 1, active_leases: 1, reputationBps: 5_000 });

        const operators = (await getJson(`${e.url}api/operators`)).body as { id: string; signed: number; duties: number; missed: number }[];
        expect(operators.find((o) => o.id === s.ops[0]!.id)).to.include({ signed: 0, duties: 1, missed: 1 });
        expect(operators.find((o) => o.id === s.ops[1]!.id)).to.include({ signed: 1, duties: 1, missed: 0 });

        const market = (await getJson(`${e.url}api/market`)).body;
        expect(market.fillRate).to.deep.equal([{ batch: 1, time: market.fillRate[0].time, open: 3, matched: 1, fillBps: 3_333 }]);
        expect(market.priceByTier).to.deep.equal([{ batch: 1, time: market.fillRate[0].time, tier: "Ultra", price: (2n * USD).toString() }]);
        expect(market.openOrders).to.deep.equal([{ model: "NVIDIA H100 SXM", tier: "Ultra", regions: "any", orders: 2, gpus: 4 }]);
        expect(market.utilization).to.deep.equal([{ tier: "Ultra", gpus: 400, leased: 2 }]);
      });
    });

    it("→ the batch answer should give the matcher's reason for each order it left open, as a re-run at R_b finds it", async () => {
      const s = await deploySystem(connection);
      const versionId = await providerOffer(s, 0); // H100 only
      const ids = await orders(s, 2);
      const renter = s.wallets[3]!;
      await s.marketplace.write.createOrder(
        [{
          modelId: 5, minTier: 0, gpuCount: 1, regionMask: 0n, preferredZone: 0, maxPricePerGpuHour: 3n * USD, durationHours: 1,
          minUptimeBps: 0, minReputationBps: 0, maxTimesSlashed: 3, expiresAt: (await s.publicClient.getBlockNumber()) + 900n,
          paymentToken: s.paymentToken.address,
        }],
        { account: renter.account },
      );
      const noOffer = await s.marketplace.read.orderCount();
      await s.serviceManager.write.closeBatch();
      const rows = ids.map((orderId) => ({ orderId, offerVersionId: versionId, gpuCount: 2, pricePerGpuHour: 2n * USD }));
      await s.serviceManager.write.submitResult((await buildSubmission(s, 1n, rows)).args);
      await withExplorer(s, async (e) => {
        const batch = (await getJson(`${e.url}api/batches/1`)).body;
        expect(batch.openOrderReasons).to.deep.equal([{ orderId: Number(noOffer), reason: "NoOfferForModel" }]);
      });
    });

    it("→ search should lead to a lease, a batch, a provider and an operator", async () => {
      const { s, ids } = await marketWithBatch();
      await withExplorer(s, async (e) => {
        const search = async (q: string) => (await getJson(`${e.url}api/search?q=${encodeURIComponent(q)}`)).body;
        expect(await search(String(ids[0]))).to.deep.include({ kind: "lease", id: String(ids[0]) });
        expect(await search(String(ids[2]))).to.deep.equal([{ kind: "order", id: String(ids[2]) }]);
        expect(await search("1")).to.deep.include({ kind: "batch", id: "1" });
        const provider = s.wallets[5]!.account.address;
        expect(await search(provider)).to.deep.equal([{ kind: "provider", id: provider.toLowerCase() }]);
        expect(await search(s.ops[2]!.id)).to.deep.equal([{ kind: "operator", id: s.ops[2]!.id }]);
        expect(await search(s.ops[2]!.address)).to.deep.equal([{ kind: "operator", id: s.ops[2]!.id }]);
        expect(await search("nothing-like-this")).to.deep.equal([]);
      });
    });

    it("→ unknown ids should answer 404 and malformed parameters 400, each naming what was wrong", async () => {
      const { s } = await marketWithBatch();
      await withExplorer(s, async (e) => {
        expect(await getJson(`${e.url}api/batches/2`)).to.deep.equal({ status: 404, body: { error: "batch 2 not found" } });
        expect(await getJson(`${e.url}api/orders/99`)).to.deep.equal({ status: 404, body: { error: "order 99 not found" } });
        expect((await getJson(`${e.url}api/batches?limit=ten`)).status).to.equal(400);
        expect((await getJson(`${e.url}api/batches?limit=ten`)).body.error).to.match(/limit must be a non-negative integer/);
        expect((await getJson(`${e.url}api/../package.json`)).status).to.equal(404);
        expect((await fetch(`${e.url}api/status`, { method: "POST" })).status).to.equal(405);
      });
    });

    it("→ it should serve the page and uPlot from node_modules, with no other origin referenced", async () => {
      const { s } = await marketWithBatch();
      await withExplorer(s, async (e) => {
        const page = await fetch(e.url);
        expect(page.headers.get("content-type")).to.match(/text\/html/);
        const html = await page.text();
        expect(html).to.include('src="/vendor/uplot.js"');
        expect(html).to.not.match(/https?:\/\//);
        const uplot = await fetch(`${e.url}vendor/uplot.js`);
        expect(uplot.status).to.equal(200);
        expect(await uplot.text()).to.include("uPlot");
        const app = await (await fetch(`${e.url}app.js`)).text();
        expect(app).to.not.match(/https?:\/\//);
      });
    });
  });

  describe("given a page listening to the event stream", () => {
    it("→ a new block with a new order should be announced and the order served without a restart", async () => {
      const { s } = await marketWithBatch();
      await withExplorer(s, async (e) => {
        const ac = new AbortController();
        const res = await fetch(`${e.url}api/events`, { signal: ac.signal });
        expect(res.headers.get("content-type")).to.equal("text/event-stream");
        const reader = res.body!.getReader();
        const decoder = new TextDecoder();
        let text = "";
        const blocks = () => [...text.matchAll(/data: \{"block":(\d+)\}/g)].map((m) => Number(m[1]));
        const readUntil = async (pred: () => boolean) => {
          while (!pred()) {
            const { value, done } = await reader.read();
            if (done) throw new Error("event stream ended");
            text += decoder.decode(value);
          }
        };
        await readUntil(() => blocks().length >= 1);
        const start = blocks()[0]!;
        const [newId] = await orders(s, 1);
        const head = Number(await s.publicClient.getBlockNumber());
        await readUntil(() => blocks().some((b) => b >= head));
        ac.abort();
        expect(start).to.be.lessThan(head);
        const order = await getJson(`${e.url}api/orders/${newId}`);
        expect(order.status).to.equal(200);
        expect(order.body.status).to.equal("open");
      });
    });
  });
});
