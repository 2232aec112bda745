/**
 * `npm run provider-agent -- --config <file>`: the provider agent as a process (docs/agent.md).
 *
 * Exit codes (protocol/startup.ts): 0 after a clean stop on SIGINT/SIGTERM (every workload stopped first); 2 invalid
 * flags, config, deployment file or state file of another deployment; 3 keystore or password problem; 1 anything
 * else. Logs are pino JSON lines on stdout, each with an `event` code; credentials and keys are never logged. The
 * `{"msg":"ready"}` line comes after the first reconcile.
 */
import { stopOnSignals } from "../protocol/lifecycle.js";
import { pathToFileURL } from "node:url";
import { createPublicClient, http, type PublicClient } from "viem";
import {
  EXIT_CONFIG,
  EXIT_FAILURE,
  EXIT_KEYSTORE,
  EXIT_OK,
  StartupError,
  checkChainId,
  loadConfigFile,
  loadDeploymentFile,
  parseConfigFlag,
  readPassword,
  startupFailure,
  unlockKeystore,
} from "../protocol/startup.js";
import { createLogger, type Logger } from "../protocol/log/logger.js";
import { unlockAccountKeystoreFile } from "../protocol/keystore/index.js";
import { AgentError, ProviderAgent } from "./agent.js";
import { confirmationsFor, loadProviderAgentConfig, type ProviderAgentConfig } from "./config.js";
import { StateError, StateStore } from "./state.js";
import { Workloads } from "./workloads.js";

export const PASSWORD_ENV = "MATCHNET_AGENT_PASSWORD";

async function password(config: ProviderAgentConfig): Promise<string> {
  if (config.passwordFile !== undefined) return readPassword(config.passwordFile);
  const p = process.env[PASSWORD_ENV];
  if (p === undefined || p === "") throw new StartupError(EXIT_KEYSTORE, `passwordFile: not set, and ${PASSWORD_ENV} is empty`);
  return p;
}

/** How long start-up waits for the chain RPC to answer, with a progress line meanwhile (as the operator's rpcWaitMs). */
const RPC_WAIT_MS = 30_000;

export async function startFromConfig(configFile: string, logger?: Logger): Promise<{ agent: ProviderAgent; stop: () => Promise<void> }> {
  const config = await loadConfigFile(configFile, loadProviderAgentConfig);
  const pw = await password(config);
  const account = await unlockKeystore("accountKeystorePath", config.accountKeystorePath, () => unlockAccountKeystoreFile(config.accountKeystorePath, pw));
  const { deployment, addresses } = await loadDeploymentFile(config.deploymentFile);
  const log = logger ?? createLogger({ level: config.logLevel, name: "provider-agent" });
  const transport = http(config.rpcUrl, { batch: { wait: 5 }, retryCount: 2, timeout: 10_000 });
  const client = createPublicClient({ transport, pollingInterval: config.pollIntervalMs, cacheTime: 0 }) as PublicClient;
  const chainId = await checkChainId(client, config.rpcUrl, deployment.chainId, { waitMs: RPC_WAIT_MS, progress: (line, fields) => log.warn(fields, line) });
  const store = await StateStore.open(config.dataDir);
  const workloads = new Workloads({ host: config.workload.host, portRange: config.workload.portRange, spares: config.workload.spares }, log);
  const confirmations = confirmationsFor(chainId, config.confirmations);
  log.info({ event: "agent_starting", provider: account.address, marketplace: addresses.marketplace, rpcUrl: config.rpcUrl, portRange: config.workload.portRange, confirmations }, "starting provider agent");
  let agent: ProviderAgent;
  try {
    agent = await ProviderAgent.start(
      {
        chainId,
        marketplace: addresses.marketplace,
        offerBook: addresses.offerBook,
        deployBlock: BigInt(deployment.deployBlock),
        advertiseHost: config.workload.advertiseHost ?? config.workload.host,
        pollIntervalMs: config.pollIntervalMs,
        confirmations,
      },
      { client, account, store, workloads, logger: log },
    );
  } catch (err) {
    await workloads.stopAll();
    if (err instanceof AgentError) throw new StartupError(EXIT_CONFIG, err.message, { cause: err });
    if (err instanceof StateError) throw new StartupError(EXIT_CONFIG, `dataDir: ${err.message}`, { cause: err });
    throw err;
  }
  log.info({ event: "agent_ready", provider: account.address, leases: agent.leases().filter((l) => l.phase === "ready" || l.phase === "sealed").length }, "ready");
  return { agent, stop: () => agent.stop() };
}

export async function main(argv: string[]): Promise<number> {
  let stop: (() => Promise<void>) | undefined;
  try {
    const { config } = parseConfigFlag(argv, {
      name: "provider-agent",
      description: "matchnet provider agent: starts each lease's workload and hands its sealed access to the renter",
      configHelp: "agent config file (YAML or JSON), see docs/agent.md",
    });
    ({ stop } = await startFromConfig(config));
  } catch (err) {
    return startupFailure("provider-agent", err);
  }
  // One stop on SIGINT, SIGTERM or SIGHUP (repeated signals wait for it) or when the parent dies; every workload is
  // stopped first (protocol/lifecycle.ts).
  stopOnSignals({
    name: "provider-agent",
    stop: async () => {
      process.stdout.write(JSON.stringify({ level: 30, time: Date.now(), event: "agent_stopping", msg: "stopping" }) + "\n");
      await stop!();
      return EXIT_OK;
    },
  });
  return new Promise<number>(() => {}); // stopOnSignals exits the process
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`provider-agent: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(EXIT_FAILURE);
    },
  );
}
