/**
 * `npm run operator -- --config <file>`: the operator node as a process (process contract in docs/operator.md).
 *
 * Exit codes: 0 after a clean stop on SIGINT/SIGTERM; 2 invalid flags, config or deployment file (stderr names the
 * field and the problem); 3 keystore problem (wrong password, missing or unreadable keystore or password file);
 * 1 anything else. Logs are pino JSON lines on stdout; secrets are never logged.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Command, CommanderError } from "commander";
import type { PublicClient, WalletClient } from "viem";
import type { OperatorConfig } from "../protocol/config/schema.js";
import type { Logger } from "../protocol/log/logger.js";
import type { OperatorNode } from "./node.js";
// Modules are imported step by step (flags, then config, then keystores, then the node with libp2p, LevelDB, mcl
// and the matcher), so that a bad start fails in a fraction of the time a full load takes.

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CONFIG = 2;
export const EXIT_KEYSTORE = 3;

/** A start-up failure with the exit code it maps to; its message is what stderr shows. */
export class StartupError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "StartupError";
  }
}

/** File names inside `dataDir` (the devnet creates the peer key before the first start to learn the peer id). */
export const PEER_KEY_FILE = "peer-key";
export const DB_DIR = "db";
/** Chain head poll interval: the devnet mines a block per second or per transaction. */
const POLL_INTERVAL_MS = 250;

export function parseArgs(argv: string[]): { config: string } {
  const program = new Command()
    .name("operator")
    .description("matchnet operator node: follows batches, matches them, BLS-signs the result and gossips it")
    .requiredOption("--config <file>", "operator config file (YAML or JSON), see docs/operator.md")
    .exitOverride()
    .configureOutput({ writeErr: () => {} });
  try {
    program.parse(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version") throw new StartupError(EXIT_OK, "");
      throw new StartupError(EXIT_CONFIG, `invalid command line: ${err.message.replace(/^error: /, "")}`);
    }
    throw err;
  }
  return { config: program.opts<{ config: string }>().config };
}

async function loadConfig(file: string): Promise<OperatorConfig> {
  const { ConfigError, loadOperatorConfig } = await import("../protocol/config/load.js");
  try {
    return await loadOperatorConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) throw new StartupError(EXIT_CONFIG, err.message, { cause: err });
    throw err;
  }
}

async function unlock(config: OperatorConfig) {
  const { ConfigError, ConfigErrorCode, readPasswordFile } = await import("../protocol/config/load.js");
  let password: string;
  try {
    password = await readPasswordFile(config.passwordFile);
  } catch (err) {
    if (err instanceof ConfigError && (err.code === ConfigErrorCode.PasswordFileUnreadable || err.code === ConfigErrorCode.PasswordEmpty)) {
      throw new StartupError(EXIT_KEYSTORE, `passwordFile: ${err.message}`, { cause: err });
    }
    throw err;
  }
  const { KeystoreError, unlockAccountKeystoreFile, unlockKeystoreFile } = await import("../protocol/keystore/index.js");
  const keystoreFailure = (field: string, path: string, err: unknown): never => {
    if (err instanceof KeystoreError) throw new StartupError(EXIT_KEYSTORE, `${field}: cannot unlock ${path}: ${err.message}`, { cause: err });
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== undefined) throw new StartupError(EXIT_KEYSTORE, `${field}: cannot read ${path}: ${code}`, { cause: err });
    throw err;
  };
  const secretKey = await unlockKeystoreFile(config.keystorePath, password).catch((err: unknown) => keystoreFailure("keystorePath", config.keystorePath, err));
  const account =
    config.accountKeystorePath === undefined
      ? null
      : await unlockAccountKeystoreFile(config.accountKeystorePath, password).catch((err: unknown) =>
          keystoreFailure("accountKeystorePath", config.accountKeystorePath!, err),
        );
  return { secretKey, account };
}

