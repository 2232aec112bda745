/**
 * One model of a closed batch, shared by the operator, the aggregator and the devnet: what is read about it once, at
 * its close (R_b, the seed message, the leader fallback order), how long that order is, and its status. The
 * processes keep these records in protocol/p2p's BatchTable (which gossip validation reads); nothing else re-reads a
 * close.
 */
import type { CodeOf } from "../errors.js";
import type { Address, Hex, PublicClient, TransactionReceipt } from "viem";
import { seedMessageDigest } from "../avs/messages.js";
import type { G1Point } from "../bls/index.js";
import { serviceManagerAbi } from "./abi.js";
import { toOperatorId, type OperatorId } from "./ids.js";

export const BatchStatus = {
  /** Closed on-chain, not final: signatures for it are wanted. */
  Open: "open",
  Final: "final",
  Abandoned: "abandoned",
} as const;
export type BatchStatus = CodeOf<typeof BatchStatus>;

/** The service manager's batch timing parameters, in blocks. */
export interface BatchTiming {
  batchInterval: bigint;
  seedTimeout: bigint;
  batchTimeout: bigint;
}

export async function readBatchTiming(client: PublicClient, serviceManager: Address): Promise<BatchTiming> {
  const t = await client.readContract({ address: serviceManager, abi: serviceManagerAbi, functionName: "batchTiming" });
  return { batchInterval: BigInt(t.batchInterval), seedTimeout: BigInt(t.seedTimeout), batchTimeout: BigInt(t.batchTimeout) };
}

/**
 * The most fallback leaders read at a close: a misconfigured timing (seedTimeout 1, batchTimeout 10⁶) must not make
 * every close read a million views. 32 turns is far more than a batch can use before an operator's seed arrives.
 */
export const MAX_FALLBACK_LEADERS = 32;

/**
 * How many fallback leaders can get a turn before the batch times out: the leader at index k may sign from
 * closedAt + k·seedTimeout, and nothing is accepted after closedAt + batchTimeout (ServiceManager._verifySeed).
 */
export function fallbackLength(t: BatchTiming): number {
  if (t.seedTimeout === 0n) return MAX_FALLBACK_LEADERS;
  const n = t.batchTimeout / t.seedTimeout + 1n;
  return n > BigInt(MAX_FALLBACK_LEADERS) ? MAX_FALLBACK_LEADERS : Number(n);
}

/** What every process knows of a closed batch, read once at its close. */
export interface ClosedBatch {
  batch: bigint;
  /** R_b: the block before the close; the operator set and the matcher's inputs are read there. */
  referenceBlock: bigint;
  /** The block that included closeBatch(). */
  closedAt: bigint;
  /** The digest a leader signs to produce the seed (docs/protocol.md §3.2). */
  seedMessageHash: Hex;
  /**
   * leaderOf(batch, k) for k = 0 … fallbackLength − 1 (one operator may appear more than once): index k may sign
   * the seed from closedAt + k·seedTimeout on.
   */
  leaderOrder: OperatorId[];
}

/** A seed verified for a batch: the leader's signature on its seed message, seed = keccak256(signature). */
export interface VerifiedSeed {
  seed: Hex;
  signature: G1Point;
  /** The signer's index in the batch's leader fallback order (submitResult's `signerIndex`). */
  rank: number;
  signer: OperatorId;
}

/** A closed batch with what the chain said of it since. */
export interface BatchRecord extends ClosedBatch {
  status: BatchStatus;
}

/** Reads a closed batch from the service manager's views: getBatch and `leaders` entries of its fallback order. */
export async function readClosedBatch(
  client: PublicClient,
  deployment: { chainId: bigint; serviceManager: Address },
  batch: bigint,
  leaders: number,
): Promise<ClosedBatch> {
  const sm = deployment.serviceManager;
  const [b, leaderOrder] = await Promise.all([
    client.readContract({ address: sm, abi: serviceManagerAbi, functionName: "getBatch", args: [batch] }),
    Promise.all(
      Array.from({ length: leaders }, (_, k) =>
        client.readContract({ address: sm, abi: serviceManagerAbi, functionName: "leaderOf", args: [batch, BigInt(k)] }),
      ),
    ),
  ]);
  const seedMessageHash = seedMessageDigest({
    chainId: deployment.chainId,
    serviceManager: sm,
    batch,
    previousSeed: b.previousSeed,
    referenceBlockHash: b.referenceBlockHash,
  });
  return {
    batch,
    referenceBlock: BigInt(b.referenceBlock),
    closedAt: BigInt(b.closedAt),
    seedMessageHash,
    leaderOrder: leaderOrder.map(toOperatorId),
  };
}

/**
 * The receipts of a final batch's result (docs/protocol.md §3.7): the finalizing transaction, which carries page 0,
 * and every applyPage transaction since, in that order and each once.
 */
export async function resultReceipts(
  client: PublicClient,
  serviceManager: Address,
  batch: bigint,
  finalizedAt: bigint,
  finalizingTx: Hex,
): Promise<TransactionReceipt[]> {
  const pages = await client.getContractEvents({ address: serviceManager, abi: serviceManagerAbi, eventName: "PageApplied", args: { batch }, fromBlock: finalizedAt });
  const txs = [...new Set([finalizingTx, ...pages.map((l) => l.transactionHash)])];
  return Promise.all(txs.map((hash) => client.getTransactionReceipt({ hash })));
}
