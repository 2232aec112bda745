/**
 * The deployment file off-chain code reads: contract addresses, chain id and the first block that can hold the
 * system's state or logs (scans of events start there). `deployMatchnet` runs the Ignition module on a Hardhat
 * network connection and returns (and optionally writes) that file.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { getAddress, type Address } from "viem";
import type { NetworkConnection } from "hardhat/types/network";
import MatchnetModule from "./MatchnetModule.js";

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
  if (c.serviceManager !== undefined) contracts.serviceManager = getAddress(c.serviceManager);
  return { version: DEPLOYMENT_VERSION, chainId: raw.chainId!, deployBlock: raw.deployBlock!, contracts };
}

/**
 * Deploys the Matchnet module on `connection` and returns the viem contract instances plus the deployment record;
 * writes the record to `outFile` when given.
 */
export async function deployMatchnet(
  connection: NetworkConnection,
  opts: { outFile?: string; parameters?: Partial<Record<"minProviderStake" | "exitDelay" | "maxOrderLifetime", bigint>> } = {},
) {
  const publicClient = await connection.viem.getPublicClient();
  const before = await publicClient.getBlockNumber();
  const deployed = await connection.ignition.deploy(MatchnetModule, {
    parameters: { Matchnet: { ...(opts.parameters ?? {}) } },
  });
  const deployment: Deployment = {
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
  if (opts.outFile !== undefined) await writeDeployment(opts.outFile, deployment);
  return { ...deployed, deployment };
}
