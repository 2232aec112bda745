/**
 * The operator's own metrics, on the same registry as protocol/metrics (one scrape shows both). Names are
 * `matchnet_`-prefixed; EigenLayer's spec has no names for these.
 */
import { Counter, Gauge, Histogram } from "prom-client";
import type { Metrics } from "../protocol/metrics/metrics.js";

export function createOperatorMetrics(base: Metrics) {
  const registers = [base.register];
  return {
    headBlock: new Gauge({ name: "matchnet_head_block", help: "Last block whose events the chain follower dispatched", registers }),
    decideSeconds: new Histogram({
      name: "matchnet_decide_seconds",
      help: "From having a verified seed to a stored signature: input reads at R_b, matcher, slashing protection, signing",
      // Reads are a handful of eth_calls (ms on a LAN) and the matcher takes ms to ~1 s for thousands of orders.
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    dutyErrors: new Counter({
      name: "matchnet_duty_errors_total",
      help: "Batch duties that failed, by duty (seed, result, publish)",
      labelNames: ["duty"] as const,
      registers,
    }),
    equivocationProofs: new Counter({
      name: "matchnet_equivocation_proofs_total",
      help: "Equivocations seen in gossip, by outcome (submitted, already_slashed, no_account, out_of_window, failed)",
      labelNames: ["outcome"] as const,
      registers,
    }),
    blsGroupSize: new Histogram({
      name: "matchnet_bls_group_size",
      help: "Signatures checked together in one group by gossip validation (protocol/bls/bufferedVerifier.ts)",
      // Up to the group bound of 32; 1 is a lone check.
      buckets: [1, 2, 4, 8, 16, 32],
      registers,
    }),
    blsGroupsFailed: new Counter({
      name: "matchnet_bls_groups_failed_total",
      help: "Signature groups whose batch check failed and were searched for the invalid signatures",
      registers,
    }),
    resultAgreement: new Counter({
      name: "matchnet_finalized_batches_total",
      help: "Batches finalized on-chain, by whether this node signed the finalized result (signed, other, none)",
      labelNames: ["signed"] as const,
      registers,
    }),
  };
}

export type OperatorMetrics = ReturnType<typeof createOperatorMetrics>;
