/**
 * The operator node: the pieces of protocol/ and operator/slashing-protection composed into one process
 * (docs/operator.md). Data takes one path: chain follower → batch table and duties → matcher at R_b → slashing
 * protection → BLS signature → gossip; gossip from others is validated by protocol/p2p and then processed here.
 *
 * Duties per batch (docs/protocol.md §3.2–3.8):
 * - seed: the leader at fallback index k signs the seed message once its turn has come (closedAt + k·seedTimeout)
 *   and no earlier leader's seed was verified here;
 * - result: with the seed of the first leader in the fallback order whose seed this node verified, read the
 *   inputs at R_b, match, store the decision, sign through slashing protection, gossip the partial and the list.
 * A restarted node finds its stored decision for a still-open batch and gossips the same signature again.
 */
import { DEFAULT_HEALTH_MAX_BLOCKS_BEHIND } from "../protocol/config/schema.js";
import type { PrivateKey } from "@libp2p/interface";
import type { Hex, PublicClient, WalletClient } from "viem";
import { operatorRegistryAbi } from "../protocol/chain/abi.js";
import { ChainFollower, type BatchClosedInfo, type BatchFinalizedInfo } from "../protocol/chain/follower.js";
import { BatchStatus, fallbackLength, readBatchTiming, readClosedBatch, type BatchTiming, type ClosedBatch, type VerifiedSeed } from "../protocol/chain/batches.js";
import { toOperatorId, type OperatorId } from "../protocol/chain/ids.js";
import { OperatorSets } from "../protocol/chain/operatorSets.js";
import { readMatchInputs, readOperatorSet, type SystemAddresses } from "../protocol/chain/reads.js";
import { resultMessageDigest, seedFromSignature } from "../protocol/avs/messages.js";
import { operatorId as operatorIdOf, type BlsVerifier, type G1Point, type G2Point, type SecretKey } from "../protocol/bls/index.js";
import type { KvController } from "../protocol/db/controller.js";
import type { Logger } from "../protocol/log/logger.js";
import { assignmentsHash, matchBatch } from "../protocol/matching/index.js";
import type { Metrics } from "../protocol/metrics/metrics.js";
import { startMetricsServer, type MetricsServer } from "../protocol/metrics/server.js";
import { BatchTable } from "../protocol/p2p/batchTable.js";
import type { PartialSignatureMessage } from "../protocol/p2p/messages.js";
import { MatchnetNetwork, defaultNetworkOpts, type NetworkOpts } from "../protocol/p2p/network.js";
import { defaultGossipValidationOpts } from "../protocol/p2p/validation/context.js";
import type { ValidatedPartial } from "../protocol/p2p/validation/partial.js";
import type { ValidatedSeed } from "../protocol/p2p/validation/seed.js";
import { SlashingProtection, SigningDuty, type SignOutcome } from "./slashing-protection/slashingProtection.js";
import { SlashingProtectionError } from "./slashing-protection/errors.js";
import { startNodeApi, type NodeApi } from "./api.js";
import { DecisionRepository, type Decision } from "./decisions.js";
import { EquivocationReporter } from "./equivocation.js";
import { createOperatorMetrics, type OperatorMetrics } from "./metrics.js";

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
  /**
   * Crash-test hook: the process kills itself with SIGKILL right after it stores a fresh signature for this batch or
   * a later one, before gossiping it (the window the crash-safety test in test/e2e/network.test.ts needs; "or later" because a node
   * may sit a batch out, e.g. when it missed the seed). Never set in production.
   */
  crashAfterSignBatch?: bigint;
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
}

export interface AcceptedPartial {
  resultHash: Hex;
  seed: Hex;
  signature: G1Point;
}

export interface SignedDecision extends Decision {
  messageHash: Hex;
  signature: G1Point;
  /** False when the signature came from the store (a re-gossip after a restart). */
  fresh: boolean;
}

interface BatchState {
  close: ClosedBatch;
  /** In the operator set at R_b (undefined until read; a failed read is retried on the next block). */
  member?: boolean;
  /** The close was read only on a retry: seed and partials may have been gossiped before the batch was known. */
  closeReadLate: boolean;
  /** The start duty's membership read is in flight (a failed one leaves `member` undefined for the next block). */
  starting: boolean;
  /** The last decide failed on something that may pass later (an RPC read): retried on the next block. */
  retryDecide: boolean;
  /** Verified seeds by fallback rank (the first one verified per rank). */
  seeds: Map<number, VerifiedSeed>;
  /** Block of the last batch-sync request for this batch (null: none yet). */
  syncedAt: bigint | null;
  ownSeedStarted: boolean;
  deciding: boolean;
  decision?: SignedDecision;
  /** Accepted partials by operator id (the first one of each). */
  partials: Map<string, AcceptedPartial>;
  equivocators: Set<string>;
  finalized?: BatchFinalizedInfo;
  status: BatchStatus;
  error?: string;
}

