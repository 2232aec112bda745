/**
 * `npm run aggregator -- --config <file>`: the aggregator process (process contract in docs/aggregator.md).
 *
 * Exit codes (protocol/startup.ts): 0 after a clean stop on SIGINT/SIGTERM; 2 bad flags, invalid config or
 * unreadable deployment file (stderr names the field and the problem); 3 keystore problem (keystore or password file
 * missing or unreadable, wrong password); 1 anything else. Logs are pino JSON lines on stdout; secrets are never
 * logged.
 */
import { join } from "node:path";
import type { PublicClient } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { loadAggregatorConfig } from "../protocol/config/load.js";
import type { AggregatorConfig } from "../protocol/config/schema.js";
import { unlockAccountKeystoreFile } from "../protocol/keystore/index.js";
import { stopOnSignals } from "../protocol/lifecycle.js";
import * as startup from "../protocol/startup.js";

/** How often the chain head is polled: a few times per block on a devnet with ~1 s blocks. */
const CHAIN_POLL_MS = 250;

async function unlockAccount(config: AggregatorConfig): Promise<PrivateKeyAccount> {
  const password = await startup.readPassword(config.passwordFile);
  return startup.unlockKeystore("keystorePath", config.keystorePath, () => unlockAccountKeystoreFile(config.keystorePath, password));
}

/** What the stop has to stop once start-up got that far, and the logger to say it with. */
let running: { stop(): Promise<void>; logger: { info(o: object, m: string): void; error(o: object, m: string): void; flush(): void } } | null = null;

async function main(argv: string[]): Promise<void> {
  const flags = startup.parseConfigFlag(argv, {
    name: "aggregator",
    description: "matchnet aggregator: collects operators' partial BLS signatures and submits batch results",
    configHelp: "config file (YAML or JSON), see docs/aggregator.md",
  });
  const config = await startup.loadConfigFile(flags.config, loadAggregatorConfig);
  const { deployment, addresses } = await startup.loadDeploymentFile(config.deploymentFile);
  const account = await unlockAccount(config);
  // Peer bans survive a restart (docs/aggregator.md, "Peer bans"). Opened before the RPC is asked: a dataDir held by
  // another aggregator is a configuration error, reported at once.
  const db = await startup.openDataDirDatabase(config.dataDir, "an aggregator");

  // Loaded only once the config and the keys are good: libp2p, mcl and the matcher take seconds to load on a busy
  // machine, and a config error should be reported at once.
  const [{ createPublicClient, createWalletClient, http, webSocket }, { ChainSubmitter }, { createAggregatorMetrics, createEnforcementMetrics }, { AggregatorNode }, { Enforcer }, { SendLock }] =
    await Promise.all([import("viem"), import("./chainSubmitter.js"), import("./metrics.js"), import("./node.js"), import("./enforcer.js"), import("./sendLock.js")]);
  const [{ createLogger }, { createMetrics }, { startMetricsServer }, { loadOrCreatePeerKey }] = await Promise.all([
    import("../protocol/log/logger.js"),
    import("../protocol/metrics/metrics.js"),
    import("../protocol/metrics/server.js"),
    import("../protocol/p2p/peerKey.js"),
  ]);

  const logger = createLogger({ level: config.logLevel, name: "aggregator" });
  const chain = startup.chainOf(deployment.chainId, config.rpcUrl);
  const transport = /^wss?:/.test(config.rpcUrl) ? webSocket(config.rpcUrl) : http(config.rpcUrl);
  // cacheTime 0: the follower polls the head itself; a cached block number would only delay it.
  const publicClient = createPublicClient({ chain, transport, pollingInterval: CHAIN_POLL_MS, cacheTime: 0 }) as PublicClient;
  const walletClient = createWalletClient({ account, chain, transport, pollingInterval: CHAIN_POLL_MS });
  await startup.checkChainId(publicClient, config.rpcUrl, deployment.chainId, { waitMs: config.rpcWaitMs, progress: (line, fields) => logger.warn(fields, line) });

  const metrics = createMetrics({ collectDefault: true });
  const aggregatorMetrics = createAggregatorMetrics(metrics.register);
  const sendLock = new SendLock();
  const enforcement = config.enforcement;
  const enforcer =
    enforcement.slashInvalidResults || enforcement.ejectInactive
      ? new Enforcer(
          { serviceManager: addresses.serviceManager, operatorRegistry: addresses.operatorRegistry, ...enforcement },
          { publicClient, walletClient, sendLock, logger, metrics: createEnforcementMetrics(metrics.register) },
        )
      : null;
  const { privateKey } = await loadOrCreatePeerKey(join(config.dataDir, startup.PEER_KEY_FILE));
  const { BanRepository } = await import("../protocol/p2p/banStore.js");
  const node = await AggregatorNode.start(
    {
      chainId: BigInt(deployment.chainId),
      addresses,
      quorumWaitBlocks: config.aggregation.quorumWaitBlocks,
      pollIntervalMs: CHAIN_POLL_MS,
      network: { listen: [config.listen], bootstrap: config.bootstrap, allow: config.allow ?? [], privateKey, unknownBatchWaitMs: config.aggregation.earlyPartialHoldMs },
    },
    {
      publicClient,
      submitter: new ChainSubmitter({ serviceManager: addresses.serviceManager }, { publicClient, walletClient, sendLock }),
      enforcer,
      logger,
      metrics,
      aggregatorMetrics,
      bans: new BanRepository(db),
    },
  ).catch(async (err: unknown) => {
    await db.close();
    throw err;
  });
  let metricsServer;
  try {
    metricsServer = await startMetricsServer(config.metrics, { register: metrics.register, logger });
  } catch (err) {
    await node.stop();
    await db.close();
    throw err;
  }

  logger.info(
    {
      event: "ready",
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
    process.exit(startup.EXIT_FAILURE);
  });
  running = {
    logger,
    stop: async () => {
      // The network stops first and writes its last bans; the database closes after it.
      await node.stop();
      await db.close();
      await metricsServer.close();
      logger.info({ event: "stopped" }, "stopped");
      logger.flush();
    },
  };
}

// Signals (repeated or not) and a parent that is gone stop the aggregator (protocol/lifecycle.ts); one during start-up
// waits for the start to end, then stops what it started.
let starting: Promise<void> = Promise.resolve();
const stopper = stopOnSignals({
  name: "aggregator",
  say: (line, reason) => {
    const msg = /already stopping/.test(line) ? "already stopping" : /failed|did not finish/.test(line) ? "stop failed" : "stopping";
    if (running !== null) (msg === "stop failed" ? running.logger.error : running.logger.info).call(running.logger, { signal: reason, detail: line }, msg);
    else process.stdout.write(JSON.stringify({ level: msg === "stop failed" ? 50 : 30, time: Date.now(), msg, detail: line, signal: reason }) + "\n");
  },
  stop: async () => {
    await starting.catch(() => {});
    await running?.stop();
    return startup.EXIT_OK;
  },
});
starting = main(process.argv.slice(2));
starting.catch((err: unknown) => {
  if (stopper.stopping) return; // the stop exits
  process.exit(startup.startupFailure("aggregator", err));
});
