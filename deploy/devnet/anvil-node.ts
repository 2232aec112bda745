/**
 * Starts `anvil` (Foundry's Rust node, npm package @foundry-rs/anvil) on 127.0.0.1 as a supervised child and waits
 * until its JSON-RPC answers. The binary is the platform package's own (`@foundry-rs/anvil-linux-amd64/bin/anvil`),
 * started by its pid: the `anvil` script in node_modules/.bin is a Node wrapper that would hold a second process.
 *
 * Flags chosen so that anvil behaves as the devnet's hardhat node does: the same 20 dev accounts (anvil's default
 * mnemonic is Hardhat's), automine plus interval blocks (`--mixed-mining` with `--block-time`; anvil's
 * `evm_setIntervalMining` would turn automine off), and the EIP-7825 per-transaction gas cap of 2²⁴ that Hardhat's
 * simulator and Ethereum mainnet enforce (`--enable-tx-gas-limit`; anvil leaves it off by default).
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Supervisor } from "./supervisor.js";
import { waitForLocalNode, type LocalNode } from "./hardhat-node.js";

const require = createRequire(import.meta.url);

/** Platform packages @foundry-rs/anvil installs its binary from, by `${process.platform}-${process.arch}`. */
const PLATFORM_PACKAGES: Record<string, string> = {
  "linux-x64": "@foundry-rs/anvil-linux-amd64",
  "linux-arm64": "@foundry-rs/anvil-linux-arm64",
  "darwin-x64": "@foundry-rs/anvil-darwin-amd64",
  "darwin-arm64": "@foundry-rs/anvil-darwin-arm64",
};

/** The anvil binary from its platform package; throws naming the package when it is not installed. */
export function anvilBinary(): string {
  const pkg = PLATFORM_PACKAGES[`${process.platform}-${process.arch}`];
  if (pkg === undefined) throw new Error(`devnet: no anvil binary package for ${process.platform}-${process.arch}; use --chain hardhat`);
  let dir: string;
  try {
    dir = dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    throw new Error(`devnet: ${pkg} (the anvil binary, an optional dependency of @foundry-rs/anvil) is not installed; run npm ci, or use --chain hardhat`);
  }
  const bin = join(dir, "bin", "anvil");
  if (!existsSync(bin)) throw new Error(`devnet: ${bin} is missing; reinstall @foundry-rs/anvil, or use --chain hardhat`);
  return bin;
}

export interface AnvilOptions {
  port: number;
  logFile: string;
  /** Interval block period in ms on top of automine; 0: automine only. */
  blockTimeMs?: number;
  /** Another chain id than 31337 (tests of a non-local chain). */
  chainId?: number;
  readyTimeoutMs?: number;
}

export async function startAnvil(supervisor: Supervisor, opts: AnvilOptions): Promise<LocalNode> {
  const args = ["--host", "127.0.0.1", "--port", String(opts.port), "--accounts", "20", "--enable-tx-gas-limit"];
  if (opts.chainId !== undefined) args.push("--chain-id", String(opts.chainId));
  if ((opts.blockTimeMs ?? 0) > 0) args.push("--block-time", String(opts.blockTimeMs! / 1000), "--mixed-mining");
  // anvil cannot watch its parent: a small Node wrapper does, so a devnet killed outright leaves no chain behind.
  const wrapper = join(dirname(fileURLToPath(import.meta.url)), "run-with-parent.mjs");
  const child = supervisor.spawn({ name: "chain", command: process.execPath, args: [wrapper, anvilBinary(), ...args], logFile: opts.logFile });
  return waitForLocalNode(supervisor, child, { kind: "anvil", name: "anvil", port: opts.port, logFile: opts.logFile, readyTimeoutMs: opts.readyTimeoutMs ?? 30_000, pollMs: 100 });
}
