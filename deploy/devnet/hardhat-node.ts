/**
 * Starts `hardhat node` on 127.0.0.1 as a supervised child process and waits until its JSON-RPC answers.
 * The node binary is started directly under the current Node (Hardhat 3 needs ≥ 22.13), by its own pid.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createPublicClient, http } from "viem";
import type { Supervisor, SupervisedChild } from "./supervisor.js";

const require = createRequire(import.meta.url);

export interface HardhatNodeOptions {
  port: number;
  logFile: string;
  /** Project root holding hardhat.config.ts. */
  root: string;
  /** How long to wait for the RPC to answer (the first start compiles the contracts). */
  readyTimeoutMs?: number;
}

/** A local node the devnet started: hardhat node or anvil (deploy/devnet/anvil-node.ts). */
export interface LocalNode {
  kind: "hardhat" | "anvil";
  url: string;
  chainId: number;
  child: SupervisedChild;
}

export type HardhatNode = LocalNode;

export async function startHardhatNode(supervisor: Supervisor, opts: HardhatNodeOptions): Promise<HardhatNode> {
  const cli = join(require.resolve("hardhat/package.json"), "..", "dist", "src", "cli.js");
  const child = supervisor.spawn({
    name: "chain",
    command: process.execPath,
    // The preload stops the node if the devnet is killed outright (supervisor.ts); hardhat's own code cannot watch.
    args: ["--import", pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), "exit-with-parent.mjs")).href, cli, "node", "--hostname", "127.0.0.1", "--port", String(opts.port)],
    cwd: opts.root,
    logFile: opts.logFile,
  });
  return waitForLocalNode(supervisor, child, { kind: "hardhat", name: "hardhat node", port: opts.port, logFile: opts.logFile, readyTimeoutMs: opts.readyTimeoutMs ?? 120_000, pollMs: 200 });
}

/**
 * Polls the started node's JSON-RPC until it answers with its chain id. Throws naming the node and its log file when
 * the child exits first or `readyTimeoutMs` passes (then the child is stopped, so nothing is left behind).
 */
export async function waitForLocalNode(
  supervisor: Supervisor,
  child: SupervisedChild,
  opts: { kind: LocalNode["kind"]; name: string; port: number; logFile: string; readyTimeoutMs: number; pollMs: number },
): Promise<LocalNode> {
  const url = `http://127.0.0.1:${opts.port}`;
  const client = createPublicClient({ transport: http(url, { retryCount: 0, timeout: 2_000 }) });
  const deadline = Date.now() + opts.readyTimeoutMs;
  let exitedEarly: number | string | undefined;
  void child.exited.then((code) => (exitedEarly = code));
  for (;;) {
    if (exitedEarly !== undefined) {
      throw new Error(`devnet: ${opts.name} exited (${exitedEarly}) before its RPC answered; see ${opts.logFile}`);
    }
    try {
      const chainId = await client.getChainId();
      return { kind: opts.kind, url, chainId, child };
    } catch {
      if (Date.now() > deadline) {
        await supervisor.stop(child);
        throw new Error(`devnet: ${opts.name} did not answer on ${url} in time; see ${opts.logFile}`);
      }
      await new Promise((r) => setTimeout(r, opts.pollMs));
    }
  }
}
