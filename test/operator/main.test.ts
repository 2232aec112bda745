/**
 * `operator/main.ts` as a child process: each bad flag, config field, keystore problem and an unreachable RPC gives
 * its exit code (process contract: 2 config or flags, 3 keystore, 1 anything else) and a message that names
 * the field — and never the password.
 */
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "chai";
import { SecretKey } from "../../protocol/bls/index.js";
import { encryptSecretKey, writeKeystoreFile } from "../../protocol/keystore/index.js";
import { freePort } from "../support/operator-nodes.js";
import { makeTempDir } from "../support/tempdir.js";

const PASSWORD = "operator-test-password";
const WRONG = "not-the-password-42";
// Low scrypt cost: these tests are about the process's behaviour, not the KDF's strength.
const FAST = { scrypt: { n: 1024 } };
const ADDR = (n: number) => `0x${n.toString(16).padStart(40, "0")}`;

interface OperatorRun {
  code: number | null;
  stderr: string;
  stdout: string;
}

/** Node with tsx as a loader (not the tsx launcher, which forks a second process), as the other child tests do. */
function runOperator(args: string[], timeoutMs = 30_000): Promise<OperatorRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join("operator", "main.ts"), ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`operator did not exit within ${timeoutMs} ms; stdout: ${stdout}; stderr: ${stderr}`));
    }, timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}

