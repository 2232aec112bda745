import { expect } from "chai";
import { execFile } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Runs `npm run explorer -- …`'s entry (tsx explorer/main.ts) and returns its exit code and output. */
function explorer(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done) => {
    execFile(resolve(root, "node_modules/.bin/tsx"), ["explorer/main.ts", ...args], { cwd: root, timeout: 60_000 }, (err, _stdout, stderr) => {
      done({ code: err === null ? 0 : ((err as { code?: number }).code ?? null), stderr });
    });
  });
}

describe("npm run explorer (CLI)", () => {
  it("given an --rpc that is not an http(s) URL → it should exit 1 naming the flag", async () => {
    const r = await explorer(["--rpc", "ws://127.0.0.1:8545", "--deployment", "deployment.json"]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('--rpc must be an http(s) URL, not "ws://127.0.0.1:8545"');
  });

  it("given a --port above 65535 → it should exit 1 naming the flag", async () => {
    const r = await explorer(["--rpc", "http://127.0.0.1:8545", "--deployment", "deployment.json", "--port", "65536"]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include("--port must be an integer in 0‥65535");
  });

  it("given a deployment file that does not exist → it should exit 1 naming the file", async () => {
    const missing = resolve(root, "no-such-dir/deployment.json");
    const r = await explorer(["--rpc", "http://127.0.0.1:1", "--deployment", missing, "--db", resolve(root, "no-such-dir/index.sqlite")]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include(missing);
  });
});
