/**
 * `cli.quote_ms`: `matchnet renter quote` as a user runs it — a fresh process (scripts/matchnet → run.sh → tsx
 * cli/main.ts) against a chain over HTTP holding 10 000 active offers (50 providers × 200, three models, six
 * regions) and 1 000 open orders. The chain is Hardhat's in-process network served over HTTP (test/support/
 * rpc-proxy.ts); the market is built with automine off, many transactions per block. Median of 3 runs, wall clock
 * from spawn to exit; `cli.quote_inprocess_ms` is the same quote run in this process (module loading excluded), to
 * tell the process start-up apart from the reads and the matcher.
 */
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { network } from "hardhat";
import { custom, encodeFunctionData, keccak256, toHex, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { marketplaceAbi, offerBookAbi, paymentTokenAbi, providerRegistryAbi, stakeTokenAbi } from "../protocol/chain/abi.js";
import { writeDeployment } from "../protocol/chain/deployment.js";
import { deploySystem } from "../test/support/serviceManager.js";
import { startRpcProxy } from "../test/support/rpc-proxy.js";
import { makeTempDir } from "../test/support/tempdir.js";
import { run } from "../cli/program.js";
import { CapturedIo } from "../cli/io.js";

const PROVIDERS = 50;
const OFFERS_PER_PROVIDER = 200;
const RENTERS = 10;
const ORDERS_PER_RENTER = 100;
const MODELS = [5, 8, 11];
const BIN = fileURLToPath(new URL("../scripts/matchnet", import.meta.url));

function spawnTimed(args: string[], cwd: string): Promise<{ ms: number; code: number; out: string; err: string }> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(BIN, args, { cwd, timeout: 600_000, maxBuffer: 1 << 24 }, (err, out, errOut) => {
      resolve({ ms: performance.now() - started, code: err ? ((err as { code?: number }).code ?? 1) : 0, out, err: errOut });
    });
  });
}

