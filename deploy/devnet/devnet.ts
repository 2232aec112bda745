/**
 * The devnet as a library: `Devnet.start()` brings up a chain, deploys, creates and registers operators, providers,
 * renters and aggregators, and (in "processes" mode) starts every operator and aggregator as its own process;
 * `runBatch()` places orders, closes a batch and reports how it ended. `deploy/devnet.ts` is its CLI; the e2e tests
 * and the e2e bench drive it directly.
 */
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Address, Hex } from "viem";
import { serviceManagerAbi } from "../../protocol/chain/abi.js";
import { systemAddresses, type Deployment } from "../../protocol/chain/deployment.js";
import type { SystemAddresses } from "../../protocol/chain/reads.js";
import { createG2KeySummer, type G2KeySummer } from "../../aggregator/index.js";
import { Supervisor, type SupervisedChild } from "./supervisor.js";
import { deploySystem, enableIntervalMining, startChain, type ChainKind, type DevnetChain } from "./chain.js";
import { freePorts, portIsFree } from "./ports.js";
import { Prng } from "./prng.js";
import {
  createAggregator,
  createOperatorFiles,
  fundRenters,
  placeOrders,
  registerOperator,
  registerProviders,
  writeOperatorConfig,
  STAKE_UNIT,
  type AggregatorSetup,
  type OperatorSetup,
  type ProviderSetup,
} from "./setup.js";
import { readBatchTiming, type BatchTiming } from "../../protocol/chain/batches.js";
import { toOperatorId } from "../../protocol/chain/ids.js";
import { startedOrStopped } from "../../protocol/lifecycle.js";
import { slashingWindow } from "../parameters.js";
import { closeNextBatch, reportBatch, waitBatchOutcome, type DevnetBatchReport, type BatchClose } from "./batch.js";
import { signAndSubmitInProcess } from "./in-process.js";
import { compileJs, compiledEntry, type CompiledTree } from "../compile-js.js";
import { entryExists, readLogLines, spawnNode, type ProcessKind } from "./processes.js";
import { startInWaves, waitForReadyByProgress } from "./readiness.js";
import { availableParallelism } from "node:os";
import type { Names } from "./view.js";
import { Restarter, DEFAULT_RESTART_POLICY, type RestartPolicy } from "./restarts.js";
import { createAgentFiles, handoffCounts, startAgent, AGENT_PORTS, type AgentSetup } from "./agents.js";

export type DevnetMode = "processes" | "in-process";

export interface DevnetOptions {
  /** Project root (holds hardhat.config.ts, operator/main.ts, aggregator/main.ts). */
  root: string;
  operators: number;
  mode: DevnetMode;
  /** Number of aggregator processes (processes mode); 2 to watch them race. */
  aggregators?: number;
  providers?: number;
  /** Each initial offer's GPUs are multiplied by this (default 1): a market that can fill batches of thousands. */
  gpuScale?: number;
  /** The local node: hardhat node (default) or anvil. */
  chain?: ChainKind;
  /** Chain RPC port; 0 picks a free one. */
  port?: number;
  /** Defaults to a fresh temp dir. */
  dataDir?: string;
  /** Keep the data dir after stop (always kept when it was given). */
  keep?: boolean;
  /** Seed of the market traffic (providers, offers, orders). */
  seed?: number;
  /** Interval mining so that block-counted waits advance even with no traffic; automine stays on. */
  intervalMiningMs?: number;
  /**
   * false: once the system is set up, blocks come only from the interval mining, each holding every transaction sent
   * since the last one, as on a real L2 (an L2 sequencer seals a block every 1–2 s, whatever the traffic). Default
   * true: a block per transaction on top of the interval blocks, so that sends are mined at once.
   */
  automine?: boolean;
  timing?: BatchTiming;
  /** Per-operator extra environment (e.g. a test hook). */
  operatorEnv?: (index: number) => NodeJS.ProcessEnv;
  /** Progress lines. */
  out?: (line: string) => void;
  /** A starting process is given up on after this long without log output or CPU time (deploy/devnet/readiness.ts). */
  readyTimeoutMs?: number;
  /**
   * One provider agent process per provider (docs/agent.md), started once the operators and aggregators are ready
   * (`npm run devnet` starts them unless `--no-agents`; off unless asked here, so a test or bench pays for them only
   * when it wants them).
   */
  agents?: boolean;
  /** Operator processes started at once (default: the machine's cores, at least 2). */
  startConcurrency?: number;
  /**
   * Restart an operator or aggregator process that exits unasked, with a back-off, until a crash loop
   * (deploy/devnet/restarts.ts). `true` takes DEFAULT_RESTART_POLICY. Off by default for the library (tests stop and
   * start processes themselves); `npm run devnet` turns it on.
   */
  restartCrashed?: boolean | RestartPolicy;
}