/** What GET /matchnet/v1/batches/:b answers. */
export interface BatchReport {
  batch: string;
  status: string;
  referenceBlock: string;
  closedAt: string;
  leader: Hex;
  member: boolean | null;
  seed: Hex | null;
  seedLeaderRank: number | null;
  resultHash: Hex | null;
  messageHash: Hex | null;
  assignments: number | null;
  signed: boolean;
  partialsSeen: number;
  equivocators: Hex[];
  finalizedResultHash: Hex | null;
  signedFinalResult: boolean | null;
  error: string | null;
}

/** How many recent batches `eigen_performance_score` looks at. */
const PERFORMANCE_WINDOW = 20;
/** Blocks after the close (and between retries) without a seed before peers are asked for the batch. */
const SYNC_AFTER_BLOCKS = 2n;
/** Batches whose state is kept in memory (API answers and gossip bookkeeping); older ones are pruned. */
const RETAIN_BATCHES = 64;

export class OperatorNode {
  readonly operatorId: OperatorId;
  private readonly table: BatchTable;
  private readonly operatorSets: OperatorSets;
  private readonly sp: SlashingProtection;
  private readonly decisions: DecisionRepository;
  private readonly equivocation: EquivocationReporter;
  private readonly opMetrics: OperatorMetrics;
  private readonly batches = new Map<bigint, BatchState>();
  /** Closes whose reads failed, by batch: read again on the next block. */
  private readonly closeRetries = new Map<bigint, BatchClosedInfo>();
  private readonly pending = new Set<Promise<unknown>>();
  private network: MatchnetNetwork<G2Point> | null = null;
  private follower: ChainFollower | null = null;
  private api: NodeApi | null = null;
  private metricsServer: MetricsServer | null = null;
  private timing: BatchTiming | null = null;
  private stopping = false;
  private lastSignedBatch: bigint | null = null;
  /** The head when the node started: batches closed by then went round (partly) before this node listened. */
  private startHead = -1n;
  private registration = { registered: false, stake: 0n, status: 0, otherOperators: 0 };
  private readonly log: Logger;

  private constructor(
    readonly opts: OperatorNodeOpts,
    private readonly modules: OperatorNodeModules,
    timing: BatchTiming,
  ) {
    this.timing = timing;
    this.log = modules.logger;
    this.operatorId = toOperatorId(operatorIdOf(modules.secretKey.publicKeyG1()));
    this.opMetrics = createOperatorMetrics(modules.metrics);
    this.operatorSets = new OperatorSets({ registry: opts.addresses.operatorRegistry, retain: RETAIN_BATCHES, withApk: false }, { client: modules.client });
    this.table = new BatchTable(
      { seedTimeoutBlocks: timing.seedTimeout, retainBatches: RETAIN_BATCHES },
      {
        resultMessageHash: (batch, referenceBlock, seed, resultHash) =>
          resultMessageDigest({ chainId: opts.chainId, serviceManager: opts.addresses.serviceManager, batch, referenceBlock, seed, assignmentsHash: resultHash }),
      },
    );
    this.sp = new SlashingProtection({}, { db: modules.db, logger: modules.logger, metrics: modules.metrics });
    this.decisions = new DecisionRepository(modules.db);
    this.equivocation = new EquivocationReporter(
      { serviceManager: opts.addresses.serviceManager },
      { client: modules.client, wallet: modules.wallet, logger: modules.logger, metrics: this.opMetrics },
    );
  }

  /**
   * Starts everything in order — registration check, p2p (bootstrap plus the on-chain sockets), servers, chain
   * follower — and logs the `ready` line. Throws if any step fails (after stopping what was started).
   */
  static async start(opts: OperatorNodeOpts, modules: OperatorNodeModules): Promise<OperatorNode> {
    const timing = await readBatchTiming(modules.client, opts.addresses.serviceManager);
    const node = new OperatorNode(opts, modules, timing);
    try {
      await node.startParts();
    } catch (err) {
      await node.stop();
      throw err;
    }
    return node;
  }

