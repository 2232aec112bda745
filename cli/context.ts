/**
 * One command's view of the world: the global flags, the deployment file, viem clients for --rpc, the account from
 * its keystore, and the one place results are printed (text, or exactly one JSON document with --json) and
 * transactions are sent (simulate → write → wait, with a progress line on a terminal, reverts decoded by name).
 */
import { readFile } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  getAddress,
  http,
  type Abi,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import {
  gpuCatalogAbi,
  marketplaceAbi,
  offerBookAbi,
  operatorRegistryAbi,
  paymentTokenAbi,
  providerRegistryAbi,
  serviceManagerAbi,
  stakeTokenAbi,
} from "../protocol/chain/abi.js";
import { DeploymentFileError, readDeployment, type Deployment } from "../protocol/chain/deployment.js";
import { KeystoreError, parseAccountKeystore, unlockAccountKeystore } from "../protocol/keystore/index.js";
import { CliError, fromChainError } from "./errors.js";
import { toJson } from "./format.js";
import type { CliIo } from "./io.js";
import { readPassword } from "./password.js";

export interface GlobalOptions {
  rpc: string;
  deployment: string;
  account?: string;
  json: boolean;
  passwordFile?: string;
}

/** Every error any contract of the system can raise, so that a revert bubbling up through a call decodes. */
const ALL_ERRORS: Abi = [
  ...serviceManagerAbi, ...operatorRegistryAbi, ...marketplaceAbi, ...offerBookAbi, ...providerRegistryAbi,
  ...gpuCatalogAbi, ...paymentTokenAbi, ...stakeTokenAbi,
].filter((x) => x.type === "error");

export class Context {
  private deploymentCache?: Deployment;
  private publicCache?: PublicClient;
  private chainCache?: Chain;
  private accountCache?: PrivateKeyAccount;
  private printed = false;

  constructor(
    readonly io: CliIo,
    readonly opts: GlobalOptions,
  ) {}

  get json(): boolean {
    return this.opts.json;
  }

  path(p: string): string {
    return isAbsolute(p) ? p : resolve(this.io.cwd, p);
  }

  /** Prints the command's result: `data` as one JSON document with --json, else the text lines. */
  result(data: unknown, text: string | string[]): void {
    if (this.printed) throw new Error("a command printed two results");
    this.printed = true;
    if (this.opts.json) this.io.stdout(toJson(data) + "\n");
    else this.io.stdout((Array.isArray(text) ? text.join("\n") : text) + "\n");
  }

  /** A note for a human (stderr, never with --json). */
  note(text: string): void {
    if (!this.opts.json) this.io.stderr(text + "\n");
  }

  async deployment(): Promise<Deployment> {
    if (this.deploymentCache) return this.deploymentCache;
    const file = this.path(this.opts.deployment);
    try {
      this.deploymentCache = await readDeployment(file);
    } catch (err) {
      if (err instanceof DeploymentFileError) throw new CliError("DEPLOYMENT", err.message, { hint: "Point --deployment at the deployment.json the devnet (or your deploy) wrote.", cause: err });
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === "ENOENT" ? "not found" : err instanceof SyntaxError ? "is not JSON" : (err as Error).message;
      throw new CliError("DEPLOYMENT", `deployment file ${file}: ${why}`, { hint: "Point --deployment (or MATCHNET_DEPLOYMENT) at the deployment.json the devnet wrote (<data dir>/deployment.json).", cause: err });
    }
    return this.deploymentCache;
  }

  async contracts(): Promise<Deployment["contracts"]> {
    return (await this.deployment()).contracts;
  }

  async serviceManager(): Promise<{ serviceManager: Address; operatorRegistry: Address }> {
    const c = await this.contracts();
    if (c.serviceManager === undefined || c.operatorRegistry === undefined) {
      throw new CliError("DEPLOYMENT", `deployment file ${this.path(this.opts.deployment)}: no serviceManager/operatorRegistry (a market-only deployment)`);
    }
    return { serviceManager: c.serviceManager, operatorRegistry: c.operatorRegistry };
  }

  private transport(): Transport {
    // 60 s per request: a quote over a large market asks for many pages of offers at once, and a busy node answers
    // them one by one.
    return this.io.transport ?? http(this.opts.rpc, { retryCount: 1, timeout: 60_000 });
  }

