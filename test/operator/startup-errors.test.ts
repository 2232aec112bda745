/**
 * Start-up failures an operator (or aggregator) meets on a real machine, each with a real cause: a node API, metrics
 * or p2p port another process holds, a LevelDB held open by another process, and an RPC that accepts connections and
 * never answers. Each should end the process with exit 1 and one message naming the config field (or the URL) and
 * what to do — no stack, no libp2p advice about settings the config does not have — and the RPC wait should be
 * bounded by `rpcWaitMs` with a progress line meanwhile.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import { writeDeployment } from "../../protocol/chain/deployment.js";
import { createAccountKeystore, encryptSecretKey, writeAccountKeystoreFile, writeKeystoreFile } from "../../protocol/keystore/index.js";
import { deploySystem, type System } from "../support/serviceManager.js";
import { startRpcProxy } from "../support/rpc-proxy.js";
import { makeTempDir } from "../support/tempdir.js";

const connection = await network.create();
const PASSWORD = "startup-errors-password";
const FAST = { scrypt: { n: 1024 } };

interface StartupRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(kind: "operator" | "aggregator", config: string, timeoutMs = 60_000): Promise<StartupRun> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(kind, "main.ts"), "--config", config], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${kind} did not exit within ${timeoutMs} ms; stdout: ${stdout.slice(-1000)}; stderr: ${stderr}`));
    }, timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** A TCP listener on 127.0.0.1 that holds a port; `silent` accepts connections and never answers. */
