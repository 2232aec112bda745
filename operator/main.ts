/**
 * `npm run operator -- --config <file>`: the operator node as a process (process contract in docs/operator.md).
 *
 * Exit codes (protocol/startup.ts): 0 after a clean stop on SIGINT/SIGTERM; 2 invalid flags, config or deployment
 * file (stderr names the field and the problem); 3 keystore problem (wrong password, missing or unreadable keystore
 * or password file); 1 anything else. Logs are pino JSON lines on stdout; secrets are never logged.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { PublicClient, WalletClient } from "viem";
import type { OperatorConfig } from "../protocol/config/schema.js";
import type { Logger } from "../protocol/log/logger.js";
import { stopOnSignals } from "../protocol/lifecycle.js";
import {
  EXIT_FAILURE,
  EXIT_OK,
  PEER_KEY_FILE,
  chainOf,
  checkChainId,
  loadConfigFile,
  loadDeploymentFile,
  openDataDirDatabase,
  parseConfigFlag,
  readPassword,
  startupFailure,
  unlockKeystore,
} from "../protocol/startup.js";
import type { OperatorNode, OperatorNodeModules } from "./node.js";


/** The LevelDB directory inside `dataDir`. */

export function parseArgs(argv: string[]): { config: string } {
  return parseConfigFlag(argv, {
    name: "operator",
    description: "matchnet operator node: follows batches, matches them, BLS-signs the result and gossips it",
    configHelp: "operator config file (YAML or JSON), see docs/operator.md",
  });
}

async function loadConfig(file: string): Promise<OperatorConfig> {
  const { loadOperatorConfig } = await import("../protocol/config/load.js");
  return loadConfigFile(file, loadOperatorConfig);
}

async function unlock(config: OperatorConfig) {
  const password = await readPassword(config.passwordFile);
  const { unlockAccountKeystoreFile, unlockKeystoreFile } = await import("../protocol/keystore/index.js");
  const secretKey = await unlockKeystore("keystorePath", config.keystorePath, () => unlockKeystoreFile(config.keystorePath, password));
  const accountPath = config.accountKeystorePath;
  const account = accountPath === undefined ? null : await unlockKeystore("accountKeystorePath", accountPath, () => unlockAccountKeystoreFile(accountPath, password));
  return { secretKey, account };
}

async function packageVersion(): Promise<string> {
  try {
    const pkg = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8")) as { version?: string };
    return pkg.version ?? "0.0.0";
  } catch {
    return "0.0.0";
  }
}

/**
 * Starts the node from a config file; resolves with a stop function. Throws StartupError on a known failure.
 * `hooks` are for tests only (test/support/crashing-operator.ts); the `npm run operator` entry never sets them.
 */
export async function startFromConfig(configFile: string, logger?: Logger, hooks?: OperatorNodeModules["hooks"]): Promise<{ node: OperatorNode; stop: () => Promise<void> }> {
  const config = await loadConfig(configFile);
  const { secretKey, account } = await unlock(config);
  const { deployment, addresses } = await loadDeploymentFile(config.deploymentFile);
  const [{ createPublicClient, createWalletClient, http }, { createBlsVerifier, operatorId }, { createLogger }, { createMetrics }, { loadOrCreatePeerKey }, { OperatorNode }] =
    await Promise.all([
      import("viem"),
      import("../protocol/bls/index.js"),
      import("../protocol/log/logger.js"),
      import("../protocol/metrics/metrics.js"),
      import("../protocol/p2p/peerKey.js"),
      import("./node.js"),
    ]);
  const log = logger ?? createLogger({ level: config.logLevel, name: "operator" });
  log.info({ config: configFile, operatorId: operatorId(secretKey.publicKeyG1()), account: account?.address ?? null, rpcUrl: config.rpcUrl }, "starting operator node");

  // One HTTP transport with JSON-RPC batching: the reads of one batch (inputs, operator set, leader order) are many
  // small eth_calls issued together.
  const transport = http(config.rpcUrl, { batch: { wait: 5 }, retryCount: 2, timeout: 10_000 });
  // cacheTime 0: viem otherwise caches the block number for its polling interval (4 s by default), and the
  // follower would see each close up to 4 s late, and operators would miss seeds gossiped meanwhile (docs/devnet.md).
  const client = createPublicClient({ transport, pollingInterval: config.pollIntervalMs, cacheTime: 0 }) as PublicClient;
  const chainId = await checkChainId(client, config.rpcUrl, deployment.chainId, { waitMs: config.rpcWaitMs, progress: (line, fields) => log.warn(fields, line) });
  const chain = chainOf(chainId, config.rpcUrl);
  const wallet: WalletClient | null = account ? createWalletClient({ account, chain, transport, pollingInterval: config.pollIntervalMs }) : null;

  const { privateKey: peerKey, created } = await loadOrCreatePeerKey(join(config.dataDir, PEER_KEY_FILE));
  if (created) log.info({ file: join(config.dataDir, PEER_KEY_FILE) }, "created a new libp2p peer key");
  const db = await openDataDirDatabase(config.dataDir, "a node");
  try {
    const node = await OperatorNode.start(
      {
        chainId: BigInt(chainId),
        addresses,
        listen: [config.listen],
        bootstrap: config.bootstrap,
        ...(config.allow !== undefined ? { network: { allow: config.allow } } : {}),
        pollIntervalMs: config.pollIntervalMs,
        api: config.api,
        metrics: config.metrics,
        healthMaxBlocksBehind: config.health.maxBlocksBehind,
        nodeVersion: await packageVersion(),
      },
      {
        client,
        wallet,
        secretKey,
        db,
        peerKey,
        verifier: await createBlsVerifier("mcl"),
        logger: log,
        metrics: createMetrics({ collectDefault: true }),
        ...(hooks !== undefined ? { hooks } : {}),
      },
    );
    return {
      node,
      stop: async () => {
        await node.stop();
        await db.close();
      },
    };
  } catch (err) {
    await db.close();
    throw err;
  }
}

/**
 * Runs the node until SIGINT, SIGTERM or SIGHUP (repeated or not) or until its parent process is gone
 * (protocol/lifecycle.ts); a signal during start-up stops what has started so far. Resolves with the exit code.
 */
export async function main(argv: string[], hooks?: OperatorNodeModules["hooks"]): Promise<number> {
  let started: Promise<{ stop: () => Promise<void> }> | null = null;
  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((r) => (resolveExit = r));
  const stopper = stopOnSignals({
    name: "operator",
    // Before start-up the logger does not exist yet: the same JSON line format, written directly.
    say: (line, reason) => {
      const msg = /already stopping/.test(line) ? "already stopping" : /failed|did not finish/.test(line) ? "stop failed" : "stopping";
      process.stdout.write(JSON.stringify({ level: msg === "stop failed" ? 50 : 30, time: Date.now(), event: msg.replace(" ", "_"), msg, detail: line, signal: reason }) + "\n");
    },
    stop: async () => {
      const running = await started?.catch(() => null);
      await running?.stop();
      return EXIT_OK;
    },
    exit: resolveExit,
  });
  try {
    const { config } = parseArgs(argv);
    started = startFromConfig(config, undefined, hooks);
    await started;
  } catch (err) {
    if (stopper.stopping) return exited;
    stopper.release();
    return startupFailure("operator", err);
  }
  return exited;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`operator: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(EXIT_FAILURE);
    },
  );
}
