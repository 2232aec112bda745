/**
 * Deploys the whole system to any EVM chain reachable over JSON-RPC (`npm run deploy`, docs/deploy.md): checks what
 * can be checked by reading first (chain id, faucet tokens only on a local chain, the external tokens are contracts
 * with decimals(), the account can pay), then runs `buildDeployModule` with Ignition through a Hardhat runtime made
 * for this run (an `http` network on the given URL whose one account is the unlocked keystore's key), and writes the
 * deployment file in the format every reader uses (protocol/chain/deployment.ts).
 *
 * Ignition's journal goes to `<journal>/deployments/<id>` with id `chain-<chainId>-<genesis hash prefix>`: a run cut
 * short resumes where it stopped on the same chain, while a restarted local node (same chain id, new genesis) gets a
 * fresh deployment instead of a journal pointing at contracts that no longer exist.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createPublicClient, erc20Abi, formatEther, http, type Address, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createHardhatRuntimeEnvironment, importUserConfig } from "hardhat/hre";
import type { HardhatUserConfig } from "hardhat/config";
import { buildDeployModule } from "./MatchnetModule.js";
import { LOCAL_CHAIN_IDS, contractsOf } from "./deployment.js";
import { DEPLOYMENT_VERSION, writeDeployment, type Deployment } from "../protocol/chain/deployment.js";
import type { DeployParameters } from "./parameters.js";

export class DeployError extends Error {
  constructor(
    readonly code: "RPC" | "FAUCET_ON_PUBLIC_CHAIN" | "TOKEN" | "FUNDS" | "IGNITION",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "DeployError";
  }
}

export interface DeployToChainOptions {
  /** Project root (hardhat.config.ts, contracts). */
  root: string;
  rpc: string;
  /** The deploying account's key, from an unlocked keystore; held in memory for this run only. */
  privateKey: Hex;
  parameters: DeployParameters;
  outFile: string;
  /** Ignition's journal root (its `deployments/<id>` folder goes in it). */
  journalDir: string;
  /** Blocks to wait on each transaction (Ignition's default: 5, or 1 on an automining local node). */
  confirmations?: number;
  /** Upper bound on maxFeePerGas in wei that Ignition may pay. */
  maxFeePerGasLimit?: bigint;
  /** Ignition's progress UI on stdout. */
  displayUi?: boolean;
  log?: (line: string) => void;
}

export interface DeployToChainResult {
  deployment: Deployment;
  deploymentId: string;
  deployer: Address;
}

/** Every read-only check before a transaction is sent; returns the chain id and the Ignition deployment id. */
export async function preflight(client: PublicClient, p: DeployParameters, deployer: Address): Promise<{ chainId: number; deploymentId: string }> {
  let chainId: number;
  let genesis: Hex;
  try {
    chainId = await client.getChainId();
    genesis = (await client.getBlock({ blockNumber: 0n })).hash!;
  } catch (err) {
    throw new DeployError("RPC", `--rpc: the node does not answer eth_chainId / eth_getBlockByNumber (${(err as Error).message.split("\n")[0]})`, { cause: err });
  }
  if (p.tokens === "faucet" && !LOCAL_CHAIN_IDS.has(chainId)) {
    throw new DeployError(
      "FAUCET_ON_PUBLIC_CHAIN",
      `chain ${chainId} is not a local devnet (${[...LOCAL_CHAIN_IDS].join(", ")}), and the parameters ask for tokens "faucet", whose faucet anyone could call; ` +
        'give the payment and stake tokens as "tokens": { "payment": <address>, "stake": <address> }',
    );
  }
  if (p.tokens !== "faucet") {
    for (const [field, token] of [["tokens.payment", p.tokens.payment], ["tokens.stake", p.tokens.stake]] as const) {
      const code = await client.getCode({ address: token });
      if (code === undefined || code === "0x") throw new DeployError("TOKEN", `${field}: no contract at ${token} on chain ${chainId}`);
      try {
        await client.readContract({ address: token, abi: erc20Abi, functionName: "decimals" });
      } catch {
        throw new DeployError("TOKEN", `${field}: ${token} on chain ${chainId} does not answer ERC-20 decimals()`);
      }
    }
  }
  const balance = await client.getBalance({ address: deployer });
  if (balance === 0n) throw new DeployError("FUNDS", `--account: ${deployer} has no native balance on chain ${chainId} to pay for gas`);
  return { chainId, deploymentId: `chain-${chainId}-${genesis.slice(2, 10)}` };
}

