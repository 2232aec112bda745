/**
 * Identifiers normalised once, where they enter the process (a contract read, a decoded gossip message, a config
 * file), into branded types: two values of one type are compared with ===, never with toLowerCase() at the use site.
 *
 * Addresses have one spelling too: EIP-55 checksummed, viem's `getAddress`. viem decodes every address it reads
 * from the chain (contract reads, event logs, accounts) into it, and the deployment file (protocol/chain/deployment.ts)
 * and the deploy parameters (deploy/parameters.ts) turn the addresses a user writes into it, so two addresses from
 * those sources compare with === as well.
 */
import type { Hex } from "viem";

declare const operatorIdBrand: unique symbol;

/** keccak256(pkG1.X, pkG1.Y) as 0x + 64 lower-case hex digits. */
export type OperatorId = Hex & { readonly [operatorIdBrand]: true };

const OPERATOR_ID = /^0x[0-9a-fA-F]{64}$/;

/** The operator id in its one spelling; throws on anything that is not 32 bytes of hex. */
export function toOperatorId(value: string): OperatorId {
  if (!OPERATOR_ID.test(value)) throw new TypeError(`not an operator id (32 bytes of hex): ${value}`);
  return value.toLowerCase() as OperatorId;
}

declare const bytes32Brand: unique symbol;

/** A 32-byte digest (a result hash, a seed) as 0x + 64 lower-case hex digits. */
export type Bytes32 = Hex & { readonly [bytes32Brand]: true };

/** The digest in its one spelling; throws on anything that is not 32 bytes of hex. */
export function toBytes32(value: string): Bytes32 {
  if (!OPERATOR_ID.test(value)) throw new TypeError(`not a 32-byte hex value: ${value}`);
  return value.toLowerCase() as Bytes32;
}
