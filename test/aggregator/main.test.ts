/**
 * aggregator/main.ts as a child process (`node --import tsx aggregator/main.ts`, the way the devnet starts it):
 * exit codes and messages for bad flags, config, deployment and keystore; and a clean start → ready → SIGTERM → 0
 * against the real contracts, served over HTTP from an in-process Hardhat chain.
 */
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import { createAccountKeystore, writeAccountKeystoreFile } from "../../protocol/keystore/index.js";
import { writeDeployment } from "../../protocol/chain/deployment.js";
import { deploySystem } from "../support/serviceManager.js";
import { FAST_SCRYPT, PASSWORD } from "../support/aggregatorChain.js";
import { makeTempDir } from "../support/tempdir.js";
import { LevelDbController } from "../../protocol/db/controller.js";

interface AggregatorRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runAggregator(args: string[], opts: { untilReady?: (line: Record<string, unknown>) => Promise<void> } = {}): Promise<AggregatorRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "aggregator/main.ts", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let readySeen = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`aggregator did not exit in time; stderr: ${stderr}`));
    }, 120_000);
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (readySeen || opts.untilReady === undefined) return;
      for (const line of stdout.split("\n")) {
        if (!line.startsWith("{")) continue;
        const obj = JSON.parse(line) as Record<string, unknown>;
        if (obj.event === "ready") {
          readySeen = true;
          opts.untilReady(obj).then(
            () => child.kill("SIGTERM"),
            (err: unknown) => {
              child.kill("SIGKILL");
              reject(err);
            },
          );
        }
      }
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const FAKE_DEPLOYMENT = {
  version: 1,
  chainId: 31337,
  deployBlock: 1,
  contracts: Object.fromEntries(
    ["paymentToken", "stakeToken", "catalog", "providerRegistry", "offerBook", "marketplace", "operatorRegistry", "serviceManager"].map((k, i) => [
      k,
      `0x${(i + 1).toString(16).padStart(40, "0")}`,
    ]),
  ),
};

