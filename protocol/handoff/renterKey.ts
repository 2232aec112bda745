/**
 * The renter's secp256k1 public key, which the lease handoff seals to (docs/agent.md "Sealed access"). An Ethereum
 * address is a hash of the key, so the key itself comes from a signature: the renter signed the transaction that
 * created its order. The agent finds that transaction through the order's `OrderCreated` log, rebuilds the signed
 * payload, recovers the key from (r, s, yParity) and checks that it hashes to the order's renter.
 *
 * A renter that is a contract account (a smart wallet, a multisig) or whose order was sent by someone else (a
 * relayer, a bundler) did not sign the transaction, so its key cannot be recovered this way
 * (`HANDOFF_KEY_NOT_RECOVERABLE`). Such a renter names an access key on the marketplace (`setAccessKey`, a compressed
 * secp256k1 public key); `sealKeyOf` takes that key first when it is set (docs/agent.md "The renter's public key").
 */
import { secp256k1 } from "@noble/curves/secp256k1.js";
import {
  getAddress,
  hexToBytes,
  keccak256,
  recoverPublicKey,
  serializeTransaction,
  type Address,
  type Hex,
  type PublicClient,
  type Transaction,
  type TransactionSerializable,
} from "viem";
import { publicKeyToAddress } from "viem/accounts";
import { marketplaceAbi } from "../chain/abi.js";
import { HandoffError } from "./ecies.js";

/** The unsigned payload the sender signed, rebuilt from a mined transaction. */
export function unsignedOf(tx: Transaction): TransactionSerializable {
  const base = { to: tx.to ?? null, nonce: tx.nonce, gas: tx.gas, value: tx.value, data: tx.input };
  switch (tx.type) {
    case "legacy":
      // Pre-EIP-155 (v 27/28) signatures cover no chain id.
      return { ...base, type: "legacy", gasPrice: tx.gasPrice, ...(tx.v >= 35n ? { chainId: tx.chainId ?? Number((tx.v - 35n) / 2n) } : {}) };
    case "eip2930":
      return { ...base, type: "eip2930", gasPrice: tx.gasPrice, accessList: tx.accessList, chainId: tx.chainId };
    case "eip1559":
      return { ...base, type: "eip1559", maxFeePerGas: tx.maxFeePerGas, maxPriorityFeePerGas: tx.maxPriorityFeePerGas, accessList: tx.accessList, chainId: tx.chainId };
    case "eip7702":
      return { ...base, type: "eip7702", maxFeePerGas: tx.maxFeePerGas, maxPriorityFeePerGas: tx.maxPriorityFeePerGas, accessList: tx.accessList, authorizationList: tx.authorizationList, chainId: tx.chainId };
    default:
      throw new HandoffError("HANDOFF_KEY_NOT_RECOVERABLE", `transaction ${tx.hash} is of type ${tx.type}, whose signed payload this build does not rebuild`);
  }
}

/** The uncompressed (65-byte) public key that signed `tx`. */
export async function signerPublicKey(tx: Transaction): Promise<Hex> {
  const hash = keccak256(serializeTransaction(unsignedOf(tx)));
  const signature = tx.type === "legacy" ? { r: tx.r, s: tx.s, v: tx.v } : { r: tx.r, s: tx.s, yParity: tx.yParity };
  return recoverPublicKey({ hash, signature });
}

/**
 * The public key of order `orderId`'s renter, recovered from the signature of the transaction that emitted its
 * `OrderCreated` log, checked against the renter address. `fromBlock` bounds the log search (the deployment block).
 */
export async function renterPublicKey(client: PublicClient, marketplace: Address, orderId: bigint, renter: Address, fromBlock: bigint): Promise<Hex> {
  const logs = await client.getContractEvents({ address: marketplace, abi: marketplaceAbi, eventName: "OrderCreated", args: { orderId }, fromBlock, toBlock: "latest", strict: true });
  const log = logs[0];
  if (log === undefined) throw new HandoffError("HANDOFF_KEY_NOT_RECOVERABLE", `no OrderCreated log for order ${orderId}`);
  const tx = await client.getTransaction({ hash: log.transactionHash });
  const key = await signerPublicKey(tx);
  if (getAddress(publicKeyToAddress(key)) !== getAddress(renter)) {
    throw new HandoffError(
      "HANDOFF_KEY_NOT_RECOVERABLE",
      `order ${orderId} was created by a transaction signed by ${getAddress(publicKeyToAddress(key))}, not by its renter ${getAddress(renter)} (a contract account or a relayed order): the renter's key cannot be recovered`,
    );
  }
  return key;
}

/**
 * The key a lease's access is sealed to: the access key its renter named on the marketplace (`accessKeyOf`) at
 * `blockNumber` if it named one, else the key recovered from its order's transaction (`renterPublicKey`'s check). It
 * needs only the order id: the renter comes from the `OrderCreated` log (and must be `expectedRenter` when given), so
 * an agent can look the key up while it reads the lease. An access key that is not a point of the curve is refused
 * (`HANDOFF_BAD_PUBLIC_KEY`): the contract checks only its form.
 */
export async function sealKeyOf(
  client: PublicClient,
  marketplace: Address,
  orderId: bigint,
  fromBlock: bigint,
  blockNumber: bigint,
  expectedRenter?: Address,
): Promise<{ key: Hex; renter: Address; source: "access-key" | "recovered" }> {
  const logs = await client.getContractEvents({ address: marketplace, abi: marketplaceAbi, eventName: "OrderCreated", args: { orderId }, fromBlock, toBlock: blockNumber, strict: true });
  const log = logs[0];
  if (log === undefined) throw new HandoffError("HANDOFF_KEY_NOT_RECOVERABLE", `no OrderCreated log for order ${orderId}`);
  const renter = getAddress(log.args.renter);
  if (expectedRenter !== undefined && renter !== getAddress(expectedRenter)) {
    throw new HandoffError("HANDOFF_KEY_NOT_RECOVERABLE", `order ${orderId} was created for renter ${renter}, not ${getAddress(expectedRenter)}`);
  }
  const [named, tx] = await Promise.all([
    client.readContract({ address: marketplace, abi: marketplaceAbi, functionName: "accessKeyOf", args: [renter], blockNumber }),
    client.getTransaction({ hash: log.transactionHash }),
  ]);
  if (named !== "0x") {
    try {
      secp256k1.Point.fromBytes(hexToBytes(named));
    } catch (err) {
      throw new HandoffError("HANDOFF_BAD_PUBLIC_KEY", `the access key renter ${renter} named (${named}) is not a secp256k1 point`, { cause: err });
    }
    return { key: named, renter, source: "access-key" };
  }
  const key = await signerPublicKey(tx);
  if (getAddress(publicKeyToAddress(key)) !== renter) {
    throw new HandoffError(
      "HANDOFF_KEY_NOT_RECOVERABLE",
      `order ${orderId} was created by a transaction signed by ${getAddress(publicKeyToAddress(key))}, not by its renter ${renter} (a contract account or a relayed order), and the renter named no access key (setAccessKey)`,
    );
  }
  return { key, renter, source: "recovered" };
}