  async chain(): Promise<Chain> {
    if (this.chainCache) return this.chainCache;
    const d = await this.deployment();
    this.chainCache = defineChain({
      id: d.chainId,
      name: `matchnet ${d.chainId}`,
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [this.opts.rpc] } },
    });
    return this.chainCache;
  }

  /** A public client for --rpc, checked to serve the deployment's chain id. */
  async client(): Promise<PublicClient> {
    if (this.publicCache) return this.publicCache;
    const chain = await this.chain();
    const client = createPublicClient({ chain, transport: this.transport(), pollingInterval: 200 }) as PublicClient;
    let id: number;
    try {
      id = await client.getChainId();
    } catch (err) {
      throw new CliError("CHAIN", `cannot reach the RPC at ${this.opts.rpc}: ${(err as Error).message.split("\n")[0]}`, {
        hint: "Start the devnet (`npm run devnet`) or point --rpc (or MATCHNET_RPC) at a running node.",
        cause: err,
      });
    }
    if (id !== chain.id) {
      throw new CliError("CHAIN", `the RPC at ${this.opts.rpc} serves chain ${id}, the deployment file is for chain ${chain.id}`, {
        hint: "Use the deployment file written for this chain (a restarted devnet deploys afresh).",
      });
    }
    this.publicCache = client;
    return client;
  }

  private accountFile(): string {
    const file = this.opts.account ?? this.io.env.MATCHNET_ACCOUNT;
    if (file === undefined || file === "") {
      throw new CliError("USAGE", "--account: this command needs an account keystore (--account <file> or MATCHNET_ACCOUNT)");
    }
    return this.path(file);
  }

  /** The account's address from its keystore, without unlocking it (for reads). */
  async address(): Promise<Address> {
    if (this.accountCache) return this.accountCache.address;
    const file = this.accountFile();
    try {
      const ks = parseAccountKeystore(await readFile(file, "utf8"));
      return getAddress(`0x${ks.pubkey}`);
    } catch (err) {
      throw keystoreError(err, file);
    }
  }

  /** Unlocks the account keystore (password from --password-file, MATCHNET_PASSWORD or a prompt). */
  async account(): Promise<PrivateKeyAccount> {
    if (this.accountCache) return this.accountCache;
    const file = this.accountFile();
    let text: string;
    try {
      text = await readFile(file, "utf8");
      parseAccountKeystore(text);
    } catch (err) {
      throw keystoreError(err, file);
    }
    const password = await readPassword(this.io, { file: this.opts.passwordFile, what: `password for ${file}` });
    try {
      this.accountCache = await unlockAccountKeystore(text, password);
    } catch (err) {
      throw keystoreError(err, file);
    }
    return this.accountCache;
  }

  async wallet(): Promise<WalletClient> {
    const account = await this.account();
    return createWalletClient({ account, chain: await this.chain(), transport: this.transport() });
  }

  /**
   * Sends one contract call: simulate (a revert is decoded by name before anything is signed), write, then wait for
   * the receipt with a progress line on a terminal. Returns the receipt.
   */
  async send(what: string, call: { address: Address; abi: Abi; functionName: string; args?: readonly unknown[] }): Promise<TransactionReceipt> {
    const client = await this.client();
    const wallet = await this.wallet();
    const account = await this.account();
    const abi = [...call.abi, ...ALL_ERRORS.filter((e) => !call.abi.some((x) => x.type === "error" && "name" in x && "name" in e && x.name === e.name))];
    let hash: Hex;
    try {
      const { request } = await client.simulateContract({ account, address: call.address, abi, functionName: call.functionName, args: call.args ?? [] } as never);
      hash = await wallet.writeContract(request as never);
    } catch (err) {
      throw fromChainError(err, what);
    }
    const progress = this.progress(`${what}: waiting for ${hash.slice(0, 10)}…`);
    let receipt: TransactionReceipt;
    try {
      receipt = await client.waitForTransactionReceipt({ hash, timeout: 120_000, pollingInterval: 200 });
    } catch (err) {
      throw fromChainError(err, what);
    } finally {
      progress.stop();
    }
    if (receipt.status !== "success") {
      throw new CliError("REVERTED", `${what}: transaction ${hash} reverted on-chain`, { hint: "The state changed between the simulation and the block; run the command again." });
    }
    return receipt;
  }

  /** A progress line on stderr while something is pending: only on a terminal and never with --json. */
  progress(text: string): { stop(): void } {
    if (!this.io.isTTY || this.opts.json) return { stop() {} };
    const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
    let i = 0;
    const started = Date.now();
    const draw = () => this.io.stderr(`\r${frames[i++ % frames.length]} ${text} ${((Date.now() - started) / 1000).toFixed(1)} s`);
    draw();
    const timer = setInterval(draw, 120);
    return {
      stop: () => {
        clearInterval(timer);
        this.io.stderr("\r\x1b[2K");
      },
    };
  }

  /** Asks before moving money unless --yes; refuses when no terminal can ask. */
  async confirm(question: string, yes: boolean): Promise<void> {
    if (yes) return;
    if (this.io.confirm === undefined || this.opts.json) {
      throw new CliError("DECLINED", `${question} — not confirmed: pass --yes (no terminal to ask${this.opts.json ? " with --json" : ""})`);
    }
    if (!(await this.io.confirm(question))) throw new CliError("DECLINED", "declined: nothing was sent");
  }
}

function keystoreError(err: unknown, file: string): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof KeystoreError) return new CliError(err.code === "WrongPassword" ? "PASSWORD" : "KEYSTORE", `${file}: ${err.message}`, { cause: err });
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return new CliError("KEYSTORE", `account keystore ${file} not found`, { hint: "Create one with `matchnet keys create`, or point --account at your keystore." });
  return new CliError("KEYSTORE", `${file}: ${(err as Error).message}`, { cause: err });
}
