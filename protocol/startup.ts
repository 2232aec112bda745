/**
 * Start-up plumbing both processes share (operator/main.ts, aggregator/main.ts): the exit codes, the one flag they
 * take, and the mapping of each start-up failure — config, deployment file, password, keystore — to an exit code
 * and a message naming the field. Modules are imported step by step, so that a bad start fails in a fraction of the
 * time a full load (libp2p, mcl, the matcher) takes.
 *
 * Exit codes (docs/operator.md and docs/aggregator.md, process contract): 0 after a clean stop on SIGINT/SIGTERM
 * (or --help); 2 invalid flags, config or deployment file; 3 keystore problem (wrong password, missing or unreadable
 * keystore or password file); 1 anything else.
 */
import { Command, CommanderError } from "commander";
import { defineChain } from "viem";

import { EXIT_CONFIG, EXIT_FAILURE, EXIT_KEYSTORE, EXIT_OK, StartupError } from "./startupError.js";

export { EXIT_CONFIG, EXIT_FAILURE, EXIT_KEYSTORE, EXIT_OK, StartupError };

/** The peer key file in a process's data dir (protocol/p2p/peerKey.ts); the devnet creates it to learn the peer id. */
export const PEER_KEY_FILE = "peer-key";

/** `--config <file>`, the one flag of both processes; `argv` without the node and script paths. */
export function parseConfigFlag(argv: string[], program: { name: string; description: string; configHelp: string }): { config: string } {
  const cmd = new Command()
    .name(program.name)
    .description(program.description)
    .requiredOption("--config <file>", program.configHelp)
    .exitOverride()
    .configureOutput({ writeErr: () => {} });
  try {
    cmd.parse(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version") throw new StartupError(EXIT_OK, "");
      throw new StartupError(EXIT_CONFIG, `invalid command line: ${err.message.replace(/^error: /, "")}`);
    }
    throw err;
  }
  return { config: cmd.opts<{ config: string }>().config };
}

/** Loads a config file with `load` (protocol/config/load.ts); a ConfigError becomes exit 2. */
export async function loadConfigFile<T>(file: string, load: (file: string) => Promise<T>): Promise<T> {
  const { ConfigError } = await import("./config/load.js");
  try {
    return await load(file);
  } catch (err) {
    if (err instanceof ConfigError) throw new StartupError(EXIT_CONFIG, err.message, { cause: err });
    throw err;
  }
}

