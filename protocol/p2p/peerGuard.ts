/**
 * What one peer, one identity or one IP address may make a node do (docs/operator.md, "Hostile peers").
 *
 * gossipsub's score reacts only after validation, and validates every message of an RPC at once: on its own it lets a
 * fresh identity get dozens of messages (BLS pairings included) checked before its score graylists it, never
 * disconnects it, and a new identity costs one handshake. The guard bounds each step:
 *
 * - **validation budget**: at most `maxValidationsPerPeer` of one peer's messages are validated at once; the rest
 *   wait their turn (an honest burst is delayed, never dropped) up to `maxQueuedPerPeer`, beyond which they are
 *   ignored. A banned peer's queued messages are ignored without any work.
 * - **bans**: a peer whose messages were rejected `rejectsBeforeBan` times (or that answered a batch-sync request
 *   with a rejected message) is disconnected and refused — dials both ways and every message — for `banMs`.
 * - **per-IP limits** for addresses outside the allow list (registered operators, configured aggregators and
 *   bootstrap peers, which libp2p's own allow list lets past its global limits): at most `maxPendingPerIp`
 *   connections still in their handshake (`maxPendingTotal` from all such addresses together: the slots left are
 *   the allow list's), and an address that produced `bansBeforeIpBan` banned identities is
 *   refused for `banMs` — a new identity no longer buys a fresh budget.
 *
 * Bans (of identities and of addresses, with their end) are written to the node's LevelDB when a `store` is given
 * and read back by `restore()` at start, so a restart does not hand a banned peer a fresh budget.
 *
 * Every refusal is counted in `matchnet_p2p_refusals_total` by reason. Time comes from the injected clock.
 */
import type { Metrics } from "../metrics/metrics.js";
import type { BanId, BanStore } from "./banStore.js";

export interface PeerGuardOpts {
  /** Rejected messages (gossip) before a peer is banned. An honest peer forwards only what it accepted itself. */
  rejectsBeforeBan: number;
  /** How long a banned peer, or an IP address that produced too many banned peers, is refused. */
  banMs: number;
  /** Messages of one peer validated concurrently. */
  maxValidationsPerPeer: number;
  /** Messages of one peer waiting for validation; more are ignored (PeerBusy). */
  maxQueuedPerPeer: number;
  /** Inbound connections in their handshake per remote IP (outside the allow list). */
  maxPendingPerIp: number;
  /**
   * Inbound connections in their handshake from all IPs outside the allow list. libp2p's own limit of the same
   * number counts allow-listed handshakes too and refuses only at exact equality, so once allow-listed peers push
   * its count past the limit it admits everyone; this one counts only the others and refuses at or above.
   */
  maxPendingTotal: number;
  /** Banned identities from one IP (outside the allow list) before the IP is refused for banMs. */
  bansBeforeIpBan: number;
}

export const defaultPeerGuardOpts: PeerGuardOpts = {
  // One reject can be an accident (a peer on an older encoding); three are a pattern. With per-peer concurrency 4
  // a hostile identity gets at most about 4 + 3 messages checked in full before it is cut off.
  rejectsBeforeBan: 3,
  // Longer than a batch (tens of seconds) so that a banned peer cannot disturb the next few; short enough that a
  // peer banned by mistake (an operator that ran a broken build) is heard again within minutes of its fix.
  banMs: 10 * 60_000,
  // BLS checks are synchronous CPU work: more than a few at once from one peer only delays everyone else.
  maxValidationsPerPeer: 4,
  // An honest mesh peer relays a batch's partials and lists at once: 2 × 256 operators fit.
  maxQueuedPerPeer: 512,
  // A noise handshake completes in milliseconds on a LAN; eight in flight per address cover a restart of several
  // nodes behind one NAT (or a devnet host whose address is not on the allow list), and leave 56 of the 64 slots.
  maxPendingPerIp: 8,
  // libp2p's default is 10; with the per-IP cap, 64 takes eight addresses to fill, and a handshake lasts milliseconds.
  maxPendingTotal: 64,
  bansBeforeIpBan: 2,
};