describe("aggregator/main.ts as a child process", function () {
  this.timeout(60_000);
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  let base: Record<string, unknown>;

  before(async () => {
    dir = await makeTempDir("agg-main");
    const { keystore } = await createAccountKeystore(PASSWORD, FAST_SCRYPT);
    await writeAccountKeystoreFile(join(dir.path, "account.json"), keystore);
    await writeFile(join(dir.path, "password.txt"), `${PASSWORD}\n`);
    await writeFile(join(dir.path, "wrong-password.txt"), "not the password\n");
    await writeFile(join(dir.path, "deployment.json"), JSON.stringify(FAKE_DEPLOYMENT));
    base = {
      rpcUrl: "http://127.0.0.1:1",
      deploymentFile: "deployment.json",
      dataDir: "data",
      listen: "/ip4/127.0.0.1/tcp/0",
      metrics: { host: "127.0.0.1", port: 0 },
      keystorePath: "account.json",
      passwordFile: "password.txt",
    };
  });
  after(() => dir.remove());

  async function withConfig(name: string, config: Record<string, unknown>): Promise<AggregatorRun> {
    const file = join(dir.path, name);
    await writeFile(file, JSON.stringify(config));
    return runAggregator(["--config", file]);
  }

  // The error cases start together (each child mostly waits on module loading); each `it` checks its own run.
  const runs = new Map<string, Promise<AggregatorRun>>();
  const run = (name: string) => runs.get(name)!;
  before(() => {
    const started: [string, () => Promise<AggregatorRun>][] = [
      ["noflags", () => runAggregator([])],
      ["bad", () => withConfig("bad.json", { ...base, metrics: { port: 70_000 }, colour: "blue", password: "hunter2" })],
      ["nodeploy", () => withConfig("nodeploy.json", { ...base, deploymentFile: "missing.json" })],
      ["nokeystore", () => withConfig("nokeystore.json", { ...base, keystorePath: "nope.json" })],
      ["wrongpw", () => withConfig("wrongpw.json", { ...base, passwordFile: "wrong-password.txt" })],
      ["nopw", () => withConfig("nopw.json", { ...base, passwordFile: "missing-password.txt" })],
    ];
    for (const [name, start] of started) {
      const p = start();
      p.catch(() => {}); // awaited by its own test
      runs.set(name, p);
    }
  });

  describe("given bad flags or config → exit 2 with the field named", () => {
    it("given no --config → it should exit 2 and say the option is required", async () => {
      const r = await run("noflags");
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/--config/);
    });

    it("given a bad port, an unknown field and a password in the file → it should exit 2 naming each", async () => {
      const r = await run("bad");
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include("metrics.port: must be between 0 and 65535");
      expect(r.stderr).to.include("colour: unknown field");
      expect(r.stderr).to.include("password: secrets must not be in the config file");
      expect(r.stderr + r.stdout).to.not.include("hunter2");
    });

    it("given a missing deployment file → it should exit 2 naming deploymentFile", async () => {
      const r = await run("nodeploy");
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/deploymentFile: cannot read .*missing\.json: ENOENT/);
    });
  });

  describe("given a dataDir whose database another process holds → exit 1 naming dataDir", () => {
    it("given another aggregator's lock on <dataDir>/db → it should exit 1 naming dataDir and the database, before asking the RPC", async () => {
      const held = await LevelDbController.open({ path: join(dir.path, "held-data", "db") });
      try {
        const r = await withConfig("helddb.json", { ...base, dataDir: "held-data" });
        expect(r.code).to.equal(1);
        expect(r.stderr).to.match(/dataDir: the database .*held-data\/db is locked by another process — an aggregator already running with this dataDir/);
        // The RPC (nothing listens on port 1) was never asked: no waiting line.
        expect(r.stdout).to.not.include("waiting for the chain RPC");
      } finally {
        await held.close();
      }
    });
  });

  describe("given a keystore problem → exit 3", () => {
    it("given a missing keystore file → it should exit 3 naming keystorePath", async () => {
      const r = await run("nokeystore");
      expect(r.code).to.equal(3);
      expect(r.stderr).to.match(/keystorePath: cannot read .*nope\.json: ENOENT/);
    });

    it("given a wrong password → it should exit 3 with WrongPassword and never print the password", async () => {
      const r = await run("wrongpw");
      expect(r.code).to.equal(3);
      expect(r.stderr).to.include("WrongPassword");
      expect(r.stderr + r.stdout).to.not.include("not the password");
    });

    it("given a missing password file → it should exit 3 naming passwordFile", async () => {
      const r = await run("nopw");
      expect(r.code).to.equal(3);
      expect(r.stderr).to.match(/passwordFile: cannot read password file/);
    });
  });

  describe("given a valid config and a chain with the contracts", () => {
    let server: Server;
    after(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

    it("→ it should log ready with its peer id, serve /metrics, and exit 0 on SIGTERM", async () => {
      const connection = await network.create();
      const s = await deploySystem(connection);
      // The in-process chain served over HTTP, so the child talks to the real EVM through plain JSON-RPC.
      server = createServer((req, res) => {
        let body = "";
        req.on("data", (d: Buffer) => (body += d.toString()));
        req.on("end", () => {
          const call = async (m: { id: unknown; method: string; params?: unknown[] }) => {
            try {
              return { jsonrpc: "2.0", id: m.id, result: await connection.provider.request({ method: m.method, params: m.params ?? [] }) };
            } catch (err) {
              const e = err as { code?: number; message: string; data?: unknown };
              return { jsonrpc: "2.0", id: m.id, error: { code: e.code ?? -32603, message: e.message, data: e.data } };
            }
          };
          const msg = JSON.parse(body) as Parameters<typeof call>[0] | Parameters<typeof call>[0][];
          void (Array.isArray(msg) ? Promise.all(msg.map(call)) : call(msg)).then((out) =>
            res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(out)),
          );
        });
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      const rpcPort = (server.address() as AddressInfo).port;
      await writeDeployment(join(dir.path, "real-deployment.json"), s.deployment);
      const file = join(dir.path, "good.yaml");
      await writeFile(
        file,
        [
          `rpcUrl: http://127.0.0.1:${rpcPort}`,
          "deploymentFile: real-deployment.json",
          "dataDir: data",
          "listen: /ip4/127.0.0.1/tcp/0",
          "metrics: { host: 127.0.0.1, port: 0 }",
          "keystorePath: account.json",
          "passwordFile: password.txt",
          "aggregation: { quorumWaitBlocks: 0 }",
        ].join("\n"),
      );
      let ready: Record<string, unknown> = {};
      const r = await runAggregator(["--config", file], {
        untilReady: async (line) => {
          ready = line;
          const res = await fetch(`http://127.0.0.1:${line.metricsPort as number}/metrics`);
          expect(res.status).to.equal(200);
          expect(await res.text()).to.include("matchnet_aggregator_submissions_total");
        },
      });
      expect(r.stderr).to.equal("");
      expect(r.code).to.equal(0);
      expect(ready.peerId).to.match(/^12D3KooW/);
      expect((ready.addrs as string[])[0]).to.match(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3KooW/);
      expect(r.stdout).to.include('"msg":"stopped"');
      expect(r.stdout).to.not.include(PASSWORD);
    });
  });
});
