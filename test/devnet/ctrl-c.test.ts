/**
 * `npm run devnet` stops every child it started when it gets SIGINT (Ctrl-C): the chain, the operators and the
 * aggregator are all gone afterwards, by the pids the devnet printed, and the chain's port is free again.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePorts, portIsFree } from "../../deploy/devnet/ports.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("devnet CLI: Ctrl-C", function () {
  this.timeout(300_000);

  it("given a running devnet with operator and aggregator processes, when it gets SIGINT → it should stop every child and exit 130", async function () {
    const [port] = (await freePorts(1)) as [number];
    const child = spawn(process.execPath, ["--import", "tsx", join(root, "deploy/devnet.ts"), "--operators", "2", "--orders-per-batch", "2", "--port", String(port)], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | string>((r) => child.once("exit", (code, signal) => r(code ?? signal ?? "unknown")));
    try {
      // Run until the first batch is final (or the devnet fails on its own).
      const deadline = Date.now() + 240_000;
      while (!/✓ final at/.test(output)) {
        if (child.exitCode !== null) throw new Error(`devnet exited early (${child.exitCode}):\n${output}`);
        if (Date.now() > deadline) throw new Error(`no final batch within 240 s:\n${output}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const pids = [...output.matchAll(/\(pid (\d+)/g)].map((m) => Number(m[1]));
      expect(pids.length, "chain + 2 operators + aggregator printed their pids").to.equal(4);
      for (const pid of pids) expect(alive(pid), `pid ${pid} alive before Ctrl-C`).to.equal(true);

      child.kill("SIGINT");
      const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r("timeout"), 30_000))]);
      expect(code, `devnet exit after SIGINT; output:\n${output.slice(-2000)}`).to.equal(130);
      expect(output).to.match(/stopping every child process/);
      for (const pid of pids) expect(alive(pid), `pid ${pid} still alive after Ctrl-C`).to.equal(false);
      expect(await portIsFree(port), "chain port free again").to.equal(true);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  });
});
