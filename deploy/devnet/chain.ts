/**
 * The devnet's chain: `hardhat node` as a supervised child, the whole system deployed on it with the Ignition module
 * through a Hardhat runtime built for this run (its `devnet` network points at the node's URL and Ignition's journal
 * lives in the data dir, so a fresh chain always gets a fresh deployment and nothing is written into the repo), and
 * viem clients for the node's unlocked dev accounts (public dev keys; this process never holds their private keys).
 */
import { join } from "node:path";
import { WaitForTransactionReceiptTimeoutError, createPublicClient, createWalletClient, defineChain, http, type Address, type Hex, type PublicClient, type TransactionReceipt, type WalletClient } from "viem";
import { createHardhatRuntimeEnvironment, importUserConfig } from "hardhat/hre";
import type { HardhatUserConfig } from "hardhat/config";
import { deployMatchnetWithAvs } from "../deployment.js";
import type { Deployment } from "../../protocol/chain/deployment.js";
import { startHardhatNode, type LocalNode } from "./hardhat-node.js";
import { startAnvil } from "./anvil-node.js";
import type { Supervisor } from "./supervisor.js";

export interface DevnetChain {
  node: LocalNode;
  url: string;
  chain: ReturnType<typeof defineChain>;
  publicClient: PublicClient;
  /** eth_accounts of the node: Hardhat's 20 public dev accounts, unlocked. [0] deployed the system and owns it. */
  devAccounts: Address[];
  wallet(account: Address): WalletClient;
}

/**
 * How long `mined` waits for a receipt: a slow node (hardhat node serves every process of the devnet from one
 * thread, and a loaded machine stretches each call) is waited for; only a node that mined no block at all for
 * `stalledMs` ends the wait, with an error that says so.
 */
export interface ReceiptWait {
  /** One receipt poll window (viem's waitForTransactionReceipt timeout). */
  windowMs: number;
  /** Give up when the head has not moved for this long while the receipt is missing. */
  stalledMs: number;
  pollingMs: number;
}

export const RECEIPT_WAIT: ReceiptWait = { windowMs: 30_000, stalledMs: 120_000, pollingMs: 50 };

/**
 * The receipt of a transaction; with automine it is there as soon as the send returns, so ask before polling. The
 * transaction was accepted by the node, so a missing receipt means a slow node, not a lost transaction: the wait
 * goes on while the chain makes blocks.
 */
export async function mined(chain: Pick<DevnetChain, "publicClient">, hash: Hex, what: string, wait: ReceiptWait = RECEIPT_WAIT): Promise<TransactionReceipt> {
  let receipt: TransactionReceipt | undefined;
  try {
    receipt = await chain.publicClient.getTransactionReceipt({ hash });
  } catch {
    let head = await chain.publicClient.getBlockNumber({ cacheTime: 0 });
    let movedAt = Date.now();
    while (receipt === undefined) {
      try {
        receipt = await chain.publicClient.waitForTransactionReceipt({ hash, timeout: wait.windowMs, pollingInterval: wait.pollingMs });
      } catch (err) {
        if (!(err instanceof WaitForTransactionReceiptTimeoutError)) throw err;
        const now = await chain.publicClient.getBlockNumber({ cacheTime: 0 });
        if (now !== head) [head, movedAt] = [now, Date.now()];
        else if (Date.now() - movedAt >= wait.stalledMs) {
          throw new Error(`devnet: ${what} (tx ${hash}) is not mined and the chain made no block for ${Math.round((Date.now() - movedAt) / 1000)} s (head #${head}): the node stopped mining?`);
        }
      }
    }
  }
  if (receipt.status !== "success") throw new Error(`devnet: ${what} reverted (tx ${hash})`);
  return receipt;
}

/** The local node implementations the devnet runs on (`--chain`). */
export const CHAIN_KINDS = ["hardhat", "anvil"] as const;
export type ChainKind = (typeof CHAIN_KINDS)[number];

/**
 * Starts the chosen node. anvil takes its interval mining at start (`blockTimeMs`, mixed with automine); hardhat
 * node gets it by `evm_setIntervalMining` once the system is deployed (`enableIntervalMining`).
 */
