import { describe, it } from "mocha";
import { expect } from "chai";
import { createHash } from "node:crypto";
import { Workloads, portIsFree } from "../../agent/workloads.js";
import { silentLogger } from "../../protocol/log/logger.js";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const get = (port: number, auth?: string, path = "/") =>
  fetch(`http://127.0.0.1:${port}${path}`, { headers: auth === undefined ? {} : { authorization: auth }, signal: AbortSignal.timeout(5_000) });

/** A free block of ports for one test (the workloads take the lowest free one of the range). */
async function freeRange(n: number): Promise<[number, number]> {
  for (let base = 31_000 + Math.floor(Math.random() * 1_000) * 10; ; base += 10) {
    let ok = true;
    for (let p = base; p < base + n && ok; p++) ok = await portIsFree("127.0.0.1", p);
    if (ok) return [base, base + n - 1];
  }
}

describe("workload stand-in (agent/workload.ts) under its supervisor (agent/workloads.ts)", function () {
  this.timeout(60_000);

  describe("given a workload started for lease 42 with credential c", () => {
    it("→ it should answer GET / with the lease id and GPU model for Bearer c, and 401 to anything else", async () => {
      const range = await freeRange(2);
      const w = new Workloads({ host: "127.0.0.1", portRange: range }, silentLogger());
      const port = await w.allocatePort(new Set());
      expect(port).to.equal(range[0]);
      await w.start({ leaseId: 42n, port, credentialSha256: sha("c-secret"), gpuModel: "H100 SXM", gpuCount: 2 });
      try {
        const ok = await get(port, "Bearer c-secret");
        expect(ok.status).to.equal(200);
        expect(await ok.json()).to.deep.equal({ leaseId: "42", gpuModel: "H100 SXM", gpuCount: 2 });
        expect((await get(port)).status).to.equal(401);
        expect((await get(port, "Bearer c-secreT")).status).to.equal(401);
        expect((await get(port, "Bearer c-secre")).status).to.equal(401);
        expect((await get(port, "Bearer c-secrett")).status).to.equal(401);
        expect((await get(port, "Basic c-secret")).status).to.equal(401);
        expect((await get(port, "Bearer ")).status).to.equal(401);
        expect((await get(port, "Bearer c-secret", "/other")).status).to.equal(404);
        expect((await get(port, undefined, "/other")).status).to.equal(401);
      } finally {
        await w.stopAll();
      }
    });

    it("→ it should free its port when stopped, and skip a port another process holds", async () => {
      const range = await freeRange(3);
      const w = new Workloads({ host: "127.0.0.1", portRange: range }, silentLogger());
      try {
        const p1 = await w.allocatePort(new Set());
        await w.start({ leaseId: 1n, port: p1, credentialSha256: sha("a"), gpuModel: "L40S", gpuCount: 1 });
        // p1 is held by the running workload: the next allocation skips it even when not told.
        const p2 = await w.allocatePort(new Set());
        expect(p2).to.equal(p1 + 1);
        expect(await w.stop(1n)).to.equal(true);
        expect(w.isRunning(1n)).to.equal(false);
        expect(await portIsFree("127.0.0.1", p1)).to.equal(true);
        expect(await get(p1, "Bearer a").then((r) => r.status, () => "refused")).to.equal("refused");
      } finally {
        await w.stopAll();
      }
    });

    it("→ it should leave no process behind after stopAll: neither the workloads nor the spare started ahead", async () => {
      const range = await freeRange(2);
      const w = new Workloads({ host: "127.0.0.1", portRange: range }, silentLogger());
      const pid = await w.start({ leaseId: 7n, port: range[0], credentialSha256: sha("x"), gpuModel: "L4", gpuCount: 1 });
      const spare = w.sparePid();
      expect(spare).to.be.a("number");
      await w.stopAll();
      const alive = (p: number) => {
        try {
          process.kill(p, 0);
          return true;
        } catch {
          return false;
        }
      };
      expect(alive(pid), "workload").to.equal(false);
      expect(alive(spare!), "spare").to.equal(false);
      expect(w.sparePid()).to.equal(undefined);
    });

    it("→ it should keep `spares` idle workloads started, start a block's leases in them at once, and refill the pool", async () => {
      const range = await freeRange(3);
      const alive = (p: number) => {
        try {
          process.kill(p, 0);
          return true;
        } catch {
          return false;
        }
      };
      const w = new Workloads({ host: "127.0.0.1", portRange: range, spares: 3 }, silentLogger());
      try {
        w.warm();
        const before = w.sparePids();
        expect(before).to.have.length(3);
        const pids = await Promise.all([0, 1, 2].map((i) => w.start({ leaseId: BigInt(10 + i), port: range[0] + i, credentialSha256: sha(`k${i}`), gpuModel: "L4", gpuCount: 1 })));
        // Each lease ran in one of the processes started ahead (no process started on demand).
        expect([...pids].sort()).to.deep.equal([...before].sort());
        for (let i = 0; i < 3; i++) expect((await get(range[0] + i, `Bearer k${i}`)).status).to.equal(200);
        const after = w.sparePids();
        expect(after).to.have.length(3);
        for (const p of after) expect(pids).to.not.include(p);
        await w.stopAll();
        for (const p of [...pids, ...after]) expect(alive(p), `pid ${p}`).to.equal(false);
      } finally {
        await w.stopAll();
      }
    });

    it("→ it should keep no spare with spares 0 (a lease's workload is then started on demand)", async () => {
      const range = await freeRange(1);
      const w = new Workloads({ host: "127.0.0.1", portRange: range, spares: 0 }, silentLogger());
      try {
        w.warm();
        expect(w.sparePids()).to.deep.equal([]);
        await w.start({ leaseId: 1n, port: range[0], credentialSha256: sha("z"), gpuModel: "L4", gpuCount: 1 });
        expect((await get(range[0], "Bearer z")).status).to.equal(200);
        expect(w.sparePids()).to.deep.equal([]);
      } finally {
        await w.stopAll();
      }
    });

    it("→ it should report a port that cannot be bound as AGENT_WORKLOAD_PORT_TAKEN and leave nothing running", async () => {
      const range = await freeRange(1);
      const w = new Workloads({ host: "127.0.0.1", portRange: range }, silentLogger());
      await w.start({ leaseId: 1n, port: range[0], credentialSha256: sha("a"), gpuModel: "L40S", gpuCount: 1 });
      const other = new Workloads({ host: "127.0.0.1", portRange: range }, silentLogger());
      try {
        let code = "";
        await other.start({ leaseId: 2n, port: range[0], credentialSha256: sha("b"), gpuModel: "L40S", gpuCount: 1 }).catch((e: { code: string }) => (code = e.code));
        expect(code).to.equal("AGENT_WORKLOAD_PORT_TAKEN");
        expect(other.count).to.equal(0);
        let none = "";
        await other.allocatePort(new Set()).catch((e: { code: string }) => (none = e.code));
        expect(none).to.equal("AGENT_NO_FREE_PORT");
      } finally {
        await w.stopAll();
        await other.stopAll();
      }
    });
  });
});
