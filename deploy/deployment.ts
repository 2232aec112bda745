/**
 * The deployment file off-chain code reads: contract addresses, chain id and the first block that can hold the
 * system's state or logs (scans of events start there). `deployMatchnet` runs the Ignition module on a Hardhat
 * network connection and returns (and optionally writes) that file.
 */
import type { Address } from "viem";
import type { NetworkConnection } from "hardhat/types/network";
import MatchnetModule, { MarketModule } from "./MatchnetModule.js";

import { DEPLOYMENT_VERSION, writeDeployment, type Deployment } from "../protocol/chain/deployment.js";

export { DEPLOYMENT_VERSION, DeploymentFileError, readDeployment, writeDeployment, type Deployment } from "../protocol/chain/deployment.js";

/** Chains the modules may deploy to: they deploy the devnet tokens, whose faucet anyone may call. */
export const LOCAL_CHAIN_IDS: ReadonlySet<number> = new Set([31337, 1337]);

/** Refuses any chain but a local devnet before Ignition sends anything. */
async function assertLocalChain(connection: NetworkConnection): Promise<void> {
  const chainId = await (await connection.viem.getPublicClient()).getChainId();
  if (!LOCAL_CHAIN_IDS.has(chainId)) {
    throw new Error(
      `deploy: chain ${chainId} is not a local devnet (${[...LOCAL_CHAIN_IDS].join(", ")}); the Matchnet modules deploy faucet tokens ` +
        "that anyone could mint, so they refuse other chains",
    );
  }
}

type MarketParameter = "minProviderStake" | "exitDelay" | "maxOrderLifetime";
type AvsParameter = "minOperatorStake" | "operatorExitDelay";

/**
 * Deploys the market only (`MarketModule`, no service manager wired) on `connection` and returns the viem
 * contract instances plus the deployment record; writes the record to `outFile` when given.
 */
export async function deployMatchnet(
  connection: NetworkConnection,
  opts: { outFile?: string; parameters?: Partial<Record<MarketParameter, bigint>> } = {},
) {
  await assertLocalChain(connection);
  const publicClient = await connection.viem.getPublicClient();
  const before = await publicClient.getBlockNumber();
  const deployed = await connection.ignition.deploy(MarketModule, {
    parameters: { MatchnetMarket: { ...(opts.parameters ?? {}) } },
  });
  const deployment = await record(connection, before, deployed);
  if (opts.outFile !== undefined) await writeDeployment(opts.outFile, deployment);
  return { ...deployed, deployment };
}

/** Deploys the whole system (`MatchnetModule`: market, operator registry, service manager, all wired). */
export async function deployMatchnetWithAvs(
  connection: NetworkConnection,
  opts: { outFile?: string; parameters?: Partial<Record<MarketParameter | AvsParameter, bigint>>; config?: { requiredConfirmations?: number } } = {},
) {
  await assertLocalChain(connection);
  const publicClient = await connection.viem.getPublicClient();
  const before = await publicClient.getBlockNumber();
  const p = opts.parameters ?? {};
  const market = Object.fromEntries(Object.entries(p).filter(([k]) => !k.startsWith("minOperator") && k !== "operatorExitDelay"));
  const avs = Object.fromEntries(Object.entries(p).filter(([k]) => k === "minOperatorStake" || k === "operatorExitDelay"));
  const deployed = await connection.ignition.deploy(MatchnetModule, {
    parameters: { MatchnetMarket: market, Matchnet: avs },
    config: opts.config ?? {},
  });
  const deployment = await record(connection, before, deployed);
  if (opts.outFile !== undefined) await writeDeployment(opts.outFile, deployment);
  return { ...deployed, deployment };
}

async function record(connection: NetworkConnection, before: bigint, deployed: DeployedContracts): Promise<Deployment> {
  const publicClient = await connection.viem.getPublicClient();
  return { version: DEPLOYMENT_VERSION, chainId: await publicClient.getChainId(), deployBlock: Number(before) + 1, contracts: contractsOf(deployed) };
}

/** What Ignition's modules return, by future id: the market's contracts, and the AVS's when it was deployed too. */
export type DeployedContracts = Record<"paymentToken" | "stakeToken" | "catalog" | "registry" | "offerBook" | "marketplace", { address: Address }> &
  Partial<Record<"operatorRegistry" | "serviceManager", { address: Address }>>;

/** The deployment file's `contracts` from Ignition's result. */
export function contractsOf(deployed: DeployedContracts): Deployment["contracts"] {
  return {
    paymentToken: deployed.paymentToken.address,
    stakeToken: deployed.stakeToken.address,
    catalog: deployed.catalog.address,
    providerRegistry: deployed.registry.address,
    offerBook: deployed.offerBook.address,
    marketplace: deployed.marketplace.address,
    ...(deployed.operatorRegistry !== undefined ? { operatorRegistry: deployed.operatorRegistry.address } : {}),
    ...(deployed.serviceManager !== undefined ? { serviceManager: deployed.serviceManager.address } : {}),
  };
}
