/**
 * Follows the deployment's contracts from its deploy block and writes their events into the index (explorer/
 * schema.ts). Each step takes a range of at most `rangeBlocks` blocks: one `eth_getLogs` over every followed
 * contract, the range's chain reads (explorer/loader.ts), then one transaction that applies every event in log
 * order and moves the cursor — so a restart resumes after the last committed range and never rescans.
 *
 * Reorgs: before each step the cursor block's hash is compared with the chain's. On a mismatch the indexer walks
 * back over the blocks it holds hashes of (every block with logs, and each range's last block) to the newest one
 * the chain still has, unwinds everything above it (explorer/store.ts) and indexes again from there.
 */
import { EventEmitter } from "node:events";
import { decodeEventLog, type Hex, type Log, type PublicClient } from "viem";
import type { Deployment } from "../protocol/chain/deployment.js";
import { PollLoop } from "../protocol/pollLoop.js";
import { followedContracts, type Followed } from "./contracts.js";
import type { SqlDb } from "./db.js";
import { HANDLERS, type EventCtx } from "./handlers.js";
import { Loader } from "./loader.js";
import { SCHEMA_VERSION } from "./schema.js";
import { ReorgTooDeepError, Store } from "./store.js";

export interface IndexerOpts {
  /** Largest block range of one step (one eth_getLogs and one transaction). */
  rangeBlocks?: number;
  /** How often the head is polled when following. */
  pollIntervalMs?: number;
  /** How many blocks below the head stay unwindable (the journal of older blocks is pruned). */
  reorgWindow?: number;
}

export interface IndexerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Thrown when an index file was built for another chain or deployment. */
export class IndexMismatchError extends Error {
  constructor(what: string, indexed: string, given: string) {
    super(`explorer index: built for ${what} ${indexed}, not ${given}; use another --db file or database`);
    this.name = "IndexMismatchError";
  }
}

interface DecodedLog {
  log: Log<bigint, number, false>;
  contract: Followed;
  eventName: string;
  args: Record<string, unknown>;
}

const SILENT: IndexerLogger = { info() {}, warn() {} };

export class Indexer extends EventEmitter<{ indexed: [number]; reorg: [number]; error: [Error] }> {
  private readonly store: Store;
  private readonly contracts: Map<string, Followed>;
  private readonly rangeBlocks: number;
  private readonly reorgWindow: number;
  private cursor = -1;
  private cursorHash: Hex | null = null;
  private readonly loop: PollLoop;

  constructor(
    private readonly deployment: Deployment,
    private readonly modules: { client: PublicClient; db: SqlDb; logger?: IndexerLogger },
    private readonly opts: IndexerOpts = {},
  ) {
    super();
    this.store = new Store(modules.db);
    this.contracts = followedContracts(deployment);
    this.rangeBlocks = opts.rangeBlocks ?? 2_000;
    this.reorgWindow = opts.reorgWindow ?? 256;
    this.loop = new PollLoop({ intervalMs: opts.pollIntervalMs ?? 500, step: () => this.syncOnce(), failed: (err) => this.stepFailed(err) });
  }

  private get logger(): IndexerLogger {
    return this.modules.logger ?? SILENT;
  }

  /** The last block whose events are committed (deployBlock − 1 before the first step). */
  get indexedBlock(): number {
    return this.cursor;
  }

  /** Reads the cursor, checking that the index belongs to this chain and deployment. */
  async open(): Promise<void> {
    const db = this.modules.db;
    await this.store.init();
    const meta = new Map((await db.all<{ key: string; value: string }>("SELECT key, value FROM meta")).map((r) => [r.key, r.value]));
    const chainId = String(this.deployment.chainId);
    const marketplace = this.deployment.contracts.marketplace.toLowerCase();
    if (meta.size === 0) {
      await db.transaction(async () => {
        await db.run("INSERT INTO meta (key, value) VALUES (?, ?)", ["chain_id", chainId]);
        await db.run("INSERT INTO meta (key, value) VALUES (?, ?)", ["marketplace", marketplace]);
        await db.run("INSERT INTO meta (key, value) VALUES (?, ?)", ["deploy_block", String(this.deployment.deployBlock)]);
        await db.run("INSERT INTO meta (key, value) VALUES (?, ?)", ["cursor", String(this.deployment.deployBlock - 1)]);
        await db.run("INSERT INTO meta (key, value) VALUES (?, ?)", ["cursor_hash", ""]);
        await db.run("INSERT INTO meta (key, value) VALUES (?, ?)", ["pruned_through", String(this.deployment.deployBlock - 1)]);
        await db.run("INSERT INTO meta (key, value) VALUES (?, ?)", ["schema_version", String(SCHEMA_VERSION)]);
      });
      this.cursor = this.deployment.deployBlock - 1;
      this.cursorHash = null;
      return;
    }
    if (meta.get("chain_id") !== chainId) throw new IndexMismatchError("chain id", meta.get("chain_id") ?? "?", chainId);
    if (meta.get("marketplace") !== marketplace) throw new IndexMismatchError("marketplace", meta.get("marketplace") ?? "?", marketplace);
    this.cursor = Number(meta.get("cursor"));
    const hash = meta.get("cursor_hash");
    this.cursorHash = hash === undefined || hash === "" ? null : (hash as Hex);
  }

