/**
 * The registry's operator set at a reference block, as both processes use it: read once per R_b
 * (OperatorRegistry.operatorsAt and apkAt, pinned to that block), then served from one cache that keeps the newest
 * `retain` reference blocks. Readers that cannot wait (the aggregator's pool) call `atBlock`, which answers only
 * what is loaded; everyone else calls `load`.
 */
import type { Address, PublicClient } from "viem";
import type { G1Point, G2Point } from "../bls/index.js";
import { operatorRegistryAbi } from "./abi.js";
import { toOperatorId, type OperatorId } from "./ids.js";
import { readOperatorSet } from "./reads.js";

export interface OperatorAtBlock {
  operatorId: OperatorId;
  pkG1: G1Point;
  pkG2: G2Point;
  /** Weight at the reference block (members only: > 0). */
  stake: bigint;
  /** The libp2p multiaddr the operator registered ("" or absent when none). */
  socket?: string;
}

export interface OperatorSetAtBlock {
  referenceBlock: bigint;
  /** Members (stake > 0), sorted by operator id ascending: the order non-signers are submitted in. */
  operators: readonly OperatorAtBlock[];
  totalStake: bigint;
  /** apk(R_b) as the registry stores it; when present it is checked against the sum of the members' keys. */
  apkG1?: G1Point;
}

/** The member `operatorId` of a set, or undefined. */
export function memberOf(set: OperatorSetAtBlock, operatorId: OperatorId): OperatorAtBlock | undefined {
  return set.operators.find((o) => o.operatorId === operatorId);
}

export class OperatorSets {
  readonly #sets = new Map<bigint, OperatorSetAtBlock>();
  readonly #loading = new Map<bigint, Promise<OperatorSetAtBlock>>();

  constructor(
    /** `withApk`: also read apk(R_b) (the aggregator checks its submissions against it; operators need not). */
    private readonly opts: { registry: Address; retain: number; withApk: boolean },
    private readonly modules: { client: PublicClient },
  ) {}

  /** The set at `referenceBlock` if it is loaded, else null. */
  atBlock(referenceBlock: bigint): OperatorSetAtBlock | null {
    return this.#sets.get(referenceBlock) ?? null;
  }

  /** The set at `referenceBlock`, read once; a failed read is not kept, so the next caller reads again. */
  load(referenceBlock: bigint): Promise<OperatorSetAtBlock> {
    const have = this.#sets.get(referenceBlock);
    if (have !== undefined) return Promise.resolve(have);
    let p = this.#loading.get(referenceBlock);
    if (p === undefined) {
      p = this.#read(referenceBlock).finally(() => this.#loading.delete(referenceBlock));
      this.#loading.set(referenceBlock, p);
    }
    return p;
  }

  /** The member `operatorId` at `referenceBlock` (its key and stake), or undefined when it is not in the set. */
  async operatorAt(operatorId: OperatorId, referenceBlock: bigint): Promise<OperatorAtBlock | undefined> {
    return memberOf(await this.load(referenceBlock), operatorId);
  }

  async #read(referenceBlock: bigint): Promise<OperatorSetAtBlock> {
    const { client } = this.modules;
    const registry = this.opts.registry;
    const [set, apk] = await Promise.all([
      readOperatorSet(client, registry, referenceBlock),
      this.opts.withApk
        ? client.readContract({ address: registry, abi: operatorRegistryAbi, functionName: "apkAt", args: [Number(referenceBlock)], blockNumber: referenceBlock })
        : null,
    ]);
    const out: OperatorSetAtBlock = {
      referenceBlock,
      operators: set.operators.map((o) => ({ operatorId: toOperatorId(o.operatorId), pkG1: o.pkG1, pkG2: o.pkG2, stake: o.stake, socket: o.socket })),
      totalStake: set.totalStake,
      ...(apk !== null && set.operators.length > 0 ? { apkG1: { X: apk.X, Y: apk.Y } } : {}),
    };
    this.#sets.set(referenceBlock, out);
    if (this.#sets.size > this.opts.retain) {
      const oldest = [...this.#sets.keys()].reduce((a, b) => (a < b ? a : b));
      this.#sets.delete(oldest);
    }
    return out;
  }
}