export type RefusalReason =
  | "peer_banned"
  | "peer_busy"
  | "ban"
  | "ip_ban"
  | "conn_peer_banned"
  | "conn_ip_banned"
  | "conn_ip_pending"
  | "conn_pending_full"
  | "sync_reject"
  | "sync_round_skipped";

interface PeerState {
  rejects: number;
  active: number;
  queue: (() => void)[];
}

export class PeerGuard {
  private readonly peers = new Map<string, PeerState>();
  /** Banned peer id → until (ms). */
  private readonly bannedPeers = new Map<string, number>();
  private readonly bannedIps = new Map<string, number>();
  /** IP → times (ms) at which identities from it were banned, within banMs. */
  private readonly ipBans = new Map<string, number[]>();
  private readonly pendingByIp = new Map<string, number>();
  private pendingTotal = 0;

  /** Ban writes in flight, chained so that `settled()` waits for all of them. */
  private writes: Promise<void> = Promise.resolve();

  /**
   * `allowed`: whether an IP is on the allow list (asked each time: the list follows the operator set).
   * `store`: where bans are kept across restarts; `onStoreError` hears a write that failed (the ban holds in memory).
   */
  constructor(
    readonly opts: PeerGuardOpts,
    private readonly modules: {
      metrics: Metrics | null;
      now?: () => number;
      onBan?: (peer: string) => void;
      allowed?: (ip: string) => boolean;
      store?: BanStore | null;
      onStoreError?: (err: unknown) => void;
    },
  ) {}

  /** Loads the bans still in force from the store (expired ones are dropped there); returns how many. */
  async restore(): Promise<{ peers: number; ips: number }> {
    const store = this.modules.store;
    if (!store) return { peers: 0, ips: 0 };
    const active = await store.loadActive(this.now());
    let peers = 0;
    for (const { ban, until } of active) {
      const map = ban.kind === "peer" ? this.bannedPeers : this.bannedIps;
      // A ban made since start and a stored one: the later end holds.
      if ((map.get(ban.id) ?? 0) < until) map.set(ban.id, until);
      if (ban.kind === "peer") peers++;
    }
    return { peers, ips: active.length - peers };
  }

  /** Resolves once every ban made so far is on disk (or its write failed and was reported). */
  settled(): Promise<void> {
    return this.writes;
  }

  private now(): number {
    return (this.modules.now ?? Date.now)();
  }

  refused(reason: RefusalReason): void {
    this.modules.metrics?.p2pRefusals.inc({ reason });
  }

  isAllowedIp(ip: string): boolean {
    return this.modules.allowed?.(ip) ?? false;
  }

  isBanned(peer: string): boolean {
    const until = this.bannedPeers.get(peer);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.bannedPeers.delete(peer);
    this.peers.delete(peer);
    return false;
  }

  isIpBanned(ip: string): boolean {
    if (this.isAllowedIp(ip)) return false;
    const until = this.bannedIps.get(ip);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.bannedIps.delete(ip);
    return false;
  }

  /**
   * Runs one validation of `peer`'s message within the peer's budget; refuses without running it when the peer is
   * banned or has too many messages waiting.
   */
  async run<T>(peer: string, validate: () => Promise<T>): Promise<{ value: T } | { refused: "peer_banned" | "peer_busy" }> {
    if (this.isBanned(peer)) return this.refuse("peer_banned");
    const st = this.state(peer);
    if (st.active < this.opts.maxValidationsPerPeer && st.queue.length === 0) {
      st.active++;
    } else {
      if (st.queue.length >= this.opts.maxQueuedPerPeer) return this.refuse("peer_busy");
      // release() hands this waiter its slot (active already counts it) before waking it.
      await new Promise<void>((resolve) => st.queue.push(resolve));
    }
    try {
      // Banned while waiting: its queued messages cost nothing more.
      if (this.isBanned(peer)) return this.refuse("peer_banned");
      return { value: await validate() };
    } finally {
      st.active--;
      this.release(peer, st);
    }
  }

