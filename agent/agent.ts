/**
 * The provider agent (docs/agent.md): makes every lease of its provider reachable by its renter. It reconciles
 * against chain state at start and at every new block:
 *
 * 1. **Discover** — the logs of the blocks since the last scan only: `OfferCreated` of this provider, then
 *    `OfferVersionActivated` of its offers, then `AssignmentApplied` filtered by its version ids (a topic filter,
 *    so the node does the filtering): new leases. No order or lease of other providers is read.
 * 2. **Reconcile** — `getLease` of every lease the agent holds that is not over. Active and not ready: start the
 *    workload, seal `{endpoint, credential}` to the renter's key (protocol/handoff) and send `markLeaseReady`.
 *    Active and ready: keep its workload running. Closed, or past its end: stop the workload, free the port, and
 *    for a lease past its end still Active send `completeLease` (it settles the provider's earnings and counts the
 *    completion; anyone may, the provider is the one who cares).
 *
 * Confirmation depth: with `confirmations` N the agent does all of this against the chain at `head - N` (logs up to
 * that block, `getLease` at it, its timestamp as "now"), so it acts on a lease only once the lease's block is N deep
 * (docs/agent.md "Confirmation depth"); transactions are still sent against the head. N = 0 is the head itself.
 *
 * Crash safety: the state file (agent/state.ts) is written before every step that acts on the world, and the chain
 * is the judge of what happened: a lease recorded `sealed` whose `readyAt` is set on-chain is ready (the send went
 * through before the crash); one whose `readyAt` is 0 gets the same sealed access sent again (simulated first, so a
 * second `markLeaseReady` is never sent for a lease already ready — the contract refuses it anyway). A lease that
 * is ready on-chain but unknown to the state (the data dir was lost) cannot be served again: the credential exists
 * only in the sealed access, which only the renter can open; it is logged `agent_lease_state_lost` and left alone
 * (the renter closes it, docs/agent.md).
 */
import { createHash, randomBytes } from "node:crypto";
import { bytesToHex, getAddress, hexToBytes, type Address, type Hex, type PrivateKeyAccount, type PublicClient } from "viem";
import { marketplaceAbi, offerBookAbi } from "../protocol/chain/abi.js";
import { GPU_CATALOG } from "../protocol/market/catalog.js";
import { HandoffError, encodeAccess, seal } from "../protocol/handoff/ecies.js";
import { sealKeyOf } from "../protocol/handoff/renterKey.js";

type SealKey = Awaited<ReturnType<typeof sealKeyOf>>;
import type { Logger } from "../protocol/log/logger.js";
import { emptyState, type AgentState, type LeaseRecord, type StateStore } from "./state.js";
import { WorkloadError, type Workloads } from "./workloads.js";
import { TxSender, type Fees } from "./sender.js";
import { CodedError } from "../protocol/errors.js";

export type AgentErrorCode = "AGENT_CONFIRMATIONS_TOO_DEEP";
export class AgentError extends CodedError<AgentErrorCode> {}

const LEASE_ACTIVE = 1;
const LEASE_CLOSED = 2;
/** Blocks per eth_getLogs request: nodes cap the range (10 000 is a common limit). */
const LOG_CHUNK = 5_000n;
/** Blocks between saves of the scan cursor when nothing else changed (an fsync per block is wasted work). */
const SAVE_CURSOR_EVERY = 100n;
/** Blocks re-scanned after a lease turned out reorged out (deeper than any reorg the agent's chains are expected to have). */
const REORG_RESCAN = 64n;
/** How long a stop waits for the receipts of sends in flight, so that their leases are recorded ready before exit. */
const STOP_RECEIPT_WAIT_MS = 3_000;

export interface AgentOptions {
  chainId: number;
  marketplace: Address;
  offerBook: Address;
  /** First block of the deployment: the first scan starts there. */
  deployBlock: bigint;
  /** The host the renter connects to (advertised in the sealed access). */
  advertiseHost: string;
  pollIntervalMs: number;
  /** Blocks a block must be deep before the agent acts on it (agent/config.ts confirmationsFor); 0 = the head. */
  confirmations: number;
}

export interface AgentModules {
  client: PublicClient;
  account: PrivateKeyAccount;
  store: StateStore;
  workloads: Workloads;
  logger: Logger;
}

export type LeaseView = Awaited<ReturnType<typeof readLease>>;

