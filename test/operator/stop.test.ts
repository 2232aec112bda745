/**
 * `npm run operator` stops cleanly whoever signals it: SIGTERM or SIGINT to npm, SIGTERM to the launcher
 * (scripts/run.sh), SIGINT twice to the process, and its parent killed with SIGKILL (which no handler sees: the node
 * watches its parent pid). Afterwards no process of the run remains — none whose command line names the run's
 * directory — and the node's p2p, API and metrics ports are free.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { SecretKey } from "../../protocol/bls/index.js";
import { deploySystem, type System } from "../support/serviceManager.js";
import { freePort } from "../support/operator-nodes.js";
import { prepareOperator, spawnOperator, type OperatorProcess } from "../support/operator-process.js";
import { pidsMentioning, portIsFree, waitGone } from "../support/processes.js";
import { startRpcProxy } from "../support/rpc-proxy.js";

const connection = await network.create();

describe("operator process: stopping", function () {
  this.timeout(180_000);
  let s: System;
  let proxy: Awaited<ReturnType<typeof startRpcProxy>>;
  let op: OperatorProcess | undefined;

  before(async () => {
    s = await deploySystem(connection);
    proxy = await startRpcProxy(connection.provider);
  });
  afterEach(async () => {
    if (op) for (const pid of await pidsMentioning(op.dir)) process.kill(pid, "SIGKILL");
    await op?.remove();
    op = undefined;
  });
  after(async () => proxy.close());

  /** Starts an unregistered operator (a follower) the given way; resolves once it logged ready. */
  async function start(via: "node" | "run.sh" | "npm"): Promise<{ op: OperatorProcess; ports: number[]; pids: number[] }> {
    const port = await freePort();
    const setup = await prepareOperator(port);
    op = await spawnOperator(setup, { sk: SecretKey.generate(), deployment: s.deployment, rpcUrl: proxy.url, port, via });
    const ready = await op.waitForLine((l) => l.event === "ready", 120_000);
    const ports = [port, Number(new URL(String(ready.api)).port), Number(new URL(String(ready.metrics)).port)];
    for (const p of ports) expect(await portIsFree(p), `port ${p} in use while running`).to.equal(false);
    const pids = await pidsMentioning(op.dir);
    expect(pids.length, "the run's processes").to.be.at.least(1);
    return { op, ports, pids };
  }

  async function expectNothingLeft(run: { op: OperatorProcess; ports: number[]; pids: number[] }): Promise<void> {
    await waitGone(run.pids, 20_000);
    expect(await pidsMentioning(run.op.dir)).to.deep.equal([]);
    for (const p of run.ports) expect(await portIsFree(p), `port ${p} free`).to.equal(true);
  }

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`given \`npm run operator\`, when npm gets ${signal} → the node should stop and npm exit after it, leaving no process and no port`, async () => {
      const run = await start("npm");
      run.op.child.kill(signal);
      await run.op.exited;
      expect(run.op.lines.some((l) => l.event === "stopped"), "the node's own stop ran").to.equal(true);
      await expectNothingLeft(run);
    });
  }

  it("given `sh scripts/run.sh operator`, when the launcher's pid gets SIGTERM → the node should stop and exit 0", async () => {
    const run = await start("run.sh");
    run.op.child.kill("SIGTERM");
    expect(await run.op.exited).to.equal(0);
    await expectNothingLeft(run);
  });

  // The node's stop takes tens of milliseconds, so the second signal may come after it: either way one stop, exit 0.
  // (A second signal during a stop in progress is checked where the stop is slow: test/lifecycle/lifecycle.test.ts
  // and test/devnet/stop.test.ts.)
  it("given the operator process, when it gets SIGINT twice → it should stop once and exit 0", async () => {
    const run = await start("node");
    run.op.child.kill("SIGINT");
    // The second Ctrl-C while the first stop runs (signals sent back to back can merge into one in the kernel).
    await run.op.waitForLine((l) => l.event === "stopping", 10_000);
    run.op.child.kill("SIGINT");
    expect(await run.op.exited).to.equal(0);
    expect(run.op.lines.filter((l) => l.event === "stopped")).to.have.length(1);
    await expectNothingLeft(run);
  });

  it("given `npm run operator` whose npm is killed with SIGKILL → the node should see its parent gone, stop, and free its ports", async () => {
    const run = await start("npm");
    run.op.child.kill("SIGKILL");
    await run.op.exited;
    await expectNothingLeft(run);
  });
});
