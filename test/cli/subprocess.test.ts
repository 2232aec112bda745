/**
 * The `matchnet` executable itself (package.json "bin": scripts/matchnet → scripts/run.sh → cli/main.ts) as a child
 * process: real argv parsing, stdout/stderr and exit codes, against the in-process chain served over HTTP.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { network } from "hardhat";
import { startRpcProxy } from "../support/rpc-proxy.js";
import { ExitCode } from "../../cli/errors.js";
import { cliWorld, type CliWorld } from "./fixture.js";

const connection = await network.create();
const BIN = fileURLToPath(new URL("../../scripts/matchnet", import.meta.url));

function matchnet(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(BIN, args, { cwd: opts.cwd, env: { ...process.env, ...(opts.env ?? {}) }, timeout: 120_000 }, (err, out, errOut) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out, err: errOut });
    });
  });
}

describe("matchnet executable (child process)", function () {
  this.timeout(180_000);
  let w: CliWorld;
  let proxy: Awaited<ReturnType<typeof startRpcProxy>>;
  before(async () => {
    w = await cliWorld(connection);
    proxy = await startRpcProxy(connection.provider as never);
  });
  after(async () => {
    await proxy.close();
    await w.remove();
  });

  it("given an unknown flag → it should name it on stderr and exit 2", async () => {
    const r = await matchnet(["renter", "quote", "--gpu", "2"], { cwd: w.dir });
    expect(r.code).to.equal(ExitCode.Usage);
    expect(r.out).to.equal("");
    expect(r.err).to.contain("matchnet: unknown option '--gpu'");
  });

  it("given a relative --deployment → it should resolve it against the caller's directory and quote over HTTP with one JSON document", async () => {
    const r = await matchnet(["--rpc", proxy.url, "--deployment", "deployment.json", "--json", "renter", "quote", "--model", "11", "--gpus", "1", "--max-price", "2", "--hours", "1"], { cwd: w.dir });
    expect(r.code, r.err).to.equal(0);
    const q = JSON.parse(r.out);
    expect(q.wouldMatch).to.equal(false);
    expect(q.reason.name).to.equal("NoOfferForModel");
  });

  it("given an RPC that does not answer → exit 3 with what to do", async () => {
    const r = await matchnet(["--rpc", "http://127.0.0.1:9", "--deployment", "deployment.json", "catalog", "list"], { cwd: w.dir });
    expect(r.code).to.equal(ExitCode.Chain);
    expect(r.err).to.contain("matchnet: cannot reach the RPC at http://127.0.0.1:9");
  });

  it("given a revert with --json → exit 5 and the decoded error as the one JSON document on stdout", async () => {
    const p = await w.account("sub-prov");
    const r = await matchnet(["--rpc", proxy.url, "--deployment", "deployment.json", ...p.args, "--json", "provider", "exit"], { cwd: w.dir });
    expect(r.code).to.equal(ExitCode.Reverted);
    expect(JSON.parse(r.out).error).to.include({ code: "REVERTED", errorName: "ProviderRegistryNotRegistered", hint: "Register first with `matchnet provider register`." });
  });

  it("given no nvidia-smi on PATH → detect-gpu exits 8", async () => {
    const path = (process.env.PATH ?? "").split(delimiter).filter((d) => !existsSync(join(d, "nvidia-smi"))).join(delimiter);
    const r = await matchnet(["provider", "detect-gpu"], { cwd: w.dir, env: { PATH: path } });
    expect(r.code).to.equal(ExitCode.NoNvidiaSmi);
    expect(r.err).to.contain("nvidia-smi not found");
  });
});
