/**
 * The operator network: a libp2p node (TCP, noise, yamux, identify, gossipsub) speaking matchnet's topics, with
 * one validator per topic (validate, then process — Lodestar's split).
 *
 * The validator wrapper is the only place that turns a `GossipValidationError` into a gossipsub verdict and counts
 * it by topic and code; a failure while *processing* an accepted message is logged and counted, never turned into
 * a reject. The node's own publications are not passed to its validators (gossipsub skips them): the node acts
 * on what it produced directly.
 */
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { StrictNoSign, TopicValidatorResult, gossipsub, type GossipSub, type TopicValidatorFn } from "@libp2p/gossipsub";
import { identify } from "@libp2p/identify";
import type { Libp2p, MultiaddrConnection, PeerId, PrivateKey, Stream } from "@libp2p/interface";
import { tcp } from "@libp2p/tcp";
import { multiaddr } from "@multiformats/multiaddr";
import { sha256 } from "@noble/hashes/sha2.js";
import { EXIT_FAILURE, StartupError } from "../startupError.js";
import { createLibp2p } from "libp2p";
import { CodedError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import type { Metrics } from "../metrics/metrics.js";
import {
  BatchSyncError,
  MAX_SYNC_RESPONSE_BYTES,
  SYNC_REQUEST_BYTES,
  SyncStore,
  batchSyncProtocol,
  decodeSyncRequest,
  decodeSyncResponse,
  encodeSyncRequest,
  encodeSyncResponse,
} from "./batchSync.js";
import { GossipAction, GossipErrorCode, GossipValidationError, ignore } from "./errors.js";
import {
  encodePartialSignatureMessage,
  encodeResultListMessage,
  encodeSeedMessage,
  MAX_RESULT_LIST_BYTES,
  type PartialSignatureMessage,
  type ResultListMessage,
  type SeedMessage,
} from "./messages.js";
import type { BanStore } from "./banStore.js";
import { PeerGuard, defaultPeerGuardOpts, type PeerGuardOpts } from "./peerGuard.js";
import { matchnetScoreParams, scoreThresholds } from "./scoring.js";
import { GossipTopicName, topicString } from "./topics.js";
import { GossipValidationContext, defaultGossipValidationOpts, type GossipValidationModules, type GossipValidationOpts } from "./validation/context.js";
import { validatePartialSignatureMessage, type ValidatedPartial } from "./validation/partial.js";
import { validateResultListMessage, type ValidatedResultList } from "./validation/resultList.js";
import { validateSeedMessage, type ValidatedSeed } from "./validation/seed.js";

export interface NetworkOpts {
  chainId: number | bigint;
  /** Multiaddrs to listen on, e.g. /ip4/127.0.0.1/tcp/9000 (tcp/0 picks a free port). */
  listen: string[];
  /** Peers to connect to and keep connected to, each ending in /p2p/<peer id> (config `bootstrap`). */
  bootstrap: string[];
  /**
   * Registered operators' sockets at start (ending in /p2p/<peer id>): dialled and reserved like `bootstrap`;
   * `setChainPeers` replaces them as the operator set changes.
   */
  chainPeers?: string[];
  /** The node's libp2p identity; a fresh one each start when absent (fine for tests, not for operators). */
  privateKey?: PrivateKey;
  /** How long publish waits for a first subscriber before giving up. */
  publishTimeoutMs: number;
  /** How often disconnected bootstrap peers are dialled again. */
  redialIntervalMs: number;
  /** How long one batch-sync exchange (dial, request, response) may take. */
  syncTimeoutMs: number;
  /** A batch is asked of peers at most once per this interval (and never while a round for it is running). */
  syncMinIntervalMs: number;
  /**
   * Addresses whose IP gets reserved connection slots: the aggregators an operator expects and any trusted peer
   * (multiaddrs; only the /ip4 or /ip6 part is used). The IPs of `bootstrap` and of the chain peers, as they are
   * now, are reserved too (see `setChainPeers`).
   */
  allow: string[];
  /** How long an inbound connection may take to finish its handshake (libp2p's default is 10 s). */
  inboundUpgradeTimeoutMs: number;
  /** Per-peer and per-IP limits (protocol/p2p/peerGuard.ts). */
  guard: PeerGuardOpts;
  validation: GossipValidationOpts;
  /** Gossip degree and publish mode (gossipsub's D, Dlo, Dhi, floodPublish): see `gossipProfileFor`. */
  gossip: GossipDegree;
  /** How often libp2p pings each connected peer (its connection monitor); 0 turns the pings off. */
  pingIntervalMs: number;
}

export interface GossipDegree {
  D: number;
  Dlo: number;
  Dhi: number;
  floodPublish: boolean;
}

export const defaultNetworkOpts: Omit<NetworkOpts, "chainId" | "listen" | "bootstrap"> = {
  // Long enough for peers to reconnect after a restart (one redial interval plus identify and subscription
  // exchange, well under a second on a LAN); short enough that a node cut off reports it within a batch.
  publishTimeoutMs: 10_000,
  // A restarted operator is found again within seconds; each attempt at a dead address costs one refused TCP
  // connection.
  redialIntervalMs: 5_000,
  // A response is at most a few hundred KB from a peer one hop away; seconds mean the peer is stuck.
  syncTimeoutMs: 5_000,
  // Peers answer from memory; asking again sooner than a second only repeats the answer (and its checks).
  syncMinIntervalMs: 1_000,
  allow: [],
  // A noise + yamux handshake takes milliseconds on a LAN and well under a second across continents: 3 s frees a
  // slot held by a silent socket three times sooner than libp2p's 10 s default.
  inboundUpgradeTimeoutMs: 3_000,
  guard: defaultPeerGuardOpts,
  validation: defaultGossipValidationOpts,
  // gossipsub's and libp2p's own defaults; `gossipProfileFor` changes them for large operator sets.
  gossip: { D: 6, Dlo: 4, Dhi: 12, floodPublish: true },
  pingIntervalMs: 10_000,
};

/** Operator sets larger than this get the large-set gossip profile below. */
export const LARGE_SET_OPERATORS = 16;

/**
 * Gossip degree, publish mode and pings for an operator set of `operators` nodes. Up to LARGE_SET_OPERATORS the
 * libraries' defaults, as every 4- and 16-operator figure was measured with. Above it every operator is connected to
 * every other (reserved slots), so a message needs no wide mesh to reach all, and each extra mesh peer adds a
 * duplicate copy per message per node: D 4 / Dlo 3 / Dhi 6, own messages sent to mesh peers only (no flood
 * publish), and no libp2p pings (yamux's 30 s keep-alive still finds dead connections; the pings open a stream per
 * peer every 10 s). Measured in one process with 32 nodes, each publishing one partial per round (docs/operator.md,
 * Peer network, "Gossip degree"): CPU per round 4 507 → 1 417 ms, idle CPU of the 32 nodes 12.6 → 4.1 % of a core.
 */
export function gossipProfileFor(operators: number): Pick<NetworkOpts, "gossip" | "pingIntervalMs"> {
  if (operators <= LARGE_SET_OPERATORS) return { gossip: defaultNetworkOpts.gossip, pingIntervalMs: defaultNetworkOpts.pingIntervalMs };
  return { gossip: { D: 4, Dlo: 3, Dhi: 6, floodPublish: false }, pingIntervalMs: 0 };
}


/** What the node does with each accepted message. Errors thrown here are logged, never fed back to gossip. */
export interface GossipProcessors<PK> {
  seed?(value: ValidatedSeed<PK>, from: string): void | Promise<void>;
  partial?(value: ValidatedPartial<PK>, from: string): void | Promise<void>;
  resultList?(value: ValidatedResultList<PK>, from: string): void | Promise<void>;
}

export interface NetworkModules<PK> extends GossipValidationModules<PK> {
  processors: GossipProcessors<PK>;
  /** Where bans are kept across restarts (the node's LevelDB, protocol/p2p/banStore.ts); none in memory-only tests. */
  bans?: BanStore | null;
}

export class NetworkError extends CodedError<"PublishTimeout" | "PublishFailed" | "NotStarted"> {}

type Services = { identify: ReturnType<ReturnType<typeof identify>>; pubsub: GossipSub };
/** Members of gossipsub's implementation class that its exported interface leaves out. */
type GossipSubInternals = GossipSub & {
  getScore(id: string): number;
  streamsOutbound: ReadonlyMap<string, { rawStream: { writeStatus: string } }>;
};

const NO_PEERS = "PublishError.NoPeersSubscribedToTopic";
/** gossipsub's own cap on one message: the largest of ours (a full result list) plus room for the RPC framing. */
const MAX_TRANSMIT_BYTES = MAX_RESULT_LIST_BYTES + 4_096;
/** Batches whose seed and partial bytes are kept to answer batch-sync requests. */
const SYNC_RETAIN_BATCHES = 16;

/** What one batch-sync round returned: peers asked and answering, messages received and accepted. */
export interface BatchSyncOutcome {
  asked: number;
  answered: number;
  messages: number;
  accepted: number;
  /** Peers whose answer held a rejected message: the rest of that answer was dropped and the peer banned. */
  dropped: number;
}

export class MatchnetNetwork<PK = unknown> {
  readonly validation: GossipValidationContext<PK>;
  private readonly logger: Logger;
  private readonly metrics: Metrics | null;
  private redialTimer: NodeJS.Timeout | undefined;
  private redialing = false;
  private stopped = false;
  private readonly syncStore = new SyncStore(SYNC_RETAIN_BATCHES);
  private syncRounds = 0;
  /** Per batch: the round running now, and when the last one began (ms). */
  private readonly syncInflight = new Map<bigint, Promise<BatchSyncOutcome>>();
  private readonly syncStartedAt = new Map<bigint, number>();
  readonly guard: PeerGuard;
  private readonly receivers = new Map<GossipTopicName, (data: Uint8Array, from: string) => Promise<"accept" | GossipAction>>();

  private constructor(
    readonly opts: NetworkOpts,
    readonly libp2p: Libp2p<Services>,
    private readonly modules: NetworkModules<PK>,
    guard: PeerGuard,
    /** The configured bootstrap peers: always dialled and reserved, whatever the chain says. */
    private readonly configuredBootstrap: readonly string[],
  ) {
    this.guard = guard;
    this.validation = new GossipValidationContext(opts.validation, modules);
    this.logger = modules.logger;
    this.metrics = modules.metrics;
  }

  /** Creates, starts and wires the node: listens, subscribes to every topic, registers validators, dials peers. */
  static async start<PK>(given: NetworkOpts, modules: NetworkModules<PK>): Promise<MatchnetNetwork<PK>> {
    const configured = [...given.bootstrap];
    const opts: NetworkOpts = { ...given, bootstrap: joinPeers(configured, given.chainPeers ?? [], given.privateKey?.publicKey.toString()) };
    const allowIps = new Set(opts.allow.map(ipOf).filter((ip) => ip !== undefined));
    let hangUp: (peer: string) => void = () => {};
    // The dial list follows the operator set (setChainPeers): a reserved IP is one of the list as it is now, so an
    // operator registered after start is reserved from its registration on, and one that left is not any more.
    const allowed = (ip: string) => allowIps.has(ip) || opts.bootstrap.some((a) => ipOf(a) === ip);
    const guard = new PeerGuard(opts.guard, {
      metrics: modules.metrics,
      onBan: (peer) => hangUp(peer),
      allowed,
      store: modules.bans ?? null,
      onStoreError: (err) => modules.logger.error({ err }, "peer ban not written to the database: it holds until this node stops"),
    });
    // Before the first connection: a peer banned before a restart is refused from the first byte.
    const restored = await guard.restore();
    if (restored.peers + restored.ips > 0) modules.logger.info({ ...restored }, "peer bans restored from the database");
    /** Per inbound connection in its handshake, the release of its per-IP slot. */
    const pending = new WeakMap<MultiaddrConnection, () => void>();
    const libp2p = await createLibp2p<Services>({
      ...(opts.privateKey ? { privateKey: opts.privateKey } : {}),
      addresses: { listen: opts.listen },
      connectionManager: {
        // Reserved slots: allow-listed addresses pass libp2p's global handshake and connection limits. This list
        // covers the moment between listening and followAllowList below, which makes it follow `allowed`.
        allow: [...new Set([...opts.allow, ...opts.bootstrap].map(ipOf).filter((ip) => ip !== undefined))].map((ip) => `/${ip.includes(":") ? "ip6" : "ip4"}/${ip}`),
        inboundUpgradeTimeout: opts.inboundUpgradeTimeoutMs,
        // The guard enforces the same bound correctly for addresses outside the allow list (peerGuard.ts,
        // maxPendingTotal); libp2p's is kept as a second line.
        maxIncomingPendingConnections: opts.guard.maxPendingTotal,
      },
      connectionMonitor: opts.pingIntervalMs > 0 ? { pingInterval: opts.pingIntervalMs } : { enabled: false },
      connectionGater: {
        denyInboundConnection: (maConn) => {
          const ip = ipOf(maConn.remoteAddr.toString());
          if (ip === undefined) return false;
          const admission = guard.admitInbound(ip);
          if (!admission.admitted) return true;
          pending.set(maConn, admission.done);
          maConn.addEventListener("close", admission.done, { once: true });
          return false;
        },
        denyInboundEncryptedConnection: (peer) => {
          if (!guard.isBanned(peer.toString())) return false;
          guard.refused("conn_peer_banned");
          return true;
        },
        denyInboundUpgradedConnection: (_peer, maConn) => {
          pending.get(maConn)?.();
          return false;
        },
        denyDialPeer: (peer) => guard.isBanned(peer.toString()),
      },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: {
        identify: identify(),
        pubsub: gossipsub({
          // Signatures that matter are BLS ones inside the messages; libp2p envelope signatures would only make
          // the same content from two relays look different, defeating content-addressed ids.
          globalSignaturePolicy: StrictNoSign,
          msgIdFn: (msg) => sha256(msg.data),
          scoreParams: matchnetScoreParams(opts.chainId),
          scoreThresholds,
          maxInboundDataLength: MAX_TRANSMIT_BYTES,
          // Re-publishing identical bytes (a restarted node re-gossiping its stored signature) is not an error.
          ignoreDuplicatePublishError: true,
          emitSelf: false,
          D: opts.gossip.D,
          Dlo: opts.gossip.Dlo,
          Dhi: opts.gossip.Dhi,
          floodPublish: opts.gossip.floodPublish,
        }),
      },
    }).catch((err: unknown) => {
      throw p2pListenFailure(err, opts.listen);
    });
    followAllowList(libp2p, allowed);
    const network = new MatchnetNetwork(opts, libp2p, modules, guard, configured);
    hangUp = (peer) => {
      const conn = libp2p.getConnections().find((c) => c.remotePeer.toString() === peer);
      if (conn) void libp2p.hangUp(conn.remotePeer).catch(() => {});
      modules.logger.warn({ peer }, "peer banned: disconnected and refused for a while");
    };
    network.wire();
    await libp2p.handle(batchSyncProtocol(opts.chainId), (stream) => network.serveSync(stream));
    await network.connectBootstrap();
    network.redialTimer = setInterval(() => {
      // A dial to a dead address can outlast the interval; never stack rounds.
      if (network.redialing) return;
      network.redialing = true;
      void network.connectBootstrap().finally(() => (network.redialing = false));
    }, opts.redialIntervalMs);
    network.redialTimer.unref();
    return network;
  }

  /**
   * Replaces the peers learnt from the chain (the registered operators' sockets at the latest reference block): they
   * are dialled on the next redial round, and their IPs hold reserved connection slots from now on; the IPs of
   * operators that left the set are not reserved any more (unless configured). Own socket and malformed ones are
   * skipped.
   */
  setChainPeers(sockets: readonly string[]): void {
    const next = joinPeers(this.configuredBootstrap, sockets, this.peerId.toString());
    this.opts.bootstrap.splice(0, this.opts.bootstrap.length, ...next);
  }

  get peerId(): PeerId {
    return this.libp2p.peerId;
  }

  /** Listening addresses including /p2p/<peer id>: what others put in their bootstrap lists. */
  multiaddrs(): string[] {
    return this.libp2p.getMultiaddrs().map((m) => m.toString());
  }

  peerCount(): number {
    return this.libp2p.getPeers().length;
  }

  topic(name: GossipTopicName): string {
    return topicString(name, this.opts.chainId);
  }

  /** Subscribers known for a topic (peers that told us they listen to it). */
  subscribers(name: GossipTopicName): string[] {
    return this.libp2p.services.pubsub.getSubscribers(this.topic(name)).map((p) => p.toString());
  }

  /** The gossipsub score this node gives a peer. */
  peerScore(peer: PeerId | string): number {
    const pubsub = this.libp2p.services.pubsub as GossipSubInternals;
    return pubsub.getScore(peer.toString());
  }

  publishSeed(m: SeedMessage): Promise<number> {
    return this.publishRaw(GossipTopicName.Seed, encodeSeedMessage(m));
  }

  publishPartial(m: PartialSignatureMessage): Promise<number> {
    return this.publishRaw(GossipTopicName.Partial, encodePartialSignatureMessage(m));
  }

  publishResultList(m: ResultListMessage): Promise<number> {
    return this.publishRaw(GossipTopicName.ResultList, encodeResultListMessage(m));
  }

  /**
   * Publishes bytes on a topic and returns how many peers it was sent to. With no subscriber we can write to yet
   * (right after start, or while peers reconnect) it waits for one until `publishTimeoutMs`, then fails with
   * PublishTimeout.
   */
  async publishRaw(name: GossipTopicName, data: Uint8Array): Promise<number> {
    const topic = this.topic(name);
    // Servable to batch-sync requests even if no peer hears it now (that is when sync matters).
    this.syncStore.add(name, data);
    const deadline = Date.now() + this.opts.publishTimeoutMs;
    for (;;) {
      if (this.stopped) throw new NetworkError("NotStarted", "network stopped");
      if (this.hasWritableSubscriber(topic)) {
        try {
          const { recipients } = await this.libp2p.services.pubsub.publish(topic, data);
          return recipients.length;
        } catch (err) {
          // NO_PEERS here: subscribers we can write to, but none gossipsub will send to (score below its threshold).
          if ((err as Error).message !== NO_PEERS) throw new NetworkError("PublishFailed", `publish on ${topic} failed: ${(err as Error).message}`, { cause: err });
        }
      }
      if (Date.now() >= deadline) throw new NetworkError("PublishTimeout", `no subscriber to ${topic} within ${this.opts.publishTimeoutMs} ms`);
      // Subscriptions and streams come with peers' RPCs and connections: polling every 25 ms is simpler than tracking
      // those events and costs nothing measurable while waiting.
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.redialTimer);
    await this.libp2p.stop();
    // The caller closes the database next: the last bans must be on disk first.
    await this.guard.settled();
  }

  /** Dials every bootstrap peer not connected now; failures are logged and retried on the next interval. */
  async connectBootstrap(): Promise<void> {
    const connected = new Set(this.libp2p.getPeers().map((p) => p.toString()));
    await Promise.all(
      this.opts.bootstrap.map(async (addr) => {
        const peer = /\/p2p\/([^/]+)$/.exec(addr)?.[1];
        if (peer === this.peerId.toString() || (peer !== undefined && connected.has(peer))) return;
        try {
          await this.libp2p.dial(multiaddr(addr));
        } catch (err) {
          if (!this.stopped) this.logger.debug({ addr, err: (err as Error).message }, "bootstrap dial failed");
        }
      }),
    );
  }

  private wire(): void {
    const pubsub = this.libp2p.services.pubsub;
    const { processors } = this.modules;
    this.register(GossipTopicName.Seed, (d) => validateSeedMessage(this.validation, d), processors.seed);
    this.register(GossipTopicName.Partial, (d) => validatePartialSignatureMessage(this.validation, d), processors.partial);
    this.register(GossipTopicName.ResultList, (d) => validateResultListMessage(this.validation, d), processors.resultList);
    for (const name of Object.values(GossipTopicName)) pubsub.subscribe(this.topic(name));
    const updatePeers = () => this.metrics?.peers.set(this.libp2p.getPeers().length);
    this.libp2p.addEventListener("peer:connect", updatePeers);
    this.libp2p.addEventListener("peer:disconnect", updatePeers);
  }

  private register<T>(
    name: GossipTopicName,
    validate: (data: Uint8Array) => Promise<T>,
    process: ((value: T, from: string) => void | Promise<void>) | undefined,
  ): void {
    this.receivers.set(name, async (data, from) => {
      let value: T;
      try {
        value = await validate(data);
      } catch (err) {
        const e = this.asValidationError(name, err);
        this.metrics?.gossipValidation.inc({ topic: name, verdict: e.action, code: e.code });
        this.logger.debug({ topic: name, code: e.code, action: e.action, peer: from, reason: e.message }, "gossip message not accepted");
        return e.action;
      }
      this.metrics?.gossipValidation.inc({ topic: name, verdict: "accept", code: "ok" });
      this.syncStore.add(name, data);
      if (process) {
        // After the verdict, off the validation path: processing may be slow and must never change the verdict.
        setImmediate(() => {
          Promise.resolve()
            .then(() => process(value, from))
            .catch((err: unknown) => {
              this.metrics?.gossipProcessErrors.inc({ topic: name });
              this.logger.warn({ event: "gossip_processing_failed", topic: name, err }, "processing an accepted gossip message failed");
            });
        });
      }
      return "accept";
    });
    const validator: TopicValidatorFn = async (peer, msg) => {
      const from = peer.toString();
      const run = await this.guard.run(from, () => this.receive(name, msg.data, from));
      if ("refused" in run) {
        this.metrics?.gossipValidation.inc({ topic: name, verdict: GossipAction.Ignore, code: run.refused === "peer_banned" ? GossipErrorCode.PeerBanned : GossipErrorCode.PeerBusy });
        return TopicValidatorResult.Ignore;
      }
      if (run.value === GossipAction.Reject) this.guard.recordReject(from, this.ipOfPeer(from));
      return run.value === "accept" ? TopicValidatorResult.Accept : run.value === GossipAction.Reject ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore;
    };
    this.libp2p.services.pubsub.topicValidators.set(this.topic(name), validator);
  }

  /** Validate → count → process, the same path for gossip and for batch-sync responses. */
  private receive(name: GossipTopicName, data: Uint8Array, from: string): Promise<"accept" | GossipAction> {
    const receiver = this.receivers.get(name);
    if (receiver === undefined) return Promise.resolve(GossipAction.Ignore);
    return receiver(data, from);
  }

  /**
   * Asks up to `maxPeers` connected peers for what they hold of `batch` (seeds and partials) and runs every message
   * through the topic validators and processors, as if gossiped. For a node that joined or restarted while the
   * batch was open. Failures of single peers (no such protocol, timeout, malformed answer) are logged and skipped.
   */
  requestBatch(batch: bigint, maxPeers = 3): Promise<BatchSyncOutcome> {
    // One round per batch at a time, and at most one per syncMinIntervalMs: callers that catch up on many blocks
    // at once (a node after a pause) would otherwise start a round per block.
    const running = this.syncInflight.get(batch);
    if (running !== undefined) return running;
    const last = this.syncStartedAt.get(batch);
    if (last !== undefined && Date.now() - last < this.opts.syncMinIntervalMs) {
      this.guard.refused("sync_round_skipped");
      return Promise.resolve({ asked: 0, answered: 0, messages: 0, accepted: 0, dropped: 0 });
    }
    this.syncStartedAt.set(batch, Date.now());
    for (const b of this.syncStartedAt.keys()) if (b + BigInt(SYNC_RETAIN_BATCHES) < batch) this.syncStartedAt.delete(b);
    const round = this.syncRound(batch, maxPeers).finally(() => this.syncInflight.delete(batch));
    this.syncInflight.set(batch, round);
    return round;
  }

  private async syncRound(batch: bigint, maxPeers: number): Promise<BatchSyncOutcome> {
    // Each round starts one peer further along the list, so that repeated rounds do not keep asking the same few.
    const all = this.libp2p.getPeers().filter((p) => !this.guard.isBanned(p.toString()));
    const start = all.length === 0 ? 0 : this.syncRounds++ % all.length;
    const peers = [...all.slice(start), ...all.slice(0, start)].slice(0, maxPeers);
    const outcome: BatchSyncOutcome = { asked: peers.length, answered: 0, messages: 0, accepted: 0, dropped: 0 };
    const answers = await Promise.all(
      peers.map(async (peer) => {
        try {
          return { peer: peer.toString(), messages: decodeSyncResponse(await this.exchange(peer, encodeSyncRequest(batch))) };
        } catch (err) {
          if (!this.stopped) this.logger.debug({ batch, peer: peer.toString(), err: (err as Error).message }, "batch sync with a peer failed");
          return null;
        }
      }),
    );
    for (const answer of answers) {
      if (answer === null) continue;
      outcome.answered++;
      for (const m of answer.messages) {
        outcome.messages++;
        const verdict = await this.receive(m.topic, m.data, answer.peer);
        if (verdict === "accept") outcome.accepted++;
        if (verdict === GossipAction.Reject) {
          // Every byte of an answer is the responder's choice (it relays nothing it did not accept itself): one
          // rejected message and the rest of the answer is dropped unread, and the responder banned.
          outcome.dropped++;
          this.guard.refused("sync_reject");
          this.logger.warn({ batch, peer: answer.peer, at: outcome.messages }, "batch sync answer held a rejected message: dropped, peer banned");
          this.guard.ban(answer.peer, this.ipOfPeer(answer.peer));
          break;
        }
      }
    }
    this.logger.debug({ batch, ...outcome }, "batch sync done");
    return outcome;
  }

  /** The remote IP of a connected peer (its first connection), for per-IP accounting. */
  private ipOfPeer(peer: string): string | undefined {
    const conn = this.libp2p.getConnections().find((c) => c.remotePeer.toString() === peer);
    return conn === undefined ? undefined : ipOf(conn.remoteAddr.toString());
  }

  private async exchange(peer: PeerId, request: Uint8Array): Promise<Uint8Array> {
    const signal = AbortSignal.timeout(this.opts.syncTimeoutMs);
    const stream = await this.libp2p.dialProtocol(peer, batchSyncProtocol(this.opts.chainId), { signal });
    try {
      stream.send(request);
      await stream.close({ signal });
      return await readAll(stream, MAX_SYNC_RESPONSE_BYTES, signal);
    } catch (err) {
      stream.abort(err as Error);
      throw err;
    }
  }

  /** Answers one batch-sync request with the seeds and partials held for that batch. */
  private async serveSync(stream: Stream): Promise<void> {
    const signal = AbortSignal.timeout(this.opts.syncTimeoutMs);
    try {
      const batch = decodeSyncRequest(await readAll(stream, SYNC_REQUEST_BYTES, signal));
      stream.send(encodeSyncResponse(this.syncStore.messages(batch)));
      await stream.close({ signal });
    } catch (err) {
      this.logger.debug({ err: (err as Error).message }, "batch sync request not served");
      stream.abort(err as Error);
    }
  }

  private asValidationError(name: GossipTopicName, err: unknown): GossipValidationError {
    if (err instanceof GossipValidationError) return err;
    // Our bug or a failing dependency (an RPC view, the verifier): not the sender's fault, so never a reject.
    this.logger.error({ topic: name, err }, "gossip validator failed");
    return ignore(GossipErrorCode.ValidatorFailed, (err as Error)?.message ?? String(err));
  }

  /**
   * Whether some peer that subscribes to the topic also has our outbound gossipsub stream open. A subscription
   * arrives on the peer's stream to us, which can be ready before ours to it (both are opened on connect); a
   * publish in that gap reaches nobody, and the message, already in the seen cache, could not be published again.
   */
  private hasWritableSubscriber(topic: string): boolean {
    const pubsub = this.libp2p.services.pubsub as GossipSubInternals;
    // A stream of a connection that just closed stays in the map until its close event: not writable.
    return pubsub.getSubscribers(topic).some((peer) => pubsub.streamsOutbound.get(peer.toString())?.rawStream.writeStatus === "writable");
  }
}

/** `configured` then the dialable `sockets` (ending in /p2p/<id>) not listed yet, without this node's own. */
function joinPeers(configured: readonly string[], sockets: readonly string[], self: string | undefined): string[] {
  const out = [...configured];
  for (const s of sockets) {
    const id = /\/p2p\/([^/]+)$/.exec(s)?.[1];
    if (id === undefined || id === self || out.includes(s)) continue;
    out.push(s);
  }
  return out;
}

/**
 * libp2p's connection manager takes its allow list (reserved slots past the global handshake and connection limits,
 * and exemption from pruning) once, at construction, and offers no call to change it. Its two copies — the
 * manager's and the pruner's — are lists of IP networks asked `contains(host)`; each is replaced by one entry that
 * asks `allowed`, so the reservation follows the operator set. A libp2p release that moves these fields fails
 * here, at start, instead of silently reserving nothing (test/p2p/hostile-peers.test.ts covers the behaviour).
 */
function followAllowList(libp2p: Libp2p<Services>, allowed: (ip: string) => boolean): void {
  type AllowHolder = { allow?: unknown };
  const manager = (libp2p as unknown as { components?: { connectionManager?: AllowHolder & { connectionPruner?: AllowHolder } } }).components?.connectionManager;
  const live = { contains: (host: string) => allowed(host) };
  for (const [name, holder] of [["connection manager", manager], ["connection pruner", manager?.connectionPruner]] as const) {
    if (!Array.isArray(holder?.allow)) throw new Error(`libp2p's ${name} has no allow list to follow the operator set: this libp2p version is not supported`);
    holder.allow.splice(0, holder.allow.length, live);
  }
}

/** The IP of a multiaddr starting /ip4/… or /ip6/…, or undefined. */
export function ipOf(addr: string): string | undefined {
  return /^\/ip[46]\/([^/]+)/.exec(addr)?.[1];
}

/** Reads a stream to its end; more than `limit` bytes is an error (a peer may not make us buffer without bound). */
async function readAll(stream: Stream, limit: number, signal: AbortSignal): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  // A peer that never ends its side would hold the read forever: the deadline aborts the stream.
  const onAbort = () => stream.abort(new BatchSyncError("batch sync timed out"));
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    for await (const chunk of stream) {
      const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray();
      length += bytes.length;
      if (length > limit) throw new BatchSyncError(`batch sync message over ${limit} bytes`);
      chunks.push(bytes);
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
  if (signal.aborted) throw new BatchSyncError("batch sync timed out");
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * libp2p's answer to a listen address it could not bind lists every address with a stack and advises a libp2p
 * setting (`transportManager.faultTolerance`) that matchnet's config does not have; this names the config field
 * (`listen`) and what to do instead. Other errors are returned unchanged.
 */
export function p2pListenFailure(err: unknown, listen: readonly string[]): unknown {
  const text = err instanceof Error ? err.message : String(err);
  if (!(err instanceof Error) || err.name !== "UnsupportedListenAddressesError") return err;
  const inUse = /EADDRINUSE/.test(text);
  return new StartupError(
    EXIT_FAILURE,
    inUse
      ? `listen: ${listen.join(", ")} is already in use by another process (a node already running with this config?); stop that process, or set listen to a free port (/tcp/0 picks any)`
      : `listen: cannot listen on ${listen.join(", ")}: ${/: (Error: [^\n]*)/.exec(text)?.[1] ?? "not a usable address"}; set listen to an address of this machine, like /ip4/0.0.0.0/tcp/9000`,
    { cause: err },
  );
}
