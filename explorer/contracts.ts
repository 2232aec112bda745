/**
 * The contracts the explorer follows and the generated ABI (protocol/chain/abi.ts) each one's logs are decoded
 * with. A new contract is one line here plus its handlers in explorer/handlers.ts.
 */
import { getAddress, type Abi, type Address } from "viem";
import {
  gpuCatalogAbi, marketplaceAbi, offerBookAbi, operatorRegistryAbi, providerRegistryAbi, serviceManagerAbi,
} from "../protocol/chain/abi.js";
import type { Deployment } from "../protocol/chain/deployment.js";

export const CONTRACT_ABIS = {
  catalog: gpuCatalogAbi,
  providerRegistry: providerRegistryAbi,
  offerBook: offerBookAbi,
  marketplace: marketplaceAbi,
  operatorRegistry: operatorRegistryAbi,
  serviceManager: serviceManagerAbi,
} as const satisfies Record<string, Abi>;

export type ContractKey = keyof typeof CONTRACT_ABIS;

export interface Followed {
  key: ContractKey;
  address: Address;
  abi: Abi;
}

/** The followed contracts of a deployment (the AVS ones when present), by lower-case address. */
export function followedContracts(d: Deployment): Map<string, Followed> {
  const out = new Map<string, Followed>();
  for (const key of Object.keys(CONTRACT_ABIS) as ContractKey[]) {
    const address = d.contracts[key];
    if (address === undefined) continue;
    out.set(address.toLowerCase(), { key, address: getAddress(address), abi: CONTRACT_ABIS[key] });
  }
  return out;
}
