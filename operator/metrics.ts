/**
 * The operator's own metrics, on the same registry as protocol/metrics (one scrape shows both). Names are
 * `matchnet_`-prefixed; EigenLayer's spec has no names for these.
 */
import type { Metrics } from "../protocol/metrics/metrics.js";
import { metricsOn } from "../protocol/metrics/define.js";

export function createOperatorMetrics(base: Metrics) {
  const m = metricsOn(base.register);
  return {
    headBlock: m.gauge("matchnet_head_block", "Last block whose events the chain follower dispatched"),
    // Reads are a handful of eth_calls (ms on a LAN) and the matcher takes ms to ~1 s for thousands of orders.
    decideSeconds: m.histogram("matchnet_decide_seconds", "From having a verified seed to a stored signature: input reads at R_b, matcher, slashing protection, signing", [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]),
    dutyErrors: m.counter("matchnet_duty_errors_total", "Batch duties that failed, by duty (seed, result, publish)", ["duty"]),
    equivocationProofs: m.counter("matchnet_equivocation_proofs_total", "Equivocations seen in gossip, by outcome (submitted, already_slashed, no_account, out_of_window, failed)", ["outcome"]),
    // Up to the group bound of 32; 1 is a lone check.
    blsGroupSize: m.histogram("matchnet_bls_group_size", "Signatures checked together in one group by gossip validation (protocol/bls/bufferedVerifier.ts)", [1, 2, 4, 8, 16, 32]),
    blsGroupsFailed: m.counter("matchnet_bls_groups_failed_total", "Signature groups whose batch check failed and were searched for the invalid signatures"),
    resultAgreement: m.counter("matchnet_finalized_batches_total", "Batches finalized on-chain, by whether this node signed the finalized result (signed, other, none)", ["signed"]),
  };
}

export type OperatorMetrics = ReturnType<typeof createOperatorMetrics>;
