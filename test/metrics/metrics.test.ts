import { StartupError } from "../../protocol/startupError.js";
import { expect } from "chai";
import { silentLogger } from "../../protocol/log/logger.js";
import { createMetrics } from "../../protocol/metrics/metrics.js";
import { startMetricsServer } from "../../protocol/metrics/server.js";

describe("protocol/metrics", () => {
  describe("given a fresh metric set", () => {
    it("should expose EigenLayer's spec names with their labels and the avs_name label", async () => {
      const m = createMetrics({ avsName: "matchnet-devnet" });
      m.performanceScore.set(97);
      m.registeredStakes.set({ quorum_number: "0", quorum_name: "stake" }, 5e18);
      const text = await m.register.metrics();
      expect(text).to.include('eigen_performance_score{avs_name="matchnet-devnet"} 97');
      expect(text).to.match(/eigen_registered_stakes\{quorum_number="0",quorum_name="stake",avs_name="matchnet-devnet"\} 5000000000000000000/);
    });

    it("should count gossip verdicts per topic and code", async () => {
      const m = createMetrics();
      m.gossipValidation.inc({ topic: "partial", verdict: "reject", code: "InvalidSignature" });
      m.gossipValidation.inc({ topic: "partial", verdict: "reject", code: "InvalidSignature" });
      m.gossipValidation.inc({ topic: "seed", verdict: "accept", code: "ok" });
      const values = (await m.gossipValidation.get()).values;
      const bad = values.find((v) => v.labels.code === "InvalidSignature");
      expect(bad?.value).to.equal(2);
      expect(values.find((v) => v.labels.topic === "seed")?.value).to.equal(1);
    });

    it("should keep two metric sets apart (own registries, no global state)", async () => {
      const a = createMetrics();
      const b = createMetrics();
      a.batchesSigned.inc();
      expect((await a.batchesSigned.get()).values[0]?.value).to.equal(1);
      expect((await b.batchesSigned.get()).values[0]?.value ?? 0).to.equal(0);
      b.blsVerifySeconds.observe({ kind: "single" }, 0.003);
      expect(await b.register.metrics()).to.include('matchnet_bls_verify_seconds_bucket{le="0.005",avs_name="matchnet",kind="single"} 1');
      expect(await a.register.metrics()).to.not.include("matchnet_bls_verify_seconds_bucket");
    });
  });
});

describe("protocol/metrics server", () => {
  it("given a running server → it should serve the registry on GET /metrics and 404 elsewhere", async () => {
    const m = createMetrics();
    m.batchesSeen.inc(3);
    const server = await startMetricsServer({ host: "127.0.0.1", port: 0 }, { register: m.register, logger: silentLogger() });
    try {
      const ok = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      expect(ok.status).to.equal(200);
      expect(ok.headers.get("content-type")).to.include("text/plain");
      expect(await ok.text()).to.include('matchnet_batches_seen_total{avs_name="matchnet"} 3');
      expect((await fetch(`http://127.0.0.1:${server.port}/`)).status).to.equal(404);
    } finally {
      await server.close();
    }
  });

  it("given a port already in use → it should fail to start with a StartupError naming metrics.port, caused by EADDRINUSE", async () => {
    const m = createMetrics();
    const first = await startMetricsServer({ host: "127.0.0.1", port: 0 }, { register: m.register, logger: silentLogger() });
    try {
      let error: unknown;
      try {
        await startMetricsServer({ host: "127.0.0.1", port: first.port }, { register: m.register, logger: silentLogger() });
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(StartupError);
      expect((error as StartupError).message).to.match(new RegExp(`^metrics\\.port: metrics server address 127\\.0\\.0\\.1:${first.port} is already in use`));
      expect(((error as StartupError).cause as NodeJS.ErrnoException).code).to.equal("EADDRINUSE");
    } finally {
      await first.close();
    }
  });
});