/**
 * Devnet-friendly batch timing (blocks; one block a second plus one per transaction): a close every 2 blocks, a
 * fallback leader every 8 (operator processes on a loaded 2-core machine log a close 2–4 s after it; a shorter turn
 * lets a fallback seed race the leader's and split the quorum), abandon after 40 (room for four fallback turns).
 */
export const DEVNET_TIMING: BatchTiming = { batchInterval: 2n, seedTimeout: 8n, batchTimeout: 40n };

/**
 * The devnet's timing for `operators` operator processes: DEVNET_TIMING, with a batchTimeout of 2 blocks per operator
 * once that is more than 40 (from 21 operators). On one 2-core machine every operator and the aggregator share the
 * CPU, and close → final grows with their number: with 32 operators at load ≈ 35 the first batch took 25 blocks and
 * the next ones 16 (docs/devnet.md, "Many operators"), so 40 blocks left too little room on a busier machine and
 * first batches were abandoned. An abandon only serves to give up on a dead quorum, so a longer bound costs nothing
 * while the operators are alive.
 */
export function devnetTiming(operators: number): BatchTiming {
  const batchTimeout = BigInt(Math.max(Number(DEVNET_TIMING.batchTimeout), 2 * operators));
  // The contract allows at most MAX_FALLBACK_LENGTH (32) leaders in a batch's life: batchTimeout / seedTimeout ≤ 31.
  const minSeedTimeout = (batchTimeout + 30n) / 31n;
  return { ...DEVNET_TIMING, seedTimeout: minSeedTimeout > DEVNET_TIMING.seedTimeout ? minSeedTimeout : DEVNET_TIMING.seedTimeout, batchTimeout };
}

/** The registry's exit delay for a timing: at least 400 blocks and never below the slashing window it must cover. */
export function devnetOperatorExitDelay(t: BatchTiming): bigint {
  const window = slashingWindow(t.batchTimeout);
  return window > 400n ? window : 400n;
}

export class Devnet {
  readonly supervisor = new Supervisor();
  readonly operators: OperatorSetup[] = [];
  readonly aggregators: AggregatorSetup[] = [];
  readonly reports: DevnetBatchReport[] = [];
  readonly agents: AgentSetup[] = [];
  private readonly children = new Map<string, SupervisedChild>();
  /** In-process mode: operators taken down by stopOperator. */
  private readonly down = new Set<number>();
  /** The providers and their live offers (the living market withdraws and adds offers). */
  providers: ProviderSetup[] = [];
  private renters: Address[] = [];
  /** The market traffic's PRNG (`--seed`). */
  rng!: Prng;
  private g2: G2KeySummer | null = null;
  chain!: DevnetChain;
  deployment!: Deployment;
  addrs!: SystemAddresses;
  timing!: BatchTiming;
  deploymentFile!: string;
  /** Processes mode: wall time from the first operator's spawn to the last one's ready line. */
  startMs: number | null = null;
  /** Restarts of crashed processes (null when `restartCrashed` is off). */
  readonly restarter: Restarter | null;

  private constructor(
    readonly opts: DevnetOptions,
    readonly dataDir: string,
    private readonly ownsDataDir: boolean,
    /** The operator and aggregator code as JavaScript (processes mode). */
    private readonly compiled: CompiledTree | null,
  ) {
    const r = opts.restartCrashed;
    this.restarter = r === undefined || r === false ? null : new Restarter(r === true ? DEFAULT_RESTART_POLICY : r, (line) => this.say(line));
  }

