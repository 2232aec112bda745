/**
 * The operator node: the duties in operator/duties/ and the pieces of protocol/ they use, wired into one process
 * (docs/operator.md). Data takes one path: chain follower → batch table and per-batch states (operator/batchState.ts)
 * → duties (operator/scheduler.ts says when: seed, result, batch sync) → slashing protection → BLS signature →
 * gossip; gossip from others is validated by protocol/p2p and processed by operator/duties/gossip.ts.
 * A restarted node finds its stored decision for a still-open batch and gossips the same signature again.
 */
import type { PrivateKey } from "@libp2p/interface";
import type { PublicClient, WalletClient } from "viem";
import { ChainFollower } from "../protocol/chain/follower.js";
import { readBatchTiming, type BatchTiming, type VerifiedSeed } from "../protocol/chain/batches.js";
import { toOperatorId, type OperatorId } from "../protocol/chain/ids.js";
import { OperatorSets } from "../protocol/chain/operatorSets.js";
import { readOperatorSet, type SystemAddresses } from "../protocol/chain/reads.js";
import { resultMessageDigest } from "../protocol/avs/messages.js";
import { operatorId as operatorIdOf, type BlsVerifier, type G2Point, type SecretKey } from "../protocol/bls/index.js";
import type { Hex } from "viem";
import type { KvController } from "../protocol/db/controller.js";
import type { Logger } from "../protocol/log/logger.js";
import type { Metrics } from "../protocol/metrics/metrics.js";
import { startMetricsServer, type MetricsServer } from "../protocol/metrics/server.js";
import { startedOrStopped } from "../protocol/lifecycle.js";
import { BatchTable } from "../protocol/p2p/batchTable.js";
import type { PartialSignatureMessage } from "../protocol/p2p/messages.js";
import { MatchnetNetwork, defaultNetworkOpts, gossipProfileFor, type NetworkOpts } from "../protocol/p2p/network.js";
import { serviceManagerAbi } from "../protocol/chain/abi.js";
import { BanRepository } from "../protocol/p2p/banStore.js";
import { PartialEvidenceStore } from "../protocol/p2p/partialEvidence.js";
import { defaultGossipValidationOpts } from "../protocol/p2p/validation/context.js";
import { BufferedBlsVerifier, defaultBufferedVerifierOpts, type BufferedVerifierOpts } from "../protocol/bls/bufferedVerifier.js";
import { SlashingProtection, type SignOutcome } from "./slashing-protection/slashingProtection.js";
import { startNodeApi, type NodeApi } from "./api.js";
import { BatchStates, type AcceptedPartial, type SignedDecision } from "./batchState.js";
import { DecisionRepository } from "./decisions.js";
import { BatchSyncDuty } from "./duties/batchSync.js";
import { DutyRunner, type DutyContext } from "./duties/context.js";
import { GossipProcessor } from "./duties/gossip.js";
import { Registration } from "./duties/registration.js";
import { ResultDuty, type AfterSignHook } from "./duties/result.js";
import { RetentionDuty } from "./duties/retention.js";
import { SeedDuty } from "./duties/seed.js";
import { EquivocationReporter } from "./equivocation.js";
import { createOperatorMetrics } from "./metrics.js";
import { DutyScheduler } from "./scheduler.js";
import { StatusView, type BatchReport, type NodeStatus } from "./statusView.js";

export type { AcceptedPartial, SignedDecision } from "./batchState.js";
export type { BatchReport } from "./statusView.js";

export interface OperatorNodeOpts {
  chainId: bigint;
  addresses: SystemAddresses;
  listen: string[];
  bootstrap: string[];
  /** How often the chain head is polled. */
  pollIntervalMs: number;
  /** Node API; null to run without one (tests of the duties alone). */
  api: { host: string; port: number } | null;
  metrics: { host: string; port: number } | null;
  /** Overrides of the network defaults (tests shorten the publish timeout). */
  network?: Partial<Pick<NetworkOpts, "publishTimeoutMs" | "redialIntervalMs" | "allow">>;
  nodeVersion: string;
  /**
   * Health: how many blocks the follower may be behind the chain head and still answer 200 (config
   * `health.maxBlocksBehind`, default DEFAULT_HEALTH_MAX_BLOCKS_BEHIND in protocol/config/schema.ts); beyond it the node answers 206 (syncing).
   */
  healthMaxBlocksBehind?: number;
  /** How gossip validation groups signature checks (protocol/bls/bufferedVerifier.ts); its defaults when absent. */
  signatureGroups?: BufferedVerifierOpts;
}

