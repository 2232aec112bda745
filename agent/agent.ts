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
 * Crash safety: the state file (agent/state.ts) is written before every step that acts on the world, and the chain
 * is the judge of what happened: a lease recorded `sealed` whose `readyAt` is set on-chain is ready (the send went
 * through before the crash); one whose `readyAt` is 0 gets the same sealed access sent again (simulated first, so a
 * second `markLeaseReady` is never sent for a lease already ready — the contract refuses it anyway). A lease that
 * is ready on-chain but unknown to the state (the data dir was lost) cannot be served again: the credential exists
 * only in the sealed access, which only the renter can open; it is logged `agent_lease_state_lost` and left alone
 * (the renter closes it, docs/agent.md).
 */
import { createHash, randomBytes } from "node:crypto";
import { bytesToHex, getAddress, hexToBytes, type Address, type Hex, type PrivateKeyAccount, type PublicClient, type WalletClient } from "viem";
import { marketplaceAbi, offerBookAbi } from "../protocol/chain/abi.js";
import { GPU_CATALOG } from "../protocol/market/catalog.js";
import { HandoffError, encodeAccess, seal } from "../protocol/handoff/ecies.js";
import { renterPublicKey } from "../protocol/handoff/renterKey.js";
import type { Logger } from "../protocol/log/logger.js";
import { emptyState, type AgentState, type LeaseRecord, type StateStore } from "./state.js";
import { WorkloadError, type Workloads } from "./workloads.js";

const LEASE_ACTIVE = 1;
const LEASE_CLOSED = 2;
/** Blocks per eth_getLogs request: nodes cap the range (10 000 is a common limit). */
const LOG_CHUNK = 5_000n;
/** Blocks between saves of the scan cursor when nothing else changed (an fsync per block is wasted work). */
const SAVE_CURSOR_EVERY = 100n;

export interface AgentOptions {
  chainId: number;
  marketplace: Address;
  offerBook: Address;
  /** First block of the deployment: the first scan starts there. */
  deployBlock: bigint;
  /** The host the renter connects to (advertised in the sealed access). */
  advertiseHost: string;
  pollIntervalMs: number;
}

export interface AgentModules {
  client: PublicClient;
  wallet: WalletClient;
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
  /** Leases whose send failed this block (retried at the next). */
  readonly stats = { readySent: 0, completed: 0, reconciles: 0 };

  private constructor(
    readonly opts: AgentOptions,
    private readonly m: AgentModules,
  ) {}

  get provider(): Address {
    return this.m.account.address;
  }