  /**
   * With restarts on: once `child` (just started and ready) exits while still the devnet's process for `name` — not
   * stopped by stopOperator / stopAggregator / stop — it is started again by `start` (deploy/devnet/restarts.ts).
   */
  private watch(child: SupervisedChild, start: () => Promise<unknown>): void {
    const r = this.restarter;
    if (r === null) return;
    r.started(child.name);
    void child.exited.then((exit) => {
      if (this.children.get(child.name) !== child) return;
      this.children.delete(child.name);
      return r.recover(child, exit, start);
    });
  }

  /** Waits for a started process's ready line; a process that never got ready is stopped, so none is left behind. */
  private async ready(child: SupervisedChild, fromLine: number): Promise<number> {
    try {
      return (await waitForReadyByProgress(child, { stallMs: this.opts.readyTimeoutMs ?? 60_000, fromLine })).ms;
    } catch (err) {
      if (this.children.get(child.name) === child) this.children.delete(child.name);
      await this.supervisor.stop(child, "SIGKILL");
      throw err;
    }
  }

  get logsDir(): string {
    return join(this.dataDir, "logs");
  }

  private readonly t0 = Date.now();

  private say(line: string): void {
    this.opts.out?.(`[${((Date.now() - this.t0) / 1000).toFixed(1).padStart(6)} s] ${line}`);
  }

  static async start(opts: DevnetOptions): Promise<Devnet> {
    return startedOrStopped(await Devnet.create(opts), (dn) => dn.boot());
  }

  /** The devnet object before anything runs (so that a Ctrl-C during boot can stop what boot started). */
  static async create(opts: DevnetOptions): Promise<Devnet> {
    if (!Number.isInteger(opts.operators) || opts.operators < 1) throw new Error(`devnet: --operators must be a positive integer, got ${opts.operators}`);
    if (opts.mode === "processes") {
      for (const kind of ["operator", "aggregator"] as ProcessKind[]) {
        if (!entryExists(opts.root, kind)) {
          throw new Error(`devnet: ${kind}/main.ts does not exist in this checkout, so its process cannot be started; run with --in-process-signers to sign inside the devnet process instead`);
        }
      }
    }
    let compiled: CompiledTree | null = null;
    if (opts.mode === "processes" || opts.agents === true) {
      const t = Date.now();
      const say = (line: string) => opts.out?.(`[${((Date.now() - t) / 1000).toFixed(1).padStart(6)} s] ${line}`);
      say("transpiling the operator and aggregator sources into .cache/js (only files changed since the last run) …");
      compiled = await compileJs(opts.root, undefined, (done, total) => say(`  ${done} files transpiled (of ${total} sources) …`));
      say(`  ${compiled.compiled} of ${compiled.files} files transpiled`);
    }
    for (const dir of await sweepAbandonedDataDirs()) opts.out?.(`removed ${dir}: the temp data dir of a devnet that was killed without a chance to clean up`);
    // Made last, so that nothing before it can fail with a data dir left behind.
    const dataDir = await makePrivateDataDir(opts.dataDir);
    // A temp dir to remove carries its owner's pid: if this process is killed outright (SIGKILL runs no code), the
    // next devnet removes it.
    if (opts.dataDir === undefined && !opts.keep) await writeFile(join(dataDir, OWNER_FILE), `${process.pid}
`, { mode: 0o600 });
    return new Devnet(opts, dataDir, opts.dataDir === undefined, compiled);
  }

