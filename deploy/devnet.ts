/**
 * `npm run devnet`: a local matchnet — hardhat node, the system deployed with Ignition, N registered operators and an
 * aggregator running as separate processes, providers with offers, renters placing orders — and a live view of every
 * batch from close to final. See docs/devnet.md.
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError, Option } from "commander";
import { CHAIN_KINDS, type ChainKind } from "./devnet/chain.js";
import { Devnet, type DevnetMode } from "./devnet/devnet.js";
import { formatBatch, summaryTable } from "./devnet/view.js";
import { startExplorer } from "../explorer/server.js";
import { signalExitCode, stopOnSignals } from "../protocol/lifecycle.js";
import { reasonText } from "../cli/quote.js";
import { marketLifeOf, runLivingBatch } from "./devnet/living.js";
import { formatMarketLine } from "./devnet/market-life.js";
import { endpointsText } from "./devnet/endpoints.js";

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
  .option("--orders-per-batch <m>", "a fixed number of orders before each close, with no market life (no lease ends, no offer churn); default: --load", positiveInt("--orders-per-batch", 0))
  .option("--load <pct>", "living market: renters ask for this % of the GPU-hours offered per batch (docs/devnet.md)", positiveInt("--load"))
  .option("--hours-per-batch <h>", "living market: simulated hours between two batches (leases end, capacity frees)", positiveInt("--hours-per-batch"), 2)
  .option("--providers <p>", "providers registered with offers (at most 9)", positiveInt("--providers"), 8)
  .addOption(new Option("--chain <node>", "local node to run the chain on").choices(CHAIN_KINDS).default("anvil"))
  .option("--port <port>", "chain RPC port on 127.0.0.1", positiveInt("--port"), 8545)
  .option("--data-dir <dir>", "where keystores, configs, databases and logs go (default: a fresh temp dir)")
  .option("--keep", "keep the temp data dir after exit", false)
  .option("--seed <n>", "seed of the market traffic", positiveInt("--seed", 0), 1)
  .option("--block-interval <ms>", "interval mining period in ms (automine stays on)", positiveInt("--block-interval", 100), 1000)
  .option("--no-automine", "after the setup, blocks come only from the interval mining, each holding every transaction sent meanwhile, as on an L2")
  .option("--no-restart", "leave an operator or aggregator process that crashed down (default: restart it with a back-off, up to 5 crashes in a row)")
  .option("--no-agents", "do not start the provider agents (by default one per provider, docs/agent.md)")
  .option("--in-process-signers", "sign and submit inside the devnet process instead of starting operator and aggregator processes", false)
  .showHelpAfterError();

async function main(): Promise<number> {
  program.parse();
  const o = program.opts<{
    operators: number;
    batches?: number;
    ordersPerBatch?: number;
    load?: number;
    hoursPerBatch: number;
    providers: number;
    port: number;
    chain: ChainKind;
    dataDir?: string;
    keep: boolean;
    seed: number;
    blockInterval: number;
    automine: boolean;
    inProcessSigners: boolean;
    agents: boolean;
    restart: boolean;
  }>();
  if (o.ordersPerBatch !== undefined && o.load !== undefined) throw new Error("devnet: give --orders-per-batch (fixed orders) or --load (living market), not both");
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
    chain: o.chain,
    port: o.port,
    dataDir: o.dataDir === undefined ? undefined : resolve(o.dataDir),
    keep: o.keep,
    seed: o.seed,
    intervalMiningMs: o.blockInterval,
    automine: o.automine,
    agents: o.agents,
    restartCrashed: o.restart,
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
    const operatorApis = mode === "processes" ? devnet.operators.map((op) => ({ operator: op.operatorId, url: `http://127.0.0.1:${op.apiPort}` })) : [];
    const explorerUrl = (await startExplorer({ rpc: devnet.chain.url, deployment: devnet.deploymentFile, db: resolve(devnet.dataDir, "explorer.sqlite"), operatorApis })).url;
    out("\n" + endpointsText(devnet, explorerUrl));
  } catch (err) {
    if (stopping()) return new Promise<number>(() => {}); // the signal handler exits
    await stopDevnet();
    throw err;
  }
  if (stopping()) return new Promise<number>(() => {});
  const life = o.ordersPerBatch === undefined ? marketLifeOf(devnet, { load: o.load ?? 80, hoursPerBatch: o.hoursPerBatch }) : null;
  out(
    life === null
      ? `\nrunning ${o.batches ?? "∞"} batch(es), ${o.ordersPerBatch} orders each; Ctrl-C stops everything\n`
      : `\nrunning ${o.batches ?? "∞"} batch(es) of a living market: load ${life.opts.load} % (${life.ordersPerBatch()} orders per batch now), ${life.opts.hoursPerBatch} h per batch; Ctrl-C stops everything\n`,
  );
  for (let k = 0; o.batches === undefined || k < o.batches; k++) {
    let text;
    try {
      if (life === null) text = formatBatch(await devnet.runBatch(o.ordersPerBatch!), devnet.names);
      else {
        const { report, step, figures } = await runLivingBatch(devnet, life);
        text = formatBatch(report, devnet.names) + "\n" + formatMarketLine(figures, step, reasonText);
      }
    } catch (err) {
      if (stopping()) return new Promise<number>(() => {});
      await stopDevnet();
      throw err;
    }
    if (stopping()) return new Promise<number>(() => {});
    out(text);
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
