/**
 * The deployment file off-chain code reads: contract addresses, chain id and the first block that can hold the
 * system's state or logs (scans of events start there). `deployMatchnet` runs the Ignition module on a Hardhat
 * network connection and returns (and optionally writes) that file.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { getAddress, type Address } from "viem";
import type { NetworkConnection } from "hardhat/types/network";
import MatchnetModule, { MarketModule } from "./MatchnetModule.js";

export const DEPLOYMENT_VERSION = 1;

export interface Deployment {
  version: number;
  chainId: number;
  /** First block of the deployment: every contract below was created at or after it. */
  deployBlock: number;
  contracts: {
    paymentToken: Address;
    stakeToken: Address;
    catalog: Address;
    providerRegistry: Address;
    offerBook: Address;
    marketplace: Address;
    operatorRegistry?: Address;
    serviceManager?: Address;
  };
}

/** Typed error for a deployment file that is missing fields or has malformed ones. */
export class DeploymentFileError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`deployment file ${path}: ${problem}`);
    this.name = "DeploymentFileError";
  }
}

export async function writeDeployment(path: string, deployment: Deployment): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, JSON.stringify(deployment, null, 2) + "\n");
}

export async function readDeployment(path: string): Promise<Deployment> {
  const raw = JSON.parse(await readFile(path, "utf8")) as Partial<Deployment>;
  if (raw.version !== DEPLOYMENT_VERSION) throw new DeploymentFileError(path, `version ${raw.version} is not ${DEPLOYMENT_VERSION}`);
  if (!Number.isSafeInteger(raw.chainId)) throw new DeploymentFileError(path, "chainId is not an integer");
  if (!Number.isSafeInteger(raw.deployBlock)) throw new DeploymentFileError(path, "deployBlock is not an integer");
  const c = raw.contracts;
  if (c === undefined) throw new DeploymentFileError(path, "contracts missing");
  const contracts = {} as Deployment["contracts"];
  for (const key of ["paymentToken", "stakeToken", "catalog", "providerRegistry", "offerBook", "marketplace"] as const) {
    const value = c[key];
    if (typeof value !== "string") throw new DeploymentFileError(path, `contracts.${key} missing`);
    contracts[key] = getAddress(value);
  }
  if (c.operatorRegistry !== undefined) contracts.operatorRegistry = getAddress(c.operatorRegistry);
  if (c.serviceManager !== undefined) contracts.serviceManager = getAddress(c.serviceManager);
  return { version: DEPLOYMENT_VERSION, chainId: raw.chainId!, deployBlock: raw.deployBlock!, contracts };
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
  opts: { outFile?: string; parameters?: Partial<Record<MarketParameter | AvsParameter, bigint>> } = {},
) {
  const publicClient = await connection.viem.getPublicClient();
  const before = await publicClient.getBlockNumber();
  const p = opts.parameters ?? {};
  const market = Object.fromEntries(Object.entries(p).filter(([k]) => !k.startsWith("minOperator") && k !== "operatorExitDelay"));
  const avs = Object.fromEntries(Object.entries(p).filter(([k]) => k === "minOperatorStake" || k === "operatorExitDelay"));
  const deployed = await connection.ignition.deploy(MatchnetModule, {
    parameters: { MatchnetMarket: market, Matchnet: avs },
  });
  const deployment = await record(connection, before, deployed);
  deployment.contracts.operatorRegistry = deployed.operatorRegistry.address;
  deployment.contracts.serviceManager = deployed.serviceManager.address;
  if (opts.outFile !== undefined) await writeDeployment(opts.outFile, deployment);
  return { ...deployed, deployment };
}

async function record(
  connection: NetworkConnection,
  before: bigint,
  deployed: Record<"paymentToken" | "stakeToken" | "catalog" | "registry" | "offerBook" | "marketplace", { address: Address }>,
): Promise<Deployment> {
  const publicClient = await connection.viem.getPublicClient();
  return {
    version: DEPLOYMENT_VERSION,
    chainId: await publicClient.getChainId(),
    deployBlock: Number(before) + 1,
    contracts: {
      paymentToken: deployed.paymentToken.address,
      stakeToken: deployed.stakeToken.address,
      catalog: deployed.catalog.address,
      providerRegistry: deployed.registry.address,
      offerBook: deployed.offerBook.address,
      marketplace: deployed.marketplace.address,
    },
  };
}
