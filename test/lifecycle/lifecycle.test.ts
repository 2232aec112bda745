/**
 * protocol/lifecycle.ts in a real child process with a stop that takes a second: repeated and mixed signals start
 * one stop and never kill the process halfway; a parent killed with SIGKILL is noticed and stops the child the same
 * way; a stop that hangs is cut short. (The processes that use it: test/devnet/stop.test.ts,
 * test/operator/stop.test.ts.)
 */
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { alive, waitGone } from "../support/processes.js";
import { makeTempDir } from "../support/tempdir.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** A process whose stop takes `stopMs`, writing what happens as lines to stdout (and to `log` when given). */
function program(stopMs: number, forceExitMs = 30_000, log?: string): string {
  return `
import { appendFileSync } from "node:fs";
import { stopOnSignals } from ${JSON.stringify(join(root, "protocol", "lifecycle.ts"))};
const out = (line) => { process.stdout.write(line + "\\n"); ${log ? `appendFileSync(${JSON.stringify(log)}, line + "\\n");` : ""} };
let stops = 0;
stopOnSignals({
  name: "test",
  say: (line) => out("say: " + line),
  stop: async (reason) => { stops++; out("stop " + stops + " " + reason); await new Promise((r) => setTimeout(r, ${stopMs})); out("stopped"); return 42; },
  forceExitMs: ${forceExitMs},
  parentPollMs: 100,
});
out("ready " + process.pid);
setInterval(() => {}, 1000);
`;
}

function start(file: string) {
  const child = spawn(process.execPath, ["--import", "tsx", file], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((r) => child.once("exit", (code, signal) => r(code ?? signal ?? "unknown")));
  const waitFor = async (re: RegExp, ms = 60_000) => {
    const deadline = Date.now() + ms;
    while (!re.test(out)) {
      if (Date.now() > deadline) throw new Error(`no ${re} within ${ms} ms:\n${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { child, exited, output: () => out, waitFor };
}

describe("protocol/lifecycle: stopOnSignals", function () {
  this.timeout(120_000);
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  beforeEach(async () => (dir = await makeTempDir("lifecycle")));
  afterEach(async () => dir.remove());

  it("given SIGINT, then SIGTERM and SIGINT during the stop → it should run one stop, say it is already stopping, and exit with the stop's code", async () => {
    const file = join(dir.path, "p.ts");
    await writeFile(file, program(1_500));
    const p = start(file);
    await p.waitFor(/ready/);
    p.child.kill("SIGINT");
    await p.waitFor(/stop 1 SIGINT/);
    p.child.kill("SIGTERM");
    await p.waitFor(/SIGTERM again: already stopping/);
    p.child.kill("SIGINT");
    await p.waitFor(/SIGINT again: already stopping/);
    expect(await p.exited).to.equal(42);
    expect(p.output().match(/^stop \d/gm)).to.deep.equal(["stop 1"]);
    expect(p.output()).to.match(/stopped\n$/);
  });

  it("given SIGHUP → it should stop as for SIGTERM", async () => {
    const file = join(dir.path, "p.ts");
    await writeFile(file, program(10));
    const p = start(file);
    await p.waitFor(/ready/);
    p.child.kill("SIGHUP");
    expect(await p.exited).to.equal(42);
    expect(p.output()).to.include("stop 1 SIGHUP");
  });

  it("given a stop that does not finish within forceExitMs → it should exit 1 and say so", async () => {
    const file = join(dir.path, "p.ts");
    await writeFile(file, program(60_000, 1_000));
    const p = start(file);
    await p.waitFor(/ready/);
    p.child.kill("SIGTERM");
    expect(await p.exited).to.equal(1);
    expect(p.output()).to.match(/stop did not finish within 1 s: exiting anyway/);
  });

  it("given its parent killed with SIGKILL → it should notice, run its stop and exit", async () => {
    const file = join(dir.path, "p.ts");
    const log = join(dir.path, "child.log");
    await writeFile(file, program(10, 30_000, log));
    // A parent shell that starts the program and waits; killing it with SIGKILL re-parents the program.
    const parent = spawn("sh", ["-c", `'${process.execPath}' --import tsx '${file}' & wait`], { cwd: root, stdio: "ignore" });
    const deadline = Date.now() + 60_000;
    let pid = 0;
    while (pid === 0) {
      const m = /ready (\d+)/.exec(await readFile(log, "utf8").catch(() => ""));
      if (m) pid = Number(m[1]);
      else if (Date.now() > deadline) throw new Error("the program never got ready");
      else await new Promise((r) => setTimeout(r, 50));
    }
    expect(alive(pid)).to.equal(true);
    parent.kill("SIGKILL");
    await waitGone([pid], 10_000);
    expect(await readFile(log, "utf8")).to.match(/parent process \d+ exited: stopping\nstop 1 parent-exited\nstopped\n/);
  });
});
