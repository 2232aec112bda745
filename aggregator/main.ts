/**
 * `npm run aggregator -- --config <file>`: the aggregator process (WAVE2 process contract).
 *
 * Exit codes: 0 after a clean stop on SIGINT/SIGTERM; 2 bad flags, invalid config or unreadable deployment file
 * (stderr names the field and the problem); 3 keystore problem (keystore or password file missing or unreadable,
 * wrong password); 1 anything else. Logs are pino JSON lines on stdout; secrets are never logged.
 */
import { join } from "node:path";
import { Command, CommanderError } from "commander";
import type { PublicClient } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { ConfigError, ConfigErrorCode, loadAggregatorConfig, readPasswordFile } from "../protocol/config/load.js";
import type { AggregatorConfig } from "../protocol/config/schema.js";
import { DeploymentFileError, readDeployment, systemAddresses, type Deployment } from "../protocol/chain/deployment.js";
import { KeystoreError, unlockAccountKeystoreFile } from "../protocol/keystore/index.js";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CONFIG = 2;
export const EXIT_KEYSTORE = 3;

/** A start-up failure with the exit code it maps to; its message goes to stderr as is. */
class StartupError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** The peer key file in the data dir (protocol/p2p/peerKey.ts), the same name the operator uses. */
export const PEER_KEY_FILE = "peer-key";
/** How often the chain head is polled: a few times per block on a devnet with ~1 s blocks. */
const CHAIN_POLL_MS = 250;

function parseFlags(argv: string[]): { config: string } {
  const program = new Command()
    .name("aggregator")
    .description("matchnet aggregator: collects operators' partial BLS signatures and submits batch results")
    .requiredOption("--config <file>", "config file (YAML or JSON), see docs/aggregator.md")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  try {
    program.parse(argv, { from: "node" });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version") process.exit(EXIT_OK);
      throw new StartupError(EXIT_CONFIG, ""); // commander already wrote its message
    }
    throw err;
  }
  return program.opts<{ config: string }>();
}

async function loadConfig(file: string): Promise<AggregatorConfig> {
  try {
    return await loadAggregatorConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) throw new StartupError(EXIT_CONFIG, err.message);
    throw err;
  }
}

async function loadDeployment(file: string): Promise<Deployment> {
  try {
    return await readDeployment(file);
  } catch (err) {
    if (err instanceof DeploymentFileError) throw new StartupError(EXIT_CONFIG, `deploymentFile: ${err.message}`);
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== undefined) throw new StartupError(EXIT_CONFIG, `deploymentFile: cannot read ${file}: ${code}`);
    if (err instanceof SyntaxError) throw new StartupError(EXIT_CONFIG, `deploymentFile: ${file} is not valid JSON`);
    throw err;
  }
}

async function unlockAccount(config: AggregatorConfig): Promise<PrivateKeyAccount> {
  let password: string;
  try {
    password = await readPasswordFile(config.passwordFile);
  } catch (err) {
    if (err instanceof ConfigError && (err.code === ConfigErrorCode.PasswordFileUnreadable || err.code === ConfigErrorCode.PasswordEmpty)) {
      throw new StartupError(EXIT_KEYSTORE, `passwordFile: ${err.message}`);
    }
    throw err;
  }
  try {
    return await unlockAccountKeystoreFile(config.keystorePath, password);
  } catch (err) {
    if (err instanceof KeystoreError) throw new StartupError(EXIT_KEYSTORE, `keystorePath: cannot unlock ${config.keystorePath}: ${err.message}`);
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== undefined) throw new StartupError(EXIT_KEYSTORE, `keystorePath: cannot read ${config.keystorePath}: ${code}`);
    throw err;
  }
}

/** What a signal does: before the node runs there is nothing to stop (the aggregator holds no database). */
let onSignal: (signal: NodeJS.Signals) => void = () => process.exit(EXIT_OK);

