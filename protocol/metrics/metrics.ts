/**
 * The node's Prometheus metric set, built on its own prom-client registry (never the global one, so several
 * nodes in one process, as in tests, do not collide). Components take `metrics: Metrics | null` and skip
 * recording when null.
 *
 * Names follow EigenLayer's AVS node metrics specification where it defines one (`eigen_performance_score`,
 * `eigen_registered_stakes` with `quorum_number`/`quorum_name` and a constant `avs_name` label); everything else is
 * ours and prefixed `matchnet_`, as that specification asks.
 */
import { Registry, collectDefaultMetrics } from "prom-client";
import { metricsOn } from "./define.js";

export interface MetricsOpts {
  /** Value of the constant `avs_name` label (EigenLayer spec). */
  avsName?: string;
  /** Also collect process metrics (CPU, RSS, event-loop lag); off in tests to keep the output small. */
  collectDefault?: boolean;
}

export type GossipVerdictLabel = "accept" | "ignore" | "reject";

export function createMetrics(opts: MetricsOpts = {}) {
  const register = new Registry();
  register.setDefaultLabels({ avs_name: opts.avsName ?? "matchnet" });
  if (opts.collectDefault) collectDefaultMetrics({ register });
  const m = metricsOn(register);

  return {
    register,
    /** 0‥100; ours is the share of the last batches this operator signed in time (defined by the node). */
    performanceScore: m.gauge("eigen_performance_score", "Node performance score between 0 and 100 (matchnet: share of recent batches signed)"),
    registeredStakes: m.gauge("eigen_registered_stakes", "Operator stake in <quorum> of <avs_name>'s registry contract", ["quorum_number", "quorum_name"]),
    batchesSeen: m.counter("matchnet_batches_seen_total", "Batches whose close this node observed"),
    batchesSigned: m.counter("matchnet_batches_signed_total", "Batches whose result this node signed (re-signs after restart excluded)"),
    slashingProtectionRefusals: m.counter("matchnet_slashing_protection_refusals_total", "Signatures refused by slashing protection, by duty", ["duty"]),
    gossipValidation: m.counter("matchnet_gossip_validation_total", "Gossip messages validated, by topic name, verdict and error code (code is 'ok' when accepted)", ["topic", "verdict", "code"]),
    gossipProcessErrors: m.counter("matchnet_gossip_process_errors_total", "Accepted gossip messages whose processing failed (logged; never turned into a reject)", ["topic"]),
    // One signature is ≈ 3.5 ms with mcl and ≈ 21 ms with noble, 100 in a batch ≈ 18 ms (bench/results.json `bls.*`):
    // the buckets span both engines and batches.
    blsVerifySeconds: m.histogram("matchnet_bls_verify_seconds", "Time to verify one BLS signature (or one batch), by kind", [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1], ["kind"]),
    p2pRefusals: m.counter("matchnet_p2p_refusals_total", "What the node refused a peer, a connection or a batch-sync answer, by reason (protocol/p2p/peerGuard.ts)", ["reason"]),
    peers: m.gauge("matchnet_peers", "Connected libp2p peers"),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
