/**
 * The aggregator process's pieces, composed (the CLI in main.ts only reads config and keys, then starts this):
 *
 *   ChainFollower ──► batch view + operator sets at R_b (cached) ──► Aggregator (pool, lists, submitter)
 *                 └─► BatchTable (p2p freshness, leader turns, verified seeds)
 *   MatchnetNetwork (non-operator peer) ──► seed / partial / result-list processors ──► Aggregator
 *   ResultSource: its own matcher run at R_b with the verified seed
 *
 * The network is optional (tests drive addSeed / addPartial / addResultList directly; the same methods are what
 * the gossip processors call). Every chain read goes through the injected public client, so the same code runs
 * against `hardhat node` over HTTP and against an in-process Hardhat chain in tests.
 */
import type { PrivateKey } from "@libp2p/interface";
import type { Address, PublicClient } from "viem";
import { resultMessageDigest, seedFromSignature } from "../protocol/avs/messages.js";
import { createBlsVerifier, type BlsVerifier, type G1Point, type G2Point, type Hex } from "../protocol/bls/index.js";
import { serviceManagerAbi } from "../protocol/chain/abi.js";
import { BatchStatus, fallbackLength, readBatchTiming, readClosedBatch, type VerifiedSeed } from "../protocol/chain/batches.js";
import { ChainFollower, type BatchClosedInfo } from "../protocol/chain/follower.js";
import { toOperatorId, type OperatorId } from "../protocol/chain/ids.js";
import { OperatorSets } from "../protocol/chain/operatorSets.js";
import { readMatchInputs, readOperatorSet, type SystemAddresses } from "../protocol/chain/reads.js";
import type { Logger } from "../protocol/log/logger.js";
import type { Assignment } from "../protocol/market/types.js";
import { matchBatch } from "../protocol/matching/index.js";
import type { Metrics } from "../protocol/metrics/metrics.js";
import { BatchTable } from "../protocol/p2p/batchTable.js";
import type { BanStore } from "../protocol/p2p/banStore.js";
import { MatchnetNetwork, defaultNetworkOpts } from "../protocol/p2p/network.js";
import { defaultGossipValidationOpts } from "../protocol/p2p/validation/context.js";
import { Aggregator } from "./aggregator.js";
import type { Enforcer } from "./enforcer.js";
import { createG2KeySummer } from "./keySum.js";
import type { ResultCandidate, ResultSource } from "./result.js";
import type { Submitter } from "./submitter.js";
import type { AggregatorMetrics, PartialSignature } from "./types.js";

export interface AggregatorNodeOpts {
  chainId: bigint;
  addresses: SystemAddresses;
  /** Blocks to wait for more signers after quorum (config aggregation.quorumWaitBlocks). */
  quorumWaitBlocks: number;
  /** Blocks a partial for a batch whose close is not seen yet is held by the pool. Default 4. */
  holdBlocks?: number;
  /** How often the chain head is polled. */
  pollIntervalMs: number;
  /** Null: no p2p (partials, seeds and lists come through the add* methods). */
  network: null | {
    listen: string[];
    bootstrap: string[];
    privateKey?: PrivateKey;
    /** How long the gossip validator holds a message for a batch whose close it has not seen (config earlyPartialHoldMs). */
    unknownBatchWaitMs: number;
    /** Addresses with reserved connection slots (config allow); the bootstrap peers' are added. */
    allow?: string[];
  };
}

export interface AggregatorNodeModules {
  publicClient: PublicClient;
  submitter: Submitter;
  logger: Logger;
  /** The process's metric set (p2p metrics and its registry) or null. */
  metrics: Metrics | null;
  aggregatorMetrics: AggregatorMetrics | null;
  /** The enforcement duty (slashing proven-invalid results' signers, ejecting inactive operators), or none. */
  enforcer?: Enforcer | null;
  /**
   * Where the peer guard keeps its bans across restarts (a BanRepository over the LevelDB in `<dataDir>/db`,
   * aggregator/main.ts); null or absent: bans live in memory only and a restart forgets them.
   */
  bans?: BanStore | null;
}

/** Blocks after a batch's close (and between rounds) without a quorum here before peers are asked for it again. */
const SYNC_AFTER_BLOCKS = 2n;