export async function startChain(supervisor: Supervisor, opts: { port: number; root: string; logFile: string; kind?: ChainKind; blockTimeMs?: number }): Promise<DevnetChain> {
  const node =
    (opts.kind ?? "hardhat") === "anvil"
      ? await startAnvil(supervisor, { port: opts.port, logFile: opts.logFile, blockTimeMs: opts.blockTimeMs })
      : await startHardhatNode(supervisor, { port: opts.port, logFile: opts.logFile, root: opts.root });
  const chain = defineChain({
    id: node.chainId,
    name: "matchnet devnet",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [node.url] } },
  });
  const transport = http(node.url, { retryCount: 2, timeout: 30_000 });
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 100 }) as PublicClient;
  const devAccounts = (await publicClient.request({ method: "eth_accounts" } as never)) as Address[];
  if (devAccounts.length < 20) throw new Error(`devnet: ${node.kind} offers ${devAccounts.length} unlocked accounts, 20 expected`);
  return {
    node,
    url: node.url,
    chain,
    publicClient,
    devAccounts,
    wallet: (account) => createWalletClient({ account, chain, transport }),
  };
}

/**
 * Interval mining, on top of automine unless `automine` is false. hardhat node keeps automine on under
 * `evm_setIntervalMining` (so it is turned off first when asked); anvil's `evm_setIntervalMining` turns automine off,
 * so anvil was started with `--mixed-mining` and is only switched when interval blocks alone are wanted.
 */
export async function enableIntervalMining(chain: DevnetChain, ms: number, automine = true): Promise<void> {
  if (chain.node.kind === "anvil") {
    // anvil takes the period in whole seconds (hardhat node in ms).
    if (!automine) await chain.publicClient.request({ method: "evm_setIntervalMining", params: [Math.max(1, Math.round(ms / 1000))] } as never);
    return;
  }
  if (!automine) await chain.publicClient.request({ method: "evm_setAutomine", params: [false] } as never);
  await chain.publicClient.request({ method: "evm_setIntervalMining", params: [ms] } as never);
}

/** Mines `n` empty blocks at once (`hardhat_mine` on hardhat node, `anvil_mine` on anvil). */
export async function mineBlocks(chain: DevnetChain, n: bigint): Promise<void> {
  if (n <= 0n) return;
  const method = chain.node.kind === "anvil" ? "anvil_mine" : "hardhat_mine";
  await chain.publicClient.request({ method, params: [`0x${n.toString(16)}`] } as never);
}

/** Deploys MatchnetModule with Ignition against `url` and writes the deployment file. */
export async function deploySystem(opts: {
  root: string;
  url: string;
  dataDir: string;
  outFile: string;
  parameters: Parameters<typeof deployMatchnetWithAvs>[1] extends infer O ? (O extends { parameters?: infer P } ? P : never) : never;
}): Promise<Deployment> {
  const configPath = join(opts.root, "hardhat.config.ts");
  const user = (await importUserConfig(configPath)) as HardhatUserConfig;
  const config: HardhatUserConfig = {
    ...user,
    paths: { ...(user.paths ?? {}), ignition: join(opts.dataDir, "ignition") },
    networks: { ...(user.networks ?? {}), devnet: { type: "http", chainType: "l1", url: opts.url } },
  };
  const hre = await createHardhatRuntimeEnvironment(config, { config: configPath }, opts.root);
  // A fresh clone has no artifacts yet (hardhat node does not build); an up-to-date build is a quick no-op.
  await hre.tasks.getTask("build").run({ quiet: true, noTests: true });
  const connection = await hre.network.connect({ network: "devnet" });
  try {
    // One confirmation: a local node mines each transaction at once. Ignition would wait for 5 on a node whose
    // `hardhat_getAutomine` says false (anvil under --mixed-mining does).
    const { deployment } = await deployMatchnetWithAvs(connection, { outFile: opts.outFile, parameters: opts.parameters, config: { requiredConfirmations: 1 } });
    return deployment;
  } finally {
    await connection.close();
  }
}