  async boot(): Promise<void> {
    const o = this.opts;
    this.rng = new Prng(o.seed ?? 1);
    let port = o.port ?? 0;
    if (port === 0) [port] = (await freePorts(1)) as [number];
    else if (!(await portIsFree(port))) throw new Error(`devnet: port ${port} on 127.0.0.1 is taken (another hardhat node?); pick another with --port`);
    this.say(`data dir ${this.dataDir}; logs in ${this.logsDir}`);
    const kind = o.chain ?? "hardhat";
    this.say(`starting ${kind === "anvil" ? "anvil" : "hardhat node"} on 127.0.0.1:${port} (log: ${join(this.logsDir, "chain.log")}) …`);
    this.chain = await startChain(this.supervisor, { port, root: o.root, logFile: join(this.logsDir, "chain.log"), kind, blockTimeMs: o.intervalMiningMs ?? 1_000 });
    this.say(`  chain ready (pid ${this.chain.node.child.pid})`);
    this.deploymentFile = join(this.dataDir, "deployment.json");
    this.say("building the contracts if needed and deploying MatchnetModule with Ignition …");
    const t = o.timing ?? devnetTiming(o.operators);
    // The registry refuses an exit delay below the service manager's slashing window (256 + 3 × batchTimeout), under
    // its constructor timing (batchTimeout 40) at deployment and under `t` after setBatchTiming.
    this.deployment = await deploySystem({
      root: o.root,
      url: this.chain.url,
      dataDir: this.dataDir,
      outFile: this.deploymentFile,
      parameters: { minOperatorStake: 100n * STAKE_UNIT, operatorExitDelay: devnetOperatorExitDelay(t), exitDelay: 20n, maxOrderLifetime: 10_000n },
    });
    this.addrs = systemAddresses(this.deployment, this.deploymentFile);
    const owner = this.chain.devAccounts[0]!;
    const hash = await this.chain.wallet(owner).writeContract({ account: owner, chain: this.chain.chain, address: this.addrs.serviceManager, abi: serviceManagerAbi, functionName: "setBatchTiming", args: [{ batchInterval: Number(t.batchInterval), seedTimeout: Number(t.seedTimeout), batchTimeout: Number(t.batchTimeout) }] });
    await this.chain.publicClient.waitForTransactionReceipt({ hash });
    this.timing = await readBatchTiming(this.chain.publicClient, this.addrs.serviceManager);
    const { batchInterval, seedTimeout, batchTimeout } = this.timing;
    this.say(`deployed (service manager ${this.addrs.serviceManager}); batch timing {"batchInterval":${batchInterval},"seedTimeout":${seedTimeout},"batchTimeout":${batchTimeout}} blocks`);

    this.say(`creating ${o.operators} operators (keystores, peer keys, configs) and registering them …`);
    const accounts = [];
    for (let i = 0; i < o.operators; i++) {
      const { setup, account } = await createOperatorFiles(this.dataDir, i);
      this.operators.push(setup);
      accounts.push(account);
    }
    for (let i = 0; i < o.operators; i++) {
      await writeOperatorConfig(this.operators[i]!, this.operators, this.chain.url, this.deploymentFile);
      await registerOperator(this.chain, this.deployment, this.operators[i]!, accounts[i]!);
    }
    const nProviders = o.providers ?? 8;
    this.providers = await registerProviders(this.chain, this.deployment, this.rng, nProviders, o.gpuScale ?? 1);
    this.renters = await fundRenters(this.chain, this.deployment);
    this.say(`${nProviders} providers with ${this.providers.reduce((s, p) => s + p.offers.length, 0)} offers; ${this.renters.length} renters funded`);
    const nAgg = o.mode === "processes" ? (o.aggregators ?? 1) : 1;
    for (let j = 0; j < nAgg; j++) {
      this.aggregators.push(await createAggregator(this.dataDir, nAgg === 1 ? "aggregator" : `aggregator${j}`, this.chain, this.deploymentFile, this.operators.map((op) => op.multiaddr)));
    }
    if (o.intervalMiningMs !== 0) {
      await enableIntervalMining(this.chain, o.intervalMiningMs ?? 1_000, o.automine ?? true);
    }
    if (o.mode === "processes") {
      this.say(`starting ${o.operators} operator processes and ${nAgg} aggregator(s) …`);
      const t = Date.now();
      const waves = o.startConcurrency ?? Math.max(2, availableParallelism());
      await startInWaves(this.operators.length, waves, (i) => this.startOperator(i));
      this.startMs = Date.now() - t;
      this.say(`  ${o.operators} operators ready in ${(this.startMs / 1000).toFixed(1)} s (${waves} starting at a time)`);
      await Promise.all(this.aggregators.map((_, j) => this.startAggregator(j)));
      await this.waitForPeers(this.opts.readyTimeoutMs ?? 60_000);
    } else {
      this.g2 = await createG2KeySummer();
      this.say("in-process signers: the devnet signs with the operators' keys and submits itself (no operator or aggregator processes)");
    }
    if (o.agents === true) {
      // After the operators: the agents' start-up (a Node process each) does not compete with theirs for the CPU.
      for (let i = 0; i < this.providers.length; i++) {
        this.agents.push(await createAgentFiles(this.dataDir, i, 1 + i, this.providers[i]!.address, this.chain.url, this.deploymentFile, 20_000 + i * AGENT_PORTS));
      }
      this.say(`starting ${this.agents.length} provider agents …`);
      await Promise.all(this.agents.map((_, i) => this.startAgent(i)));
    }
  }

