/**
 * What every duty of the operator node shares: its identity, the stores, the per-batch states, the gossip network
 * once started, and the one way a duty runs work off the caller's path (`track`) or publishes (`publish`).
 * operator/node.ts builds one and hands it to each duty.
 */
import type { G2Point, BlsVerifier, SecretKey } from "../../protocol/bls/index.js";
import type { OperatorId } from "../../protocol/chain/ids.js";
import type { OperatorSets } from "../../protocol/chain/operatorSets.js";
import type { SystemAddresses } from "../../protocol/chain/reads.js";
import type { Logger } from "../../protocol/log/logger.js";
import type { Metrics } from "../../protocol/metrics/metrics.js";
import type { BatchTable } from "../../protocol/p2p/batchTable.js";
import type { MatchnetNetwork } from "../../protocol/p2p/network.js";
import type { PublicClient } from "viem";
import type { BatchStates } from "../batchState.js";
import type { DecisionRepository } from "../decisions.js";
import type { OperatorMetrics } from "../metrics.js";
import type { SlashingProtection } from "../slashing-protection/slashingProtection.js";

export interface DutyContext {
  chainId: bigint;
  addresses: SystemAddresses;
  operatorId: OperatorId;
  client: PublicClient;
  secretKey: SecretKey;
  verifier: BlsVerifier;
  table: BatchTable;
  operatorSets: OperatorSets;
  sp: SlashingProtection;
  decisions: DecisionRepository;
  batches: BatchStates;
  log: Logger;
  metrics: Metrics;
  opMetrics: OperatorMetrics;
  runner: DutyRunner;
  /** The gossip network (null before start and in tests of the duties alone). */
  network(): MatchnetNetwork<G2Point> | null;
  /** The chain head when the node started: batches closed by then went round (partly) before this node listened. */
  startHead(): bigint;
  /** The follower's head (null before it started). */
  head(): bigint | null;
}

/** Runs duties off the caller's path and keeps them until they settle, so that `stop` can wait for them. */
export class DutyRunner {
  private readonly pending = new Set<Promise<unknown>>();
  private stoppingNow = false;

  constructor(
    private readonly log: Logger,
    private readonly opMetrics: OperatorMetrics,
  ) {}

  get stopping(): boolean {
    return this.stoppingNow;
  }

  /** From now on failures are expected (the network is going away) and not logged. */
  stop(): void {
    this.stoppingNow = true;
  }

  async settled(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  track(p: Promise<unknown>, duty: string): void {
    const guarded = p.catch((err: unknown) => {
      if (this.stoppingNow) return;
      this.log.error({ event: "duty_failed", duty, err: (err as Error).message }, "duty failed");
    });
    this.pending.add(guarded);
    void guarded.finally(() => this.pending.delete(guarded));
  }

  /**
   * Publishes off the duty's path; a failure (no subscriber in time) is logged and counted, and the duty stands.
   * Zero recipients is not an error (bytes the peers have seen already: a list identical to another operator's, a
   * restarted node re-publishing) and is logged at debug.
   */
  publish(what: string, batch: bigint, fn: () => Promise<number>): void {
    this.track(
      fn().then(
        (recipients) => {
          if (recipients > 0) this.log.debug({ event: "gossip_published", topic: what, batch, recipients }, "gossip published");
          else this.log.debug({ event: "gossip_published", topic: what, batch, recipients: 0 }, "gossip published to no peer (seen before, or no peer ready)");
        },
        (err: unknown) => {
          if (this.stoppingNow) return;
          this.opMetrics.dutyErrors.inc({ duty: "publish" });
          this.log.warn({ event: "gossip_publish_failed", topic: what, batch, err: (err as Error).message }, "gossip publish failed");
        },
      ),
      "publish",
    );
  }
}
