/**
 * `npm run devnet` stops cleanly whoever signals it and however: SIGTERM or SIGINT (once or twice) to the devnet
 * process, to the launcher (scripts/run.sh) or to npm, and a real Ctrl-C typed into a pseudo-terminal (the terminal's
 * SIGINT to the whole foreground group, which npm relays once more). Afterwards no process of the run is left —
 * neither the pids the devnet printed nor any process whose command line names the run's data dir or port — the
 * chain's port is free, and the temp data dir with its keystores and passwords is gone. While it runs, that data dir
 * is private (0700) and its keystores and password files are 0600. A devnet killed with SIGKILL (no handler runs)
 * leaves no child either: each watches its parent.
 */
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, rm, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { sweepAbandonedDataDirs } from "../../deploy/devnet/devnet.js";
import { freePorts } from "../../deploy/devnet/ports.js";
import { alive, pidsMentioning, portIsFree, spawnInPty, waitGone } from "../support/processes.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

type Launch = "node" | "run.sh" | "npm" | "pty";

interface DevnetRun {
  /** The process the test signals: the devnet itself, the launcher script's pid, npm, or the pty driver. */
  child: ChildProcess;
  ctrlC?: () => void;
  output: () => string;
  exited: Promise<number | string>;
  port: number;
}