  names: Names = (id: Hex | null) => {
    if (id === null) return "—";
    const key = toOperatorId(id);
    const op = this.operators.find((o) => o.operatorId === key);
    return op === undefined ? id.slice(0, 10) : op.name;
  };

  operatorChild(i: number): SupervisedChild | undefined {
    return this.children.get(this.operators[i]!.name);
  }

  aggregatorChild(j: number): SupervisedChild | undefined {
    return this.children.get(this.aggregators[j]!.name);
  }

  /**
   * Starts (or restarts) operator i's process and waits for its ready line. `launch` runs another entry instead of
   * the operator's (a test entry that injects hooks: test/support/crashing-operator.ts).
   */
  async startOperator(i: number, env: NodeJS.ProcessEnv = {}, launch?: { nodeArgs: string[]; entry: string; args: string[] }): Promise<SupervisedChild | null> {
    const op = this.operators[i]!;
    if (this.opts.mode === "in-process") {
      this.down.delete(i);
      return null;
    }
    const fromLine = (await readLogLines(op.logFile)).length;
    const child = spawnNode(this.supervisor, {
      root: this.opts.root,
      kind: "operator",
      entry: launch?.entry ?? compiledEntry(this.compiled!, "operator"),
      ...(launch ? { nodeArgs: launch.nodeArgs, args: launch.args } : {}),
      name: op.name,
      configFile: op.configFile,
      logFile: op.logFile,
      env: { ...(this.opts.operatorEnv?.(i) ?? {}), ...env },
    });
    this.children.set(op.name, child);
    const ms = await this.ready(child, fromLine);
    this.say(`  ${op.name} ready in ${(ms / 1000).toFixed(1)} s (pid ${child.pid}, log ${op.logFile})`);
    this.watch(child, () => this.startOperator(i, env));
    return child;
  }

  /** Stops operator i (SIGTERM, or SIGKILL to crash it); resolves once the process is gone. */
  async stopOperator(i: number, signal: NodeJS.Signals = "SIGTERM"): Promise<number | string | null> {
    if (this.opts.mode === "in-process") {
      this.down.add(i);
      return null;
    }
    const child = this.operatorChild(i);
    if (child === undefined) return null;
    this.children.delete(this.operators[i]!.name);
    return this.supervisor.stop(child, signal);
  }

  agentChild(i: number): SupervisedChild | undefined {
    return this.children.get(this.agents[i]!.name);
  }

  /** Starts (or restarts) provider agent i and waits for its ready line. */
  async startAgent(i: number): Promise<SupervisedChild> {
    const a = this.agents[i]!;
    const child = await startAgent(this.supervisor, this.opts.root, compiledEntry(this.compiled!, "agent"), a, (await readLogLines(a.logFile)).length, this.opts.readyTimeoutMs ?? 60_000);
    this.children.set(a.name, child);
    this.say(`  ${a.name} ready for provider ${a.provider} (pid ${child.pid}, workload ports ${a.portRange[0]}‥${a.portRange[1]}, log ${a.logFile})`);
    return child;
  }

  /** Stops provider agent i (SIGTERM, or SIGKILL to crash it). */
  async stopAgent(i: number, signal: NodeJS.Signals = "SIGTERM"): Promise<number | string | null> {
    const child = this.agentChild(i);
    if (child === undefined) return null;
    this.children.delete(this.agents[i]!.name);
    return this.supervisor.stop(child, signal);
  }

