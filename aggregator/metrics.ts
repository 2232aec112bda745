/**
 * prom-client implementation of AggregatorMetrics, on a registry the process owns (the node's metrics module passes
 * its own). Names use matchnet's `matchnet_` prefix: EigenLayer's node spec defines no aggregator metrics.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { AggregatorMetrics } from "./types.js";

// Batch verification of up to a few hundred partials takes milliseconds; bisection after a failure up to ~100 ms.
const VERIFY_SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
// Partials per verification call: one per operator per flush, up to verifyBatchSize (256 by default).
const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
// Blocks from close to quorum: the target is final within 2 blocks of the close.
const QUORUM_BLOCKS_BUCKETS = [0, 1, 2, 3, 5, 8, 13, 21];

export function createAggregatorMetrics(register: Registry): AggregatorMetrics {
  return {
    partials: new Counter({
      name: "matchnet_aggregator_partials_total",
      help: "Partial signatures by outcome (queued, held, ignored, verified, invalid) and error code",
      labelNames: ["outcome", "code"] as const,
      registers: [register],
    }),
    verifySeconds: new Histogram({
      name: "matchnet_aggregator_verify_seconds",
      help: "Time of one batch verification of queued partials (including bisection after a failure)",
      buckets: VERIFY_SECONDS_BUCKETS,
      registers: [register],
    }),
    verifyBatchSize: new Histogram({
      name: "matchnet_aggregator_verify_batch_size",
      help: "Partials per batch verification",
      buckets: BATCH_SIZE_BUCKETS,
      registers: [register],
    }),
    equivocations: new Counter({
      name: "matchnet_aggregator_equivocations_total",
      help: "Operators seen signing two different results of one batch (evidence recorded)",
      registers: [register],
    }),
    heldPartials: new Gauge({
      name: "matchnet_aggregator_held_partials",
      help: "Partials held until their batch's close is seen",
      registers: [register],
    }),
    submissions: new Counter({
      name: "matchnet_aggregator_submissions_total",
      help: "Submission attempts by outcome (submitted, already_final, failed, check_failed, no_assignment_list)",
      labelNames: ["outcome"] as const,
      registers: [register],
    }),
    quorumBlocks: new Histogram({
      name: "matchnet_aggregator_quorum_blocks",
      help: "Blocks from a batch's close to one of its results reaching quorum",
      buckets: QUORUM_BLOCKS_BUCKETS,
      registers: [register],
    }),
  };
}

/** The enforcement duty's sends (aggregator/enforcer.ts): action ∈ slash_invalid|eject, outcome ∈ sent|already_done|deferred|refused|failed. */
export function createEnforcementMetrics(register: Registry): { inc(labels: { action: string; outcome: string }): void } {
  return new Counter({
    name: "matchnet_aggregator_enforcement_total",
    help: "Enforcement transactions (slashInvalidResultSigner, ejectInactive) by action and outcome",
    labelNames: ["action", "outcome"] as const,
    registers: [register],
  });
}