async function main(argv: string[]): Promise<void> {
  process.on("SIGINT", (s) => onSignal(s));
  process.on("SIGTERM", (s) => onSignal(s));
  const flags = parseFlags(argv);
  const config = await loadConfig(flags.config);
  const deployment = await loadDeployment(config.deploymentFile);
  let addresses;
  try {
    addresses = systemAddresses(deployment, config.deploymentFile);
  } catch (err) {
    if (err instanceof DeploymentFileError) throw new StartupError(EXIT_CONFIG, `deploymentFile: ${err.message}`);
    throw err;
  }
  const account = await unlockAccount(config);

  // Loaded only once the config and the keys are good: libp2p, mcl and the matcher take seconds to load on a busy
  // machine, and a config error should be reported at once.
  const [{ createPublicClient, createWalletClient, defineChain, http, webSocket }, { ChainSubmitter }, { createAggregatorMetrics }, { AggregatorNode }] =
    await Promise.all([import("viem"), import("./chainSubmitter.js"), import("./metrics.js"), import("./node.js")]);
  const [{ createLogger }, { createMetrics }, { startMetricsServer }, { loadOrCreatePeerKey }] = await Promise.all([
    import("../protocol/log/logger.js"),
    import("../protocol/metrics/metrics.js"),
    import("../protocol/metrics/server.js"),
    import("../protocol/p2p/peerKey.js"),
  ]);

  const logger = createLogger({ level: config.logLevel, name: "aggregator" });
  const chain = defineChain({
    id: deployment.chainId,
    name: `matchnet ${deployment.chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [config.rpcUrl] } },
  });
  const transport = /^wss?:/.test(config.rpcUrl) ? webSocket(config.rpcUrl) : http(config.rpcUrl);
  // cacheTime 0: the follower polls the head itself; a cached block number would only delay it.
  const publicClient = createPublicClient({ chain, transport, pollingInterval: CHAIN_POLL_MS, cacheTime: 0 }) as PublicClient;
  const walletClient = createWalletClient({ account, chain, transport, pollingInterval: CHAIN_POLL_MS });
  const rpcChainId = await publicClient.getChainId();
  if (rpcChainId !== deployment.chainId) {
    throw new StartupError(EXIT_FAILURE, `rpcUrl serves chain ${rpcChainId}, but the deployment file is for chain ${deployment.chainId}`);
  }

  const metrics = createMetrics({ collectDefault: true });
  const aggregatorMetrics = createAggregatorMetrics(metrics.register);
  const { privateKey } = await loadOrCreatePeerKey(join(config.dataDir, PEER_KEY_FILE));
  const node = await AggregatorNode.start(
    {
      chainId: BigInt(deployment.chainId),
      addresses,
      quorumWaitBlocks: config.aggregation.quorumWaitBlocks,
      pollIntervalMs: CHAIN_POLL_MS,
      network: { listen: [config.listen], bootstrap: config.bootstrap, privateKey, unknownBatchWaitMs: config.aggregation.earlyPartialHoldMs },
    },
    {
      publicClient,
      submitter: new ChainSubmitter({ serviceManager: addresses.serviceManager }, { publicClient, walletClient }),
      logger,
      metrics,
      aggregatorMetrics,
    },
  );
  let metricsServer;
  try {
    metricsServer = await startMetricsServer(config.metrics, { register: metrics.register, logger });
  } catch (err) {
    await node.stop();
    throw err;
  }

  logger.info(
    {
      peerId: node.network!.peerId.toString(),
      addrs: node.network!.multiaddrs(),
      account: account.address,
      chainId: deployment.chainId,
      serviceManager: addresses.serviceManager,
      head: node.follower.head,
      metricsPort: metricsServer.port,
    },
    "ready",
  );

  process.on("unhandledRejection", (err) => {
    logger.fatal({ err }, "unhandled rejection");
    logger.flush();
    process.exit(EXIT_FAILURE);
  });
  let stopping = false;
  onSignal = (signal) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    void (async () => {
      try {
        await node.stop();
        await metricsServer.close();
        logger.info({}, "stopped");
        logger.flush();
        process.exit(EXIT_OK);
      } catch (err) {
        logger.error({ err }, "stop failed");
        logger.flush();
        process.exit(EXIT_FAILURE);
      }
    })();
  };
}

main(process.argv).catch((err: unknown) => {
  if (err instanceof StartupError) {
    if (err.message !== "") process.stderr.write(`aggregator: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`aggregator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(EXIT_FAILURE);
});