  /** Leases started and marked ready so far; waits up to `waitMs` for every started lease to be ready. */
  async handoffs(waitMs = 0): Promise<{ started: number; ready: number }> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const h = await handoffCounts(this.chain.publicClient, this.addrs.marketplace, BigInt(this.deployment.deployBlock));
      if (h.ready >= h.started || Date.now() >= deadline) return h;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async startAggregator(j: number): Promise<SupervisedChild> {
    const a = this.aggregators[j]!;
    const fromLine = (await readLogLines(a.logFile)).length;
    const child = spawnNode(this.supervisor, { root: this.opts.root, kind: "aggregator", entry: compiledEntry(this.compiled!, "aggregator"), name: a.name, configFile: a.configFile, logFile: a.logFile });
    this.children.set(a.name, child);
    await this.ready(child, fromLine);
    this.say(`  ${a.name} ready (pid ${child.pid}, log ${a.logFile})`);
    this.watch(child, () => this.startAggregator(j));
    return child;
  }

  async stopAggregator(j: number): Promise<void> {
    const child = this.aggregatorChild(j);
    if (child === undefined) return;
    this.children.delete(this.aggregators[j]!.name);
    await this.supervisor.stop(child);
  }

  /** Places `orders` orders, closes the next batch and waits until it is final or abandoned. */
  async runBatch(orders: number): Promise<DevnetBatchReport> {
    await this.placeOrders(orders);
    const closed = await this.closeBatch();
    return this.settle(closed);
  }

  async placeOrders(orders: number): Promise<void> {
    if (orders > 0) await placeOrders(this.chain, this.deployment, this.rng, this.renters, this.providers, orders);
  }