async function readLease(client: PublicClient, marketplace: Address, leaseId: bigint, blockNumber: bigint) {
  return client.readContract({ address: marketplace, abi: marketplaceAbi, functionName: "getLease", args: [leaseId], blockNumber });
}

export class ProviderAgent {
  private state!: AgentState;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private lastHead = -1n;
  private savedVersions = -1;
  private savedCursor = 0n;
  private readonly sender: TxSender;
  /** `markLeaseReady` sends whose receipt is awaited, by lease id: such a lease is not sent again meanwhile. */
  private readonly inFlight = new Map<string, { hash: Hex; watch: Promise<void> }>();
  readonly stats = { readySent: 0, completed: 0, reconciles: 0 };

  private constructor(
    readonly opts: AgentOptions,
    private readonly m: AgentModules,
  ) {
    this.sender = new TxSender(m.client, m.account, opts.chainId, opts.marketplace);
  }

  get provider(): Address {
    return this.m.account.address;
  }

  /** Loads the state, reconciles once at the current head, then follows new blocks. */
  static async start(opts: AgentOptions, modules: AgentModules): Promise<ProviderAgent> {
    const agent = new ProviderAgent(opts, modules);
    await agent.checkConfirmations();
    const loaded = await modules.store.load({ provider: agent.provider, marketplace: opts.marketplace, chainId: opts.chainId });
    agent.state = loaded ?? emptyState(agent.provider, opts.marketplace, opts.chainId, opts.deployBlock - 1n);
    if (loaded === null) await modules.store.save(agent.state);
    modules.workloads.warm();
    await agent.sender.prime();
    const open = Object.values(agent.state.leases).filter((l) => l.phase === "sealed" || l.phase === "ready").length;
    modules.logger.info({ event: "agent_state_loaded", provider: agent.provider, scannedTo: agent.state.scannedTo, leases: open, fresh: loaded === null }, "state loaded");
    await agent.tick();
    agent.schedule();
    return agent;
  }