/** The bench's market: 10 000 active offers and 1 000 open orders on an in-process Hardhat chain. */
export async function buildQuoteMarket() {
  const connection = await network.create();
  const s = await deploySystem(connection);
  const provider = connection.provider as { request(a: { method: string; params?: unknown[] }): Promise<unknown> };
  const rpc = (method: string, params: unknown[] = []) => provider.request({ method, params });
  const key = (tag: string, i: number): Hex => keccak256(toHex(`matchnet cli bench ${tag} ${i}`));
  const accounts = (tag: string, n: number) => Array.from({ length: n }, (_, i) => privateKeyToAccount(key(tag, i)));
  const providers = accounts("provider", PROVIDERS);
  const renters = accounts("renter", RENTERS);
  const chainId = Number(s.chainId);
  const nonces = new Map<Address, number>();

  // Raw signed transactions, many per block (automine off), each with a fixed gas limit: no estimation round trips.
  async function send(from: (typeof providers)[number], to: Address, data: Hex, gas = 300_000n): Promise<Hex> {
    const nonce = nonces.get(from.address) ?? 0;
    nonces.set(from.address, nonce + 1);
    const tx = await from.signTransaction({ chainId, nonce, to, data, gas, maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 1n, type: "eip1559" });
    return (await rpc("eth_sendRawTransaction", [tx])) as Hex;
  }
  /** Mines blocks until every transaction has a successful receipt. */
  async function mineAll(hashes: Hex[]): Promise<void> {
    let missing = hashes;
    let idle = 0;
    while (missing.length > 0) {
      await rpc("hardhat_mine", ["0x1"]);
      const next: Hex[] = [];
      for (const h of missing) {
        const r = (await rpc("eth_getTransactionReceipt", [h])) as { status: string } | null;
        if (r === null) next.push(h);
        else if (r.status !== "0x1") throw new Error(`bench cli: transaction ${h} reverted`);
      }
      idle = next.length === missing.length ? idle + 1 : 0;
      if (idle > 3) throw new Error(`bench cli: ${next.length} transactions are not being mined`);
      missing = next;
    }
  }

  for (const a of [...providers, ...renters]) await rpc("hardhat_setBalance", [a.address, "0x56BC75E2D63100000"]);
  for (const p of providers) await s.stakeToken.write.mint([p.address, 10n ** 19n]);
  for (const r of renters) await s.paymentToken.write.mint([r.address, 10n ** 15n]);
  await rpc("evm_setAutomine", [false]);
  let hashes: Hex[] = [];
  for (const p of providers) {
    hashes.push(await send(p, s.stakeToken.address, encodeFunctionData({ abi: stakeTokenAbi, functionName: "approve", args: [s.registry.address, 10n ** 19n] })));
    hashes.push(await send(p, s.registry.address, encodeFunctionData({ abi: providerRegistryAbi, functionName: "register", args: [((providers.indexOf(p) % 6) << 8) | 1, 10n ** 18n] })));
  }
  for (const r of renters) hashes.push(await send(r, s.paymentToken.address, encodeFunctionData({ abi: paymentTokenAbi, functionName: "approve", args: [s.marketplace.address, 2n ** 255n] })));
  await mineAll(hashes);
  hashes = [];
  for (let k = 0; k < OFFERS_PER_PROVIDER; k++) {
    for (let i = 0; i < PROVIDERS; i++) {
      const model = MODELS[(i + k) % MODELS.length]!;
      const price = BigInt(1_000_000 + ((i * 7919 + k * 104_729) % 2_000_000));
      hashes.push(await send(providers[i]!, s.offerBook.address, encodeFunctionData({ abi: offerBookAbi, functionName: "createOffer", args: [model, 1 + ((i + k) % 8), price, s.paymentToken.address] })));
    }
    if (hashes.length >= 2_000) {
      await mineAll(hashes);
      hashes = [];
    }
  }
  const head = (await s.publicClient.getBlockNumber()) + 1n;
  for (let k = 0; k < ORDERS_PER_RENTER; k++) {
    for (let i = 0; i < RENTERS; i++) {
      const p = {
        modelId: MODELS[(i + k) % MODELS.length]!, minTier: 0, gpuCount: 1 + ((i + k) % 4), regionMask: 0n, preferredZone: 0,
        maxPricePerGpuHour: BigInt(1_500_000 + ((i * 31 + k * 17) % 1_000_000)), durationHours: 4, minUptimeBps: 0, minReputationBps: 0,
        maxTimesSlashed: 3, expiresAt: head + 900n, paymentToken: s.paymentToken.address,
      };
      hashes.push(await send(renters[i]!, s.marketplace.address, encodeFunctionData({ abi: marketplaceAbi, functionName: "createOrder", args: [p] })));
    }
  }
  await mineAll(hashes);
  await rpc("evm_setAutomine", [true]);
  const offers = await s.offerBook.read.offerCount();
  if (offers !== BigInt(PROVIDERS * OFFERS_PER_PROVIDER)) throw new Error(`bench cli: ${offers} offers on-chain, ${PROVIDERS * OFFERS_PER_PROVIDER} expected`);
  return { connection, s, provider };
}

export default async function (): Promise<Record<string, number>> {
  const { s, provider } = await buildQuoteMarket();

  const tmp = await makeTempDir("cli-bench");
  const proxy = await startRpcProxy(provider);
  try {
    const deploymentFile = join(tmp.path, "deployment.json");
    await writeDeployment(deploymentFile, s.deployment);
    const args = ["--rpc", proxy.url, "--deployment", deploymentFile, "--json", "renter", "quote", "--model", "11", "--gpus", "2", "--max-price", "2.5", "--hours", "10"];
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await spawnTimed(args, tmp.path);
      if (r.code !== 0) throw new Error(`bench cli: quote exited ${r.code}: ${r.err}${r.out}`);
      const q = JSON.parse(r.out) as { offersConsidered: number; wouldMatch: boolean };
      if (q.offersConsidered !== PROVIDERS * OFFERS_PER_PROVIDER) throw new Error(`bench cli: the quote saw ${q.offersConsidered} offers`);
      times.push(r.ms);
    }
    times.sort((a, b) => a - b);
    const io = new CapturedIo({}, tmp.path, custom(provider as never));
    const started = performance.now();
    const code = await run(args.slice(2), io);
    const inProcess = performance.now() - started;
    if (code !== 0) throw new Error(`bench cli: in-process quote exited ${code}: ${io.out}`);
    await writeFile(join(tmp.path, "quote.json"), io.out);
    return { "cli.quote_ms": Math.round(times[1]!), "cli.quote_inprocess_ms": Math.round(inProcess) };
  } finally {
    await proxy.close();
    await tmp.remove();
  }
}
