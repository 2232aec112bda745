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

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CONFIG = 2;
export const EXIT_KEYSTORE = 3;

/** The peer key file in a process's data dir (protocol/p2p/peerKey.ts); the devnet creates it to learn the peer id. */
export const PEER_KEY_FILE = "peer-key";

/** A start-up failure with the exit code it maps to; its message (when not empty) is what stderr shows. */
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

/**
 * The chain id the RPC serves, checked against the deployment file's: no answer is exit 1, another chain exit 2
 * (the deployment file is for another chain).
 */
export async function checkChainId(client: { getChainId(): Promise<number> }, rpcUrl: string, deploymentChainId: number): Promise<number> {
  let chainId: number;
  try {
    chainId = await client.getChainId();
  } catch (err) {
    throw new StartupError(EXIT_FAILURE, `rpcUrl: no answer from ${rpcUrl}: ${(err as Error).message.split("\n")[0]}`, { cause: err });
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
