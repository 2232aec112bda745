/**
 * The chain-backed views gossip validation and the duties read: the operator set at a reference block (the
 * registry's checkpoints, read once per R_b and cached), and what a batch needs at close (its seed message and
 * the leader fallback order), read from contract views at the head.
 */
import type { Hex, PublicClient } from "viem";
import type { G2Point } from "../protocol/bls/index.js";
import { serviceManagerAbi } from "../protocol/chain/abi.js";
import { readOperatorSet, type OperatorSet, type SystemAddresses } from "../protocol/chain/reads.js";
import { seedMessageDigest } from "../protocol/avs/messages.js";
import type { OperatorSetView, RegisteredOperator } from "../protocol/p2p/interfaces.js";

/** OperatorSetView backed by readOperatorSet at R_b; one read per reference block, kept for `retain` blocks. */
export class ChainOperatorSets implements OperatorSetView<G2Point> {
  private readonly sets = new Map<bigint, Promise<OperatorSet>>();

  constructor(
    private readonly opts: { registry: Hex; retain: number },
    private readonly modules: { client: PublicClient },
  ) {}

  /** The set at `block`; a failed read is not cached, so the next caller retries. */
  atBlock(block: bigint): Promise<OperatorSet> {
    let p = this.sets.get(block);
    if (p === undefined) {
      p = readOperatorSet(this.modules.client, this.opts.registry, block);
      this.sets.set(block, p);
      p.catch(() => this.sets.delete(block));
      if (this.sets.size > this.opts.retain) {
        const oldest = [...this.sets.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))[0]!;
        this.sets.delete(oldest);
      }
    }
    return p;
  }

  async operatorAt(operatorId: Hex, referenceBlock: bigint): Promise<RegisteredOperator<G2Point> | undefined> {
    const set = await this.atBlock(referenceBlock);
    const wanted = operatorId.toLowerCase();
    const op = set.operators.find((o) => o.operatorId.toLowerCase() === wanted);
    return op === undefined ? undefined : { pkG2: op.pkG2, stake: op.stake };
  }
}

export interface BatchTiming {
  batchInterval: bigint;
  seedTimeout: bigint;
  batchTimeout: bigint;
}

export async function readBatchTiming(client: PublicClient, serviceManager: Hex): Promise<BatchTiming> {
  const t = await client.readContract({ address: serviceManager, abi: serviceManagerAbi, functionName: "batchTiming" });
  return { batchInterval: BigInt(t.batchInterval), seedTimeout: BigInt(t.seedTimeout), batchTimeout: BigInt(t.batchTimeout) };
}

/**
 * How many fallback leaders can get a turn before the batch times out: the leader at index k may sign from
 * closedAt + k·seedTimeout, and nothing is accepted after closedAt + batchTimeout.
 */
export function fallbackLength(t: BatchTiming): number {
  // Capped so a misconfigured timing (seedTimeout 1, batchTimeout 10⁶) cannot make every close read a million views.
  return Number(t.batchTimeout / t.seedTimeout) + 1 > 32 ? 32 : Number(t.batchTimeout / t.seedTimeout) + 1;
}

export interface BatchAtClose {
  batch: bigint;
  referenceBlock: bigint;
  closedAt: bigint;
  previousSeed: Hex;
  seedMessageHash: Hex;
  /** leaderOf(batch, k) for k = 0 … fallbackLength − 1 (one operator may appear more than once). */
  leaderOrder: Hex[];
}

export async function readBatchAtClose(
  client: PublicClient,
  addrs: SystemAddresses,
  chainId: bigint,
  batch: bigint,
  leaders: number,
): Promise<BatchAtClose> {
  const sm = addrs.serviceManager;
  const [b, leaderOrder] = await Promise.all([
    client.readContract({ address: sm, abi: serviceManagerAbi, functionName: "getBatch", args: [batch] }),
    Promise.all(
      Array.from({ length: leaders }, (_, k) =>
        client.readContract({ address: sm, abi: serviceManagerAbi, functionName: "leaderOf", args: [batch, BigInt(k)] }),
      ),
    ),
  ]);
  const seedMessageHash = seedMessageDigest({
    chainId,
    serviceManager: sm,
    batch,
    previousSeed: b.previousSeed,
    referenceBlockHash: b.referenceBlockHash,
  });
  return {
    batch,
    referenceBlock: BigInt(b.referenceBlock),
    closedAt: BigInt(b.closedAt),
    previousSeed: b.previousSeed,
    seedMessageHash,
    leaderOrder: leaderOrder.map((id) => id.toLowerCase() as Hex),
  };
}