describe("operator/main.ts as a process: start-up errors", function () {
  this.timeout(60_000);
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  let base: Record<string, unknown>;

  before(async () => {
    dir = await makeTempDir("opmain");
    const p = (f: string) => join(dir.path, f);
    await writeKeystoreFile(p("bls.json"), await encryptSecretKey(SecretKey.fromBytes(new Uint8Array(32).fill(3)), PASSWORD, FAST));
    await writeFile(p("password"), `${PASSWORD}\n`);
    await writeFile(p("wrong-password"), `${WRONG}\n`);
    await writeFile(
      p("deployment.json"),
      JSON.stringify({
        version: 1,
        chainId: 31337,
        deployBlock: 1,
        contracts: {
          paymentToken: ADDR(1), stakeToken: ADDR(2), catalog: ADDR(3), providerRegistry: ADDR(4), offerBook: ADDR(5),
          marketplace: ADDR(6), operatorRegistry: ADDR(7), serviceManager: ADDR(8),
        },
      }),
    );
    base = {
      // Nothing listens there: the start reaches the RPC only in the case that tests exactly that.
      rpcUrl: `http://127.0.0.1:${await freePort()}`,
      deploymentFile: "deployment.json",
      keystorePath: "bls.json",
      passwordFile: "password",
      dataDir: "data",
      listen: "/ip4/127.0.0.1/tcp/0",
      api: { host: "127.0.0.1", port: 0 },
      metrics: { host: "127.0.0.1", port: 0 },
    };
  });
  after(async () => dir.remove());

  // The children are independent: they run two at a time (more only thrash a 2-core machine) from the start,
  // and each test awaits its own.
  const runs = new Map<string, Promise<OperatorRun>>();
  let slots = 2;
  const queue: (() => void)[] = [];
  const limited = async (start: () => Promise<OperatorRun>): Promise<OperatorRun> => {
    if (slots === 0) await new Promise<void>((r) => queue.push(r));
    else slots--;
    try {
      return await start();
    } finally {
      const next = queue.shift();
      if (next) next();
      else slots++;
    }
  };
  const started = (name: string, start: () => Promise<OperatorRun>) => {
    if (!runs.has(name)) runs.set(name, limited(start));
    return runs.get(name)!;
  };
  const cases: Record<string, () => Promise<OperatorRun>> = {
    noConfig: () => runOperator([]),
    unknownFlag: () => runOperator(["--config", "x.yaml", "--frobnicate"]),
    missingFile: () => runOperator(["--config", join(dir.path, "absent.yaml")]),
    badFields: () => runWith("bad-fields", { rpcUrl: "ftp://x", api: { host: "127.0.0.1", port: 70_000 }, listen: "tcp:9000", dataDir: undefined, extra: 1 }),
    secret: () => runWith("secret", { password: WRONG }),
    noDeployment: () => runWith("no-deployment", { deploymentFile: "nowhere.json" }),
    wrongPassword: () => runWith("wrong-password", { passwordFile: "wrong-password" }),
    noKeystore: () => runWith("no-keystore", { keystorePath: "absent-keystore.json" }),
    noPassword: () => runWith("no-password", { passwordFile: "absent-password" }),
    // A refused connection is retried until rpcWaitMs (1 s at least) has passed.
    noRpc: () => runWith("no-rpc", { rpcWaitMs: 1_000 }),
  };
  before(() => {
    for (const [name, start] of Object.entries(cases)) void started(name, start).catch(() => {});
  });
  const run = (name: keyof typeof cases) => started(name, cases[name]!);

  /** Writes the base config with `patch` applied (undefined deletes a field) and runs the operator on it. */
  async function runWith(name: string, patch: Record<string, unknown>): Promise<OperatorRun> {
    const config: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) delete config[k];
      else config[k] = v;
    }
    const file = join(dir.path, `${name}.json`);
    await writeFile(file, JSON.stringify(config));
    return runOperator(["--config", file]);
  }

  describe("given bad command-line flags", () => {
    it("no --config → it should exit 2 and say the option is required", async () => {
      const r = await run("noConfig");
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/--config <file>.*not specified/);
    });
    it("an unknown flag → it should exit 2 and name it", async () => {
      const r = await run("unknownFlag");
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include("--frobnicate");
    });
  });

  describe("given a bad config", () => {
    it("a missing file → it should exit 2 and name the file", async () => {
      const r = await run("missingFile");
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include("absent.yaml").and.include("ENOENT");
    });
    it("each bad field → it should exit 2 and name every field with its problem", async () => {
      const r = await run("badFields");
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include("rpcUrl: must be an http(s):// or ws(s):// URL");
      expect(r.stderr).to.include("api.port: must be between 0 and 65535");
      expect(r.stderr).to.include("listen: must be a TCP multiaddr");
      expect(r.stderr).to.include("dataDir: is required");
      expect(r.stderr).to.include("extra: unknown field");
    });
    it("a password in the config → it should exit 2, point to passwordFile and not echo it", async () => {
      const r = await run("secret");
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include("password: secrets must not be in the config file");
      expect(r.stderr + r.stdout).to.not.include(WRONG);
    });
    it("a missing deployment file → it should exit 2 and name deploymentFile", async () => {
      const r = await run("noDeployment");
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include("deploymentFile: cannot read").and.include("ENOENT");
    });
  });

  describe("given a keystore problem", () => {
    it("a wrong password → it should exit 3, say so, and never print the password", async () => {
      const r = await run("wrongPassword");
      expect(r.code).to.equal(3);
      expect(r.stderr).to.include("keystorePath: cannot unlock").and.include("WrongPassword");
      expect(r.stderr + r.stdout).to.not.include(WRONG);
      expect(r.stderr + r.stdout).to.not.include(PASSWORD);
    });
    it("a missing keystore → it should exit 3 and name keystorePath", async () => {
      const r = await run("noKeystore");
      expect(r.code).to.equal(3);
      expect(r.stderr).to.include("keystorePath: cannot read").and.include("ENOENT");
    });
    it("a missing password file → it should exit 3 and name passwordFile", async () => {
      const r = await run("noPassword");
      expect(r.code).to.equal(3);
      expect(r.stderr).to.include("passwordFile: cannot read password file");
    });
  });

  describe("given an RPC that does not answer", () => {
    it("→ it should exit 1 and name rpcUrl", async () => {
      const r = await run("noRpc");
      expect(r.code).to.equal(1);
      expect(r.stderr).to.include("rpcUrl: no answer from");
    });
  });
});