export interface OperatorNodeModules {
  client: PublicClient;
  /** The operator's Ethereum account (account keystore); null when none is configured: no proofs are sent. */
  wallet: WalletClient | null;
  secretKey: SecretKey;
  db: KvController;
  peerKey: PrivateKey;
  verifier: BlsVerifier;
  logger: Logger;
  metrics: Metrics;
  /** Test hooks, never set by operator/main.ts (test/support/crashing-operator.ts sets `afterSign`). */
  hooks?: { afterSign?: AfterSignHook };
}

/** How many recent batches `eigen_performance_score` looks at. */
const PERFORMANCE_WINDOW = 20;
/**
 * Batches whose state is kept in memory (API answers and gossip bookkeeping) and whose records are kept on disk
 * (decisions, slashing protection below its watermark); older ones are pruned.
 */
const RETAIN_BATCHES = 64;

export class OperatorNode {
  readonly operatorId: OperatorId;
  private readonly table: BatchTable;
  private readonly operatorSets: OperatorSets;
  private readonly batches = new BatchStates(RETAIN_BATCHES);
  private readonly runner: DutyRunner;
  private readonly ctx: DutyContext;
  private readonly registration: Registration;
  private readonly result: ResultDuty;
  private readonly scheduler: DutyScheduler;
  private readonly gossipProcessor: GossipProcessor;
  private readonly evidence: PartialEvidenceStore;
  private readonly view: StatusView;
  /** Gossip validation's signature checks, grouped into batch checks. */
  private readonly gossipVerifier: BufferedBlsVerifier;
  private network: MatchnetNetwork<G2Point> | null = null;
  private follower: ChainFollower | null = null;
  private api: NodeApi | null = null;
  private metricsServer: MetricsServer | null = null;
  private stopping = false;
  /** The head when the node started: batches closed by then went round (partly) before this node listened. */
  private startHead = -1n;
  private readonly log: Logger;

  private constructor(
    readonly opts: OperatorNodeOpts,
    private readonly modules: OperatorNodeModules,
    timing: BatchTiming,
    slashingWindow: bigint,
  ) {
    this.log = modules.logger;
    this.operatorId = toOperatorId(operatorIdOf(modules.secretKey.publicKeyG1()));
    const opMetrics = createOperatorMetrics(modules.metrics);
    this.gossipVerifier = new BufferedBlsVerifier(opts.signatureGroups ?? defaultBufferedVerifierOpts, {
      verifier: modules.verifier,
      onGroup: (size, passed) => {
        opMetrics.blsGroupSize.observe(size);
        if (!passed) opMetrics.blsGroupsFailed.inc();
      },
    });
    this.operatorSets = new OperatorSets({ registry: opts.addresses.operatorRegistry, retain: RETAIN_BATCHES, withApk: false }, { client: modules.client });
    this.table = new BatchTable(
      { seedTimeoutBlocks: timing.seedTimeout, retainBatches: RETAIN_BATCHES },
      {
        resultMessageHash: (batch, referenceBlock, seed, resultHash) =>
          resultMessageDigest({ chainId: opts.chainId, serviceManager: opts.addresses.serviceManager, batch, referenceBlock, seed, assignmentsHash: resultHash }),
      },
    );
    this.runner = new DutyRunner(modules.logger, opMetrics);
    this.ctx = {
      chainId: opts.chainId,
      addresses: opts.addresses,
      operatorId: this.operatorId,
      client: modules.client,
      secretKey: modules.secretKey,
      verifier: modules.verifier,
      table: this.table,
      operatorSets: this.operatorSets,
      sp: new SlashingProtection({}, { db: modules.db, logger: modules.logger, metrics: modules.metrics }),
      decisions: new DecisionRepository(modules.db),
      batches: this.batches,
      log: modules.logger,
      metrics: modules.metrics,
      opMetrics,
      runner: this.runner,
      network: () => this.network,
      startHead: () => this.startHead,
      head: () => this.follower?.head ?? null,
    };
    this.evidence = new PartialEvidenceStore({ chainId: opts.chainId, serviceManager: opts.addresses.serviceManager, slashingWindow }, modules.db);
    const equivocation = new EquivocationReporter(
      { serviceManager: opts.addresses.serviceManager, slashingWindow },
      { client: modules.client, wallet: modules.wallet, logger: modules.logger, metrics: opMetrics },
    );
    this.registration = new Registration(this.ctx);
    this.result = new ResultDuty(this.ctx, { afterSign: modules.hooks?.afterSign, signed: () => this.updatePerformance() });
    const decide = (batch: bigint) => this.result.maybeDecide(batch);
    const seed = new SeedDuty(this.ctx, decide);
    this.gossipProcessor = new GossipProcessor(this.ctx, equivocation, this.evidence, decide);
    this.scheduler = new DutyScheduler(
      this.ctx,
      timing,
      { seed, result: this.result, sync: new BatchSyncDuty(this.ctx), registration: this.registration, retention: new RetentionDuty(this.ctx, BigInt(RETAIN_BATCHES)), equivocation, evidence: this.evidence },
      () => this.updatePerformance(),
    );
    this.view = new StatusView({
      chainId: opts.chainId,
      operatorId: this.operatorId,
      client: modules.client,
      batches: this.batches,
      table: this.table,
      healthMaxBlocksBehind: opts.healthMaxBlocksBehind,
      registration: () => this.registration.current,
      head: () => this.follower?.head ?? -1n,
      lastSignedBatch: () => this.result.lastSignedBatch,
      peerCount: () => this.peerCount(),
      peerId: () => this.peerId,
      multiaddrs: () => this.multiaddrs(),
    });
  }