  /** Loads the state, reconciles once at the current head, then follows new blocks. */
  static async start(opts: AgentOptions, modules: AgentModules): Promise<ProviderAgent> {
    const agent = new ProviderAgent(opts, modules);
    const loaded = await modules.store.load({ provider: agent.provider, marketplace: opts.marketplace, chainId: opts.chainId });
    agent.state = loaded ?? emptyState(agent.provider, opts.marketplace, opts.chainId, opts.deployBlock - 1n);
    if (loaded === null) await modules.store.save(agent.state);
    modules.workloads.warm();
    const open = Object.values(agent.state.leases).filter((l) => l.phase === "sealed" || l.phase === "ready").length;
    modules.logger.info({ event: "agent_state_loaded", provider: agent.provider, scannedTo: agent.state.scannedTo, leases: open, fresh: loaded === null }, "state loaded");
    await agent.tick();
    agent.schedule();
    return agent;
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
        const head = await this.m.client.getBlockNumber({ cacheTime: 0 });
        if (head === this.lastHead) return;
        await this.reconcile(head);
        this.lastHead = head;
      } catch (err) {
        this.m.logger.error({ event: "agent_reconcile_failed", err: (err as Error).message.split("\n")[0] }, "reconcile failed; retrying at the next poll");
      }
    })().finally(() => (this.running = null));
    return this.running;
  }

  /** Stops following blocks, then stops every workload (nothing is left running). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    await this.running;
    await this.m.workloads.stopAll();
  }

  /** The leases the agent holds, by id (a copy). */
  leases(): LeaseRecord[] {
    return Object.values(this.state.leases).map((l) => ({ ...l }));
  }

  private async reconcile(head: bigint): Promise<void> {
    this.stats.reconciles++;
    const found = await this.discover(head);
    const block = await this.m.client.getBlock({ blockNumber: head });
    const ids = new Set<string>([...found.map(String), ...Object.values(this.state.leases).filter((l) => l.phase !== "ended").map((l) => l.leaseId)]);
    const views = await Promise.all([...ids].map(async (id) => [id, await readLease(this.m.client, this.opts.marketplace, BigInt(id), head)] as const));
    const fresh: [bigint, LeaseView][] = [];
    for (const [id, lease] of views) {
      if (this.stopped) return;
      const isNew = (this.state.leases[id] === undefined || this.state.leases[id]!.phase === "found") && lease.status === LEASE_ACTIVE && block.timestamp < lease.endsAt && lease.readyAt === 0n;
      if (isNew && getAddress(lease.provider) === this.provider) fresh.push([BigInt(id), lease]);
      else await this.reconcileLease(BigInt(id), lease, block.timestamp, head);
    }
    if (fresh.length > 0 && !this.stopped) await this.handOver(fresh, head);
  }

  /** New leases of this provider in (scannedTo, head]; the scan cursor is saved with what it found. */
  private async discover(head: bigint): Promise<bigint[]> {
    const found: bigint[] = [];
    let from = BigInt(this.state.scannedTo) + 1n;
    while (from <= head) {
      const to = from + LOG_CHUNK - 1n < head ? from + LOG_CHUNK - 1n : head;
      const created = await this.m.client.getContractEvents({ address: this.opts.offerBook, abi: offerBookAbi, eventName: "OfferCreated", args: { provider: this.provider }, fromBlock: from, toBlock: to, strict: true });
      const offers = new Map<string, number>();
      for (const v of Object.values(this.state.versions)) offers.set(v.offerId, v.modelId);
      for (const l of created) offers.set(l.args.offerId.toString(), l.args.modelId);
      if (offers.size > 0) {
        const activated = await this.m.client.getContractEvents({ address: this.opts.offerBook, abi: offerBookAbi, eventName: "OfferVersionActivated", args: { offerId: [...offers.keys()].map(BigInt) }, fromBlock: from, toBlock: to, strict: true });
        for (const l of activated) this.state.versions[l.args.versionId.toString()] = { offerId: l.args.offerId.toString(), modelId: offers.get(l.args.offerId.toString())! };
      }
      const versionIds = Object.keys(this.state.versions).map(BigInt);
      if (versionIds.length > 0) {
        const applied = await this.m.client.getContractEvents({ address: this.opts.marketplace, abi: marketplaceAbi, eventName: "AssignmentApplied", args: { offerVersionId: versionIds }, fromBlock: from, toBlock: to, strict: true });
        for (const l of applied) {
          const key = l.args.orderId.toString();
          if (this.state.leases[key] !== undefined) continue;
          found.push(l.args.orderId);
          this.state.leases[key] = { leaseId: key, renter: "", port: 0, credentialSha256: "", sealedAccess: "", gpuModel: "", gpuCount: 0, endsAt: "0", phase: "found" };
        }
      }
      this.state.scannedTo = to.toString();
      from = to + 1n;
    }
    // The cursor alone is saved every SAVE_CURSOR_EVERY blocks (a restart re-scans at most that many blocks, which
    // finds nothing it does not already hold); anything found is saved at once.
    const versions = Object.keys(this.state.versions).length;
    if (found.length > 0 || versions !== this.savedVersions || head - this.savedCursor >= SAVE_CURSOR_EVERY) {
      await this.m.store.save(this.state);
      this.savedVersions = versions;
      this.savedCursor = head;
    }
    if (found.length > 0) this.m.logger.info({ event: "agent_leases_found", leaseIds: found, block: head }, "new leases");
    return found;
  }

  private async reconcileLease(leaseId: bigint, lease: LeaseView, now: bigint, head: bigint): Promise<void> {
    const key = leaseId.toString();
    const held = this.state.leases[key];
    const rec = held?.phase === "found" ? undefined : held;
    const log = this.m.logger;
    if (getAddress(lease.provider) !== this.provider) return; // not ours (cannot happen through the version filter)
    const over = lease.status === LEASE_CLOSED || (lease.status === LEASE_ACTIVE && now >= lease.endsAt);
    if (over || lease.status !== LEASE_ACTIVE) {
      if (lease.status === LEASE_ACTIVE) await this.complete(leaseId);
      const stopped = await this.m.workloads.stop(leaseId);
      if (rec !== undefined && rec.phase !== "ended") {
        rec.phase = "ended";
        await this.m.store.save(this.state);
        log.info({ event: "agent_lease_ended", leaseId, closeReason: lease.closeReason, workloadStopped: stopped, port: rec.port }, "lease over: workload stopped, port freed");
      } else if (rec === undefined) {
        this.state.leases[key] = { leaseId: key, renter: lease.renter, port: 0, credentialSha256: "", sealedAccess: "", gpuModel: "", gpuCount: lease.gpuCount, endsAt: lease.endsAt.toString(), phase: "ended" };
        await this.m.store.save(this.state);
      }
      return;
    }
    if (rec === undefined) {
      if (lease.readyAt !== 0n) {
        this.state.leases[key] = { leaseId: key, renter: lease.renter, port: 0, credentialSha256: "", sealedAccess: "", gpuModel: "", gpuCount: lease.gpuCount, endsAt: lease.endsAt.toString(), phase: "ended" };
        await this.m.store.save(this.state);
        log.error({ event: "agent_lease_state_lost", leaseId }, "lease is ready on-chain but this agent has no record of it (data dir lost?): its workload cannot be served again; the renter can close the lease");
        return;
      }
      await this.handOver([[leaseId, lease]], head);
      return;
    }
    rec.endsAt = lease.endsAt.toString();
    try {
      if (!this.m.workloads.isRunning(leaseId)) {
        const pid = await this.m.workloads.start(this.specOf(rec));
        log.info({ event: "agent_workload_started", leaseId, port: rec.port, pid, restarted: true }, "workload started again");
      }
    } catch (err) {
      log.error({ event: "agent_workload_failed", leaseId, code: (err as WorkloadError).code, err: (err as Error).message }, "workload did not start; retrying at the next block");
      return;
    }
    if (rec.phase === "sealed") {
      if (lease.readyAt !== 0n) {
        rec.phase = "ready";
        rec.readyBlock = lease.readyAt.toString();
        await this.m.store.save(this.state);
        log.info({ event: "agent_lease_ready_confirmed", leaseId, readyAt: lease.readyAt }, "lease ready on-chain");
      } else {
        await this.sendReady(leaseId, rec);
      }
    }
  }

  private specOf(rec: LeaseRecord) {
    return { leaseId: BigInt(rec.leaseId), port: rec.port, credentialSha256: rec.credentialSha256, gpuModel: rec.gpuModel, gpuCount: rec.gpuCount };
  }

  /**
   * New, active, not-ready leases: the renters' keys (in parallel), then per lease a port, a credential and the
   * sealed access, recorded; then the workloads (in parallel); then `markLeaseReady` for each one that listens.
   */
  private async handOver(fresh: [bigint, LeaseView][], head: bigint): Promise<void> {
    const log = this.m.logger;
    const keys = await Promise.all(
      fresh.map(([leaseId, lease]) => renterPublicKey(this.m.client, this.opts.marketplace, leaseId, lease.renter, this.opts.deployBlock).catch((err: unknown) => err as Error)),
    );
    const recs: LeaseRecord[] = [];
    for (let i = 0; i < fresh.length; i++) {
      const [leaseId, lease] = fresh[i]!;
      const renterKey = keys[i]!;
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
      };
      this.state.leases[rec.leaseId] = rec;
      recs.push(rec);
    }
    // Recorded before anything runs: a crash from here on restarts these leases with these ports and credential hashes.
    await this.m.store.save(this.state);
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
    await this.m.store.save(this.state);
    for (let i = 0; i < recs.length; i++) {
      if (started[i] && !this.stopped) await this.sendReady(BigInt(recs[i]!.leaseId), recs[i]!);
    }
  }

  private async sendReady(leaseId: bigint, rec: LeaseRecord): Promise<void> {
    const log = this.m.logger;
    try {
      const { request } = await this.m.client.simulateContract({ account: this.m.account, address: this.opts.marketplace, abi: marketplaceAbi, functionName: "markLeaseReady", args: [leaseId, rec.sealedAccess as Hex] });
      const hash = await this.m.wallet.writeContract(request);
      const receipt = await this.m.client.waitForTransactionReceipt({ hash, pollingInterval: 100 });
      if (receipt.status !== "success") throw new Error(`markLeaseReady reverted (tx ${hash})`);
      rec.phase = "ready";
      rec.readyBlock = receipt.blockNumber.toString();
      await this.m.store.save(this.state);
      this.stats.readySent++;
      log.info({ event: "agent_lease_ready", leaseId, port: rec.port, block: receipt.blockNumber, tx: hash, sealedBytes: hexToBytes(rec.sealedAccess as Hex).length }, "lease marked ready");
    } catch (err) {
      const name = revertName(err);
      if (name === "MarketplaceLeaseAlreadyReady") {
        // The previous run's send landed: the chain has it.
        log.info({ event: "agent_lease_ready_confirmed", leaseId }, "lease already ready on-chain");
        return; // the next reconcile reads readyAt and records it
      }
      log.error({ event: "agent_lease_ready_failed", leaseId, errorName: name, err: (err as Error).message.split("\n")[0] }, "markLeaseReady failed; retrying at the next block");
    }
  }

  /** `completeLease` for a lease of ours past its end; a refusal (someone else completed it first) is only logged. */
  private async complete(leaseId: bigint): Promise<void> {
    try {
      const { request } = await this.m.client.simulateContract({ account: this.m.account, address: this.opts.marketplace, abi: marketplaceAbi, functionName: "completeLease", args: [leaseId] });
      const hash = await this.m.wallet.writeContract(request);
      await this.m.client.waitForTransactionReceipt({ hash, pollingInterval: 100 });
      this.stats.completed++;
      this.m.logger.info({ event: "agent_lease_completed", leaseId, tx: hash }, "lease completed (earnings settled)");
    } catch (err) {
      this.m.logger.warn({ event: "agent_lease_complete_failed", leaseId, errorName: revertName(err), err: (err as Error).message.split("\n")[0] }, "completeLease not sent");
    }
  }
}

function revertName(err: unknown): string | undefined {
  const e = err as { walk?: (fn: (e: unknown) => boolean) => unknown };
  const r = e.walk?.((x) => (x as { name?: string }).name === "ContractFunctionRevertedError") as { data?: { errorName?: string } } | undefined;
  return r?.data?.errorName;
}
