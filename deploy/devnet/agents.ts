/**
 * One provider agent per devnet provider (docs/agent.md, docs/devnet.md): the provider's key in an account keystore
 * (the devnet's providers are Hardhat's public dev accounts 1‥P, whose keys derive from Hardhat's published test
 * mnemonic; they are written encrypted like every other devnet key and never printed), a password file, a config
 * with its own workload port range, and the agent as a process (`node .cache/js/agent/main.js`, the sources
 * transpiled by deploy/compile-js.ts as the operators' are: no tsx in the process, so it starts faster and holds less;
 * one process, so the pid the supervisor holds is the agent's own). Also the devnet's view of handoffs: leases
 * started and ready.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { bytesToHex, getAddress, type Address, type PublicClient } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { marketplaceAbi } from "../../protocol/chain/abi.js";
import { encryptAccountKey, writeAccountKeystoreFile } from "../../protocol/keystore/index.js";
import { DEVNET_SCRYPT } from "./setup.js";
import type { SupervisedChild, Supervisor } from "./supervisor.js";
import { waitForReady } from "./processes.js";

/** Hardhat's default test mnemonic: the keys of `hardhat node`'s 20 unlocked dev accounts (public, test only). */
const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";
/** Ports per agent: one per concurrently active lease of that provider. */
export const AGENT_PORTS = 200;

export interface AgentSetup {
  name: string;
  provider: Address;
  dir: string;
  configFile: string;
  logFile: string;
  portRange: [number, number];
}

/** Writes the agent's keystore, password and config for dev account `accountIndex` (which must be `provider`). */
export async function createAgentFiles(base: string, i: number, accountIndex: number, provider: Address, rpcUrl: string, deploymentFile: string, firstPort: number): Promise<AgentSetup> {
  const account = mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: accountIndex });
  if (getAddress(account.address) !== getAddress(provider)) throw new Error(`devnet: dev account ${accountIndex} is ${provider}, not the mnemonic's ${account.address}: is the node using Hardhat's default accounts?`);
  const name = `agent${i}`;
  const dir = join(base, "agents", name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const password = randomBytes(18).toString("base64url");
  const passwordFile = join(dir, "password.txt");
  await writeFile(passwordFile, password + "\n", { mode: 0o600 });
  await writeAccountKeystoreFile(join(dir, "account-keystore.json"), await encryptAccountKey(bytesToHex(account.getHdKey().privateKey!), password, { scrypt: DEVNET_SCRYPT }));
  const portRange: [number, number] = [firstPort, firstPort + AGENT_PORTS - 1];
  const configFile = join(dir, "config.json");
  const config = {
    rpcUrl,
    deploymentFile,
    accountKeystorePath: join(dir, "account-keystore.json"),
    passwordFile,
    dataDir: join(dir, "data"),
    workload: { host: "127.0.0.1", portRange, spares: 1 },
    pollIntervalMs: 100,
    logLevel: "debug",
  };
  await writeFile(configFile, JSON.stringify(config, null, 2) + "\n");
  return { name, provider, dir, configFile, logFile: join(base, "logs", `${name}.log`), portRange };
}

export async function startAgent(supervisor: Supervisor, root: string, entry: string, a: AgentSetup, fromLine = 0, timeoutMs = 60_000): Promise<SupervisedChild> {
  const child = supervisor.spawn({
    name: a.name,
    command: process.execPath,
    args: [entry, "--config", a.configFile],
    cwd: root,
    logFile: a.logFile,
  });
  await waitForReady(child, { timeoutMs, fromLine });
  return child;
}

/** Leases started (`AssignmentApplied`) and handed over (`LeaseReady`) since `fromBlock`. */
export async function handoffCounts(client: PublicClient, marketplace: Address, fromBlock: bigint): Promise<{ started: number; ready: number }> {
  const [applied, ready] = await Promise.all([
    client.getContractEvents({ address: marketplace, abi: marketplaceAbi, eventName: "AssignmentApplied", fromBlock, toBlock: "latest" }),
    client.getContractEvents({ address: marketplace, abi: marketplaceAbi, eventName: "LeaseReady", fromBlock, toBlock: "latest" }),
  ]);
  return { started: applied.length, ready: ready.length };
}