  /**
   * Starts everything in order — registration check, p2p (bootstrap plus the on-chain sockets), servers, chain
   * follower — and logs the `ready` line. Throws if any step fails (after stopping what was started).
   */
  static async start(opts: OperatorNodeOpts, modules: OperatorNodeModules): Promise<OperatorNode> {
    const timing = await readBatchTiming(modules.client, opts.addresses.serviceManager);
    const slashingWindow = await modules.client.readContract({ address: opts.addresses.serviceManager, abi: serviceManagerAbi, functionName: "slashingWindow" });
    return startedOrStopped(new OperatorNode(opts, modules, timing, slashingWindow), (node) => node.startParts());
  }

  private async startParts(): Promise<void> {
    const { client, logger, metrics } = this.modules;
    const head = await client.getBlockNumber();
    this.startHead = head;
    await this.registration.refresh();
    if (!this.registration.current.registered) {
      logger.warn(
        { event: "not_registered", operatorId: this.operatorId },
        "this BLS key is not a registered operator with stake: running as a non-signing follower (health 206) until it is",
      );
    }
    await this.registration.checkAccount(this.modules.wallet);

    const set = await readOperatorSet(client, this.opts.addresses.operatorRegistry, head);
    this.network = await MatchnetNetwork.start<G2Point>(
      {
        ...defaultNetworkOpts,
        ...gossipProfileFor(set.operators.length),
        ...(this.opts.network ?? {}),
        // The leader gossips its seed the moment it sees the close; this node registers the batch only after its
        // next poll and a few view reads (seconds on a loaded RPC). A seed ignored as BatchUnknown is never sent
        // again (gossipsub remembers its id), so hold early messages for up to 20 s: the e2e runs on 2 cores showed
        // lags past 5 s, and a held seed is checked in full (leader's BLS signature) once the close is seen.
        validation: { ...defaultGossipValidationOpts, unknownBatchWaitMs: 20_000 },
        chainId: this.opts.chainId,
        listen: this.opts.listen,
        bootstrap: this.opts.bootstrap,
        chainPeers: set.operators.map((o) => o.socket),
        privateKey: this.modules.peerKey,
      },
      {
        batches: this.table,
        operators: { operatorAt: (id, referenceBlock) => this.operatorSets.operatorAt(toOperatorId(id), referenceBlock) },
        verifier: this.gossipVerifier,
        logger: logger.child({ module: "p2p" }),
        metrics,
        bans: new BanRepository(this.modules.db),
        evidence: this.evidence,
        processors: {
          seed: (v) => this.gossipProcessor.onSeed(v),
          partial: (v) => this.gossipProcessor.onPartial(v),
        },
      },
    );

    if (this.opts.metrics) this.metricsServer = await startMetricsServer(this.opts.metrics, { register: metrics.register, logger });
    if (this.opts.api) this.api = await startNodeApi(this.opts.api, { node: this, logger });

    this.follower = new ChainFollower(
      { serviceManager: this.opts.addresses.serviceManager, pollIntervalMs: this.opts.pollIntervalMs },
      {
        client,
        logger: logger.child({ module: "follower" }),
        handlers: {
          batchClosed: (info) => this.scheduler.onBatchClosed(info),
          batchFinalized: (info) => this.scheduler.onBatchFinalized(info),
          batchAbandoned: (batch) => this.scheduler.onBatchAbandoned(batch),
          block: (n) => this.scheduler.onBlock(n),
        },
      },
    );
    await this.follower.start();

    logger.info(
      {
        event: "ready",
        peerId: this.network.peerId.toString(),
        addrs: this.network.multiaddrs(),
        operatorId: this.operatorId,
        registered: this.registration.current.registered,
        stake: this.registration.current.stake,
        chainId: this.opts.chainId,
        head: this.follower.head,
        bootstrap: this.network.opts.bootstrap.length,
        api: this.api ? `http://${this.opts.api!.host}:${this.api.port}` : null,
        metrics: this.metricsServer ? `http://${this.opts.metrics!.host}:${this.metricsServer.port}/metrics` : null,
      },
      "ready",
    );
  }

