/**
 * The deployment file off-chain code reads: contract addresses, chain id and the first block that can hold the
 * system's state or logs. Written by deploy/deployment.ts (Ignition), read by operators, aggregators and the CLI.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { getAddress, type Address } from "viem";
import type { SystemAddresses } from "./reads.js";

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


/** The addresses a node reads from; the deployment must include the AVS contracts. */
export function systemAddresses(d: Deployment, path = "deployment"): SystemAddresses {
  const { operatorRegistry, serviceManager } = d.contracts;
  if (operatorRegistry === undefined || serviceManager === undefined) {
    throw new DeploymentFileError(path, "contracts.operatorRegistry and contracts.serviceManager are required (a market-only deployment?)");
  }
  return {
    serviceManager,
    operatorRegistry,
    marketplace: d.contracts.marketplace,
    offerBook: d.contracts.offerBook,
    providerRegistry: d.contracts.providerRegistry,
    catalog: d.contracts.catalog,
  };
}
