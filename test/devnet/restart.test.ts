/**
 * The devnet restarts a crashed child (deploy/devnet/restarts.ts), with real processes on anvil: an operator killed
 * with SIGKILL from outside comes back on its own data dir and signs again, never twice for one batch; an operator
 * that cannot start any more is tried `tries` times and then left down with a message naming it, its last exit and
 * its log.
 */
import { expect } from "chai";
import { writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Devnet } from "../../deploy/devnet/devnet.js";
import { readLogLines } from "../../deploy/devnet/processes.js";
import type { RestartEvent } from "../../deploy/devnet/restarts.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const kinds = (events: readonly RestartEvent[], name: string) => events.filter((e) => e.name === name).map((e) => e.kind);

describe("devnet: crashed children are restarted", function () {
  this.timeout(900_000);

  it("given op1 killed with SIGKILL → it should say so, restart it on its data dir, and op1 should sign a later batch, at most once per batch", async () => {
    const dn = await Devnet.start({
      root,
      operators: 4,
      mode: "processes",
      chain: "anvil",
      port: 0,
      seed: 5,
      readyTimeoutMs: 120_000,
      restartCrashed: { tries: 3, backoffMs: 500, stableMs: 60_000 },
    });
    try {
      const first = await dn.runBatch(4);
      expect(first.status).to.equal("final");
      const killed = dn.operatorChild(1)!;
      process.kill(killed.pid, "SIGKILL");
      expect(await killed.exited).to.equal("SIGKILL");
      await until("op1 restarted", 180_000, () => (kinds(dn.restarter!.events, "op1").includes("restarted") ? true : undefined));
      const ev = dn.restarter!.events.filter((e) => e.name === "op1");
      expect(ev.map((e) => e.kind)).to.deep.equal(["crashed", "restarted"]);
      expect(ev[0]!.exit).to.equal("SIGKILL");
      expect(ev[0]!.line).to.include("op1 exited unasked (killed by SIGKILL); restarting it in 0.5 s (try 1 of 3)");
      const back = dn.operatorChild(1)!;
      expect(back.pid).to.not.equal(killed.pid);

      // Signs again: a "result signed" line for a batch after the kill (the quorum may form without it, so up to 3).
      let signedAgain: bigint | null = null;
      for (let k = 0; k < 3 && signedAgain === null; k++) {
        await dn.waitForPeers(60_000);
        const r = await dn.runBatch(4);
        expect(r.status, `batch ${r.batch}`).to.equal("final");
        signedAgain = await until("op1's log after the batch", 20_000, async () => {
          const lines = await readLogLines(dn.operators[1]!.logFile);
          return lines.some((l) => l.msg === "result signed" && String(l.batch) === String(r.batch) && l.pid === back.pid) ? r.batch : undefined;
        }).catch(() => null);
      }
      expect(signedAgain, "op1 signed a batch after its restart").to.not.equal(null);
      // One fresh signature per batch across both of op1's lives (slashing protection is in its data dir).
      const signed = (await readLogLines(dn.operators[1]!.logFile)).filter((l) => l.msg === "result signed").map((l) => String(l.batch));
      expect(new Set(signed).size, `op1 signed batches ${signed.join(", ")}`).to.equal(signed.length);
    } finally {
      await dn.stop();
    }
  });

  it("given an operator that exits at every start (2 tries allowed) → it should try exactly twice, then stop with a message naming it, its exit and its log", async () => {
    const dn = await Devnet.start({
      root,
      operators: 1,
      mode: "processes",
      chain: "anvil",
      port: 0,
      readyTimeoutMs: 120_000,
      restartCrashed: { tries: 2, backoffMs: 200, stableMs: 60_000 },
    });
    try {
      const op = dn.operators[0]!;
      await writeFile(op.configFile, "{ not json\n"); // every later start exits 2 (invalid config)
      process.kill(dn.operatorChild(0)!.pid, "SIGKILL");
      const gaveUp = await until("the restarts given up", 180_000, () => dn.restarter!.events.find((e) => e.name === "op0" && e.kind === "gave up"));
      expect(kinds(dn.restarter!.events, "op0")).to.deep.equal(["crashed", "restart failed", "retry", "restart failed", "gave up"]);
      expect(gaveUp.line).to.include("op0 is in a crash loop: 2 restart(s) in a row did not stay up");
      expect(gaveUp.line).to.include("exited (2) before it was ready");
      expect(gaveUp.line).to.include(op.logFile);
      expect(dn.operatorChild(0)).to.equal(undefined);
      // Nothing more is tried once it gave up (the next back-off would have been 0.8 s).
      const count = dn.restarter!.events.length;
      await new Promise((r) => setTimeout(r, 2_000));
      expect(dn.restarter!.events.length).to.equal(count);
      expect(dn.supervisor.running.map((c) => c.name)).to.not.include("op0");
    } finally {
      await dn.stop();
    }
  });
});