/** Batches (and operator sets at their R_b) kept: only the last few can still be open; a margin for slow gossip. */
const RETAIN_BATCHES = 64;
/** Operator sets kept: a handful of recent reference blocks is all that open batches need. */
const RETAIN_SETS = 16;

export class AggregatorNode {
  readonly aggregator: Aggregator;
  readonly batchTable: BatchTable;
  readonly follower: ChainFollower;
  network: MatchnetNetwork<G2Point> | null = null;
  readonly #sets: OperatorSets;
  readonly #seeds = new Map<bigint, VerifiedSeed[]>();
  readonly #lists = new Map<bigint, Assignment[][]>();
  readonly #verifier: BlsVerifier;
  readonly #leaderOrderLength: number;
  /** Closes whose reads failed (RPC hiccup); retried on the next block rather than losing the batch. */
  readonly #closeRetries: BatchClosedInfo[] = [];
  /** Per open batch, the block of its last batch-sync round. */
  readonly #syncedAt = new Map<bigint, bigint>();
  #pollTimer: NodeJS.Timeout | null = null;
  #stopped = false;

  private constructor(
    private readonly opts: AggregatorNodeOpts,
    private readonly modules: AggregatorNodeModules,
    init: { verifier: BlsVerifier; aggregator: (node: AggregatorNode, sets: OperatorSets, batches: BatchTable) => Aggregator; seedTimeout: bigint; leaderOrderLength: number },
  ) {
    this.#verifier = init.verifier;
    this.#leaderOrderLength = init.leaderOrderLength;
    this.#sets = new OperatorSets({ registry: opts.addresses.operatorRegistry, retain: RETAIN_SETS, withApk: true }, { client: modules.publicClient });
    const { chainId, addresses } = opts;
    this.batchTable = new BatchTable(
      { seedTimeoutBlocks: init.seedTimeout, retainBatches: RETAIN_BATCHES },
      {
        resultMessageHash: (batch, referenceBlock, seed, assignmentsHash) =>
          resultMessageDigest({ chainId, serviceManager: addresses.serviceManager, batch, referenceBlock, seed, assignmentsHash }),
      },
    );
    this.aggregator = init.aggregator(this, this.#sets, this.batchTable);
    this.follower = new ChainFollower(
      { serviceManager: addresses.serviceManager, pollIntervalMs: opts.pollIntervalMs },
      {
        client: modules.publicClient,
        logger: modules.logger,
        handlers: {
          batchClosed: (info) => this.#onClosedOrRetry(info),
          batchFinalized: (info) => {
            this.batchTable.markFinal(info.batch);
            this.modules.enforcer?.onFinalized(info.batch);
            this.modules.logger.info({ event: "batch_final", batch: info.batch, block: info.block, txHash: info.transactionHash }, "batch final");
          },
          batchAbandoned: (batch, block) => {
            this.batchTable.markAbandoned(batch);
            this.modules.logger.warn({ event: "batch_abandoned", batch, block }, "batch abandoned");
          },
          block: async (n) => {
            this.batchTable.onBlock(n);
            for (const info of this.#closeRetries.splice(0)) await this.#onClosedOrRetry(info);
            await this.aggregator.onBlock(n);
            this.#syncLagging(n);
            this.modules.enforcer?.onBlock(n);
          },
        },
      },
    );
  }

  /** Reads the on-chain parameters, starts the follower (pending batches from views), then joins the network. */
  static async start(opts: AggregatorNodeOpts, modules: AggregatorNodeModules): Promise<AggregatorNode> {
    const { publicClient } = modules;
    const sm = opts.addresses.serviceManager;
    const [quorumThresholdBps, timing, verifier, g2] = await Promise.all([
      publicClient.readContract({ address: sm, abi: serviceManagerAbi, functionName: "quorumThresholdBps" }),
      readBatchTiming(publicClient, sm),
      createBlsVerifier("mcl"),
      createG2KeySummer(),
    ]);
    const node = new AggregatorNode(opts, modules, {
      verifier,
      seedTimeout: timing.seedTimeout,
      leaderOrderLength: fallbackLength(timing),
      aggregator: (self, sets, batches) =>
        new Aggregator(
          {
            chainId: opts.chainId,
            serviceManager: sm,
            quorumThresholdBps,
            waitBlocks: opts.quorumWaitBlocks,
            ...(opts.holdBlocks !== undefined ? { holdBlocks: opts.holdBlocks } : {}),
          },
          {
            verifier,
            batches,
            operatorSets: sets,
            logger: modules.logger,
            metrics: modules.aggregatorMetrics,
            resultSource: self.#resultSource(),
            submitter: modules.submitter,
            g2,
          },
        ),
    });
    await node.follower.start();
    if (opts.network !== null) {
      try {
        await node.#startNetwork(opts.network);
      } catch (err) {
        await node.follower.stop();
        throw err;
      }
      // Batches closing from now on are heard in full; the open ones are fetched from peers, maybe in part.
      modules.enforcer?.listeningFrom(node.batchTable.latestClosed() + 1n);
      // Batches still open went round (partly) before this node listened: fetch their seeds and partials from peers
      // (and again every SYNC_AFTER_BLOCKS blocks while they lack a quorum here: #syncLagging).
      const head = await publicClient.getBlockNumber();
      for (const batch of node.batchTable.openBatches()) node.#sync(batch, head);
    }
    return node;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.modules.enforcer?.stop();
    if (this.#pollTimer !== null) clearTimeout(this.#pollTimer);
    await this.follower.stop();
    await this.network?.stop();
  }

  /** A closed batch the follower has seen, or null. */
  batch(batch: bigint) {
    return this.batchTable.get(batch);
  }

  /**
   * A seed signature of the leader at `signerIndex` of the batch's fallback order. Verified here against that
   * leader's registered key at R_b; returns false (and ignores it) when the batch is unknown or it does not verify.
   */
  async addSeed(batch: bigint, signerIndex: number, signature: G1Point): Promise<boolean> {
    const info = this.batchTable.batch(batch);
    const leader = info?.leaderOrder[signerIndex];
    if (info === undefined || leader === undefined) return false;
    const op = await this.#sets.operatorAt(toOperatorId(leader), info.referenceBlock);
    if (op === undefined || !this.#verifier.verify(op.pkG2, info.seedMessageHash, signature)) return false;
    this.#acceptSeed(batch, signerIndex, signature);
    return true;
  }

  /** A partial signature over the result message digest (the gossip processor passes the digest it verified). */
  addPartial(p: PartialSignature): void {
    this.aggregator.addPartial(p);
    this.#schedulePoll();
  }

  /**
   * An assignment list for the batch (already checked against the hash it claims); the aggregator uses it only if
   * it hashes to a digest a quorum signed. A gossiped list names its publisher — a registered operator whose
   * signature on it the validator checked — and the seed it used: it is kept under that seed, one per publisher, so
   * no number of other lists can crowd it out. Without a publisher (a list from elsewhere) it becomes a candidate
   * under each verified seed of the batch, now or when a seed arrives, at most 4 such lists per batch.
   */
  addResultList(batch: bigint, assignments: Assignment[], publisher?: { operatorId: OperatorId; seedRank: number; seedSignature: G1Point }): void {
    if (publisher !== undefined) {
      const signer = this.batchTable.get(batch)?.leaderOrder[publisher.seedRank];
      if (signer === undefined) return;
      const seed: VerifiedSeed = { seed: seedFromSignature(publisher.seedSignature), signature: publisher.seedSignature, rank: publisher.seedRank, signer };
      this.aggregator.addAssignmentList(batch, candidate(seed, assignments), publisher.operatorId);
      this.#schedulePoll();
      return;
    }
    let lists = this.#lists.get(batch);
    if (lists === undefined) this.#lists.set(batch, (lists = []));
    if (lists.length >= 4) return; // a batch has one honest list; more only under a split quorum
    lists.push(assignments);
    for (const s of this.#seeds.get(batch) ?? []) this.aggregator.addAssignmentList(batch, candidate(s, assignments));
    for (const b of this.#lists.keys()) if (b + 64n < batch) this.#lists.delete(b);
    this.#schedulePoll();
  }

  #acceptSeed(batch: bigint, signerIndex: number, signature: G1Point): void {
    const seed = seedFromSignature(signature);
    const signer = this.batchTable.get(batch)?.leaderOrder[signerIndex];
    if (signer === undefined) return;
    let seeds = this.#seeds.get(batch);
    if (seeds === undefined) this.#seeds.set(batch, (seeds = []));
    if (seeds.some((s) => s.seed === seed)) return;
    this.modules.enforcer?.heard(batch, signer);
    const verified: VerifiedSeed = { seed, signature, rank: signerIndex, signer };
    seeds.push(verified);
    seeds.sort((a, b) => a.rank - b.rank);
    this.batchTable.addVerifiedSeed(batch, seed);
    for (const list of this.#lists.get(batch) ?? []) this.aggregator.addAssignmentList(batch, candidate(verified, list));
    for (const b of this.#seeds.keys()) if (b + 64n < batch) this.#seeds.delete(b);
    this.modules.logger.info({ event: "seed_verified", batch, seed, signerIndex }, "seed verified");
    this.#schedulePoll();
  }

  /** Its own matcher run: the batch's inputs read at R_b, matched with the first leader's verified seed. */
  #resultSource(): ResultSource {
    return {
      resultFor: async (batch): Promise<ResultCandidate | null> => {
        const seed = this.#seeds.get(batch.batch)?.[0];
        if (seed === undefined) return null;
        const inputs = await readMatchInputs(this.modules.publicClient, this.opts.addresses, batch.referenceBlock);
        const result = matchBatch(inputs, seed.seed);
        this.modules.logger.info(
          { event: "matcher_run", batch: batch.batch, referenceBlock: batch.referenceBlock, orders: inputs.orders.length, assignments: result.assignments.length },
          "matcher run",
        );
        return candidate(seed, result.assignments);
      },
    };
  }

  async #onClosedOrRetry(info: BatchClosedInfo): Promise<void> {
    try {
      await this.#onClosed(info);
    } catch (err) {
      this.modules.logger.warn({ event: "batch_close_read_failed", batch: info.batch, err: err instanceof Error ? err.message : String(err) }, "reading a closed batch failed; retrying on the next block");
      if (info.batch + BigInt(RETAIN_BATCHES) > this.batchTable.latestBatch()) this.#closeRetries.push(info);
    }
  }

  async #onClosed(info: BatchClosedInfo): Promise<void> {
    const { publicClient } = this.modules;
    const [set, closed] = await Promise.all([
      this.#sets.load(info.referenceBlock),
      readClosedBatch(publicClient, { chainId: this.opts.chainId, serviceManager: this.opts.addresses.serviceManager }, info.batch, this.#leaderOrderLength),
    ]);
    this.batchTable.onClosed(closed);
    this.aggregator.onBatchClosed(info.batch);
    this.#joinOperators(set.operators.map((o) => o.socket ?? ""));
    this.modules.logger.info({ event: "batch_closed", batch: info.batch, referenceBlock: info.referenceBlock, closedAt: info.closedAt }, "batch closed");
  }

  async #startNetwork(net: NonNullable<AggregatorNodeOpts["network"]>): Promise<void> {
    const { publicClient, logger, metrics } = this.modules;
    const head = await publicClient.getBlockNumber();
    // Operators registered on-chain advertise their sockets: join them plus the configured bootstrap peers.
    const onChain = (await readOperatorSet(publicClient, this.opts.addresses.operatorRegistry, head)).operators.map((o) => o.socket);
    const bootstrap = [...new Set([...net.bootstrap, ...onChain.filter(isPeerAddr)])];
    this.network = await MatchnetNetwork.start<G2Point>(
      {
        ...defaultNetworkOpts,
        chainId: this.opts.chainId,
        listen: net.listen,
        bootstrap,
        allow: net.allow ?? [],
        ...(net.privateKey !== undefined ? { privateKey: net.privateKey } : {}),
        validation: { ...defaultGossipValidationOpts, unknownBatchWaitMs: net.unknownBatchWaitMs },
      },
      {
        batches: this.batchTable,
        operators: {
          operatorAt: (operatorId, referenceBlock) => this.#sets.operatorAt(toOperatorId(operatorId), referenceBlock),
        },
        verifier: this.#verifier,
        logger,
        metrics,
        bans: this.modules.bans ?? null,
        processors: {
          seed: (v) => this.#acceptSeed(v.message.batch, v.rank, { X: v.message.signature.X, Y: v.message.signature.Y }),
          partial: (v) => {
            // The partial's seed proof was verified by the validator; a seed message this node missed is learned here.
            this.#acceptSeed(v.message.batch, v.seedRank, { X: v.message.seedSignature.X, Y: v.message.seedSignature.Y });
            this.modules.enforcer?.heard(v.message.batch, toOperatorId(v.message.operatorId));
            this.addPartial({
              batch: v.message.batch,
              resultHash: v.messageHash,
              operatorId: toOperatorId(v.message.operatorId),
              signature: { X: v.message.signature.X, Y: v.message.signature.Y },
            });
          },
          resultList: (v) => {
            const m = v.message;
            const seedSignature = { X: m.seedSignature.X, Y: m.seedSignature.Y };
            this.#acceptSeed(m.batch, v.seedRank, seedSignature);
            // The list carries its publisher's verified partial: it counts like one gossiped on its own.
            this.modules.enforcer?.heard(m.batch, toOperatorId(m.operatorId));
            this.addPartial({ batch: m.batch, resultHash: v.messageHash, operatorId: toOperatorId(m.operatorId), signature: { X: m.signature.X, Y: m.signature.Y } });
            this.addResultList(m.batch, m.assignments, { operatorId: toOperatorId(m.operatorId), seedRank: v.seedRank, seedSignature });
          },
        },
      },
    );
  }

  /**
   * Operators that registered after this node started are found from the sockets in the set at each new R_b. They
   * join the network's bootstrap list, which its redial loop keeps connected (an operator restarting on a new
   * port registers a new socket and is found the same way).
   */
  #joinOperators(sockets: readonly string[]): void {
    const net = this.network;
    if (net === null) return;
    const fresh = sockets.filter((s) => isPeerAddr(s) && !net.opts.bootstrap.includes(s));
    if (fresh.length === 0) return;
    net.opts.bootstrap.push(...fresh);
    this.modules.logger.info({ event: "joining_operators", peers: fresh }, "joining operators registered on-chain");
    void net.connectBootstrap();
  }

  /**
   * Open batches without a result at quorum here SYNC_AFTER_BLOCKS blocks after their close (or after the last
   * round) are asked of peers again: this node may have missed their gossip (it restarted, or had no peer yet when
   * it started), and operators do not gossip a partial twice.
   */
  #syncLagging(head: bigint): void {
    for (const batch of this.batchTable.openBatches()) {
      const info = this.batchTable.get(batch);
      if (info === null || info.status !== BatchStatus.Open || this.aggregator.outcome(batch) !== undefined) continue;
      if (head < (this.#syncedAt.get(batch) ?? info.closedAt) + SYNC_AFTER_BLOCKS) continue;
      if (this.aggregator.pool.tallies(batch).some((t) => t.quorumAtBlock !== null)) continue;
      this.#sync(batch, head);
    }
    for (const b of this.#syncedAt.keys()) if (this.batchTable.get(b)?.status !== BatchStatus.Open) this.#syncedAt.delete(b);
  }

  /** One batch-sync round in the background; what peers send goes through the gossip validators and processors. */
  #sync(batch: bigint, head: bigint): void {
    const net = this.network;
    if (net === null || this.#stopped) return;
    this.#syncedAt.set(batch, head);
    net.requestBatch(batch).then(
      (outcome) => this.modules.logger.info({ event: "batch_synced", batch, ...outcome }, "batch sync with peers"),
      (err: unknown) => this.modules.logger.warn({ event: "batch_sync_failed", batch, err: (err as Error).message }, "batch sync failed"),
    );
  }

  /** Verify and submit shortly after a burst of gossip rather than at the next block (a CPU choice, not a deadline). */
  #schedulePoll(): void {
    if (this.#pollTimer !== null || this.#stopped) return;
    this.#pollTimer = setTimeout(() => {
      this.#pollTimer = null;
      if (this.#stopped) return;
      this.aggregator.poll().catch((err: unknown) => this.modules.logger.error({ event: "poll_failed", err }, "aggregator poll failed"));
    }, 20);
  }
}

/** A dialable socket: a TCP multiaddr ending in the peer id (registrations without one cannot be dialled). */
function isPeerAddr(socket: string): boolean {
  return /\/tcp\/\d+\/p2p\/[1-9A-HJ-NP-Za-km-z]+$/.test(socket);
}

function candidate(seed: VerifiedSeed, assignments: readonly Assignment[]): ResultCandidate {
  return { seed: seed.seed, seedProof: { signature: seed.signature, signerIndex: BigInt(seed.rank) }, assignments };
}