async function launch(how: Launch, extra: string[] = []): Promise<DevnetRun> {
  const [port] = (await freePorts(1)) as [number];
  // `--no-agents`: these tests count the printed pids (chain, operators, aggregator), which also checks the opt-out.
  const args = ["--operators", "2", "--orders-per-batch", "1", "--port", String(port), "--no-agents", ...extra];
  let child: ChildProcess;
  let ctrlC: (() => void) | undefined;
  if (how === "node") child = spawn(process.execPath, ["--import", "tsx", join(root, "deploy/devnet.ts"), ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  else if (how === "run.sh") child = spawn("sh", [join(root, "scripts/run.sh"), "devnet", ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  else if (how === "npm") child = spawn("npm", ["run", "devnet", "--", ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  else ({ child, ctrlC } = spawnInPty(["npm", "run", "devnet", "--", ...args], { cwd: root }));
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | string>((r) => child.once("exit", (code, signal) => r(code ?? signal ?? "unknown")));
  return { child, ...(ctrlC ? { ctrlC } : {}), output: () => output, exited, port };
}

/** Waits until every child is ready and batches run; returns the printed pids and the data dir. */
async function running(run: DevnetRun): Promise<{ pids: number[]; dataDir: string }> {
  const deadline = Date.now() + 240_000;
  while (!/running ∞ batch\(es\)/.test(run.output())) {
    if (run.child.exitCode !== null) throw new Error(`devnet exited early (${run.child.exitCode}):\n${run.output()}`);
    if (Date.now() > deadline) throw new Error(`devnet not running within 240 s:\n${run.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const pids = [...run.output().matchAll(/\(pid (\d+)/g)].map((m) => Number(m[1]));
  const dataDir = /data dir (\S+?)(?:;| \(mode 0700)/.exec(run.output())?.[1];
  expect(dataDir, "the data dir's path is printed").to.be.a("string");
  expect(pids.length, "chain + 2 operators + aggregator printed their pids").to.equal(4);
  for (const pid of pids) expect(alive(pid), `pid ${pid} alive`).to.equal(true);
  return { pids, dataDir: dataDir! };
}

/** Every file under `dir` whose name says it holds a key or a password, with its mode. */
async function secretFiles(dir: string): Promise<{ file: string; mode: number }[]> {
  const out: { file: string; mode: number }[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || !/keystore|password|peer-key/.test(e.name)) continue;
    const file = join(e.parentPath, e.name);
    out.push({ file, mode: (await stat(file)).mode & 0o777 });
  }
  return out;
}

async function expectPrivate(dataDir: string): Promise<void> {
  expect(((await stat(dataDir)).mode & 0o777).toString(8), "data dir mode").to.equal("700");
  const secrets = await secretFiles(dataDir);
  expect(secrets.length, "keystores, passwords and peer keys of 2 operators + the aggregator").to.be.greaterThanOrEqual(8);
  for (const s of secrets) expect(s.mode.toString(8), s.file).to.equal("600");
}

/** Nothing of the run is left: the printed pids, any process naming the data dir or the port, the port, the data dir. */
async function expectNothingLeft(run: DevnetRun, pids: number[], dataDir: string): Promise<void> {
  await waitGone([...pids, run.child.pid!], 30_000);
  expect(await pidsMentioning(dataDir), "processes naming the data dir").to.deep.equal([]);
  expect(await pidsMentioning(`--port ${run.port}`), "processes naming the chain port").to.deep.equal([]);
  expect(await portIsFree(run.port), "chain port free again").to.equal(true);
  expect(existsSync(dataDir), `temp data dir ${dataDir} removed`).to.equal(false);
  expect(run.output()).to.contain(`data dir ${dataDir} removed`);
}

async function exitCode(run: DevnetRun, timeoutMs = 60_000): Promise<number | string> {
  return Promise.race([run.exited, new Promise<string>((r) => setTimeout(() => r("timeout"), timeoutMs))]);
}

describe("devnet CLI: stopping", function () {
  this.timeout(360_000);
  let run: DevnetRun | undefined;
  afterEach(async () => {
    if (run && run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGKILL");
    run = undefined;
  });

  it("given a running devnet, when the devnet process gets SIGTERM → it should stop every child, remove its private data dir and exit 143", async () => {
    run = await launch("node");
    const { pids, dataDir } = await running(run);
    await expectPrivate(dataDir);
    run.child.kill("SIGTERM");
    expect(await exitCode(run), run.output().slice(-2000)).to.equal(143);
    expect(run.output()).to.match(/stopping every child process/);
    await expectNothingLeft(run, pids, dataDir);
  });

  it("given a running devnet, when the devnet process gets SIGINT twice → it should stop once, say it is already stopping, and exit 130 with nothing left", async () => {
    run = await launch("node");
    const { pids, dataDir } = await running(run);
    run.child.kill("SIGINT");
    // The second SIGINT goes as soon as the devnet says it is stopping, while its children are still being stopped
    // (a fixed delay could land after the stop had finished, or before the first signal was handled, when the
    // kernel merges the two).
    const said = Date.now() + 30_000;
    while (!/SIGINT: stopping/.test(run.output()) && Date.now() < said) await new Promise((r) => setTimeout(r, 2));
    run.child.kill("SIGINT");
    expect(await exitCode(run), run.output().slice(-2000)).to.equal(130);
    expect(run.output()).to.match(/SIGINT: stopping/);
    expect(run.output(), run.output().slice(-2000)).to.match(/already stopping/);
    await expectNothingLeft(run, pids, dataDir);
  });

  it("given a devnet started by scripts/run.sh, when the launcher's pid gets SIGTERM → it should stop everything and exit 143", async () => {
    run = await launch("run.sh");
    const { pids, dataDir } = await running(run);
    run.child.kill("SIGTERM");
    expect(await exitCode(run), run.output().slice(-2000)).to.equal(143);
    await expectNothingLeft(run, pids, dataDir);
  });

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`given a devnet started by \`npm run devnet\`, when npm gets ${signal} → it should stop everything before npm exits`, async () => {
      run = await launch("npm");
      const { pids, dataDir } = await running(run);
      run.child.kill(signal);
      expect(await exitCode(run), run.output().slice(-2000)).to.not.equal("timeout");
      await expectNothingLeft(run, pids, dataDir);
    });
  }

  it("given `npm run devnet` in a terminal, when Ctrl-C is typed → it should stop everything, remove the data dir and say so", async () => {
    run = await launch("pty");
    const { pids, dataDir } = await running(run);
    run.ctrlC!();
    expect(await exitCode(run), run.output().slice(-2000)).to.not.equal("timeout");
    expect(run.output()).to.match(/SIGINT: stopping/);
    await expectNothingLeft(run, pids, dataDir);
  });

  it("given a running devnet killed with SIGKILL (no handler runs) → its children should notice and exit, freeing the chain port, and the next devnet should remove its data dir", async () => {
    run = await launch("node");
    const { pids, dataDir } = await running(run);
    try {
      run.child.kill("SIGKILL");
      await run.exited;
      await waitGone(pids, 30_000);
      expect(await pidsMentioning(dataDir), "processes naming the data dir").to.deep.equal([]);
      expect(await portIsFree(run.port), "chain port free again").to.equal(true);
      expect(existsSync(dataDir), "nothing could remove it yet").to.equal(true);
      // What the next devnet does first.
      expect(await sweepAbandonedDataDirs(dirname(dataDir))).to.include(dataDir);
      expect(existsSync(dataDir)).to.equal(false);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("given --keep → it should keep the data dir after SIGTERM and print where it is", async () => {
    run = await launch("node", ["--keep"]);
    const { pids, dataDir } = await running(run);
    try {
      run.child.kill("SIGTERM");
      expect(await exitCode(run)).to.equal(143);
      await waitGone(pids, 30_000);
      expect(existsSync(dataDir)).to.equal(true);
      expect(run.output()).to.contain(`data and logs kept in ${dataDir}`);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