/** The keystore password from `passwordFile`; a missing, unreadable or empty file is exit 3. */
export async function readPassword(passwordFile: string): Promise<string> {
  const { ConfigError, ConfigErrorCode, readPasswordFile } = await import("./config/load.js");
  try {
    return await readPasswordFile(passwordFile);
  } catch (err) {
    if (err instanceof ConfigError && (err.code === ConfigErrorCode.PasswordFileUnreadable || err.code === ConfigErrorCode.PasswordEmpty)) {
      throw new StartupError(EXIT_KEYSTORE, `passwordFile: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/** Unlocks the keystore at `path` (config field `field`) with `unlock`; a wrong password or unreadable file is exit 3. */
export async function unlockKeystore<T>(field: string, path: string, unlock: () => Promise<T>): Promise<T> {
  const { KeystoreError } = await import("./keystore/index.js");
  try {
    return await unlock();
  } catch (err) {
    if (err instanceof KeystoreError) throw new StartupError(EXIT_KEYSTORE, `${field}: cannot unlock ${path}: ${err.message}`, { cause: err });
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== undefined) throw new StartupError(EXIT_KEYSTORE, `${field}: cannot read ${path}: ${code}`, { cause: err });
    throw err;
  }
}

/** The deployment file and the addresses in it; anything wrong with it is exit 2, naming deploymentFile. */
export async function loadDeploymentFile(file: string) {
  const { DeploymentFileError, readDeployment, systemAddresses } = await import("./chain/deployment.js");
  try {
    const deployment = await readDeployment(file);
    return { deployment, addresses: systemAddresses(deployment, file) };
  } catch (err) {
    if (err instanceof DeploymentFileError) throw new StartupError(EXIT_CONFIG, `deploymentFile: ${err.message}`, { cause: err });
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== undefined) throw new StartupError(EXIT_CONFIG, `deploymentFile: cannot read ${file}: ${code}`, { cause: err });
    if (err instanceof SyntaxError) throw new StartupError(EXIT_CONFIG, `deploymentFile: ${file} is not JSON: ${err.message}`, { cause: err });
    throw err;
  }
}

/** The LevelDB directory inside a process's `dataDir` (the operator's state, the aggregator's peer bans). */
export const DB_DIR = "db";

/**
 * Opens the LevelDB at `<dataDir>/db` (config field `dataDir`); a database held by another process (`who`, e.g. "an
 * aggregator", already running on this dataDir) or one that cannot be opened is exit 1 naming dataDir.
 */
export async function openDataDirDatabase(dataDir: string, who: string) {
  const [{ join }, { DbError, LevelDbController }] = await Promise.all([import("node:path"), import("./db/controller.js")]);
  const path = join(dataDir, DB_DIR);
  try {
    return await LevelDbController.open({ path });
  } catch (err) {
    if (err instanceof DbError && err.code === "DbLocked") {
      throw new StartupError(EXIT_FAILURE, `dataDir: the database ${path} is locked by another process — ${who} already running with this dataDir; stop it, or give this one its own dataDir`, { cause: err });
    }
    if (err instanceof DbError) throw new StartupError(EXIT_FAILURE, `dataDir: ${err.message}`, { cause: err });
    throw err;
  }
}

/** How often start-up says it is still waiting for the RPC (the first time after 1 s), and the longest single attempt. */
export const RPC_PROGRESS_MS = 5_000;

/**
 * The chain id the RPC serves, checked against the deployment file's. The RPC is asked again until it answers or
 * `waitMs` (config `rpcWaitMs`) has passed — a node started alongside its chain node must not fail because it came
 * up first — with a progress line after 1 s and then every RPC_PROGRESS_MS; each attempt is cut at RPC_PROGRESS_MS, so an RPC that
 * accepts connections and never answers is reported within the wait too. No answer is exit 1 naming rpcUrl and
 * rpcWaitMs; another chain exit 2 (the deployment file is for another chain).
 */
export async function checkChainId(
  client: { getChainId(): Promise<number> },
  rpcUrl: string,
  deploymentChainId: number,
  opts: { waitMs: number; progress?: (line: string, fields: { rpcUrl: string; waitedMs: number; waitMs: number }) => void },
): Promise<number> {
  const t0 = Date.now();
  let chainId: number | undefined;
  let lastError = "no answer yet";
  // Progress: first after a second without an answer (a healthy RPC answers well within it), then every 5 s.
  const say = () => {
    const waited = Date.now() - t0;
    opts.progress?.(`waiting for the chain RPC at ${rpcUrl} (rpcUrl): ${lastError}; ${Math.round(waited / 1000)} s of rpcWaitMs ${Math.round(opts.waitMs / 1000)} s`, { rpcUrl, waitedMs: waited, waitMs: opts.waitMs });
  };
  let ticker: NodeJS.Timeout | undefined;
  const first = setTimeout(() => {
    say();
    ticker = setInterval(say, RPC_PROGRESS_MS);
  }, 1_000);
  try {
    for (;;) {
      const attemptStart = Date.now();
      const attemptMs = Math.max(1, Math.min(RPC_PROGRESS_MS, opts.waitMs - (attemptStart - t0)));
      const attempt = client.getChainId();
      attempt.catch(() => {}); // a late failure of an attempt that timed out is not an unhandled rejection
      let timer: NodeJS.Timeout | undefined;
      try {
        chainId = await Promise.race([
          attempt,
          new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${Math.round(attemptMs / 100) / 10} s`)), attemptMs))),
        ]);
        break;
      } catch (err) {
        lastError = (err as Error).message.split("\n")[0]!;
      } finally {
        clearTimeout(timer);
      }
      // A refused connection fails at once: pause before the next attempt instead of spinning.
      const pause = Math.min(1_000 - (Date.now() - attemptStart), opts.waitMs - (Date.now() - t0));
      if (pause > 0) await new Promise((r) => setTimeout(r, pause));
      if (Date.now() - t0 >= opts.waitMs) {
        throw new StartupError(
          EXIT_FAILURE,
          `rpcUrl: no answer from ${rpcUrl} within rpcWaitMs (${Math.round(opts.waitMs / 1000)} s); last error: ${lastError}. Check that the chain node at rpcUrl is running and reachable, or raise rpcWaitMs`,
        );
      }
    }
  } finally {
    clearTimeout(first);
    clearInterval(ticker);
  }
  if (chainId !== deploymentChainId) {
    throw new StartupError(EXIT_CONFIG, `deploymentFile: chain id ${deploymentChainId} does not match the chain at rpcUrl (${chainId})`);
  }
  return chainId;
}

/** The viem chain of a deployment reached at `rpcUrl`. */
export function chainOf(chainId: number, rpcUrl: string) {
  return defineChain({
    id: chainId,
    name: `matchnet-${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
}

/** The exit code for a failed start, after writing its message to stderr as `<name>: …`. */
export function startupFailure(name: string, err: unknown): number {
  if (err instanceof StartupError) {
    if (err.message !== "") process.stderr.write(`${name}: ${err.message}\n`);
    return err.exitCode;
  }
  process.stderr.write(`${name}: start failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return EXIT_FAILURE;
}
