import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPublicClient, http } from "viem";
import { Supervisor } from "../../deploy/devnet/supervisor.js";
import { startHardhatNode } from "../../deploy/devnet/hardhat-node.js";

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr !== null ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("devnet: hardhat node child process", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "matchnet-node-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("given a free port → it should serve chain 31337 on 127.0.0.1 and leave no process behind when stopped", async () => {
    const supervisor = new Supervisor();
    const port = await freePort();
    const logFile = join(dir, "chain.log");
    const node = await startHardhatNode(supervisor, { port, logFile, root: process.cwd() });
    try {
      expect(node.chainId).to.equal(31337);
      const client = createPublicClient({ transport: http(node.url) });
      expect(await client.getBlockNumber()).to.be.a("bigint");
      expect(isAlive(node.child.pid)).to.equal(true);
    } finally {
      await supervisor.stopAll();
    }
    expect(isAlive(node.child.pid)).to.equal(false);
    expect(supervisor.running).to.have.length(0);
    expect(readFileSync(logFile, "utf8")).to.match(/127\.0\.0\.1/);
  });

  it("given a port already taken → it should fail with an error that names the log file", async () => {
    const supervisor = new Supervisor();
    const blocker = createServer();
    const port = await new Promise<number>((resolve) =>
      blocker.listen(0, "127.0.0.1", () => resolve((blocker.address() as { port: number }).port)),
    );
    try {
      const logFile = join(dir, "taken.log");
      let error: unknown;
      try {
        await startHardhatNode(supervisor, { port, logFile, root: process.cwd(), readyTimeoutMs: 60_000 });
      } catch (e) {
        error = e;
      }
      expect(String(error)).to.contain(logFile);
      expect(supervisor.running).to.have.length(0);
    } finally {
      await supervisor.stopAll();
      blocker.close();
    }
  });
});
