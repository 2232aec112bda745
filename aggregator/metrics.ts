/**
 * prom-client implementation of AggregatorMetrics, on a registry the process owns (the node's metrics module passes
 * its own). Names use matchnet's `matchnet_` prefix: EigenLayer's node spec defines no aggregator metrics.
 */
import type { Registry } from "prom-client";
import { metricsOn } from "../protocol/metrics/define.js";
import type { AggregatorMetrics } from "./types.js";

// Batch verification of up to a few hundred partials takes milliseconds; bisection after a failure up to ~100 ms.
const VERIFY_SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
// Partials per verification call: one per operator per flush, up to verifyBatchSize (256 by default).
const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
// Blocks from close to quorum: the target is final within 2 blocks of the close.
const QUORUM_BLOCKS_BUCKETS = [0, 1, 2, 3, 5, 8, 13, 21];

export function createAggregatorMetrics(register: Registry): AggregatorMetrics {
  const m = metricsOn(register);
  return {
    partials: m.counter("matchnet_aggregator_partials_total", "Partial signatures by outcome (queued, held, ignored, verified, invalid) and error code", ["outcome", "code"]),
    verifySeconds: m.histogram("matchnet_aggregator_verify_seconds", "Time of one batch verification of queued partials (including bisection after a failure)", VERIFY_SECONDS_BUCKETS),
    verifyBatchSize: m.histogram("matchnet_aggregator_verify_batch_size", "Partials per batch verification", BATCH_SIZE_BUCKETS),
    equivocations: m.counter("matchnet_aggregator_equivocations_total", "Operators seen signing two different results of one batch (evidence recorded)"),
    heldPartials: m.gauge("matchnet_aggregator_held_partials", "Partials held until their batch's close is seen"),
    submissions: m.counter("matchnet_aggregator_submissions_total", "Submission attempts by outcome (submitted, already_final, failed, check_failed, no_assignment_list)", ["outcome"]),
    quorumBlocks: m.histogram("matchnet_aggregator_quorum_blocks", "Blocks from a batch's close to one of its results reaching quorum", QUORUM_BLOCKS_BUCKETS),
  };
}

/** The enforcement duty's sends (aggregator/enforcer.ts): action ∈ slash_invalid|eject, outcome ∈ sent|already_done|deferred|refused|failed. */
export function createEnforcementMetrics(register: Registry): { inc(labels: { action: string; outcome: string }): void } {
  return metricsOn(register).counter("matchnet_aggregator_enforcement_total", "Enforcement transactions (slashInvalidResultSigner, ejectInactive) by action and outcome", ["action", "outcome"]);
}
