import { expect } from "chai";
import { PollLoop } from "../../protocol/pollLoop.js";

/** A step that records when it starts and ends, and can be held open or made to fail. */
function steps() {
  const log: string[] = [];
  let n = 0;
  const held: Array<() => void> = [];
  const failOn = new Set<number>();
  return {
    log,
    failOn,
    held,
    step: async () => {
      const i = ++n;
      log.push(`start ${i}`);
      await new Promise<void>((resolve) => held.push(resolve));
      log.push(`end ${i}`);
      if (failOn.has(i)) throw new Error(`step ${i} failed`);
    },
    /** Lets the oldest held step finish. */
    release: async () => {
      while (held.length === 0) await new Promise((r) => setImmediate(r));
      held.shift()!();
      await new Promise((r) => setImmediate(r));
    },
  };
}

const until = async (cond: () => boolean, ms = 2_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 2));
  }
};

describe("protocol/pollLoop PollLoop", () => {
  it("given two runs asked for at once → it should run them one after the other, in order", async () => {
    const s = steps();
    const loop = new PollLoop({ intervalMs: 3_600_000, step: s.step, failed: () => {} });
    const a = loop.run();
    const b = loop.run();
    await s.release();
    await s.release();
    await Promise.all([a, b]);
    expect(s.log).to.deep.equal(["start 1", "end 1", "start 2", "end 2"]);
  });

  it("given a run whose step fails → it should reject with that error and still run the next one", async () => {
    const s = steps();
    s.failOn.add(1);
    const loop = new PollLoop({ intervalMs: 3_600_000, step: s.step, failed: () => {} });
    const a = loop.run().then(() => null, (e: Error) => e.message);
    const b = loop.run();
    await s.release();
    await s.release();
    expect(await a).to.equal("step 1 failed");
    await b;
    expect(s.log).to.deep.equal(["start 1", "end 1", "start 2", "end 2"]);
  });

  it("given a started loop whose step fails → it should report the error to `failed` and poll again", async () => {
    const s = steps();
    s.failOn.add(1);
    const failures: string[] = [];
    const loop = new PollLoop({ intervalMs: 1, step: s.step, failed: (e) => failures.push((e as Error).message) });
    await loop.start();
    expect(loop.running).to.equal(true);
    await s.release();
    await s.release();
    await until(() => s.log.includes("start 3"));
    expect(failures).to.deep.equal(["step 1 failed"]);
    const stopped = loop.stop();
    await s.release();
    await stopped;
    expect(loop.running).to.equal(false);
  });

  it("given a `failed` that halts the loop → it should start no further step", async () => {
    const s = steps();
    s.failOn.add(1);
    const loop: PollLoop = new PollLoop({ intervalMs: 1, step: s.step, failed: () => loop.halt() });
    await loop.start();
    await s.release();
    await new Promise((r) => setTimeout(r, 30));
    expect(s.log).to.deep.equal(["start 1", "end 1"]);
    expect(loop.running).to.equal(false);
  });

  it("given stop while a step is in flight → it should resolve only after that step ended, and start no other", async () => {
    const s = steps();
    const loop = new PollLoop({ intervalMs: 1, step: s.step, failed: () => {} });
    await loop.start();
    await until(() => s.log.includes("start 1"));
    let stopped = false;
    const stopping = loop.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(stopped).to.equal(false);
    await s.release();
    await stopping;
    await new Promise((r) => setTimeout(r, 20));
    expect(s.log).to.deep.equal(["start 1", "end 1"]);
  });

  it("given start now whose first step fails → it should reject with that error and leave the loop halted", async () => {
    const s = steps();
    s.failOn.add(1);
    const loop = new PollLoop({ intervalMs: 1, step: s.step, failed: () => {} });
    const starting = loop.start({ now: true }).then(() => null, (e: Error) => e.message);
    await s.release();
    expect(await starting).to.equal("step 1 failed");
    expect(loop.running).to.equal(false);
    await new Promise((r) => setTimeout(r, 20));
    expect(s.log).to.deep.equal(["start 1", "end 1"]);
  });

  it("given stop while start now runs its first step → it should start no other step once that one ended", async () => {
    const s = steps();
    const loop = new PollLoop({ intervalMs: 1, step: s.step, failed: () => {} });
    const starting = loop.start({ now: true });
    await until(() => s.log.includes("start 1"));
    const stopping = loop.stop();
    await s.release();
    await Promise.all([starting, stopping]);
    await new Promise((r) => setTimeout(r, 20));
    expect(s.log).to.deep.equal(["start 1", "end 1"]);
    expect(loop.running).to.equal(false);
  });
});
