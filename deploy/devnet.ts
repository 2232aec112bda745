/**
 * `npm run devnet`: a local matchnet — hardhat node, the system deployed with Ignition, N registered operators and an
 * aggregator running as separate processes, providers with offers, renters placing orders — and a live view of every
 * batch from close to final. See docs/devnet.md.
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError } from "commander";
import { Devnet, type DevnetMode } from "./devnet/devnet.js";
import { formatBatch, summaryTable } from "./devnet/view.js";
import { startExplorer } from "../explorer/server.js";
import { signalExitCode, stopOnSignals } from "../protocol/lifecycle.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

function positiveInt(name: string, min = 1) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}`);
    return n;
  };
}

const program = new Command()
  .name("npm run devnet --")
  .description("Run a local matchnet: chain, operators, aggregator, market traffic, and a live view of each batch.")
  .option("--operators <n>", "operators to register and start", positiveInt("--operators"), 4)
  .option("--batches <k>", "exit after k batches (exit code 0 only if all were final); default: run until Ctrl-C", positiveInt("--batches"))
  .option("--orders-per-batch <m>", "renter orders placed before each close", positiveInt("--orders-per-batch", 0), 8)
  .option("--providers <p>", "providers registered with offers (at most 9)", positiveInt("--providers"), 8)
  .option("--port <port>", "chain RPC port on 127.0.0.1", positiveInt("--port"), 8545)
  .option("--data-dir <dir>", "where keystores, configs, databases and logs go (default: a fresh temp dir)")
  .option("--keep", "keep the temp data dir after exit", false)
  .option("--seed <n>", "seed of the market traffic", positiveInt("--seed", 0), 1)
  .option("--block-interval <ms>", "interval mining period in ms (automine stays on)", positiveInt("--block-interval", 100), 1000)
  .option("--agents", "start a provider agent process per provider (docs/agent.md)", false)
  .option("--in-process-signers", "sign and submit inside the devnet process instead of starting operator and aggregator processes", false)
  .showHelpAfterError();

async function main(): Promise<number> {
  program.parse();
  const o = program.opts<{
    operators: number;
    batches?: number;
    ordersPerBatch: number;
    providers: number;
    port: number;
    dataDir?: string;
    keep: boolean;
    seed: number;
    blockInterval: number;
    inProcessSigners: boolean;
    agents: boolean;
  }>();
  if (o.providers > 9) throw new Error("devnet: --providers must be at most 9 (dev accounts 1‥9 are the providers)");
  const mode: DevnetMode = o.inProcessSigners ? "in-process" : "processes";
  const out = (line: string) => console.log(line);
  const keepData = o.keep || o.dataDir !== undefined;
  // Created before any signal handler can run its stop, so that a stop always has the data dir to remove.
  const devnet = await Devnet.create({
    root,
    operators: o.operators,
    mode,
    providers: o.providers,
    port: o.port,
    dataDir: o.dataDir === undefined ? undefined : resolve(o.dataDir),
    keep: o.keep,
    seed: o.seed,
    intervalMiningMs: o.blockInterval,
    agents: o.agents,
    out,
  });
  out(`data dir ${devnet.dataDir} (mode 0700: keystores and passwords) ${keepData ? "is kept after exit" : "is removed on exit (--keep keeps it)"}`);
  /**
   * Stops the children, removes the temp data dir and says what became of it, once: a signal during the stop at the
   * end of a run waits for that same stop.
   */
  let stopped: Promise<void> | null = null;
  const stopDevnet = (): Promise<void> =>
    (stopped ??= devnet.stop().then(() => {
      out(keepData ? `data and logs kept in ${devnet.dataDir} (it holds keystores and their passwords)` : `data dir ${devnet.dataDir} removed with its logs (run with --keep to keep them)`);
    }));
  const stopper = stopOnSignals({
    name: "devnet",
    say: (line) => out(`\ndevnet: ${line}`),
    stop: async (reason) => {
      out("stopping every child process …");
      if (devnet.reports.length > 0) out("\n" + summaryTable(devnet.reports, devnet.names));
      await stopDevnet();
      return signalExitCode(reason);
    },
  });
  const stopping = () => stopper.stopping;

  try {
    await devnet.boot();
    // Operator processes serve their node API; the explorer shows each one's health on its operators page.
    const operatorApis = mode === "processes" ? devnet.operators.map((op) => ({ operator: op.operatorId.toLowerCase(), url: `http://127.0.0.1:${op.apiPort}` })) : [];
    out(`explorer: ${(await startExplorer({ rpc: devnet.chain.url, deployment: devnet.deploymentFile, db: resolve(devnet.dataDir, "explorer.sqlite"), operatorApis })).url}`);
  } catch (err) {
    if (stopping()) return new Promise<number>(() => {}); // the signal handler exits
    await stopDevnet();
    throw err;
  }
  if (stopping()) return new Promise<number>(() => {});
  out(`\nrunning ${o.batches ?? "∞"} batch(es), ${o.ordersPerBatch} orders each; Ctrl-C stops everything\n`);
  for (let k = 0; o.batches === undefined || k < o.batches; k++) {
    let report;
    try {
      report = await devnet.runBatch(o.ordersPerBatch);
    } catch (err) {
      if (stopping()) return new Promise<number>(() => {});
      await stopDevnet();
      throw err;
    }
    if (stopping()) return new Promise<number>(() => {});
    out(formatBatch(report, devnet.names));
    if (devnet.agents.length > 0) {
      const h = await devnet.handoffs(5_000);
      out(`    handoffs: ${h.ready}/${h.started} leases ready (provider agents, docs/agent.md)`);
    }
    out("");
  }
  const allFinal = devnet.reports.every((r) => r.status === "final" && r.matcherAgrees === true);
  out(summaryTable(devnet.reports, devnet.names));
  if (keepData) out(`\nlogs: ${devnet.logsDir} (chain.log, op<i>.log, aggregator.log)`);
  await stopDevnet();
  return allFinal ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    console.error(`\n${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
