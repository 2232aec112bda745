import { expect } from "chai";
import { network } from "hardhat";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { PublicClient } from "viem";
import { startExplorer, type RunningExplorer } from "../../explorer/server.js";
import { buildSubmission, deploySystem, orders, providerOffer, USD, type System } from "../support/serviceManager.js";
import { freePort, makeSlot, startNode, waitFor, type NodeSlot, type RunningNode } from "../support/operator-nodes.js";
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

async function withExplorer<T>(s: System, fn: (e: RunningExplorer) => Promise<T>, extra: Partial<Parameters<typeof startExplorer>[0]> = {}): Promise<T> {
  const dir = await makeTempDir("explorer-server");
  const e = await startExplorer({
    rpc: "in-process", deployment: s.deployment, db: join(dir.path, "index.sqlite"), port: 0, pollIntervalMs: 50,
    client: s.publicClient as PublicClient, ...extra,
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
        expect(operators.map((o) => (o as { nodeApi?: unknown }).nodeApi)).to.deep.equal([null, null, null, null]); // no node API given

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

  describe("given operators' node APIs (real operator nodes, a node that never answers, a closed port)", () => {
    /** An HTTP server that takes requests and never answers them, counting the ones still open. */
    async function silentServer() {
      const open = new Set<IncomingMessage>();
      let received = 0;
      const srv = createServer((req) => {
        received += 1;
        open.add(req);
        req.socket.once("close", () => open.delete(req));
      });
      await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
      return {
        url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
        get received() { return received; },
        get open() { return open.size; },
        close: () => new Promise<void>((r) => { srv.closeAllConnections(); srv.close(() => r()); }),
      };
    }

    it("→ the operators answer should show each node's health as its node API reports it, with the time of the last check", async function () {
      this.timeout(120_000);
      const { s } = await marketWithBatch();
      const slots: NodeSlot[] = [];
      const nodes: RunningNode[] = [];
      const silent = await silentServer();
      try {
        for (const op of s.ops.slice(0, 3)) slots.push(await makeSlot(op.sk));
        // Nodes 0 and 1 know each other (healthy: registered, synced, a peer); node 2 knows no one (206: no peers).
        nodes.push(await startNode(s, slots[0]!, { api: true, bootstrap: [slots[1]!.socket] }));
        nodes.push(await startNode(s, slots[1]!, { api: true, bootstrap: [slots[0]!.socket] }));
        nodes.push(await startNode(s, slots[2]!, { api: true }));
        const api = (i: number) => `http://127.0.0.1:${nodes[i]!.node.apiPort}`;
        const closed = `http://127.0.0.1:${await freePort()}`;
        const operatorApis = [
          { operator: s.ops[0]!.id.toLowerCase(), url: api(0) },
          { operator: s.ops[1]!.address.toLowerCase(), url: api(1) }, // by address
          { operator: s.ops[2]!.id.toLowerCase(), url: api(2) },
          { operator: s.ops[3]!.id.toLowerCase(), url: silent.url },
          { operator: `0x${"ee".repeat(32)}`, url: closed }, // an operator the chain does not have: not listed
        ];
        const before = Date.now();
        await withExplorer(s, async (e) => {
          type OperatorHealth = { id: string; nodeApi: { url: string; status: string; httpStatus: number | null; reasons: string[]; checkedAt: number | null } | null };
          const health = async () => new Map(((await getJson(`${e.url}api/operators`)).body as OperatorHealth[]).map((o) => [o.id, o.nodeApi]));
          await waitFor(async () => {
            const h = await health();
            return h.get(s.ops[0]!.id)?.status === "healthy" && h.get(s.ops[1]!.id)?.status === "healthy" &&
              h.get(s.ops[2]!.id)?.status === "partially healthy" && h.get(s.ops[3]!.id)?.status === "unreachable";
          }, "every node API checked", 60_000);
          const h = await health();
          expect(h.size).to.equal(4);
          expect(h.get(s.ops[0]!.id)).to.include({ url: api(0), httpStatus: 200 });
          expect(h.get(s.ops[1]!.id)).to.include({ url: api(1), httpStatus: 200 });
          expect(h.get(s.ops[2]!.id)).to.include({ url: api(2), httpStatus: 206 });
          expect(h.get(s.ops[2]!.id)!.reasons).to.include("no peers");
          expect(h.get(s.ops[3]!.id)).to.deep.include({ url: silent.url, httpStatus: null, reasons: ["no answer within 500 ms"] });
          for (const v of h.values()) expect(v!.checkedAt).to.be.within(before, Date.now());
          // The same answer on the operator's own page.
          expect((await getJson(`${e.url}api/operators/${s.ops[2]!.address}`)).body.nodeApi).to.include({ status: "partially healthy", httpStatus: 206 });
        }, { operatorApis, operatorHealth: { intervalMs: 100, timeoutMs: 500 } });
        // A node API that stops answering turns unreachable on the next check.
        const api2 = api(2);
        await nodes[2]!.stop();
        nodes.pop();
        await withExplorer(s, async (e) => {
          await waitFor(async () => ((await getJson(`${e.url}api/operators/${s.ops[2]!.id}`)).body.nodeApi?.status === "unreachable"), "node 2 unreachable", 30_000);
          expect((await getJson(`${e.url}api/operators/${s.ops[2]!.id}`)).body.nodeApi.reasons).to.deep.equal(["ECONNREFUSED"]);
        }, { operatorApis: [{ operator: s.ops[2]!.id.toLowerCase(), url: api2 }], operatorHealth: { intervalMs: 100, timeoutMs: 500 } });
      } finally {
        for (const n of nodes) await n.stop().catch(() => {});
        for (const slot of slots) await slot.remove();
        await silent.close();
      }
    });

    it("→ a node API that never answers should not hold the operators answer, and stopping the explorer should drop its request", async () => {
      const { s } = await marketWithBatch();
      const silent = await silentServer();
      try {
        let openAfterAnswer = -1;
        await withExplorer(s, async (e) => {
          await waitFor(() => silent.open === 1, "the explorer's health request held by the silent node");
          const ops = (await getJson(`${e.url}api/operators`)).body as { id: string; nodeApi: { status: string; checkedAt: number | null } | null }[];
          openAfterAnswer = silent.open; // the check is still waiting: the answer did not wait for it
          expect(ops.find((o) => o.id === s.ops[0]!.id)!.nodeApi).to.include({ status: "not checked yet", checkedAt: null });
        }, { operatorApis: [{ operator: s.ops[0]!.id.toLowerCase(), url: silent.url }], operatorHealth: { intervalMs: 60_000, timeoutMs: 600_000 } });
        expect(openAfterAnswer).to.equal(1);
        await waitFor(() => silent.open === 0, "the held request closed by stop()");
        expect(silent.received).to.equal(1);
      } finally {
        await silent.close();
      }
    });
  });
});