async function holdPort(): Promise<{ port: number; server: Server; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    port: (server.address() as { port: number }).port,
    server,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** The message shows no stack trace and no libp2p configuration advice. */
function expectPlain(stderr: string): void {
  expect(stderr, stderr).to.not.match(/^\s+at /m);
  expect(stderr).to.not.include("faultTolerance");
  expect(stderr.trim().split("\n"), stderr).to.have.length(1);
}

describe("operator and aggregator start-up failures with real causes", function () {
  this.timeout(120_000);
  let s: System;
  let proxy: Awaited<ReturnType<typeof startRpcProxy>>;
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  const held: { close(): Promise<void> }[] = [];
  const children: ChildProcess[] = [];

  before(async () => {
    s = await deploySystem(connection);
    proxy = await startRpcProxy(connection.provider);
    dir = await makeTempDir("startup-errors");
    const { SecretKey } = await import("../../protocol/bls/index.js");
    await writeKeystoreFile(join(dir.path, "bls.json"), await encryptSecretKey(SecretKey.fromBytes(new Uint8Array(32).fill(7)), PASSWORD, FAST));
    await writeAccountKeystoreFile(join(dir.path, "account.json"), (await createAccountKeystore(PASSWORD, FAST)).keystore);
    await writeFile(join(dir.path, "password"), PASSWORD);
    await writeDeployment(join(dir.path, "deployment.json"), s.deployment);
  });
  afterEach(async () => {
    for (const h of held.splice(0)) await h.close();
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  });
  after(async () => {
    await proxy.close();
    await dir.remove();
  });

  async function operatorConfig(name: string, patch: Record<string, unknown>): Promise<string> {
    const file = join(dir.path, `${name}.json`);
    const config = {
      rpcUrl: proxy.url,
      deploymentFile: "deployment.json",
      keystorePath: "bls.json",
      passwordFile: "password",
      dataDir: `data-${name}`,
      listen: "/ip4/127.0.0.1/tcp/0",
      api: { host: "127.0.0.1", port: 0 },
      metrics: { host: "127.0.0.1", port: 0 },
      ...patch,
    };
    await writeFile(file, JSON.stringify(config));
    return file;
  }

  async function aggregatorConfig(name: string, patch: Record<string, unknown>): Promise<string> {
    const file = join(dir.path, `${name}.json`);
    await writeFile(
      file,
      JSON.stringify({ rpcUrl: proxy.url, deploymentFile: "deployment.json", keystorePath: "account.json", passwordFile: "password", dataDir: `data-${name}`, listen: "/ip4/127.0.0.1/tcp/0", metrics: { host: "127.0.0.1", port: 0 }, ...patch }),
    );
    return file;
  }

  for (const field of ["api", "metrics"] as const) {
    it(`given ${field}.port held by another process → the operator should exit 1 naming ${field}.port and what to do`, async () => {
      const h = await holdPort();
      held.push(h);
      const r = await run("operator", await operatorConfig(`op-${field}`, { [field]: { host: "127.0.0.1", port: h.port } }));
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stderr).to.include(`operator: ${field}.port: ${field === "api" ? "node API" : "metrics server"} address 127.0.0.1:${h.port} is already in use by another process`);
      expect(r.stderr).to.include(`set ${field}.port to a free port`);
      expectPlain(r.stderr);
    });
  }

  it("given the p2p listen port held by another process → the operator should exit 1 naming listen, in one line", async () => {
    const h = await holdPort();
    held.push(h);
    const r = await run("operator", await operatorConfig("op-p2p", { listen: `/ip4/127.0.0.1/tcp/${h.port}` }));
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr).to.include(`operator: listen: /ip4/127.0.0.1/tcp/${h.port} is already in use by another process`);
    expect(r.stderr).to.include("set listen to a free port");
    expectPlain(r.stderr);
  });

  it("given its dataDir's LevelDB held open by another running process → the operator should exit 1 naming dataDir", async () => {
    const dbPath = join(dir.path, "data-op-locked", "db");
    // Another process holds the database open, as a second node on the same dataDir would.
    const holder = spawn(process.execPath, ["--input-type=module", "-e", `import { Level } from "level"; const db = new Level(${JSON.stringify(dbPath)}); await db.open({ createIfMissing: true }); console.log("open"); setInterval(() => {}, 1000);`], { stdio: ["ignore", "pipe", "inherit"] });
    children.push(holder);
    await new Promise<void>((resolve, reject) => {
      holder.stdout.once("data", () => resolve());
      holder.once("exit", (code) => reject(new Error(`the lock holder exited (${code})`)));
    });
    const r = await run("operator", await operatorConfig("op-locked", {}));
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr).to.include(`operator: dataDir: the database ${dbPath} is locked by another process — a node already running with this dataDir`);
    expectPlain(r.stderr);
  });

  for (const kind of ["operator", "aggregator"] as const) {
    it(`given an RPC that accepts connections and never answers, and rpcWaitMs 3000 → the ${kind} should log progress and exit 1 naming rpcUrl within the wait`, async () => {
      const h = await holdPort();
      held.push(h);
      const url = `http://127.0.0.1:${h.port}`;
      const make = kind === "operator" ? operatorConfig : aggregatorConfig;
      const r = await run(kind, await make(`${kind}-silent-rpc`, { rpcUrl: url, rpcWaitMs: 3_000 }));
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stderr).to.include(`${kind}: rpcUrl: no answer from ${url} within rpcWaitMs (3 s)`);
      expect(r.stderr).to.include("raise rpcWaitMs");
      expectPlain(r.stderr);
      const progress = r.stdout.split("\n").filter((l) => l.includes("waiting for the chain RPC"));
      expect(progress.length, r.stdout).to.be.at.least(1);
      expect(JSON.parse(progress[0]!)).to.include({ rpcUrl: url, waitMs: 3_000 });
    });
  }

  it("given the aggregator's metrics.port held by another process → it should exit 1 naming metrics.port", async () => {
    const h = await holdPort();
    held.push(h);
    const r = await run("aggregator", await aggregatorConfig("agg-metrics", { metrics: { host: "127.0.0.1", port: h.port } }));
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr).to.include(`aggregator: metrics.port: metrics server address 127.0.0.1:${h.port} is already in use by another process`);
    expectPlain(r.stderr);
  });
});
