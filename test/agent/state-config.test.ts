import { describe, it } from "mocha";
import { expect } from "chai";
import { readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { STATE_FILE, StateError, StateStore, emptyState } from "../../agent/state.js";
import { DEFAULT_CONFIRMATIONS, confirmationsFor, loadProviderAgentConfig } from "../../agent/config.js";
import { ConfigError } from "../../protocol/config/load.js";
import { makeTempDir } from "../support/tempdir.js";

const P = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const M = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

describe("provider agent state file (agent/state.ts)", () => {
  describe("given a fresh data dir", () => {
    it("→ it should create it 0700, write the state 0600, leave no temp file, and load what it saved", async () => {
      const tmp = await makeTempDir("agent-state-");
      try {
        const dir = join(tmp.path, "data");
        const store = await StateStore.open(dir);
        expect((await stat(dir)).mode & 0o777).to.equal(0o700);
        expect(await store.load({ provider: P, marketplace: M, chainId: 31337 })).to.equal(null);
        const s = emptyState(P, M, 31337, 9n);
        s.leases["3"] = { leaseId: "3", renter: P, port: 20000, credentialSha256: "ab".repeat(32), sealedAccess: "0x01", gpuModel: "H100", gpuCount: 1, endsAt: "1", phase: "sealed" };
        await store.save(s);
        expect((await stat(join(dir, STATE_FILE))).mode & 0o777).to.equal(0o600);
        expect(await readdir(dir)).to.deep.equal([STATE_FILE]);
        expect(await store.load({ provider: P.toLowerCase(), marketplace: M, chainId: 31337 })).to.deep.equal(s);
      } finally {
        await tmp.remove();
      }
    });

    it("→ it should refuse a state of another provider, marketplace or chain, and a file that is not JSON", async () => {
      const tmp = await makeTempDir("agent-state-");
      try {
        const store = await StateStore.open(tmp.path);
        await store.save(emptyState(P, M, 31337, 0n));
        for (const other of [{ provider: M, marketplace: M, chainId: 31337 }, { provider: P, marketplace: P, chainId: 31337 }, { provider: P, marketplace: M, chainId: 1 }]) {
          let code = "";
          await store.load(other).catch((e: StateError) => (code = e.code));
          expect(code).to.equal("AGENT_STATE_FOREIGN");
        }
        await writeFile(join(tmp.path, STATE_FILE), "{not json");
        let code = "";
        await store.load({ provider: P, marketplace: M, chainId: 31337 }).catch((e: StateError) => (code = e.code));
        expect(code).to.equal("AGENT_STATE_UNREADABLE");
      } finally {
        await tmp.remove();
      }
    });
  });
});

describe("provider agent config (agent/config.ts)", () => {
  const base = { rpcUrl: "http://127.0.0.1:8545", deploymentFile: "deployment.json", accountKeystorePath: "k.json", dataDir: "data", workload: { portRange: [20000, 20010] } };
  async function load(value: unknown): Promise<{ ok: true; v: Awaited<ReturnType<typeof loadProviderAgentConfig>> } | { ok: false; issues: string[] }> {
    const tmp = await makeTempDir("agent-config-");
    try {
      const file = join(tmp.path, "agent.json");
      await writeFile(file, JSON.stringify(value));
      return { ok: true, v: await loadProviderAgentConfig(file) };
    } catch (err) {
      if (err instanceof ConfigError) return { ok: false, issues: err.issues.map((i) => `${i.path}: ${i.message}`) };
      throw err;
    } finally {
      await tmp.remove();
    }
  }

  describe("given a minimal config", () => {
    it("→ it should fill the defaults and resolve paths against the file's directory", async () => {
      const r = await load(base);
      if (!r.ok) expect.fail(r.issues.join("; "));
      expect(r.v.pollIntervalMs).to.equal(250);
      expect(r.v.workload.host).to.equal("127.0.0.1");
      expect(r.v.workload.spares).to.equal(1);
      expect(r.v.dataDir.endsWith("/data")).to.equal(true);
      expect(r.v.dataDir.startsWith("/")).to.equal(true);
      expect(r.v.confirmations, "resolved per chain at start").to.equal(undefined);
    });
  });

  describe("given bad values", () => {
    it("→ it should name the field: port range bounds and order, poll interval at its limits, unknown and secret fields", async () => {
      const bad = async (over: Record<string, unknown>) => {
        const r = await load({ ...base, ...over });
        return r.ok ? [] : r.issues;
      };
      expect(await bad({ workload: { portRange: [0, 10] } })).to.deep.equal(["workload.portRange.0: must be between 1 and 65535"]);
      expect(await bad({ workload: { portRange: [1, 65_536] } })).to.deep.equal(["workload.portRange.1: must be between 1 and 65535"]);
      expect(await bad({ workload: { portRange: [1, 65_535] } })).to.deep.equal([]);
      expect(await bad({ workload: { portRange: [20, 19] } })).to.deep.equal(["workload.portRange: first must be ≤ last"]);
      expect(await bad({ workload: { portRange: [20, 20] } })).to.deep.equal([]);
      const spares = (n: unknown) => bad({ workload: { portRange: [20, 20], spares: n } });
      expect(await spares(-1)).to.deep.equal(["workload.spares: must be between 0 and 16"]);
      expect(await spares(0)).to.deep.equal([]);
      expect(await spares(16)).to.deep.equal([]);
      expect(await spares(17)).to.deep.equal(["workload.spares: must be between 0 and 16"]);
      expect(await spares(1.5)).to.deep.equal(["workload.spares: must be an integer"]);
      expect(await bad({ pollIntervalMs: 49 })).to.deep.equal(["pollIntervalMs: must be ≥ 50"]);
      expect(await bad({ pollIntervalMs: 50 })).to.deep.equal([]);
      expect(await bad({ pollIntervalMs: 60_001 })).to.deep.equal(["pollIntervalMs: must be ≤ 60000"]);
      expect(await bad({ confirmations: -1 })).to.deep.equal(["confirmations: must be between 0 and 7199"]);
      expect(await bad({ confirmations: 0 })).to.deep.equal([]);
      expect(await bad({ confirmations: 7_199 })).to.deep.equal([]);
      expect(await bad({ confirmations: 7_200 })).to.deep.equal(["confirmations: must be between 0 and 7199"]);
      expect(await bad({ confirmations: 2.5 })).to.deep.equal(["confirmations: must be an integer"]);
      expect(await bad({ confirmations: "3" })).to.deep.equal(["confirmations: must be a number"]);
      expect(await bad({ password: "x" })).to.deep.equal(["password: secrets must not be in the config file; put the password in the file named by passwordFile"]);
      expect(await bad({ portRange: [1, 2] })).to.deep.equal(["portRange: unknown field"]);
      const { accountKeystorePath: _omit, ...noKeystore } = base;
      const r = await load(noKeystore);
      expect(r.ok ? [] : r.issues).to.deep.equal(["accountKeystorePath: is required"]);
    });
  });
});

describe("provider agent confirmation depth (agent/config.ts confirmationsFor)", () => {
  describe("given no confirmations in the config", () => {
    it("→ it should use 0 on a local dev chain (31337, 1337) and DEFAULT_CONFIRMATIONS (3) on any other", () => {
      expect(confirmationsFor(31_337, undefined)).to.equal(0);
      expect(confirmationsFor(1_337, undefined)).to.equal(0);
      expect(DEFAULT_CONFIRMATIONS).to.equal(3);
      expect(confirmationsFor(8_453, undefined)).to.equal(3);
      expect(confirmationsFor(1, undefined)).to.equal(3);
    });
  });

  describe("given confirmations in the config", () => {
    it("→ it should use them on any chain, 0 included", () => {
      expect(confirmationsFor(8_453, 0)).to.equal(0);
      expect(confirmationsFor(31_337, 5)).to.equal(5);
    });
  });
});
