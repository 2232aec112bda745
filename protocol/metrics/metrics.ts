/**
 * The node's Prometheus metric set, built on its own prom-client registry (never the global one, so several
 * nodes in one process, as in tests, do not collide). Components take `metrics: Metrics | null` and skip
 * recording when null.
 *
 * Names follow EigenLayer's AVS node metrics specification where it defines one (`eigen_performance_score`,
 * `eigen_registered_stakes` with `quorum_number`/`quorum_name` and a constant `avs_name` label); everything else is
 * ours and prefixed `matchnet_`, as that specification asks.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

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
  const registers = [register];

  return {
    register,
    /** 0‥100; ours is the share of the last batches this operator signed in time (defined by the node). */
    performanceScore: new Gauge({
      name: "eigen_performance_score",
      help: "Node performance score between 0 and 100 (matchnet: share of recent batches signed)",
      registers,
    }),
    registeredStakes: new Gauge({
      name: "eigen_registered_stakes",
      help: "Operator stake in <quorum> of <avs_name>'s registry contract",
      labelNames: ["quorum_number", "quorum_name"] as const,
      registers,
    }),
    batchesSeen: new Counter({
      name: "matchnet_batches_seen_total",
      help: "Batches whose close this node observed",
      registers,
    }),
    batchesSigned: new Counter({
      name: "matchnet_batches_signed_total",
      help: "Batches whose result this node signed (re-signs after restart excluded)",
      registers,
    }),
    slashingProtectionRefusals: new Counter({
      name: "matchnet_slashing_protection_refusals_total",
      help: "Signatures refused by slashing protection, by duty",
      labelNames: ["duty"] as const,
      registers,
    }),
    gossipValidation: new Counter({
      name: "matchnet_gossip_validation_total",
      help: "Gossip messages validated, by topic name, verdict and error code (code is 'ok' when accepted)",
      labelNames: ["topic", "verdict", "code"] as const,
      registers,
    }),
    gossipProcessErrors: new Counter({
      name: "matchnet_gossip_process_errors_total",
      help: "Accepted gossip messages whose processing failed (logged; never turned into a reject)",
      labelNames: ["topic"] as const,
      registers,
    }),
    blsVerifySeconds: new Histogram({
      name: "matchnet_bls_verify_seconds",
      help: "Time to verify one BLS signature (or one batch), by kind",
      labelNames: ["kind"] as const,
      // A noble pairing is ≈ 11 ms and an mcl one ≈ 2.3 ms on 2 vCPU (TOOLCHAIN.md); buckets span both and batches.
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }),
    p2pRefusals: new Counter({
      name: "matchnet_p2p_refusals_total",
      help: "What the node refused a peer, a connection or a batch-sync answer, by reason (protocol/p2p/peerGuard.ts)",
      labelNames: ["reason"] as const,
      registers,
    }),
    peers: new Gauge({
      name: "matchnet_peers",
      help: "Connected libp2p peers",
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
