/**
 * `npm run deploy -- --rpc <url> --account <keystore> [--parameters <file>]`: deploys the whole system to any EVM
 * chain with Ignition and writes the deployment file the operator, the aggregator, the CLI and the explorer read
 * (docs/deploy.md). The parameters file is validated before anything is sent; the keystore password comes from
 * --password-file, MATCHNET_PASSWORD or a prompt, never from a flag.
 */
import { dirname, isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError } from "commander";
import { parseEther } from "viem";
import { readFile } from "node:fs/promises";
import { bytesToHex, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { KeystoreError, KeystoreErrorCode, parseAccountKeystore } from "../protocol/keystore/index.js";
import { decryptKeystoreSecret, publicFieldIs } from "../protocol/keystore/keystore.js";
import { ConfigError } from "../protocol/config/load.js";
import { promptHidden, readPassword } from "../cli/password.js";
import { CliError } from "../cli/errors.js";
import { deployToChain, DeployError } from "./deploy-chain.js";
import { loadDeployParameters, parseDeployParameters } from "./parameters.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const cwd = process.env.MATCHNET_CALLER_CWD ?? process.cwd();
const at = (p: string) => (isAbsolute(p) ? p : resolve(cwd, p));

/**
 * The deployer's private key from an account keystore (protocol/keystore/account.ts layout). Hardhat's network
 * config takes a key, not a viem account, so the key itself is decrypted; it stays in this process's memory.
 */
async function readAccountKey(file: string, password: string): Promise<Hex> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new CliError("KEYSTORE", `--account: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const ks = parseAccountKeystore(text);
  const secret = await decryptKeystoreSecret(ks, password);
  const key = bytesToHex(secret);
  secret.fill(0);
  if (!publicFieldIs(ks.pubkey, "pubkey", privateKeyToAccount(key).address)) {
    throw new KeystoreError(KeystoreErrorCode.PubkeyMismatch, "decrypted key does not control the keystore's address");
  }
  return key;
}

function nonNegativeInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${name} must be a whole number ≥ 0`);
    return n;
  };
}

const program = new Command()
  .name("npm run deploy --")
  .description("Deploy matchnet (market, operator registry, service manager) to an EVM chain and write the deployment file.")
  .requiredOption("--rpc <url>", "JSON-RPC URL of the chain (http or https)")
  .requiredOption("--account <keystore>", "account keystore of the deployer (matchnet keys create --type account)")
  .option("--password-file <file>", "file whose first line is the keystore password (else MATCHNET_PASSWORD, else a prompt)")
  .option("--parameters <file>", "parameters file (.json or .yaml): constructor arguments and owner settings (docs/deploy.md); defaults when absent")
  .option("--out <file>", "where to write the deployment file", "deployment.json")
  .option("--journal <dir>", "Ignition's journal directory (default: ignition/ next to --out)")
  .option("--confirmations <n>", "blocks to wait on each transaction (default: Ignition's 5, or 1 on an automining node)", nonNegativeInt("--confirmations"))
  .option("--max-fee-gwei <gwei>", "refuse to pay a maxFeePerGas above this (gwei)")
  .showHelpAfterError();

async function main(): Promise<number> {
  program.parse();
  const o = program.opts<{ rpc: string; account: string; passwordFile?: string; parameters?: string; out: string; journal?: string; confirmations?: number; maxFeeGwei?: string }>();
  if (!/^https?:\/\//.test(o.rpc)) throw new CliError("USAGE", `--rpc: ${o.rpc} is not an http(s):// URL`);
  let maxFeePerGasLimit: bigint | undefined;
  if (o.maxFeeGwei !== undefined) {
    if (!/^[0-9]+(\.[0-9]{1,9})?$/.test(o.maxFeeGwei)) throw new CliError("USAGE", `--max-fee-gwei: ${o.maxFeeGwei} is not a decimal number of gwei`);
    maxFeePerGasLimit = parseEther(o.maxFeeGwei, "gwei");
  }
  // 1. Parameters first: a bad file costs nothing, not even a password prompt.
  const parameters = o.parameters === undefined ? parseDeployParameters("(defaults)", {}) : await loadDeployParameters(at(o.parameters));
  // 2. The deployer's key, in memory only.
  const io = { cwd, env: process.env, readSecret: process.stdin.isTTY ? (prompt: string) => promptHidden(prompt, process.stdin, process.stderr) : undefined };
  const keystore = at(o.account);
  const password = await readPassword(io as never, { file: o.passwordFile, what: `password for ${keystore}` });
  let privateKey;
  try {
    privateKey = await readAccountKey(keystore, password);
  } catch (err) {
    if (err instanceof KeystoreError) throw new CliError(err.code === "WrongPassword" ? "PASSWORD" : "KEYSTORE", `--account ${keystore}: ${err.message}`, { cause: err });
    throw err;
  }
  const out = at(o.out);
  const journalDir = o.journal === undefined ? resolve(dirname(out), "ignition") : at(o.journal);
  const log = (line: string) => process.stderr.write(`deploy: ${line}\n`);
  const { deployment, deploymentId } = await deployToChain({
    root,
    rpc: o.rpc,
    privateKey,
    parameters,
    outFile: out,
    journalDir,
    confirmations: o.confirmations,
    maxFeePerGasLimit,
    log,
  });
  for (const [name, address] of Object.entries(deployment.contracts)) log(`  ${name.padEnd(17)} ${address}`);
  log(`deployment file ${out} (chain ${deployment.chainId}, from block ${deployment.deployBlock}; Ignition id ${deploymentId})`);
  process.stdout.write(`${out}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const known = err instanceof DeployError || err instanceof ConfigError || err instanceof CliError;
    process.stderr.write(`deploy: ${known ? (err as Error).message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(known ? 2 : 1);
  },
);
