import type { Logger } from "../../log/logger.js";
import type { Metrics } from "../../metrics/metrics.js";
import type { BatchView, LateEvidenceView, OperatorSetView, RegisteredOperator, SignatureVerifier, SignedResult } from "../interfaces.js";
import { SeenCache } from "../seenCache.js";
import type { Hex } from "viem";

export interface GossipValidationOpts {
  /**
   * How long a message for the batch right after the latest known one is held for the close event to arrive.
   * gossipsub penalizes slow validators' peers in delivery scoring after ~100 ms of IWANT follow-up, which we do
   * not use (delivery weights are 0, see scoring.ts), so a second is safe and covers one slow RPC poll.
   */
  unknownBatchWaitMs: number;
  /** A batch more than this far beyond the latest known one cannot be real yet: chain views differ by ≤ 1 close. */
  maxFutureBatches: bigint;
  /** Batches of seen-message memory kept (older batches are final or abandoned long before). */
  seenCacheBatches: number;
}

export const defaultGossipValidationOpts: GossipValidationOpts = {
  unknownBatchWaitMs: 1_000,
  maxFutureBatches: 1n,
  seenCacheBatches: 64,
};

export interface GossipValidationModules<PK> {
  batches: BatchView;
  operators: OperatorSetView<PK>;
  verifier: SignatureVerifier<PK>;
  logger: Logger;
  metrics: Metrics | null;
  /** First partials of batches no longer in memory, kept for their slashing window (null: none kept). */
  evidence?: LateEvidenceView | null;
}

export interface SeenPartial {
  /** The operator's first valid partial (from gossip, or read back from disk after a restart: the seed proof is not kept). */
  message: SignedResult;
  /** A second, conflicting valid partial of the same operator and batch, kept as equivocation evidence. */
  conflicting?: SignedResult;
}

/** Everything the per-topic validators share: injected views, options and the seen caches. */
export class GossipValidationContext<PK = unknown> {
  readonly seenSeeds: SeenCache<Hex>;
  readonly seenPartials: SeenCache<SeenPartial>;
  readonly seenResultLists: SeenCache<true>;
  /** Seed signature checks in flight, by batch, signer and signature (partials carrying one seed share a check). */
  readonly seedChecks = new Map<string, Promise<RegisteredOperator<PK>>>();

  constructor(
    readonly opts: GossipValidationOpts,
    readonly modules: GossipValidationModules<PK>,
  ) {
    this.seenSeeds = new SeenCache(opts.seenCacheBatches);
    this.seenPartials = new SeenCache(opts.seenCacheBatches);
    this.seenResultLists = new SeenCache(opts.seenCacheBatches);
  }

  async verifyTimed(kind: string, pk: PK, digest: Hex, signature: Parameters<SignatureVerifier<PK>["verify"]>[2]): Promise<boolean> {
    const stop = this.modules.metrics?.blsVerifySeconds.startTimer({ kind });
    try {
      return await this.modules.verifier.verify(pk, digest, signature);
    } finally {
      stop?.();
    }
  }

  async operatorAt(operatorId: Hex, referenceBlock: bigint): Promise<RegisteredOperator<PK> | undefined> {
    return this.modules.operators.operatorAt(operatorId, referenceBlock);
  }
}