  /** Stops the follower and the network, waits for duties in flight, then stops the servers. The DB is the caller's. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.runner.stop();
    await this.follower?.stop();
    // The network first: a publish waiting for a subscriber (up to publishTimeoutMs) then fails at once instead of
    // holding the stop past a supervisor's grace period. Duties in flight still finish their store writes.
    await this.network?.stop();
    this.gossipVerifier.flush();
    await this.runner.settled();
    await this.api?.close();
    await this.metricsServer?.close();
    this.log.info({ event: "stopped" }, "operator node stopped");
  }

  /**
   * Signs a result message for `batch` through slashing protection only. Exposed so that tests (and an operator's
   * tooling) can prove that a different result for a signed batch is refused (SlashingProtectionError DoubleSign).
   */
  signResultMessage(batch: bigint, referenceBlock: bigint, seed: Hex, resultHash: Hex): Promise<SignOutcome> {
    return this.result.signResultMessage(batch, referenceBlock, seed, resultHash);
  }

  private updatePerformance(): void {
    const score = this.batches.performance(PERFORMANCE_WINDOW);
    if (score !== null) this.modules.metrics.performanceScore.set(score);
  }

  // ------------------------------------------------------------------ read side (node API, tests)

  /** The node API's bound port (null without an API). */
  get apiPort(): number | null {
    return this.api?.port ?? null;
  }

  /** The gossip network (tests publish through it). */
  get gossip(): MatchnetNetwork<G2Point> | null {
    return this.network;
  }

  get peerId(): string {
    return this.network?.peerId.toString() ?? this.modules.peerKey.publicKey.toString();
  }

  multiaddrs(): string[] {
    return this.network?.multiaddrs() ?? [];
  }

  peerCount(): number {
    return this.network?.peerCount() ?? 0;
  }

  peers(): { peerId: string; addrs: string[]; score: number }[] {
    const net = this.network;
    if (!net) return [];
    // One entry per peer: two nodes that dialled each other at once hold two connections.
    return net.libp2p.getPeers().map((peer) => ({
      peerId: peer.toString(),
      addrs: net.libp2p.getConnections(peer).map((c) => c.remoteAddr.toString()),
      score: net.peerScore(peer),
    }));
  }

  /** The signed decision for a batch, if this node made one. */
  decision(batch: bigint): SignedDecision | undefined {
    return this.view.decision(batch);
  }

  /** Verified seeds of a batch by fallback rank. */
  verifiedSeeds(batch: bigint): Map<number, VerifiedSeed> {
    return this.view.verifiedSeeds(batch);
  }

  /** Operator ids whose partial for `batch` this node accepted from gossip. */
  partialsSeen(batch: bigint): Map<string, AcceptedPartial> {
    return this.view.partialsSeen(batch);
  }

  batchReport(batch: bigint): BatchReport | undefined {
    return this.view.batchReport(batch);
  }

  status(): NodeStatus {
    return this.view.status();
  }

  /** EigenLayer node API health (operator/statusView.ts). */
  health(): Promise<{ code: 200 | 206 | 503; reasons: string[] }> {
    return this.view.health();
  }
}

export type { PartialSignatureMessage };