export async function deployToChain(o: DeployToChainOptions): Promise<DeployToChainResult> {
  const log = o.log ?? (() => {});
  const deployer = privateKeyToAccount(o.privateKey).address;
  const client = createPublicClient({ transport: http(o.rpc, { retryCount: 1, timeout: 30_000 }) }) as PublicClient;
  const { chainId, deploymentId } = await preflight(client, o.parameters, deployer);
  const p = o.parameters;
  const owner = p.owner ?? deployer;
  log(`chain ${chainId}; deployer ${deployer} (${formatEther(await client.getBalance({ address: deployer }))} native); owner ${owner}`);

  const configPath = join(o.root, "hardhat.config.ts");
  const user = (await importUserConfig(configPath)) as HardhatUserConfig;
  const ignition: Record<string, unknown> = {};
  if (o.maxFeePerGasLimit !== undefined) ignition.maxFeePerGasLimit = o.maxFeePerGasLimit;
  const config: HardhatUserConfig = {
    ...user,
    paths: { ...(user.paths ?? {}), ignition: o.journalDir },
    networks: {
      ...(user.networks ?? {}),
      target: { type: "http", chainType: "generic", url: o.rpc, accounts: [o.privateKey], ignition },
    },
  };
  const hre = await createHardhatRuntimeEnvironment(config, { config: configPath }, o.root);
  log("building the contracts (a no-op when the artifacts are up to date) …");
  await hre.tasks.getTask("build").run({ quiet: true, noTests: true });
  const connection = await hre.network.connect({ network: "target" });
  try {
    const before = await client.getBlockNumber();
    const module = buildDeployModule({
      tokens: p.tokens,
      minProviderStake: p.minProviderStake,
      providerExitDelay: p.providerExitDelay,
      maxOrderLifetime: p.maxOrderLifetime,
      minimumEscrow: p.minimumEscrow,
      minOperatorStake: p.minOperatorStake,
      operatorExitDelay: p.operatorExitDelay,
      batchTiming: p.batchTiming,
      quorumThresholdBps: p.quorumThresholdBps,
      matchingWeights: p.matchingWeights,
      slashFractions: p.slashFractions,
      ejection: p.ejection,
      handoffTimeout: p.handoffTimeout,
      owner,
      treasury: p.treasury ?? owner,
      deployer,
    });
    const journal = join(o.journalDir, "deployments", deploymentId);
    const resumed = existsSync(journal);
    log(`deploying with Ignition (journal ${journal}${resumed ? ", resuming it" : ""}) …`);
    let deployed;
    try {
      deployed = await connection.ignition.deploy(module, {
        deploymentId,
        displayUi: o.displayUi ?? false,
        config: o.confirmations === undefined ? {} : { requiredConfirmations: o.confirmations },
      });
    } catch (err) {
      throw new DeployError("IGNITION", `Ignition stopped: ${(err as Error).message}\nRun the same command again to resume from its journal.`, { cause: err });
    }
    const deployment: Deployment = {
      version: DEPLOYMENT_VERSION,
      chainId,
      // A resumed run created its first contracts before this run's first block.
      deployBlock: resumed
        ? await firstCreationBlock(client, p.tokens === "faucet" ? [deployed.paymentToken.address, deployed.stakeToken.address, deployed.catalog.address] : [deployed.catalog.address], Number(before) + 1)
        : Number(before) + 1,
      contracts: contractsOf(deployed),
    };
    await writeDeployment(o.outFile, deployment);
    return { deployment, deploymentId, deployer };
  } finally {
    await connection.close();
  }
}

/**
 * The first block in which one of `addresses` has code (a binary search over eth_getCode by block for each). Falls
 * back to `fallback` when the node keeps no state for older blocks (a pruned node answers with an error).
 */
async function firstCreationBlock(client: PublicClient, addresses: readonly Address[], fallback: number): Promise<number> {
  try {
    let first = fallback;
    for (const address of addresses) {
      let lo = 0n;
      let hi = await client.getBlockNumber();
      while (lo < hi) {
        const mid = (lo + hi) / 2n;
        const code = await client.getCode({ address, blockNumber: mid });
        if (code === undefined || code === "0x") lo = mid + 1n;
        else hi = mid;
      }
      first = Math.min(first, Number(lo));
    }
    return first;
  } catch {
    return fallback;
  }
}