  /** Resolves once the chain's head reaches `block` (interval mining advances it). */
  async waitForBlock(block: bigint, wallGuardMs = 120_000): Promise<void> {
    const deadline = Date.now() + wallGuardMs;
    while ((await this.chain.publicClient.getBlockNumber()) < block) {
      if (Date.now() > deadline) throw new Error(`devnet: block #${block} not reached within ${wallGuardMs / 1000} s: is interval mining on?`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Waits until every running operator is ready for a batch: its node API answers, its follower has the chain head
   * and it has a peer for each other node (so the gossip mesh can form). Judged by progress, not by a fixed bound:
   * 32 operators on 2 cores take tens of seconds to dial each other, and a close before that splits the first batch's
   * signers. Gives up (and says who is behind) only when nothing got closer for `stallMs`.
   */
  async waitForPeers(stallMs: number): Promise<void> {
    const want = this.operators.length - 1 + this.aggregators.length;
    let best = -1;
    let lastProgress = Date.now();
    for (;;) {
      const head = await this.chain.publicClient.getBlockNumber();
      const behind: string[] = [];
      let score = 0;
      for (const op of this.operators) {
        if (!this.children.has(op.name)) continue;
        try {
          const res = await fetch(`http://127.0.0.1:${op.apiPort}/matchnet/v1/status`, { signal: AbortSignal.timeout(2_000) });
          const body = (await res.json()) as { peers?: number; headBlock?: string };
          const peers = Math.min(body.peers ?? 0, want);
          const synced = body.headBlock !== undefined && BigInt(body.headBlock) >= head - 1n;
          score += peers + (synced ? 1 : 0);
          if (peers < want || !synced) behind.push(`${op.name} (${peers}/${want} peers${synced ? "" : `, head #${body.headBlock ?? "?"} of #${head}`})`);
        } catch {
          behind.push(`${op.name} (no answer)`);
        }
      }
      if (behind.length === 0) return;
      if (score > best) {
        best = score;
        lastProgress = Date.now();
      } else if (Date.now() - lastProgress > stallMs) {
        this.say(`  (no operator got closer to ready for ${stallMs / 1000} s; still behind: ${behind.join(", ")}; going on)`);
        return;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /**
   * Processes mode: waits (bounded) until every running operator's follower has reached the chain head, read from
   * its node API (`/matchnet/v1/status` headBlock). Operators that see a close late miss the leader's seed gossip
   * (held at most 1 s for an unknown batch) and sign a fallback seed, which splits the quorum; closing only once
   * they are caught up after a burst of order blocks avoids that on a loaded 2-core machine.
   */
  async waitOperatorsCaughtUp(timeoutMs = 5_000): Promise<void> {
    if (this.opts.mode !== "processes") return;
    const head = await this.chain.publicClient.getBlockNumber();
    const deadline = Date.now() + timeoutMs;
    const pending = new Set(this.operators.filter((op) => this.children.has(op.name)).map((op) => op.index));
    while (pending.size > 0 && Date.now() < deadline) {
      for (const i of [...pending]) {
        const op = this.operators[i]!;
        try {
          const res = await fetch(`http://127.0.0.1:${op.apiPort}/matchnet/v1/status`, { signal: AbortSignal.timeout(1_000) });
          const body = (await res.json()) as { headBlock?: string };
          if (body.headBlock !== undefined && BigInt(body.headBlock) >= head) pending.delete(i);
        } catch {
          // not answering yet: try again
        }
      }
      if (pending.size > 0) await new Promise((r) => setTimeout(r, 100));
    }
    if (pending.size > 0) this.say(`  (operators ${[...pending].map((i) => this.operators[i]!.name).join(", ")} still behind block #${head} after ${timeoutMs / 1000} s; closing anyway)`);
  }

  async closeBatch(): Promise<BatchClose> {
    await this.waitOperatorsCaughtUp();
    const closed = await closeNextBatch(this.chain, this.addrs.serviceManager, this.chain.devAccounts[0]!, this.timing);
    this.say(`batch ${closed.batch} closed at #${closed.closedAt} (R_b #${closed.referenceBlock}), leader ${this.names(closed.leaderId)} …`);
    return closed;
  }

  /** Waits for the batch's outcome (the in-process signers work meanwhile) and reads its report. */
  async settle(closed: BatchClose): Promise<DevnetBatchReport> {
    let inProcessError: unknown = null;
    if (this.opts.mode === "in-process") {
      const live = this.operators.filter((o) => !this.down.has(o.index));
      void signAndSubmitInProcess(this.chain, this.addrs, closed, live, this.aggregators[0]!.account, this.g2!).catch((err) => (inProcessError = err));
    }
    const intervalMs = this.opts.intervalMiningMs ?? 1_000;
    const outcome = await waitBatchOutcome(this.chain, this.addrs.serviceManager, closed, this.timing, {
      abandoner: this.chain.devAccounts[0]!,
      wallGuardMs: (Number(this.timing.batchTimeout) + 5) * Math.max(intervalMs, 1_000) + 60_000,
    });
    if (inProcessError !== null) this.say(`  in-process signers failed: ${(inProcessError as Error).message ?? String(inProcessError)}`);
    const report = await reportBatch(this.chain, this.addrs, closed, outcome);
    this.reports.push(report);
    return report;
  }

  /** Stops every child by its pid; removes the temp data dir unless asked to keep it. */
  async stop(): Promise<void> {
    this.restarter?.close();
    try {
      await this.supervisor.shutdown();
    } finally {
      this.children.clear();
      if (this.ownsDataDir && !this.opts.keep) await rm(this.dataDir, { recursive: true, force: true });
    }
  }
}

const TEMP_PREFIX = "matchnet-devnet-";
/** In a temp data dir that is removed at exit: the pid of the devnet that owns it. */
const OWNER_FILE = "devnet.pid";

/**
 * Removes the temp data dirs (in the system temp folder) of devnets that were killed before they could remove them:
 * those holding an owner pid that no longer runs. A dir kept on purpose (`--keep`, `--data-dir`) has no owner file;
 * a dir whose owner pid is alive (another devnet, or a reused pid) is left alone. Returns the dirs removed.
 */
export async function sweepAbandonedDataDirs(base = tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(base).catch(() => [] as string[])) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const dir = join(base, name);
    const pid = Number((await readFile(join(dir, OWNER_FILE), "utf8").catch(() => "")).trim());
    if (!Number.isInteger(pid) || pid <= 0 || pidAlive(pid)) continue;
    await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // alive, another user's
  }
}

/**
 * The data dir, private to this user (0700): it holds keystores, their passwords and the operators' databases.
 * A fresh temp dir when none is given; a given dir is created 0700, or narrowed to 0700 when it exists with wider
 * rights.
 */
export async function makePrivateDataDir(given: string | undefined): Promise<string> {
  if (given === undefined) return mkdtemp(join(tmpdir(), TEMP_PREFIX)); // mkdtemp makes it 0700
  await mkdir(given, { recursive: true, mode: 0o700 });
  if (((await stat(given)).mode & 0o077) !== 0) await chmod(given, 0o700);
  return given;
}