async function loadDeployment(config: OperatorConfig) {
  const { DeploymentFileError, readDeployment, systemAddresses } = await import("../protocol/chain/deployment.js");
  try {
    const deployment = await readDeployment(config.deploymentFile);
    return { deployment, addresses: systemAddresses(deployment, config.deploymentFile) };
  } catch (err) {
    if (err instanceof DeploymentFileError) throw new StartupError(EXIT_CONFIG, `deploymentFile: ${err.message}`, { cause: err });
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== undefined) throw new StartupError(EXIT_CONFIG, `deploymentFile: cannot read ${config.deploymentFile}: ${code}`, { cause: err });
    if (err instanceof SyntaxError) throw new StartupError(EXIT_CONFIG, `deploymentFile: ${config.deploymentFile} is not JSON: ${err.message}`, { cause: err });
    throw err;
  }
}

async function packageVersion(): Promise<string> {
  try {
    const pkg = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8")) as { version?: string };
    return pkg.version ?? "0.0.0";
  } catch {
    return "0.0.0";
  }
}

/** Starts the node from a config file; resolves with a stop function. Throws StartupError on a known failure. */
export async function startFromConfig(configFile: string, logger?: Logger): Promise<{ node: OperatorNode; stop: () => Promise<void> }> {
  const config = await loadConfig(configFile);
  const { secretKey, account } = await unlock(config);
  const { deployment, addresses } = await loadDeployment(config);
  const [{ createPublicClient, createWalletClient, defineChain, http }, { createBlsVerifier, operatorId }, { LevelDbController }, { createLogger }, { createMetrics }, { loadOrCreatePeerKey }, { OperatorNode }] =
    await Promise.all([
      import("viem"),
      import("../protocol/bls/index.js"),
      import("../protocol/db/controller.js"),
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
  // follower would see each close up to 4 s late — the delay that made operators miss seeds in session 1.
  const client = createPublicClient({ transport, pollingInterval: POLL_INTERVAL_MS, cacheTime: 0 }) as PublicClient;
  let chainId: number;
  try {
    chainId = await client.getChainId();
  } catch (err) {
    throw new StartupError(EXIT_FAILURE, `rpcUrl: no answer from ${config.rpcUrl}: ${(err as Error).message.split("\n")[0]}`, { cause: err });
  }
  if (chainId !== deployment.chainId) {
    throw new StartupError(EXIT_CONFIG, `deploymentFile: chain id ${deployment.chainId} does not match the chain at rpcUrl (${chainId})`);
  }
  const chain = defineChain({
    id: chainId,
    name: `matchnet-${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [config.rpcUrl] } },
  });
  const wallet: WalletClient | null = account ? createWalletClient({ account, chain, transport, pollingInterval: POLL_INTERVAL_MS }) : null;

  const { privateKey: peerKey, created } = await loadOrCreatePeerKey(join(config.dataDir, PEER_KEY_FILE));
  if (created) log.info({ file: join(config.dataDir, PEER_KEY_FILE) }, "created a new libp2p peer key");
  const db = await LevelDbController.open({ path: join(config.dataDir, DB_DIR) });
  const crash = process.env.MATCHNET_CRASH_AFTER_SIGN_BATCH;
  try {
    const node = await OperatorNode.start(
      {
        chainId: BigInt(chainId),
        addresses,
        listen: [config.listen],
        bootstrap: config.bootstrap,
        pollIntervalMs: POLL_INTERVAL_MS,
        api: config.api,
        metrics: config.metrics,
        nodeVersion: await packageVersion(),
        ...(crash !== undefined && /^\d+$/.test(crash) ? { crashAfterSignBatch: BigInt(crash) } : {}),
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

export async function main(argv: string[]): Promise<number> {
  let stop: (() => Promise<void>) | undefined;
  try {
    const { config } = parseArgs(argv);
    ({ stop } = await startFromConfig(config));
  } catch (err) {
    if (err instanceof StartupError) {
      if (err.message) process.stderr.write(`operator: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`operator: start failed: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT_FAILURE;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      process.stdout.write(JSON.stringify({ level: 30, time: Date.now(), msg: "stopping", signal }) + "\n");
      stop!().then(
        () => resolve(EXIT_OK),
        (err: unknown) => {
          process.stderr.write(`operator: stop failed: ${(err as Error).message}\n`);
          resolve(EXIT_FAILURE);
        },
      );
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  });
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
