/**
 * Explorer figures on a real devnet history: `hardhat node` with the devnet's market traffic and in-process signers
 * (the chain sees the same transactions as with operator processes), 200 batches of 8 orders each (the devnet's
 * default). A fresh index is built from the deploy block over HTTP JSON-RPC (explorer.index_blocks_per_s: blocks
 * indexed per second of wall time, empty interval-mined blocks included). Then the devnet's renters place more
 * orders until 10 000 exist, the index follows them, and every API answer the pages use is requested 20 times over
 * HTTP from the explorer server (explorer.page_ms_p95: 95th percentile of those request times on loopback, which
 * bound the server time from above). The batch page's first view re-runs the matcher at R_b
 * (explorer/explain.ts) and is measured on its own (explorer.batch_first_view_ms); its later views are cached.
 */
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createPublicClient, http, type PublicClient } from "viem";
import { Devnet } from "../deploy/devnet/devnet.js";
import { systemAddresses } from "../protocol/chain/deployment.js";
import { ExplorerApi } from "../explorer/api.js";
import { MatcherExplainer } from "../explorer/explain.js";
import { openSqliteReader, openSqliteWriter } from "../explorer/db.js";
import { Indexer } from "../explorer/indexer.js";
import { ExplorerServer } from "../explorer/server.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BATCHES = 200;
const ORDERS_PER_BATCH = 8;
const ORDERS_FOR_PAGES = 10_000;
const REPEATS = 20;

function p95(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * 0.95) - 1)]!;
}

export default async function (): Promise<Record<string, number>> {
  const dn = await Devnet.start({ root, operators: 4, mode: "in-process", port: 0, seed: 7, intervalMiningMs: 1_000 });
  try {
    for (let k = 0; k < BATCHES; k++) {
      await dn.runBatch(ORDERS_PER_BATCH);
      if ((k + 1) % 20 === 0) process.stderr.write(`bench explorer: ${k + 1}/${BATCHES} batches on the devnet\n`);
    }
    const client = createPublicClient({ transport: http(dn.chain.url) }) as PublicClient;
    const dbPath = join(dn.dataDir, "explorer-bench.sqlite");
    const writer = openSqliteWriter(dbPath);
    const indexer = new Indexer(dn.deployment, { client, db: writer });
    await indexer.open();
    const started = performance.now();
    const head = await indexer.syncToHead();
    const seconds = (performance.now() - started) / 1000;
    const blocks = head - dn.deployment.deployBlock + 1;
    process.stderr.write(`bench explorer: indexed ${blocks} blocks of 200 batches in ${seconds.toFixed(1)} s\n`);
    const placed = BATCHES * ORDERS_PER_BATCH;
    // In steps of 50 as a devnet batch places them: each step draws expiry blocks from the head when it starts.
    for (let left = ORDERS_FOR_PAGES - placed; left > 0; left -= 50) {
      await dn.placeOrders(Math.min(50, left));
      if ((ORDERS_FOR_PAGES - left) % 1_000 === 0) process.stderr.write(`bench explorer: ${ORDERS_FOR_PAGES - left}/${ORDERS_FOR_PAGES} orders\n`);
    }
    await indexer.syncToHead();
    const reader = openSqliteReader(dbPath);
    const explainer = new MatcherExplainer({ client, db: reader, addrs: systemAddresses(dn.deployment) });
    const api = new ExplorerApi(reader, { chainId: dn.deployment.chainId, tokenDecimals: 6, explainer });
    const status = await api.status();
    process.stderr.write(`bench explorer: ${status.orders} orders, ${status.leases} leases, ${status.batches} batches indexed\n`);

    const server = new ExplorerServer(api, indexer);
    const url = await server.listen({ port: 0 });
    const provider = (await api.providers())[0] as { address: string } | undefined;
    const operator = (await api.operators())[0] as { id: string } | undefined;
    const paths = [
      "api/status", "api/market", "api/batches?limit=100", `api/batches/${Math.floor(status.batches / 2)}`,
      `api/orders/${Math.floor(status.orders / 2)}`, "api/orders?status=open", "api/providers", "api/operators",
      ...(provider ? [`api/providers/${provider.address}`] : []), ...(operator ? [`api/operators/${operator.id}`] : []),
      `api/search?q=${Math.floor(status.orders / 3)}`,
    ];
    // The first view of a batch re-runs the matcher at R_b (reads over HTTP + matchBatch); later views hit the cache.
    const firstView = performance.now();
    const first = await fetch(`${url}api/batches/${status.batches}`);
    await first.arrayBuffer();
    const batchFirstViewMs = performance.now() - firstView;
    const times: number[] = [];
    const worst: Record<string, number> = {};
    for (let r = 0; r < REPEATS; r++) {
      for (const p of paths) {
        const t0 = performance.now();
        const res = await fetch(url + p);
        await res.arrayBuffer();
        const ms = performance.now() - t0;
        if (res.status !== 200) throw new Error(`GET ${p} answered ${res.status}`);
        times.push(ms);
        worst[p] = Math.max(worst[p] ?? 0, ms);
      }
    }
    process.stderr.write(`bench explorer: worst ms per page ${JSON.stringify(Object.fromEntries(Object.entries(worst).map(([k, v]) => [k, Number(v.toFixed(1))])))}\n`);
    await server.close();
    await reader.close();
    await writer.close();
    return {
      "explorer.index_blocks_per_s": Math.round(blocks / seconds),
      "explorer.page_ms_p95": Number(p95(times).toFixed(1)),
      "explorer.indexed_orders": status.orders,
      "explorer.batch_first_view_ms": Math.round(batchFirstViewMs),
    };
  } finally {
    await dn.stop();
  }
}
