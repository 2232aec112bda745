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
import { REASON_TEXT } from "../cli/quote.js";
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
    inProcessSigners: boolean;
  }>();
  if (o.ordersPerBatch !== undefined && o.load !== undefined) throw new Error("devnet: give --orders-per-batch (fixed orders) or --load (living market), not both");
  if (o.providers > 9) throw new Error("devnet: --providers must be at most 9 (dev accounts 1‥9 are the providers)");
  const mode: DevnetMode = o.inProcessSigners ? "in-process" : "processes";
  const out = (line: string) => console.log(line);
  let devnet: Devnet | null = null;
  let stopping = false;
  const stopAll = async (why: string, code: number) => {
    if (stopping) return;
    stopping = true;
    out(`\n${why}: stopping every child process …`);
    if (devnet !== null) {
      if (devnet.reports.length > 0) out("\n" + summaryTable(devnet.reports, devnet.names));
      await devnet.stop();
      out(devnet.opts.keep || o.dataDir !== undefined ? `data and logs kept in ${devnet.dataDir}` : "data dir removed (use --keep to keep it)");
    }
    process.exit(code);
  };
  process.once("SIGINT", () => void stopAll("Ctrl-C", 130));
  process.once("SIGTERM", () => void stopAll("SIGTERM", 143));

  devnet = await Devnet.create({
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
    out,
  });
  try {
    await devnet.boot();
    const explorerUrl = (await startExplorer({ rpc: devnet.chain.url, deployment: devnet.deploymentFile, db: resolve(devnet.dataDir, "explorer.sqlite") })).url;
    out("\n" + endpointsText(devnet, explorerUrl));
  } catch (err) {
    if (stopping) return new Promise<number>(() => {}); // the signal handler exits
    await devnet.stop();
    throw err;
  }
  if (stopping) return new Promise<number>(() => {});
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
        text = formatBatch(report, devnet.names) + "\n" + formatMarketLine(figures, step, (r) => REASON_TEXT[r] ?? "");
      }
    } catch (err) {
      if (stopping) return new Promise<number>(() => {});
      await devnet.stop();
      throw err;
    }
    if (stopping) return new Promise<number>(() => {});
    out(text + "\n");
  }
  const allFinal = devnet.reports.every((r) => r.status === "final" && r.matcherAgrees === true);
  out(summaryTable(devnet.reports, devnet.names));
  stopping = true;
  await devnet.stop();
  if (o.keep || o.dataDir !== undefined) out(`\nlogs: ${devnet.logsDir} (chain.log, op<i>.log, aggregator.log); data kept in ${devnet.dataDir}`);
  else out(`\ndata dir ${devnet.dataDir} removed with its logs (run with --keep to keep them)`);
  return allFinal ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    console.error(`\n${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