  /**
   * A lease the agent first sees at depth N is marked ready at the earliest one block later, at startBlock + N + 1;
   * its renter may close it for a handoff timeout from startBlock + handoffTimeout + 1 on. So N must be below the
   * marketplace's handoffTimeout, or every lease would be lost to the timeout.
   */
  private async checkConfirmations(): Promise<void> {
    const timeout = await this.m.client.readContract({ address: this.opts.marketplace, abi: marketplaceAbi, functionName: "handoffTimeout" });
    if (BigInt(this.opts.confirmations) >= timeout) {
      throw new AgentError(
        "AGENT_CONFIRMATIONS_TOO_DEEP",
        `confirmations: ${this.opts.confirmations} blocks, but the marketplace's handoffTimeout is ${timeout} blocks: a lease would be handed over no earlier than its renter may close it for a handoff timeout; use at most ${timeout - 1n} (docs/agent.md "Confirmation depth")`,
      );
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.tick().finally(() => this.schedule());
    }, this.opts.pollIntervalMs);
  }

  /** One poll: reconciles if the head moved. Never throws (a failure is logged and retried at the next block). */
  async tick(): Promise<void> {
    if (this.running !== null) return this.running;
    this.running = (async () => {
      try {
        // One call for the head's number, time and base fee (what the reconcile and the sends need).
        const block = await this.m.client.getBlock({ blockTag: "latest" });
        if (block.number === this.lastHead) return;
        const depth = BigInt(this.opts.confirmations);
        if (depth === 0n) {
          await this.reconcile(block.number, block.timestamp, block.baseFeePerGas);
        } else if (block.number >= this.opts.deployBlock + depth) {
          // The state N blocks below the head; the sends still use the head's base fee.
          const deep = await this.m.client.getBlock({ blockNumber: block.number - depth });
          await this.reconcile(deep.number, deep.timestamp, block.baseFeePerGas);
        }
        this.lastHead = block.number;
      } catch (err) {
        this.m.logger.error({ event: "agent_reconcile_failed", err: (err as Error).message.split("\n")[0] }, "reconcile failed; retrying at the next poll");
      }
    })().finally(() => (this.running = null));
    return this.running;
  }

  /** Stops following blocks, waits for the receipts in flight (bounded), then stops every workload. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    await this.running;
    await Promise.race([Promise.all([...this.inFlight.values()].map((f) => f.watch)), new Promise((r) => setTimeout(r, STOP_RECEIPT_WAIT_MS).unref())]);
    await this.m.workloads.stopAll();
  }

  /** The leases the agent holds, by id (a copy). */
  leases(): LeaseRecord[] {
    return Object.values(this.state.leases).map((l) => ({ ...l }));
  }

  /** Reconciles against the chain at block `at` (the head less the confirmation depth), `now` being its timestamp. */
  private async reconcile(at: bigint, now: bigint, baseFee: bigint | null): Promise<void> {
    this.stats.reconciles++;
    const found = await this.discover(at);
    const ids = new Set<string>([...found.map(String), ...Object.values(this.state.leases).filter((l) => l.phase !== "ended").map((l) => l.leaseId)]);
    // The seal key of a lease not handed over yet is looked up while its lease is read (it needs only the order id).
    const keys = new Map<string, Promise<SealKey | Error>>();
    for (const id of ids) {
      const phase = this.state.leases[id]?.phase;
      if (phase === undefined || phase === "found") {
        keys.set(id, sealKeyOf(this.m.client, this.opts.marketplace, BigInt(id), this.opts.deployBlock, at).then((k) => k, (err: unknown) => err as Error));
      }
    }
    const read = await Promise.all(
      [...ids].map(async (id) => {
        try {
          return [id, await readLease(this.m.client, this.opts.marketplace, BigInt(id), at)] as const;
        } catch (err) {
          if (revertName(err) === "MarketplaceUnknownLease") return [id, null] as const;
          throw err;
        }
      }),
    );
    // A lease unknown at a block below the one its log was found in (the head went back, or the agent restarted with
    // more confirmations) cannot be judged yet: it is left as it is until the reconciled block passes that one.
    const unjudged = new Set(read.filter(([id, l]) => l === null && at < BigInt(this.state.leases[id]?.foundAt ?? "0")).map(([id]) => id));
    const gone = read.filter(([id, l]) => l === null && !unjudged.has(id)).map(([id]) => id);
    if (gone.length > 0) await this.forgetGone(gone, at);
    const views = read.filter((x): x is readonly [string, LeaseView] => x[1] !== null);
    if (unjudged.size > 0) this.m.logger.debug({ event: "agent_lease_not_yet_deep", leaseIds: [...unjudged], block: at }, "lease found above the reconciled block: judged once that block is reached");
    const fresh: [bigint, LeaseView, Promise<SealKey | Error>][] = [];
    const rest: [bigint, LeaseView][] = [];
    for (const [id, lease] of views) {
      const isNew = (this.state.leases[id] === undefined || this.state.leases[id]!.phase === "found") && lease.status === LEASE_ACTIVE && now < lease.endsAt && lease.readyAt === 0n;
      if (isNew && getAddress(lease.provider) === this.provider) fresh.push([BigInt(id), lease, keys.get(id) ?? Promise.resolve(new Error(`lease ${id}: no seal key lookup`))]);
      else rest.push([BigInt(id), lease]);
    }
    // New leases first: nothing else of this block delays their handover.
    const fees = new Lazy(() => this.sender.fees(baseFee));
    if (fresh.length > 0 && !this.stopped) await this.handOver(fresh, at, fees);
    const resend: [bigint, LeaseRecord][] = [];
    for (const [id, lease] of rest) {
      if (this.stopped) return;
      const again = await this.reconcileLease(id, lease, now, fees);
      if (again !== null) resend.push([id, again]);
    }
    if (resend.length > 0 && !this.stopped) await this.sendReadyAll(resend, at, fees);
  }

  /**
   * Leases seen in the logs that the chain no longer knows at the reconciled block: the blocks that created them were reorged
   * out. Their workloads are stopped and their records (port, credential hash, sealed access) dropped, and the scan
   * cursor goes back REORG_RESCAN blocks so that a lease the new branch creates again under the same id is found
   * afresh (and handed over with a new credential).
   */
  private async forgetGone(ids: string[], at: bigint): Promise<void> {
    for (const id of ids) {
      const stopped = await this.m.workloads.stop(BigInt(id));
      this.inFlight.delete(id);
      delete this.state.leases[id];
      this.m.logger.warn({ event: "agent_lease_gone", leaseId: id, block: at, workloadStopped: stopped }, "lease no longer on chain (its block was reorged out): workload stopped, record dropped");
    }
    this.sender.resetNonce();
    const back = at > REORG_RESCAN ? at - REORG_RESCAN : 0n;
    if (BigInt(this.state.scannedTo) > back) this.state.scannedTo = (back > this.opts.deployBlock - 1n ? back : this.opts.deployBlock - 1n).toString();
    await this.m.store.save(this.state);
  }

  /**
   * New leases of this provider in (scannedTo, upTo]; the scan cursor is saved with what it found. The three log
   * queries (this provider's new offers, its offers' new versions, assignments to its versions) go out together;
   * offers or versions first seen in the range are followed up in the same range (an assignment needs a version
   * activated before the batch's reference block, so this only happens when catching up over many blocks).
   */
  private async discover(upTo: bigint): Promise<bigint[]> {
    const found: bigint[] = [];
    let from = BigInt(this.state.scannedTo) + 1n;
    const c = this.m.client;
    const { offerBook, marketplace } = this.opts;
    const activatedOf = (offerIds: bigint[], fromBlock: bigint, toBlock: bigint) =>
      offerIds.length === 0 ? Promise.resolve([]) : c.getContractEvents({ address: offerBook, abi: offerBookAbi, eventName: "OfferVersionActivated", args: { offerId: offerIds }, fromBlock, toBlock, strict: true });
    const appliedTo = (versionIds: bigint[], fromBlock: bigint, toBlock: bigint) =>
      versionIds.length === 0 ? Promise.resolve([]) : c.getContractEvents({ address: marketplace, abi: marketplaceAbi, eventName: "AssignmentApplied", args: { offerVersionId: versionIds }, fromBlock, toBlock, strict: true });
    while (from <= upTo) {
      const to = from + LOG_CHUNK - 1n < upTo ? from + LOG_CHUNK - 1n : upTo;
      const offers = new Map<string, number>();
      for (const v of Object.values(this.state.versions)) offers.set(v.offerId, v.modelId);
      const knownVersions = Object.keys(this.state.versions).map(BigInt);
      const [created, activated, applied] = await Promise.all([
        c.getContractEvents({ address: offerBook, abi: offerBookAbi, eventName: "OfferCreated", args: { provider: this.provider }, fromBlock: from, toBlock: to, strict: true }),
        activatedOf([...offers.keys()].map(BigInt), from, to),
        appliedTo(knownVersions, from, to),
      ]);
      const newOffers = created.filter((l) => !offers.has(l.args.offerId.toString()));
      for (const l of created) offers.set(l.args.offerId.toString(), l.args.modelId);
      const allActivated = [...activated, ...(await activatedOf(newOffers.map((l) => l.args.offerId), from, to))];
      const newVersions: bigint[] = [];
      for (const l of allActivated) {
        const key = l.args.versionId.toString();
        if (this.state.versions[key] === undefined) newVersions.push(l.args.versionId);
        this.state.versions[key] = { offerId: l.args.offerId.toString(), modelId: offers.get(l.args.offerId.toString())! };
      }
      for (const l of [...applied, ...(await appliedTo(newVersions, from, to))]) {
        const key = l.args.orderId.toString();
        if (this.state.leases[key] !== undefined) continue;
        found.push(l.args.orderId);
        this.state.leases[key] = { leaseId: key, renter: "", port: 0, credentialSha256: "", sealedAccess: "", gpuModel: "", gpuCount: 0, endsAt: "0", phase: "found", foundAt: l.blockNumber.toString() };
      }
      this.state.scannedTo = to.toString();
      from = to + 1n;
    }
    // The cursor alone is saved every SAVE_CURSOR_EVERY blocks (a restart re-scans at most that many blocks, which
    // finds nothing it does not already hold); anything found is saved at once.
    const versions = Object.keys(this.state.versions).length;
    if (found.length > 0 || versions !== this.savedVersions || upTo - this.savedCursor >= SAVE_CURSOR_EVERY) {
      await this.m.store.save(this.state);
      this.savedVersions = versions;
      this.savedCursor = upTo;
    }
    if (found.length > 0) this.m.logger.info({ event: "agent_leases_found", leaseIds: found, block: upTo }, "new leases");
    return found;
  }

  /**
   * One lease the agent already holds (or one that is over or not new). Resolves with the record when its
   * `markLeaseReady` must be sent (again), so that the caller sends all of a block's at once.
   */
  private async reconcileLease(leaseId: bigint, lease: LeaseView, now: bigint, fees: Lazy<Fees>): Promise<LeaseRecord | null> {
    const key = leaseId.toString();
    const held = this.state.leases[key];
    const rec = held?.phase === "found" ? undefined : held;
    const log = this.m.logger;
    if (getAddress(lease.provider) !== this.provider) return null; // not ours (cannot happen through the version filter)
    const over = lease.status === LEASE_CLOSED || (lease.status === LEASE_ACTIVE && now >= lease.endsAt);
    if (over || lease.status !== LEASE_ACTIVE) {
      if (lease.status === LEASE_ACTIVE) await this.complete(leaseId, fees);
      const stopped = await this.m.workloads.stop(leaseId);
      if (rec !== undefined && rec.phase !== "ended") {
        rec.phase = "ended";
        await this.m.store.save(this.state);
        log.info({ event: "agent_lease_ended", leaseId, closeReason: lease.closeReason, workloadStopped: stopped, port: rec.port }, "lease over: workload stopped, port freed");
      } else if (rec === undefined) {
        this.state.leases[key] = { leaseId: key, renter: lease.renter, port: 0, credentialSha256: "", sealedAccess: "", gpuModel: "", gpuCount: lease.gpuCount, endsAt: lease.endsAt.toString(), phase: "ended" };
        await this.m.store.save(this.state);
      }
      return null;
    }
    if (rec === undefined) {
      // Active, not new (isNew is false only because it is ready): the record was lost with the data dir.
      this.state.leases[key] = { leaseId: key, renter: lease.renter, port: 0, credentialSha256: "", sealedAccess: "", gpuModel: "", gpuCount: lease.gpuCount, endsAt: lease.endsAt.toString(), phase: "ended" };
      await this.m.store.save(this.state);
      log.error({ event: "agent_lease_state_lost", leaseId }, "lease is ready on-chain but this agent has no record of it (data dir lost?): its workload cannot be served again; the renter can close the lease");
      return null;
    }
    rec.endsAt = lease.endsAt.toString();
    try {
      if (!this.m.workloads.isRunning(leaseId)) {
        const pid = await this.m.workloads.start(this.specOf(rec));
        log.info({ event: "agent_workload_started", leaseId, port: rec.port, pid, restarted: true }, "workload started again");
      }
    } catch (err) {
      log.error({ event: "agent_workload_failed", leaseId, code: (err as WorkloadError).code, err: (err as Error).message }, "workload did not start; retrying at the next block");
      return null;
    }
    if (rec.phase === "sealed") {
      if (lease.readyAt !== 0n) {
        await this.recordReady(rec, lease.readyAt, null);
      } else if (!this.inFlight.has(key)) {
        return rec;
      }
    }
    return null;
  }

  private specOf(rec: LeaseRecord) {
    return { leaseId: BigInt(rec.leaseId), port: rec.port, credentialSha256: rec.credentialSha256, gpuModel: rec.gpuModel, gpuCount: rec.gpuCount };
  }

  /**
   * New, active, not-ready leases: the renters' keys (in parallel), then per lease a port, a credential and the
   * sealed access, recorded; then the workloads (in parallel, from the pool of spares); then `markLeaseReady` for
   * every one that listens, all sent at once.
   */
  private async handOver(fresh: [bigint, LeaseView, Promise<SealKey | Error>][], head: bigint, fees: Lazy<Fees>): Promise<void> {
    const log = this.m.logger;
    const keys = await Promise.all(fresh.map(([, , key]) => key));
    const recs: LeaseRecord[] = [];
    for (let i = 0; i < fresh.length; i++) {
      const [leaseId, lease] = fresh[i]!;
      const k = keys[i]!;
      // The order's renter (from its OrderCreated log) is the lease's: the marketplace makes a lease of an order.
      const renterKey = k instanceof Error ? k : getAddress(k.renter) === getAddress(lease.renter) ? k.key : new HandoffError("HANDOFF_KEY_NOT_RECOVERABLE", `lease ${leaseId}: renter ${lease.renter}, order created for ${k.renter}`);
      if (renterKey instanceof Error) {
        if (!(renterKey instanceof HandoffError)) throw renterKey;
        this.state.leases[leaseId.toString()] = { leaseId: leaseId.toString(), renter: lease.renter, port: 0, credentialSha256: "", sealedAccess: "", gpuModel: "", gpuCount: lease.gpuCount, endsAt: lease.endsAt.toString(), phase: "ended" };
        log.error({ event: "agent_renter_key_unrecoverable", leaseId, code: renterKey.code, err: renterKey.message }, "cannot seal access to this renter; the lease is not handed over");
        continue;
      }
      const taken = new Set(Object.values(this.state.leases).filter((l) => l.phase === "sealed" || l.phase === "ready").map((l) => l.port));
      const port = await this.m.workloads.allocatePort(taken);
      const credential = randomBytes(32).toString("base64url");
      const model = GPU_CATALOG.find((m) => m.id === this.state.versions[lease.offerVersionId.toString()]?.modelId);
      const endpoint = `http://${this.opts.advertiseHost.includes(":") ? `[${this.opts.advertiseHost}]` : this.opts.advertiseHost}:${port}/`;
      const sealed = seal(renterKey, { chainId: this.opts.chainId, marketplace: this.opts.marketplace, leaseId }, encodeAccess({ endpoint, credential }));
      const rec: LeaseRecord = {
        leaseId: leaseId.toString(),
        renter: lease.renter,
        port,
        credentialSha256: createHash("sha256").update(credential).digest("hex"),
        sealedAccess: bytesToHex(sealed),
        gpuModel: model?.name ?? `model ${this.state.versions[lease.offerVersionId.toString()]?.modelId ?? "?"}`,
        gpuCount: lease.gpuCount,
        endsAt: lease.endsAt.toString(),
        phase: "sealed",
        ...(this.state.leases[leaseId.toString()]?.foundAt !== undefined ? { foundAt: this.state.leases[leaseId.toString()]!.foundAt } : {}),
      };
      this.state.leases[rec.leaseId] = rec;
      recs.push(rec);
    }
    // Recorded before anything runs: a crash from here on restarts these leases with these ports and credential hashes.
    await this.m.store.save(this.state);
    // The sends are simulated and the fees read while the workloads start: once a workload listens, its
    // markLeaseReady only needs signing and sending.
    void fees.get().catch(() => {});
    const gases = recs.map((rec) => this.sender.simulate({ functionName: "markLeaseReady", args: [BigInt(rec.leaseId), rec.sealedAccess as Hex] }).catch((err: unknown) => err as Error));
    const started = await Promise.all(
      recs.map(async (rec) => {
        try {
          const pid = await this.m.workloads.start(this.specOf(rec));
          log.info({ event: "agent_workload_started", leaseId: rec.leaseId, port: rec.port, pid, gpuModel: rec.gpuModel, seenAt: head }, "workload started");
          return true;
        } catch (err) {
          log.error({ event: "agent_workload_failed", leaseId: rec.leaseId, code: (err as WorkloadError).code, err: (err as Error).message }, "workload did not start; retrying at the next block");
          if (err instanceof WorkloadError && err.code === "AGENT_WORKLOAD_PORT_TAKEN") {
            // Nothing was handed over yet: drop the record and pick another port at the next block.
            delete this.state.leases[rec.leaseId];
          }
          return false;
        }
      }),
    );
    if (started.some((ok) => !ok)) await this.m.store.save(this.state);
    const ready = recs.map((rec, i) => [BigInt(rec.leaseId), rec, gases[i]!] as [bigint, LeaseRecord, Promise<bigint | Error>]).filter((_, i) => started[i]);
    if (ready.length > 0 && !this.stopped) await this.sendReadyAll(ready, head, fees);
  }

  /**
   * `markLeaseReady` for each lease: all simulated at once, then sent one after the other with consecutive nonces
   * (no wait between them); each receipt is watched in the background and recorded when it comes. A lease whose
   * send is in flight is not sent again until its receipt is in or presumed lost (agent/sender.ts).
   */
  private async sendReadyAll(leases: [bigint, LeaseRecord, Promise<bigint | Error>?][], head: bigint, fees: Lazy<Fees>): Promise<void> {
    const log = this.m.logger;
    const gases = await Promise.all(leases.map(([leaseId, rec, simulated]) => simulated ?? this.sender.simulate({ functionName: "markLeaseReady", args: [leaseId, rec.sealedAccess as Hex] }).catch((err: unknown) => err as Error)));
    let fee: Fees;
    try {
      fee = await fees.get();
    } catch (err) {
      log.error({ event: "agent_lease_ready_failed", leaseIds: leases.map(([id]) => id), err: (err as Error).message.split("\n")[0] }, "fees not readable; retrying at the next block");
      return;
    }
    for (let i = 0; i < leases.length; i++) {
      const [leaseId, rec] = leases[i]!;
      const gas = gases[i]!;
      if (gas instanceof Error) {
        this.sendFailed(leaseId, gas);
        continue;
      }
      let hash: Hex;
      try {
        hash = await this.sender.send({ functionName: "markLeaseReady", args: [leaseId, rec.sealedAccess as Hex] }, gas, fee);
      } catch (err) {
        this.sendFailed(leaseId, err);
        continue;
      }
      const key = rec.leaseId;
      const watch = this.sender.receipt(hash).then(async (receipt) => {
        this.inFlight.delete(key);
        if (receipt === null) {
          log.warn({ event: "agent_lease_ready_failed", leaseId, tx: hash }, "no receipt for markLeaseReady; sent again at the next block if the lease is still not ready");
        } else if (receipt.status !== "success") {
          log.error({ event: "agent_lease_ready_failed", leaseId, tx: hash, block: receipt.blockNumber }, "markLeaseReady reverted; retrying at the next block");
        } else {
          this.stats.readySent++;
          await this.recordReady(rec, receipt.blockNumber, hash);
        }
      });
      this.inFlight.set(key, { hash, watch: watch.catch((err: unknown) => log.error({ event: "agent_lease_ready_failed", leaseId, err: (err as Error).message }, "recording the ready lease failed")) });
      log.debug({ event: "agent_lease_ready_sent", leaseId, tx: hash, seenAt: head }, "markLeaseReady sent");
    }
  }

  private sendFailed(leaseId: bigint, err: unknown): void {
    const name = revertName(err);
    if (name === "MarketplaceLeaseAlreadyReady") {
      // The previous run's send landed: the next reconcile reads readyAt and records it.
      this.m.logger.info({ event: "agent_lease_ready_confirmed", leaseId }, "lease already ready on-chain");
      return;
    }
    this.m.logger.error({ event: "agent_lease_ready_failed", leaseId, errorName: name, err: (err as Error).message.split("\n")[0] }, "markLeaseReady failed; retrying at the next block");
  }

  /** The lease is ready on-chain at `block`: recorded once (by its receipt or by a reconcile, whichever is first). */
  private async recordReady(rec: LeaseRecord, block: bigint, tx: Hex | null): Promise<void> {
    if (rec.phase !== "sealed") return;
    rec.phase = "ready";
    rec.readyBlock = block.toString();
    await this.m.store.save(this.state);
    if (tx !== null) this.m.logger.info({ event: "agent_lease_ready", leaseId: rec.leaseId, port: rec.port, block, tx, sealedBytes: hexToBytes(rec.sealedAccess as Hex).length }, "lease marked ready");
    else this.m.logger.info({ event: "agent_lease_ready_confirmed", leaseId: rec.leaseId, readyAt: block }, "lease ready on-chain");
  }

  /** `completeLease` for a lease of ours past its end, sent without waiting; a refusal (someone else completed it first) is only logged. */
  private async complete(leaseId: bigint, fees: Lazy<Fees>): Promise<void> {
    try {
      const gas = await this.sender.simulate({ functionName: "completeLease", args: [leaseId] });
      const hash = await this.sender.send({ functionName: "completeLease", args: [leaseId] }, gas, await fees.get());
      void this.sender.receipt(hash).then((r) => {
        if (r?.status === "success") {
          this.stats.completed++;
          this.m.logger.info({ event: "agent_lease_completed", leaseId, tx: hash, block: r.blockNumber }, "lease completed (earnings settled)");
        } else {
          this.m.logger.warn({ event: "agent_lease_complete_failed", leaseId, tx: hash }, "completeLease not included");
        }
      });
    } catch (err) {
      this.m.logger.warn({ event: "agent_lease_complete_failed", leaseId, errorName: revertName(err), err: (err as Error).message.split("\n")[0] }, "completeLease not sent");
    }
  }
}

/** A value read at most once, on first need. */
class Lazy<T> {
  private p: Promise<T> | null = null;
  constructor(private readonly make: () => Promise<T>) {}
  get(): Promise<T> {
    return (this.p ??= this.make());
  }
}

function revertName(err: unknown): string | undefined {
  const e = err as { walk?: (fn: (e: unknown) => boolean) => unknown };
  const r = e.walk?.((x) => (x as { name?: string }).name === "ContractFunctionRevertedError") as { data?: { errorName?: string } } | undefined;
  return r?.data?.errorName;
}