  /** Indexes up to the current head (several steps); returns the indexed block. */
  async syncToHead(): Promise<number> {
    await this.loop.run();
    return this.cursor;
  }

  /** Follows the chain: syncs, then polls every `pollIntervalMs`. A failing step is logged and retried. */
  async start(): Promise<void> {
    await this.loop.start({ now: true });
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** A step of the running loop failed: retried on the next poll, unless the index cannot go on (a reorg deeper
   *  than it keeps, another chain's index). */
  private stepFailed(err: unknown): void {
    if (err instanceof ReorgTooDeepError || err instanceof IndexMismatchError) {
      this.logger.warn({ err: err.message }, "explorer indexer: stopped");
      this.loop.halt();
      this.emit("error", err);
      return;
    }
    this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, "explorer indexer: step failed; retrying");
  }

  private async syncOnce(): Promise<void> {
    const { client } = this.modules;
    // viem caches the block number for the client's polling interval; the head must be read fresh.
    const head = Number(await client.getBlockNumber({ cacheTime: 0 }));
    if (this.cursorHash !== null) {
      const now = await client.getBlock({ blockNumber: BigInt(this.cursor) }).catch(() => null);
      if (now === null || now.hash !== this.cursorHash) await this.unwindReorg();
    }
    while (this.cursor < head) {
      const to = Math.min(head, this.cursor + this.rangeBlocks);
      await this.indexRange(this.cursor + 1, to);
    }
  }

  private async unwindReorg(): Promise<void> {
    const { client, db } = this.modules;
    const held = await db.all<{ number: number; hash: Hex }>("SELECT number, hash FROM blocks WHERE number <= ? ORDER BY number DESC", [this.cursor]);
    const pruned = Number((await db.get<{ value: string }>("SELECT value FROM meta WHERE key = 'pruned_through'"))?.value ?? "0");
    let fork = this.deployment.deployBlock - 1;
    let forkHash: Hex | null = null;
    for (const b of held) {
      const now = await client.getBlock({ blockNumber: BigInt(b.number) }).catch(() => null);
      if (now !== null && now.hash === b.hash) {
        fork = b.number;
        forkHash = b.hash;
        break;
      }
    }
    if (fork < pruned) throw new ReorgTooDeepError(fork, pruned + 1);
    await db.transaction(async () => {
      await this.store.unwindAfter(fork);
      await this.setCursor(fork, forkHash);
    });
    this.logger.info({ from: this.cursor, to: fork }, "explorer indexer: chain reorganised; unwound");
    this.cursor = fork;
    this.cursorHash = forkHash;
    this.emit("reorg", fork);
  }

  private async setCursor(block: number, hash: Hex | null): Promise<void> {
    await this.modules.db.run("UPDATE meta SET value = ? WHERE key = 'cursor'", [String(block)]);
    await this.modules.db.run("UPDATE meta SET value = ? WHERE key = 'cursor_hash'", [hash ?? ""]);
  }

  private decode(logs: Log<bigint, number, false>[]): DecodedLog[] {
    const out: DecodedLog[] = [];
    for (const log of logs) {
      const contract = this.contracts.get(log.address.toLowerCase());
      if (contract === undefined) continue;
      try {
        const d = decodeEventLog({ abi: contract.abi, data: log.data, topics: log.topics, strict: true }) as { eventName: string; args?: unknown };
        out.push({ log, contract, eventName: d.eventName, args: (d.args ?? {}) as Record<string, unknown> });
      } catch {
        this.logger.warn({ contract: contract.key, topic: log.topics[0], block: log.blockNumber }, "explorer indexer: log not in the ABI; kept out of the index");
      }
    }
    return out;
  }

  private async indexRange(from: number, to: number): Promise<void> {
    const { client, db } = this.modules;
    const last = await client.getBlock({ blockNumber: BigInt(to) });
    const logs = await client.getLogs({ address: [...this.contracts.values()].map((c) => c.address), fromBlock: BigInt(from), toBlock: BigInt(to) });
    const decoded = this.decode(logs as Log<bigint, number, false>[]);
    const loader = new Loader(client, this.deployment.contracts);
    for (const d of decoded) HANDLERS[`${d.contract.key}.${d.eventName}`]?.load?.(d.args, loader, d.log.blockNumber, d.log.transactionHash);
    // Orders are read at the newest block with a log, not at `to`: every order of the range exists there, and a
    // block with a transaction always has state, while `to` may be an empty block the node keeps no state for
    // (Hardhat, inside a multi-block `hardhat_mine`).
    const newestLog = decoded.reduce((n, d) => (d.log.blockNumber > n ? d.log.blockNumber : n), BigInt(from));
    const loaded = await loader.resolve(newestLog);
    const blocks = new Map<number, { hash: Hex; time: number }>([[to, { hash: last.hash, time: Number(last.timestamp) }]]);
    const need = [...new Set(decoded.map((d) => Number(d.log.blockNumber)))].filter((n) => !blocks.has(n));
    for (let i = 0; i < need.length; i += 16) {
      const got = await Promise.all(need.slice(i, i + 16).map((n) => client.getBlock({ blockNumber: BigInt(n) })));
      for (const b of got) blocks.set(Number(b.number), { hash: b.hash, time: Number(b.timestamp) });
    }
    // A log whose block hash differs from the block read above was served from another fork: the next step's
    // cursor check unwinds it, but a range is only committed when it is consistent.
    for (const d of decoded) {
      const b = blocks.get(Number(d.log.blockNumber))!;
      if (d.log.blockHash !== b.hash) throw new Error(`explorer indexer: block ${d.log.blockNumber} changed while reading range ${from}‥${to}; retrying`);
    }

    await db.transaction(async () => {
      let writer = null as ReturnType<Store["at"]> | null;
      for (const [number, b] of [...blocks].sort((x, y) => x[0] - y[0])) {
        await this.store.at(number).insert("blocks", { number, hash: b.hash, time: b.time });
      }
      for (const d of decoded) {
        const block = Number(d.log.blockNumber);
        if (writer === null || writer.block !== block) writer = this.store.at(block);
        const time = blocks.get(block)!.time;
        const ctx: EventCtx = { w: writer, block, time, logIndex: d.log.logIndex, tx: d.log.transactionHash, loaded };
        await writer.insert("events", {
          log_index: d.log.logIndex, tx: d.log.transactionHash, contract: d.contract.key, name: d.eventName,
          args: JSON.stringify(d.args, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)),
          order_id: idArg(d.args.orderId ?? d.args.leaseId), batch: idArg(d.args.batch),
          address: subjectOf(d.args), time,
        });
        await HANDLERS[`${d.contract.key}.${d.eventName}`]?.apply(ctx, d.args);
      }
      await this.setCursor(to, last.hash);
      const pruneThrough = to - this.reorgWindow;
      if (pruneThrough > 0) {
        await this.store.prune(pruneThrough);
        await db.run("UPDATE meta SET value = ? WHERE key = 'pruned_through' AND CAST(value AS BIGINT) < ?", [String(pruneThrough), pruneThrough]);
      }
    });
    this.cursor = to;
    this.cursorHash = last.hash;
    this.emit("indexed", to);
  }
}

function idArg(v: unknown): number | null {
  return typeof v === "bigint" ? Number(v) : null;
}

/** The account an event is about (searchable): provider, renter, operator id, … in that order of preference. */
function subjectOf(a: Record<string, unknown>): string | null {
  for (const k of ["provider", "renter", "operatorId", "operator", "token"]) {
    const v = a[k];
    if (typeof v === "string") return v.toLowerCase();
  }
  return null;
}
