import { connect, type Socket } from "node:net";
import { expect } from "chai";
import { Gauge } from "prom-client";
import { silentLogger } from "../../protocol/log/logger.js";
import { createMetrics } from "../../protocol/metrics/metrics.js";
import { CachedCollection, startMetricsServer, type MetricsServer } from "../../protocol/metrics/server.js";

/** A metric set whose one gauge counts how often the registry ran a full collection. */
function countingMetrics() {
  const m = createMetrics();
  const counter = { collections: 0 };
  new Gauge({
    name: "test_collections",
    help: "collections run",
    registers: [m.register],
    collect() {
      counter.collections++;
      this.set(counter.collections);
    },
  });
  return { m, counter };
}

const REQUEST = "GET /metrics HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n";

/** Opens a raw socket and writes `count` pipelined requests at once. */
async function pipeline(port: number, count: number): Promise<Socket> {
  const socket = connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  socket.write(REQUEST.repeat(count));
  return socket;
}

/** Reads a socket to its close and counts the status lines of the answers in it. */
async function statusLines(socket: Socket): Promise<Record<string, number>> {
  let text = "";
  socket.setEncoding("latin1");
  socket.on("data", (d: string) => (text += d));
  await new Promise<void>((resolve) => socket.once("close", () => resolve()));
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/HTTP\/1\.1 (\d{3}) /g)) out[m[1]!] = (out[m[1]!] ?? 0) + 1;
  return out;
}

async function refusals(m: ReturnType<typeof createMetrics>, reason: string): Promise<number> {
  const metric = m.register.getSingleMetric("matchnet_http_refusals_total") as Gauge | undefined;
  return (await metric?.get())?.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

describe("protocol/metrics server under hostile clients", function () {
  this.timeout(30_000);
  const servers: MetricsServer[] = [];
  after(async () => {
    for (const s of servers) await s.close();
  });

  async function start(m: ReturnType<typeof createMetrics>, limits: { cacheMs?: number; maxRequestsPerSocket?: number; idleTimeoutMs?: number } = {}) {
    const s = await startMetricsServer({ host: "127.0.0.1", port: 0, ...limits }, { register: m.register, logger: silentLogger() });
    servers.push(s);
    return s;
  }

  it("given 2 000 pipelined requests on a socket that never reads → it should run one collection, and still answer another client", async () => {
    const { m, counter } = countingMetrics();
    const server = await start(m, { cacheMs: 60_000, maxRequestsPerSocket: 100 });
    const hostile = await Promise.all(Array.from({ length: 3 }, () => pipeline(server.port, 2_000)));
    for (const s of hostile) s.pause();
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(res.status).to.equal(200);
    expect(await res.text()).to.match(/^test_collections\{[^}]*\} 1$/m);
    // Every request of every socket was served from the one collection.
    expect(counter.collections).to.equal(1);
    for (const s of hostile) s.destroy();
  });

  describe("given the per-socket request limit of 5", () => {
    for (const [count, ok, refused] of [
      [4, 4, 0],
      [5, 5, 0],
      [6, 5, 1],
    ] as const) {
      it(`${count} pipelined requests → it should answer ${ok} with 200 and refuse ${refused} with 503, counting it`, async () => {
        const { m } = countingMetrics();
        const server = await start(m, { maxRequestsPerSocket: 5, idleTimeoutMs: 500 });
        const socket = await pipeline(server.port, count);
        const lines = await statusLines(socket);
        expect(lines["200"] ?? 0).to.equal(ok);
        expect(lines["503"] ?? 0).to.equal(refused);
        expect(await refusals(m, "per_socket_limit")).to.equal(refused);
      });
    }
  });

  it("given a socket that sends nothing → it should close it after the idle timeout and count it", async () => {
    const { m } = countingMetrics();
    const server = await start(m, { idleTimeoutMs: 300 });
    const socket = connect(server.port, "127.0.0.1");
    await statusLines(socket);
    expect(await refusals(m, "timeout")).to.be.greaterThanOrEqual(1);
  });

  describe("CachedCollection", () => {
    it("given concurrent callers → it should run one collection for all of them", async () => {
      let runs = 0;
      let release!: () => void;
      const c = new CachedCollection(() => new Promise<string>((r) => (release = () => r(`run ${++runs}`))), 0);
      const all = Promise.all([c.get(), c.get(), c.get()]);
      release();
      expect(await all).to.deep.equal(["run 1", "run 1", "run 1"]);
    });

    it("given a cache of 1 000 ms → it should reuse the text at 999 ms and collect again at 1 000 ms", async () => {
      let now = 0;
      let runs = 0;
      const c = new CachedCollection(async () => `run ${++runs}`, 1_000, () => now);
      expect(await c.get()).to.equal("run 1");
      now = 999;
      expect(await c.get()).to.equal("run 1");
      now = 1_000;
      expect(await c.get()).to.equal("run 2");
    });
  });
});