  private async startParts(): Promise<void> {
    const { client, logger, metrics } = this.modules;
    const head = await client.getBlockNumber();
    this.startHead = head;
    await this.refreshRegistration();
    if (!this.registration.registered) {
      logger.warn(
        { operatorId: this.operatorId },
        "this BLS key is not a registered operator with stake: running as a non-signing follower (health 206) until it is",
      );
    }
    if (this.modules.wallet?.account) {
      const idOfAccount = await client.readContract({
        address: this.opts.addresses.operatorRegistry,
        abi: operatorRegistryAbi,
        functionName: "operatorIdOf",
        args: [this.modules.wallet.account.address],
      });
      if (BigInt(idOfAccount) !== 0n && idOfAccount.toLowerCase() !== this.operatorId) {
        logger.warn({ account: this.modules.wallet.account.address, accountOperatorId: idOfAccount, blsOperatorId: this.operatorId }, "the account keystore belongs to another operator than the BLS keystore");
      }
    }

    const peerId = this.modules.peerKey.publicKey.toString();
    const set = await readOperatorSet(client, this.opts.addresses.operatorRegistry, head);
    const bootstrap = [...this.opts.bootstrap, ...peerSockets(set.operators.map((o) => o.socket), peerId, this.opts.bootstrap)];
    this.network = await MatchnetNetwork.start<G2Point>(
      {
        ...defaultNetworkOpts,
        ...(this.opts.network ?? {}),
        // The leader gossips its seed the moment it sees the close; this node registers the batch only after its
        // next poll and a few view reads (seconds on a loaded RPC). A seed ignored as BatchUnknown is never sent
        // again (gossipsub remembers its id), so hold early messages for up to 20 s: the e2e runs on 2 cores showed
        // lags past 5 s, and a held seed is checked in full (leader's BLS signature) once the close is seen.
        validation: { ...defaultGossipValidationOpts, unknownBatchWaitMs: 20_000 },
        chainId: this.opts.chainId,
        listen: this.opts.listen,
        bootstrap,
        privateKey: this.modules.peerKey,
      },
      {
        batches: this.table,
        operators: { operatorAt: (id, referenceBlock) => this.operatorSets.operatorAt(toOperatorId(id), referenceBlock) },
        verifier: this.modules.verifier,
        logger: logger.child({ module: "p2p" }),
        metrics,
        processors: {
          seed: (v) => this.onSeed(v),
          partial: (v) => this.onPartial(v),
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
          batchClosed: (info) => this.onBatchClosed(info),
          batchFinalized: (info) => this.onBatchFinalized(info),
          batchAbandoned: (batch) => this.onBatchAbandoned(batch),
          block: (n) => this.onBlock(n),
        },
      },
    );
    await this.follower.start();

    logger.info(
      {
        peerId: this.network.peerId.toString(),
        addrs: this.network.multiaddrs(),
        operatorId: this.operatorId,
        registered: this.registration.registered,
        stake: this.registration.stake,
        chainId: this.opts.chainId,
        head: this.follower.head,
        bootstrap: bootstrap.length,
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
    await this.follower?.stop();
    // The network first: a publish waiting for a subscriber (up to publishTimeoutMs) then fails at once instead of
    // holding the stop past a supervisor's grace period. Duties in flight still finish their store writes.
    await this.network?.stop();
    await Promise.allSettled([...this.pending]);
    await this.api?.close();
    await this.metricsServer?.close();
    this.log.info({}, "operator node stopped");
  }

  // ------------------------------------------------------------------ chain events

  /** `retried`: the first read of this close failed, so the batch's gossip may have gone round before it was known. */
  private async onBatchClosed(info: BatchClosedInfo, retried = false): Promise<void> {
    if (this.batches.has(info.batch)) return;
    let close: ClosedBatch;
    try {
      close = await readClosedBatch(this.modules.client, { chainId: this.opts.chainId, serviceManager: this.opts.addresses.serviceManager }, info.batch, fallbackLength(this.timing!));
    } catch (err) {
      // An RPC hiccup must not cost the batch: the close is read again on the next block.
      this.log.warn({ batch: info.batch, err: (err as Error).message }, "reading a closed batch failed; retrying on the next block");
      this.closeRetries.set(info.batch, info);
      return;
    }
    if (this.batches.has(info.batch)) return;
    this.table.onClosed(close);
    this.batches.set(info.batch, {
      close,
      seeds: new Map(),
      syncedAt: null,
      closeReadLate: retried,
      starting: false,
      retryDecide: false,
      ownSeedStarted: false,
      deciding: false,
      partials: new Map(),
      equivocators: new Set(),
      status: BatchStatus.Open,
    });
    this.prune();
    this.modules.metrics.batchesSeen.inc();
    this.log.info({ batch: info.batch, referenceBlock: close.referenceBlock, leader: close.leaderOrder[0] }, "batch closed");
    // Registration and peers can change between batches: refresh both, off the follower's path.
    this.track(this.refreshRegistration().then(() => this.refreshBootstrap(close.referenceBlock)), "refresh");
    this.track(this.startBatch(info.batch), "result");
  }

  private onBatchFinalized(info: BatchFinalizedInfo): void {
    this.table.markFinal(info.batch);
    const st = this.batches.get(info.batch);
    if (st) {
      st.status = BatchStatus.Final;
      st.finalized = info;
    }
    const signed = st?.decision ? (st.decision.messageHash.toLowerCase() === info.resultHash.toLowerCase() ? "signed" : "other") : "none";
    this.opMetrics.resultAgreement.inc({ signed });
    this.log.info({ batch: info.batch, resultHash: info.resultHash, signedStake: info.signedStake, totalStake: info.totalStake, signedByUs: signed }, "batch final");
    this.updatePerformance();
  }

  private onBatchAbandoned(batch: bigint): void {
    this.table.markAbandoned(batch);
    const st = this.batches.get(batch);
    if (st) st.status = BatchStatus.Abandoned;
    this.log.warn({ batch }, "batch abandoned");
    this.updatePerformance();
  }

  private onBlock(n: bigint): void {
    this.table.onBlock(n);
    this.opMetrics.headBlock.set(Number(n));
    if (this.equivocation.pendingRetries > 0) this.track(this.equivocation.retryFailed(), "equivocation");
    for (const info of [...this.closeRetries.values()]) {
      this.closeRetries.delete(info.batch);
      this.track(this.onBatchClosed(info, true), "close");
    }
    // A fallback leader's turn comes with the blocks.
    for (const [batch, st] of this.batches) {
      if (st.status !== BatchStatus.Open) continue;
      // Duties that failed on a read (RPC) are run again, one block later.
      if (st.member === undefined && !st.starting) {
        this.track(this.startBatch(batch), "result");
        continue;
      }
      if (st.retryDecide && !st.deciding && st.decision === undefined) {
        st.retryDecide = false;
        this.track(this.maybeDecide(batch), "result");
      }
      if (!st.member || st.decision !== undefined || st.deciding) continue;
      // Still no seed two blocks after the close (gossip missed, e.g. no peer connected then): ask peers, every two
      // blocks, before this node's own fallback turn can come.
      if (st.seeds.size === 0 && n >= st.close.closedAt + SYNC_AFTER_BLOCKS && (st.syncedAt === null || n >= st.syncedAt + SYNC_AFTER_BLOCKS)) {
        this.track(this.syncBatch(batch, n), "sync");
      }
      this.track(this.maybeProduceSeed(batch), "seed");
    }
  }

  // ------------------------------------------------------------------ duties

  private async startBatch(batch: bigint): Promise<void> {
    const st = this.batches.get(batch)!;
    st.starting = true;
    try {
      st.member = (await this.operatorSets.operatorAt(this.operatorId, st.close.referenceBlock)) !== undefined;
    } finally {
      st.starting = false;
    }
    if (!st.member) {
      this.log.info({ batch, referenceBlock: st.close.referenceBlock }, "not in the operator set at R_b: following this batch without signing");
      return;
    }
    // A restart: re-serve what was decided and signed, never decide again.
    const seedRecord = await this.sp.get(SigningDuty.Seed, { operatorId: this.operatorId, batch });
    if (seedRecord?.signature) {
      st.ownSeedStarted = true;
      await this.useOwnSeed(batch, seedRecord.signature, false);
    }
    const stored = await this.decisions.get(batch);
    if (stored !== undefined) {
      this.log.info({ batch, seed: stored.seed, resultHash: stored.assignmentsHash }, "decision found in the data dir: re-gossiping it");
      await this.signAndGossip(batch, stored);
      return;
    }
    // A batch that closed before this node started went round (partly) without it: the leader's seed and the
    // others' partials are fetched from peers first, so that the node decides with the seed the others used and,
    // as a fallback leader, does not sign a seed of its own that nobody needs.
    // So may one whose close this node read late (an RPC failure): its gossip may have been ignored meanwhile.
    if (st.close.closedAt <= this.startHead) await this.syncBatch(batch, this.startHead);
    else if (st.closeReadLate) await this.syncBatch(batch, this.follower?.head ?? st.close.closedAt);
    await this.maybeProduceSeed(batch);
    await this.maybeDecide(batch);
  }

  /** One batch-sync round with connected peers; what they send goes through the gossip validators and processors. */
  private async syncBatch(batch: bigint, block: bigint): Promise<void> {
    const st = this.batches.get(batch);
    if (!st || !this.network) return;
    st.syncedAt = block;
    const outcome = await this.network.requestBatch(batch);
    // Accepted messages are processed on the next turn of the event loop (setImmediate): let that happen before the
    // caller looks at the seeds.
    await new Promise((r) => setImmediate(r));
    this.log.info({ batch, ...outcome, seeds: st.seeds.size }, "batch sync with peers");
  }

  /** Signs the seed if this operator's turn in the fallback order has come and no earlier leader's seed is here. */
  private async maybeProduceSeed(batch: bigint): Promise<void> {
    const st = this.batches.get(batch);
    const info = this.table.batch(batch);
    if (!st || !info || !st.member || st.ownSeedStarted || st.status !== BatchStatus.Open) return;
    const rank = info.leaderOrder.findIndex((id) => id === this.operatorId);
    if (rank < 0 || rank >= info.leadersAllowed) return;
    if ([...st.seeds.keys()].some((r) => r < rank)) return;
    // Restarted after the close and a seed already went round (learned by batch sync): the others signed under it,
    // and a seed of ours now, even of an earlier rank, could only split the quorum.
    if (st.seeds.size > 0 && st.close.closedAt <= this.startHead) return;
    st.ownSeedStarted = true;
    try {
      const out = await this.sp.sign(SigningDuty.Seed, { operatorId: this.operatorId, batch }, info.seedMessageHash, (h) => this.modules.secretKey.sign(h));
      this.log.info({ batch, rank, fresh: out.fresh }, "seed signed as leader");
      await this.useOwnSeed(batch, out.signature);
    } catch (err) {
      this.opMetrics.dutyErrors.inc({ duty: "seed" });
      st.error = `seed: ${(err as Error).message}`;
      throw err;
    }
  }

  private async useOwnSeed(batch: bigint, signature: G1Point, decide = true): Promise<void> {
    const st = this.batches.get(batch)!;
    const info = this.table.batch(batch)!;
    // Verified like anyone else's: a key that does not match the registry would make every partial useless.
    if (!this.modules.verifier.verify(this.modules.secretKey.publicKeyG2(), info.seedMessageHash, signature)) {
      throw new Error(`own seed signature for batch ${batch} does not verify`);
    }
    const rank = info.leaderOrder.findIndex((id) => id === this.operatorId);
    const seed = seedFromSignature(signature);
    this.table.addVerifiedSeed(batch, seed);
    if (!st.seeds.has(rank)) st.seeds.set(rank, { seed, signature, rank, signer: this.operatorId });
    this.publish("seed", batch, () => this.network!.publishSeed({ batch, signer: this.operatorId, signature }));
    if (decide) await this.maybeDecide(batch);
  }

  private onSeed(v: ValidatedSeed<G2Point>): void {
    const { batch, signer, signature } = v.message;
    this.table.addVerifiedSeed(batch, seedFromSignature(signature));
    this.learnSeed(batch, v.rank, signer, signature, "seed verified");
  }

  /**
   * A seed verified by a gossip validator (the seed topic, or the proof a partial carries): kept as the first one of
   * its fallback rank, then the node decides if it has not yet.
   */
  private learnSeed(batch: bigint, rank: number, signer: Hex, signature: G1Point, how: string): void {
    const st = this.batches.get(batch);
    if (!st || st.seeds.has(rank)) return;
    const seed = seedFromSignature(signature);
    st.seeds.set(rank, { seed, signature: { X: signature.X, Y: signature.Y }, rank, signer: toOperatorId(signer) });
    this.log.info({ batch, rank, signer, seed }, how);
    this.track(this.maybeDecide(batch), "result");
  }

  /** Decides once a verified seed is here: the seed of the lowest fallback rank verified so far (docs/protocol.md §3.8). */
  private async maybeDecide(batch: bigint): Promise<void> {
    const st = this.batches.get(batch);
    if (!st || !st.member || st.deciding || st.decision !== undefined || st.status !== BatchStatus.Open || st.seeds.size === 0) return;
    st.deciding = true;
    const stopTimer = this.opMetrics.decideSeconds.startTimer();
    try {
      const rank = Math.min(...st.seeds.keys());
      const { seed, signer, signature } = st.seeds.get(rank)!;
      let decision = await this.decisions.get(batch);
      if (decision === undefined) {
        const inputs = await readMatchInputs(this.modules.client, this.opts.addresses, st.close.referenceBlock);
        const result = matchBatch(inputs, seed);
        decision = {
          batch,
          seed,
          seedRank: rank,
          seedSigner: signer,
          seedSignature: signature,
          assignmentsHash: assignmentsHash(result.assignments),
          assignments: result.assignments,
        };
        // Stored before slashing protection records the hash: a restart rebuilds the same partial from it.
        await this.decisions.put(batch, decision);
        this.log.info(
          { batch, seedRank: rank, orders: inputs.orders.length, offers: inputs.offers.length, assignments: result.assignments.length, resultHash: decision.assignmentsHash },
          "batch matched",
        );
      }
      await this.signAndGossip(batch, decision);
      stopTimer();
    } catch (err) {
      this.opMetrics.dutyErrors.inc({ duty: "result" });
      st.error = `result: ${(err as Error).message}`;
      // A refusal by slashing protection stands; anything else (a read that failed) is tried again next block.
      st.retryDecide = !(err instanceof SlashingProtectionError);
      throw err;
    } finally {
      st.deciding = false;
    }
  }

  /** Slashing protection, then gossip. The record is synced before the signature leaves this function. */
  private async signAndGossip(batch: bigint, d: Decision): Promise<void> {
    const st = this.batches.get(batch)!;
    const out = await this.signResultMessage(batch, st.close.referenceBlock, d.seed, d.assignmentsHash);
    st.decision = { ...d, messageHash: this.resultDigest(batch, st.close.referenceBlock, d.seed, d.assignmentsHash), signature: out.signature, fresh: out.fresh };
    if (out.fresh) this.modules.metrics.batchesSigned.inc();
    this.lastSignedBatch = this.lastSignedBatch === null || batch > this.lastSignedBatch ? batch : this.lastSignedBatch;
    this.updatePerformance();
    this.log.info({ batch, resultHash: d.assignmentsHash, messageHash: st.decision.messageHash, fresh: out.fresh }, out.fresh ? "result signed" : "stored signature re-served");
    if (out.fresh && this.opts.crashAfterSignBatch !== undefined && batch >= this.opts.crashAfterSignBatch) {
      this.log.warn({ batch }, "crash hook: killing this process after storing the signature, before gossip");
      process.kill(process.pid, "SIGKILL");
    }
    // The partial carries the seed proof (leader id and signature): a peer that missed the leader's seed message
    // learns the seed from any partial, so no separate seed re-gossip is needed here.
    const partial = {
      batch,
      resultHash: d.assignmentsHash,
      operatorId: this.operatorId,
      signature: out.signature,
      seedSigner: d.seedSigner,
      seedSignature: d.seedSignature,
      seed: d.seed,
    };
    this.publish("partial", batch, () => this.network!.publishPartial(partial));
    // The list goes with this operator's partial: only registered operators may publish lists (docs/operator.md).
    this.publish("result-list", batch, () => this.network!.publishResultList({ ...partial, assignments: d.assignments }));
  }

  /**
   * Signs a result message for `batch` through slashing protection only. Exposed so that tests (and an operator's
   * tooling) can prove that a different result for a signed batch is refused (SlashingProtectionError DoubleSign).
   */
  async signResultMessage(batch: bigint, referenceBlock: bigint, seed: Hex, resultHash: Hex): Promise<SignOutcome> {
    const digest = this.resultDigest(batch, referenceBlock, seed, resultHash);
    return this.sp.sign(SigningDuty.Result, { operatorId: this.operatorId, batch }, digest, (h) => this.modules.secretKey.sign(h));
  }

  private resultDigest(batch: bigint, referenceBlock: bigint, seed: Hex, resultHash: Hex): Hex {
    return resultMessageDigest({ chainId: this.opts.chainId, serviceManager: this.opts.addresses.serviceManager, batch, referenceBlock, seed, assignmentsHash: resultHash });
  }

  private onPartial(v: ValidatedPartial<G2Point>): void {
    const m = v.message;
    const st = this.batches.get(m.batch);
    const id = m.operatorId.toLowerCase();
    if (st && !st.partials.has(id)) st.partials.set(id, { resultHash: m.resultHash, seed: m.seed, signature: { X: m.signature.X, Y: m.signature.Y } });
    // The seed proof inside the partial was verified by the validator: a node that missed the seed message (or has
    // only a later fallback leader's seed) takes it from here.
    this.learnSeed(m.batch, v.seedRank, m.seedSigner, m.seedSignature, "seed learned from a partial");
    if (v.equivocates) {
      st?.equivocators.add(id);
      this.log.warn({ batch: m.batch, operatorId: m.operatorId, first: v.equivocates.resultHash, second: m.resultHash }, "equivocation seen in gossip");
      this.track(this.equivocation.report(m.operatorId, m.batch, v.equivocates, m), "equivocation");
    }
  }

  /**
   * Publishes off the duty's path; a failure (no subscriber in time) is logged and counted, and the duty stands.
   * Zero recipients is not an error (bytes the peers have seen already: a list identical to another operator's, a
   * restarted node re-publishing) and is logged at debug.
   */
  private publish(what: string, batch: bigint, fn: () => Promise<number>): void {
    this.track(
      fn().then(
        (recipients) => {
          // No recipient is routine for a result list (identical lists from several operators share one content id).
          if (recipients > 0) this.log.debug({ topic: what, batch, recipients }, "gossip published");
          else this.log.debug({ topic: what, batch }, "gossip published to no peer (seen before, or no peer ready)");
        },
        (err: unknown) => {
          if (this.stopping) return;
          this.opMetrics.dutyErrors.inc({ duty: "publish" });
          this.log.warn({ topic: what, batch, err: (err as Error).message }, "gossip publish failed");
        },
      ),
      "publish",
    );
  }

  private track(p: Promise<unknown>, duty: string): void {
    const guarded = p.catch((err: unknown) => {
      if (this.stopping) return;
      this.log.error({ duty, err: (err as Error).message }, "duty failed");
    });
    this.pending.add(guarded);
    void guarded.finally(() => this.pending.delete(guarded));
  }

  // ------------------------------------------------------------------ bookkeeping

  private async refreshRegistration(): Promise<void> {
    const { client } = this.modules;
    const reg = this.opts.addresses.operatorRegistry;
    const stake = await client.readContract({ address: reg, abi: operatorRegistryAbi, functionName: "currentStake", args: [this.operatorId] });
    let status = 0;
    if (stake > 0n) {
      const op = await client.readContract({ address: reg, abi: operatorRegistryAbi, functionName: "getOperator", args: [this.operatorId] });
      status = op.status;
    }
    const count = await client.readContract({ address: reg, abi: operatorRegistryAbi, functionName: "operatorCount" });
    // Status 1 = Active (IOperatorRegistry.OperatorStatus); a jailed or exiting operator is not asked to sign.
    const registered = stake > 0n && status === 1;
    this.registration = { registered, stake, status, otherOperators: Math.max(0, Number(count) - (registered ? 1 : 0)) };
    this.modules.metrics.registeredStakes.set({ quorum_number: "0", quorum_name: "stake" }, tokens(stake));
  }

  /** Adds sockets of operators that joined since start to the peers the network keeps dialling. */
  private async refreshBootstrap(block: bigint): Promise<void> {
    if (!this.network) return;
    const set = await this.operatorSets.load(block);
    const known = this.network.opts.bootstrap;
    for (const s of peerSockets(set.operators.map((o) => o.socket ?? ""), this.network.peerId.toString(), known)) known.push(s);
  }

  private updatePerformance(): void {
    const recent = [...this.batches.values()]
      .filter((s) => s.member)
      .sort((a, b) => (a.close.batch < b.close.batch ? 1 : -1))
      .slice(0, PERFORMANCE_WINDOW);
    if (recent.length === 0) return;
    const signed = recent.filter((s) => s.decision !== undefined).length;
    this.modules.metrics.performanceScore.set(Math.floor((signed * 100) / recent.length));
  }

  private prune(): void {
    if (this.batches.size <= RETAIN_BATCHES) return;
    const sorted = [...this.batches.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const b of sorted.slice(0, sorted.length - RETAIN_BATCHES)) this.batches.delete(b);
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
    return this.batches.get(batch)?.decision;
  }

  /** Verified seeds of a batch by fallback rank. */
  verifiedSeeds(batch: bigint): Map<number, VerifiedSeed> {
    return new Map(this.batches.get(batch)?.seeds ?? []);
  }

  /** Operator ids whose partial for `batch` this node accepted from gossip. */
  partialsSeen(batch: bigint): Map<string, AcceptedPartial> {
    return new Map(this.batches.get(batch)?.partials ?? []);
  }

  batchReport(batch: bigint): BatchReport | undefined {
    const st = this.batches.get(batch);
    if (!st) return undefined;
    const d = st.decision;
    return {
      batch: batch.toString(),
      status: st.status,
      referenceBlock: st.close.referenceBlock.toString(),
      closedAt: st.close.closedAt.toString(),
      leader: st.close.leaderOrder[0]!,
      member: st.member ?? null,
      seed: d?.seed ?? null,
      seedLeaderRank: d?.seedRank ?? null,
      resultHash: d?.assignmentsHash ?? null,
      messageHash: d?.messageHash ?? null,
      assignments: d ? d.assignments.length : null,
      signed: d !== undefined,
      partialsSeen: st.partials.size,
      equivocators: [...st.equivocators] as Hex[],
      finalizedResultHash: st.finalized?.resultHash ?? null,
      signedFinalResult: st.finalized ? (d ? d.messageHash.toLowerCase() === st.finalized.resultHash.toLowerCase() : false) : null,
      error: st.error ?? null,
    };
  }

  status() {
    const latest = this.table.latestBatch();
    return {
      operatorId: this.operatorId,
      registered: this.registration.registered,
      stake: this.registration.stake.toString(),
      chainId: this.opts.chainId.toString(),
      headBlock: (this.follower?.head ?? -1n).toString(),
      currentBatch: latest === 0n ? null : latest.toString(),
      openBatches: this.table.openBatches().map(String),
      lastSignedBatch: this.lastSignedBatch === null ? null : this.lastSignedBatch.toString(),
      peers: this.peerCount(),
      peerId: this.peerId,
      addrs: this.multiaddrs(),
    };
  }

  /**
   * EigenLayer node API health: 503 when the chain RPC does not answer; 206 while syncing (follower not started or
   * behind the head), when not registered, or when other operators exist but no peer is connected; else 200.
   */
  async health(): Promise<{ code: 200 | 206 | 503; reasons: string[] }> {
    let chainHead: bigint;
    try {
      chainHead = await withTimeout(this.modules.client.getBlockNumber({ cacheTime: 0 }), 2_000);
    } catch (err) {
      return { code: 503, reasons: [`chain RPC failed: ${(err as Error).message}`] };
    }
    const reasons: string[] = [];
    const head = this.follower?.head ?? -1n;
    const maxBehind = BigInt(this.opts.healthMaxBlocksBehind ?? DEFAULT_HEALTH_MAX_BLOCKS_BEHIND);
    if (head < 0n || chainHead - head > maxBehind) reasons.push(`syncing: follower at ${head}, chain at ${chainHead} (more than health.maxBlocksBehind = ${maxBehind} behind)`);
    if (!this.registration.registered) reasons.push("not registered: following without signing");
    if (this.registration.otherOperators > 0 && this.peerCount() === 0) reasons.push("no peers");
    return { code: reasons.length === 0 ? 200 : 206, reasons };
  }
}

/** Dialable peer sockets (ending in /p2p/<id>), without this node's own and without those already listed. */
function peerSockets(sockets: string[], selfPeerId: string, known: string[]): string[] {
  const out: string[] = [];
  for (const s of sockets) {
    const id = /\/p2p\/([^/]+)$/.exec(s)?.[1];
    if (id === undefined || id === selfPeerId || known.includes(s) || out.includes(s)) continue;
    out.push(s);
  }
  return out;
}

/** Stake in whole tokens (18 decimals) for a float gauge; exact up to 2^53 wei per token fraction lost. */
function tokens(wei: bigint): number {
  return Number(wei / 10n ** 12n) / 1e6;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e: unknown) => (clearTimeout(t), reject(e as Error)),
    );
  });
}

export type { PartialSignatureMessage };
