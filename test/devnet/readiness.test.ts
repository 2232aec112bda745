/**
 * Readiness of a starting process judged by progress (deploy/devnet/readiness.ts), with real child processes: a
 * process slower than the bound but still logging or computing is waited for; one that hangs silently, or exits,
 * is reported. And starts in waves never run more than the given number at once.
 */
import { expect } from "chai";
import { join } from "node:path";
import { Supervisor } from "../../deploy/devnet/supervisor.js";
import { startInWaves, waitForReadyByProgress } from "../../deploy/devnet/readiness.js";
import { makeTempDir } from "../support/tempdir.js";

const READY = `console.log(JSON.stringify({ msg: "ready" }))`;

function child(supervisor: Supervisor, dir: string, name: string, script: string) {
  return supervisor.spawn({ name, command: process.execPath, args: ["-e", script], logFile: join(dir, `${name}.log`) });
}

describe("devnet readiness by progress", function () {
  this.timeout(60_000);
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  let supervisor: Supervisor;
  beforeEach(async () => {
    dir = await makeTempDir("readiness");
    supervisor = new Supervisor();
  });
  afterEach(async () => {
    await supervisor.shutdown();
    await dir.remove();
  });

  it("given a process that logs every 300 ms and is ready after 3 s, with a 1 s stall bound → it should wait for it", async () => {
    const c = child(supervisor, dir.path, "slow-logger", `let n = 0; const t = setInterval(() => { console.log("step " + n); if (++n === 10) { clearInterval(t); ${READY}; setTimeout(() => {}, 60000); } }, 300);`);
    const { ms } = await waitForReadyByProgress(c, { stallMs: 1_000 });
    expect(ms).to.be.greaterThan(2_500);
  });

  it("given a process that computes silently for 3 s before its ready line, with a 1 s stall bound → it should wait for it (CPU time is progress)", async () => {
    const c = child(supervisor, dir.path, "busy", `const end = Date.now() + 3000; while (Date.now() < end) {} ${READY}; setTimeout(() => {}, 60000);`);
    const { ms } = await waitForReadyByProgress(c, { stallMs: 1_000 });
    expect(ms).to.be.greaterThan(2_500);
  });

  it("given a process that hangs without log or CPU → it should give up after the stall bound and say so", async () => {
    const c = child(supervisor, dir.path, "hung", `console.log("starting"); setTimeout(() => {}, 60000);`);
    const t = Date.now();
    const err = (await waitForReadyByProgress(c, { stallMs: 1_500 }).catch((e: unknown) => e)) as Error;
    expect(err).to.be.instanceOf(Error);
    expect(err.message).to.contain("hung made no progress (no log output, no CPU time) for 2 s");
    expect(err.message).to.contain("starting");
    expect(Date.now() - t).to.be.within(1_400, 10_000);
  });

  it("given a process that exits before its ready line → it should report the exit code and the log's tail", async () => {
    const c = child(supervisor, dir.path, "dies", `console.log("bad config"); process.exit(3);`);
    const err = (await waitForReadyByProgress(c, { stallMs: 10_000 }).catch((e: unknown) => e)) as Error;
    expect(err.message).to.contain("dies exited (3) before it was ready");
    expect(err.message).to.contain("bad config");
  });

  it("given a restarted process whose log already holds a ready line → it should wait for a new one after fromLine", async () => {
    const first = child(supervisor, dir.path, "again", `${READY}`);
    await first.exited;
    const second = child(supervisor, dir.path, "again", `setTimeout(() => { ${READY}; setTimeout(() => {}, 60000); }, 800); setInterval(() => console.log("tick"), 200);`);
    const { ms } = await waitForReadyByProgress(second, { stallMs: 5_000, fromLine: 1 });
    expect(ms).to.be.greaterThan(600);
  });
});

describe("devnet starts in waves", () => {
  it("given 7 starts and a concurrency of 1 / 2 / 3 → it should never run more than that many at once, and run every one", async () => {
    for (const k of [1, 2, 3]) {
      let inFlight = 0;
      let peak = 0;
      const done: number[] = [];
      await startInWaves(7, k, async (i) => {
        peak = Math.max(peak, ++inFlight);
        await new Promise((r) => setTimeout(r, 20));
        inFlight--;
        done.push(i);
      });
      expect(peak).to.equal(k);
      expect([...done].sort()).to.deep.equal([0, 1, 2, 3, 4, 5, 6]);
    }
  });

  it("given a start that fails → it should start nothing more and rethrow that failure", async () => {
    const started: number[] = [];
    const err = await startInWaves(10, 2, async (i) => {
      started.push(i);
      await new Promise((r) => setTimeout(r, 10));
      if (i === 2) throw new Error("op2 failed");
    }).catch((e: unknown) => e);
    expect((err as Error).message).to.equal("op2 failed");
    expect(Math.max(...started)).to.be.at.most(3);
  });
});
