/**
 * One operator as a separate process, started as production starts it (`node <NODE_FLAGS.operator>
 * .cache/js/operator/main.js --config …`, the sources transpiled by deploy/compile-js.ts), on the test's in-process
 * chain (served over HTTP by rpc-proxy.ts), with its keystore, password file, deployment file and config in a temp
 * dir. Used by the process test and the RSS bench. No side effects at import.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { NODE_FLAGS, compileJs, compiledEntry } from "../../deploy/compile-js.js";
import type { SecretKey } from "../../protocol/bls/index.js";
import { encryptSecretKey, writeKeystoreFile } from "../../protocol/keystore/index.js";
import { writeDeployment, type Deployment } from "../../protocol/chain/deployment.js";
import { loadOrCreatePeerKey } from "../../protocol/p2p/peerKey.js";
import { freePort, makeSlot, type NodeSlot } from "./operator-nodes.js";
import type { System } from "./serviceManager.js";
import { makeTempDir } from "./tempdir.js";

export interface OperatorProcess {
  child: ChildProcess;
  /** /ip4/127.0.0.1/tcp/<port>/p2p/<peer id>, known before start (the peer key is created first, as the devnet does). */
  socket: string;
  dir: string;
  /** Parsed JSON log lines so far (stdout). */
  lines: Record<string, unknown>[];
  stderr: () => string;
  waitForLine(pred: (l: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>>;
  exited: Promise<number | string>;
  remove(): Promise<void>;
}

const PASSWORD = "operator-process-password";

export interface OperatorProcessSetup {
  dir: string;
  socket: string;
  remove(): Promise<void>;
}

/** The operator's files, with its peer key created first so that its socket can be registered before it starts. */
export async function prepareOperator(port: number): Promise<OperatorProcessSetup> {
  const tmp = await makeTempDir("opproc");
  const { privateKey } = await loadOrCreatePeerKey(join(tmp.path, "data", "peer-key"));
  return { dir: tmp.path, socket: `/ip4/127.0.0.1/tcp/${port}/p2p/${privateKey.publicKey.toString()}`, remove: tmp.remove };
}

/**
 * The files of a process for operator 0 of `s` and node slots for operators 1‥n (for in-process nodes), every
 * socket registered on-chain so that they find each other. The caller removes the setup and the slots (on a failure
 * here, nothing is left).
 */
export async function prepareOperatorAmongPeers(s: System): Promise<{ port: number; setup: OperatorProcessSetup; slots: NodeSlot[] }> {
  const port = await freePort();
  const setup = await prepareOperator(port);
  const slots: NodeSlot[] = [];
  try {
    await s.operatorRegistry.write.updateSocket([setup.socket], { account: s.wallets[10]!.account });
    for (const o of s.ops.slice(1)) {
      const slot = await makeSlot(o.sk);
      slots.push(slot);
      await s.operatorRegistry.write.updateSocket([slot.socket], { account: s.wallets[10 + o.index]!.account });
    }
  } catch (err) {
    // Nothing left behind: the caller has no handle on a setup it never got.
    for (const slot of slots) await slot.remove();
    await setup.remove();
    throw err;
  }
  return { port, setup, slots };
}

export async function spawnOperator(
  setup: OperatorProcessSetup,
  opts: {
    sk: SecretKey;
    deployment: Deployment;
    rpcUrl: string;
    port: number;
    env?: NodeJS.ProcessEnv;
    /** How it is started: node directly (default), `sh scripts/run.sh operator` or `npm run operator`. */
    via?: "node" | "run.sh" | "npm";
  },
): Promise<OperatorProcess> {
  const tmp = { path: setup.dir, remove: setup.remove };
  const p = (f: string) => join(tmp.path, f);
  // Low scrypt cost: the KDF is not what these runs are about.
  await writeKeystoreFile(p("bls.json"), await encryptSecretKey(opts.sk, PASSWORD, { scrypt: { n: 1024 } }));
  await writeFile(p("password"), PASSWORD);
  await writeDeployment(p("deployment.json"), opts.deployment);
  const config = {
    rpcUrl: opts.rpcUrl,
    deploymentFile: "deployment.json",
    keystorePath: "bls.json",
    passwordFile: "password",
    dataDir: "data",
    listen: `/ip4/127.0.0.1/tcp/${opts.port}`,
    api: { host: "127.0.0.1", port: 0 },
    metrics: { host: "127.0.0.1", port: 0 },
    logLevel: "info",
  };
  await writeFile(p("operator.json"), JSON.stringify(config));
  const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const entry = compiledEntry(await compileJs(root), "operator");
  const env = { ...process.env, ...(opts.env ?? {}) };
  const via = opts.via ?? "node";
  const child =
    via === "node"
      ? spawn(process.execPath, [...NODE_FLAGS.operator, entry, "--config", p("operator.json")], { stdio: ["ignore", "pipe", "pipe"], env })
      : via === "run.sh"
        ? spawn("sh", [join(root, "scripts", "run.sh"), "operator", "--config", p("operator.json")], { cwd: root, stdio: ["ignore", "pipe", "pipe"], env })
        : spawn("npm", ["run", "operator", "--", "--config", p("operator.json")], { cwd: root, stdio: ["ignore", "pipe", "pipe"], env });
  const lines: Record<string, unknown>[] = [];
  let partial = "";
  let stderr = "";
  const waiters = new Set<() => void>();
  child.stdout!.on("data", (d: Buffer) => {
    partial += d.toString();
    const parts = partial.split("\n");
    partial = parts.pop()!;
    for (const l of parts) {
      try {
        lines.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        lines.push({ raw: l });
      }
    }
    for (const w of waiters) w();
  });
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | string>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown")));
  return {
    child,
    socket: setup.socket,
    dir: tmp.path,
    lines,
    stderr: () => stderr,
    exited,
    remove: tmp.remove,
    waitForLine: (pred, timeoutMs) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.find(pred);
          if (hit) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(hit);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching log line within ${timeoutMs} ms; stderr: ${stderr}; last lines: ${JSON.stringify(lines.slice(-5))}`));
        }, timeoutMs);
        waiters.add(check);
        void exited.then(() => setTimeout(check, 0));
        check();
      }),
  };
}