  /** A message of `peer` was rejected; bans it at the threshold. Returns whether it is banned now. */
  recordReject(peer: string, ip?: string): boolean {
    if (this.isBanned(peer)) return true;
    const st = this.state(peer);
    st.rejects++;
    if (st.rejects < this.opts.rejectsBeforeBan) return false;
    this.ban(peer, ip);
    return true;
  }

  /** Bans at once (a batch-sync answer with a rejected message: the responder chose every byte of it). */
  ban(peer: string, ip?: string): void {
    const now = this.now();
    const until = now + this.opts.banMs;
    this.bannedPeers.set(peer, until);
    this.persist({ kind: "peer", id: peer }, until);
    this.refused("ban");
    if (ip !== undefined && !this.isAllowedIp(ip)) {
      const recent = (this.ipBans.get(ip) ?? []).filter((t) => t > now - this.opts.banMs);
      recent.push(now);
      this.ipBans.set(ip, recent);
      if (recent.length >= this.opts.bansBeforeIpBan) {
        this.bannedIps.set(ip, until);
        this.persist({ kind: "ip", id: ip }, until);
        this.refused("ip_ban");
      }
    }
    // Waiters wake up (each holding a slot it gives back), see the ban and return without validating.
    const st = this.peers.get(peer);
    if (st) {
      for (const wake of st.queue.splice(0)) {
        st.active++;
        wake();
      }
    }
    this.modules.onBan?.(peer);
  }

  /**
   * An inbound connection from `ip` starts its handshake: false (refuse) when the IP is banned or has too many
   * handshakes in flight. `done` must be called when the handshake ends, either way.
   */
  admitInbound(ip: string): { admitted: true; done: () => void } | { admitted: false } {
    if (this.isAllowedIp(ip)) return { admitted: true, done: () => {} };
    if (this.isIpBanned(ip)) {
      this.refused("conn_ip_banned");
      return { admitted: false };
    }
    const pending = this.pendingByIp.get(ip) ?? 0;
    if (pending >= this.opts.maxPendingPerIp) {
      this.refused("conn_ip_pending");
      return { admitted: false };
    }
    if (this.pendingTotal >= this.opts.maxPendingTotal) {
      this.refused("conn_pending_full");
      return { admitted: false };
    }
    this.pendingByIp.set(ip, pending + 1);
    this.pendingTotal++;
    let released = false;
    return {
      admitted: true,
      done: () => {
        if (released) return;
        released = true;
        this.pendingTotal--;
        const n = (this.pendingByIp.get(ip) ?? 1) - 1;
        if (n <= 0) this.pendingByIp.delete(ip);
        else this.pendingByIp.set(ip, n);
      },
    };
  }

  /** The refusal starts now in memory; the write follows (a crash in between loses one ban, never more). */
  private persist(ban: BanId, until: number): void {
    const store = this.modules.store;
    if (!store) return;
    this.writes = this.writes.then(() => store.put(ban, until)).catch((err: unknown) => this.modules.onStoreError?.(err));
  }

  private refuse(reason: "peer_banned" | "peer_busy"): { refused: "peer_banned" | "peer_busy" } {
    this.refused(reason);
    return { refused: reason };
  }

  private state(peer: string): PeerState {
    let st = this.peers.get(peer);
    if (st === undefined) this.peers.set(peer, (st = { rejects: 0, active: 0, queue: [] }));
    return st;
  }

  private release(peer: string, st: PeerState): void {
    while (st.active < this.opts.maxValidationsPerPeer && st.queue.length > 0) {
      st.active++;
      st.queue.shift()!();
    }
    // Forget idle peers with a clean record: a stream of fresh identities leaves nothing behind.
    if (st.active === 0 && st.queue.length === 0 && st.rejects === 0) this.peers.delete(peer);
  }
}
