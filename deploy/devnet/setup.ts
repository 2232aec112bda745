/**
 * What the devnet creates on its chain before the first batch: operators (BLS keystore, account keystore, password
 * file, libp2p peer key and config file each, funded and registered on-chain with a proof of possession and their
 * socket), providers with offers across models and regions, renters with payment tokens, and an aggregator account.
 * Keys are created here and written encrypted; no private key is ever printed or logged.
 */
import { PEER_KEY_FILE } from "../../protocol/startup.js";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { parseEther, parseEventLogs, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { SecretKey, operatorId, signProofOfPossession, type G1Point, type G2Point } from "../../protocol/bls/index.js";
import { toOperatorId, type OperatorId } from "../../protocol/chain/ids.js";
import { encryptAccountKey, encryptSecretKey, writeAccountKeystoreFile, writeKeystoreFile } from "../../protocol/keystore/index.js";
import { loadOrCreatePeerKey } from "../../protocol/p2p/peerKey.js";
import { GPU_CATALOG, REGIONS, zoneId } from "../../protocol/market/catalog.js";
import type { Deployment } from "../../protocol/chain/deployment.js";
import {
  marketplaceAbi,
  offerBookAbi,
  operatorRegistryAbi,
  paymentTokenAbi,
  providerRegistryAbi,
  stakeTokenAbi,
} from "../../protocol/chain/abi.js";
import { mined, type DevnetChain } from "./chain.js";
import { freePorts } from "./ports.js";
import type { Prng } from "./prng.js";

export const STAKE_UNIT = 10n ** 18n;
export const USD = 1_000_000n;
/** Every operator stakes the same, so one operator is 1/N of the stake (25 % of 4). */
export const OPERATOR_STAKE = 1_000n * STAKE_UNIT;
/**
 * Devnet keystores use scrypt n = 2¹⁵ (32 MiB per unlock; EIP-2335's default 2¹⁸ takes 256 MiB and ≈ 0.5 s each,
 * too slow for a devnet of 16 operators on 2 cores). Not lower: glibc serves a freed block under its mmap threshold
 * cap (32 MiB) from the heap the next time and keeps it, so two 16 MiB unlocks (BLS and account keystore) left
 * ≈ 25 MB resident in every operator for its whole life (measured: 167 MB vs 140 MB with 32 MiB). A block of 32 MiB
 * and more is mapped and unmapped each time, so the memory goes back to the system after the unlock.
 */
export const DEVNET_SCRYPT = { n: 1 << 15, r: 8, p: 1 } as const;

export interface OperatorSetup {
  index: number;
  name: string;
  dir: string;
  dataDir: string;
  configFile: string;
  logFile: string;
  address: Address;
  operatorId: OperatorId;
  pkG1: G1Point;
  pkG2: G2Point;
  /** Only kept by the in-process signer mode; never written in clear, never logged. */
  sk: SecretKey;
  peerId: string;
  p2pPort: number;
  apiPort: number;
  metricsPort: number;
  multiaddr: string;
  stake: bigint;
}

export interface AggregatorSetup {
  name: string;
  dir: string;
  configFile: string;
  logFile: string;
  address: Address;
  /** Only used by the in-process signer mode to submit. */
  account: PrivateKeyAccount;
  p2pPort: number;
  metricsPort: number;
}

async function txOk(chain: DevnetChain, hash: Hex, what: string): Promise<void> {
  await mined(chain, hash, what);
}

async function writePassword(dir: string): Promise<{ file: string; password: string }> {
  const password = randomBytes(18).toString("base64url");
  const file = join(dir, "password.txt");
  await writeFile(file, password + "\n", { mode: 0o600 });
  return { file, password };
}

/** Creates the operator's files (keystores, password, peer key, config); registers nothing yet. */
export async function createOperatorFiles(base: string, index: number): Promise<{ setup: OperatorSetup; account: PrivateKeyAccount }> {
  const name = `op${index}`;
  const dir = join(base, "operators", name);
  const dataDir = join(dir, "data");
  await mkdir(dataDir, { recursive: true });
  const { file: passwordFile, password } = await writePassword(dir);
  const sk = SecretKey.generate();
  await writeKeystoreFile(join(dir, "bls-keystore.json"), await encryptSecretKey(sk, password, { scrypt: DEVNET_SCRYPT }));
  const privateKey = generatePrivateKey();
  const account = privateKeyToAccount(privateKey);
  await writeAccountKeystoreFile(join(dir, "account-keystore.json"), await encryptAccountKey(privateKey, password, { scrypt: DEVNET_SCRYPT }));
  const { privateKey: peerKey } = await loadOrCreatePeerKey(join(dataDir, PEER_KEY_FILE));
  const peerId = peerIdFromPrivateKey(peerKey).toString();
  const [p2pPort, apiPort, metricsPort] = (await freePorts(3)) as [number, number, number];
  const multiaddr = `/ip4/127.0.0.1/tcp/${p2pPort}/p2p/${peerId}`;
  const configFile = join(dir, "config.json");
  const pkG1 = sk.publicKeyG1();
  return {
    account,
    setup: {
      index,
      name,
      dir,
      dataDir,
      configFile,
      logFile: join(base, "logs", `${name}.log`),
      address: account.address,
      operatorId: toOperatorId(operatorId(pkG1)),
      pkG1,
      pkG2: sk.publicKeyG2(),
      sk,
      peerId,
      p2pPort,
      apiPort,
      metricsPort,
      multiaddr,
      stake: OPERATOR_STAKE,
    },
  };
}

/**
 * The head poll interval of the devnet's operators: 250 ms up to 16 operators, then longer so that the polls of all
 * of them together stay near 64 a second (an idle operator polling every 250 ms costs ≈ 3 % of a core, measured on
 * the 2-core machine: 32 of them would take a core just to poll). Never above the 1 s block interval.
 */
export function devnetPollIntervalMs(operators: number): number {
  return Math.min(1_000, Math.max(250, Math.ceil((operators * 1_000) / 64)));
}

/** Writes the operator's config file; bootstrap lists every other operator. */
export async function writeOperatorConfig(op: OperatorSetup, all: readonly OperatorSetup[], rpcUrl: string, deploymentFile: string, pollIntervalMs = devnetPollIntervalMs(all.length)): Promise<void> {
  const config = {
    rpcUrl,
    deploymentFile,
    dataDir: op.dataDir,
    listen: `/ip4/127.0.0.1/tcp/${op.p2pPort}`,
    bootstrap: all.filter((o) => o !== op).map((o) => o.multiaddr),
    metrics: { host: "127.0.0.1", port: op.metricsPort },
    api: { host: "127.0.0.1", port: op.apiPort },
    // Debug: the devnet is for watching what happens; its log files are what a failed run leaves to read.
    logLevel: "debug",
    keystorePath: join(op.dir, "bls-keystore.json"),
    accountKeystorePath: join(op.dir, "account-keystore.json"),
    passwordFile: join(op.dir, "password.txt"),
    pollIntervalMs,
  };
  await writeFile(op.configFile, JSON.stringify(config, null, 2) + "\n");
}

/** Funds the operator (ETH from dev account 0, stake tokens minted by the deployer) and registers it on-chain. */
export async function registerOperator(chain: DevnetChain, d: Deployment, op: OperatorSetup, account: PrivateKeyAccount): Promise<void> {
  const owner = chain.wallet(chain.devAccounts[0]!);
  const c = d.contracts;
  const registry = c.operatorRegistry!;
  await txOk(chain, await owner.sendTransaction({ account: chain.devAccounts[0]!, chain: chain.chain, to: op.address, value: parseEther("10") }), `funding ${op.name}`);
  await txOk(
    chain,
    await owner.writeContract({ account: chain.devAccounts[0]!, chain: chain.chain, address: c.stakeToken, abi: stakeTokenAbi, functionName: "mint", args: [op.address, op.stake] }),
    `minting stake for ${op.name}`,
  );
  const self = chain.wallet(op.address);
  await txOk(
    chain,
    await self.writeContract({ account, chain: chain.chain, address: c.stakeToken, abi: stakeTokenAbi, functionName: "approve", args: [registry, op.stake] }),
    `${op.name} approving its stake`,
  );
  const pop = signProofOfPossession(op.sk, { chainId: BigInt(chain.chain.id), registry, operator: op.address });
  await txOk(
    chain,
    await self.writeContract({
      account,
      chain: chain.chain,
      address: registry,
      abi: operatorRegistryAbi,
      functionName: "register",
      args: [op.stake, op.pkG1, op.pkG2, pop, `/ip4/127.0.0.1/tcp/${op.p2pPort}/p2p/${op.peerId}`],
    }),
    `registering ${op.name}`,
  );
}

export async function createAggregator(base: string, name: string, chain: DevnetChain, deploymentFile: string, bootstrap: readonly string[]): Promise<AggregatorSetup> {
  const dir = join(base, name);
  const dataDir = join(dir, "data");
  await mkdir(dataDir, { recursive: true });
  const { file: passwordFile, password } = await writePassword(dir);
  const privateKey = generatePrivateKey();
  const account = privateKeyToAccount(privateKey);
  await writeAccountKeystoreFile(join(dir, "account-keystore.json"), await encryptAccountKey(privateKey, password, { scrypt: DEVNET_SCRYPT }));
  const [p2pPort, metricsPort] = (await freePorts(2)) as [number, number];
  const configFile = join(dir, "config.json");
  const config = {
    rpcUrl: chain.url,
    deploymentFile,
    dataDir,
    listen: `/ip4/127.0.0.1/tcp/${p2pPort}`,
    bootstrap: [...bootstrap],
    metrics: { host: "127.0.0.1", port: metricsPort },
    // Debug: the devnet is for watching what happens; its log files are what a failed run leaves to read.
    logLevel: "debug",
    keystorePath: join(dir, "account-keystore.json"),
    passwordFile,
    aggregation: { quorumWaitBlocks: 1, earlyPartialHoldMs: 20_000 },
  };
  await writeFile(configFile, JSON.stringify(config, null, 2) + "\n");
  const owner = chain.wallet(chain.devAccounts[0]!);
  await txOk(chain, await owner.sendTransaction({ account: chain.devAccounts[0]!, chain: chain.chain, to: account.address, value: parseEther("100") }), `funding ${name}`);
  return { name, dir, configFile, logFile: join(base, "logs", `${name}.log`), address: account.address, account, p2pPort, metricsPort };
}

export interface ProviderSetup {
  address: Address;
  zone: number;
  offers: { offerId: bigint; modelId: number; gpuCount: number; pricePerGpuHour: bigint }[];
}

/**
 * Dev accounts 1‥P are providers, each in one zone with 1–3 offers of catalog models priced near their list price,
 * of 8, 16, 32 or 64 GPUs each times `gpuScale` (a bigger market for large batches).
 */
export async function registerProviders(chain: DevnetChain, d: Deployment, rng: Prng, count: number, gpuScale = 1): Promise<ProviderSetup[]> {
  const owner = chain.wallet(chain.devAccounts[0]!);
  const c = d.contracts;
  const stake = 2_000n * STAKE_UNIT;
  const out: ProviderSetup[] = [];
  for (let i = 0; i < count; i++) {
    const address = chain.devAccounts[1 + i]!;
    const w = chain.wallet(address);
    const region = REGIONS[i % REGIONS.length]!;
    const zone = zoneId(region.id, 1 + rng.below(region.zones));
    await txOk(chain, await owner.writeContract({ account: chain.devAccounts[0]!, chain: chain.chain, address: c.stakeToken, abi: stakeTokenAbi, functionName: "mint", args: [address, stake] }), "minting provider stake");
    await txOk(chain, await w.writeContract({ account: address, chain: chain.chain, address: c.stakeToken, abi: stakeTokenAbi, functionName: "approve", args: [c.providerRegistry, stake] }), "provider approve");
    await txOk(chain, await w.writeContract({ account: address, chain: chain.chain, address: c.providerRegistry, abi: providerRegistryAbi, functionName: "register", args: [zone, stake] }), "provider register");
    const offers: ProviderSetup["offers"] = [];
    const n = 1 + rng.below(3);
    const models = new Set<number>();
    while (models.size < n) models.add(rng.pick(GPU_CATALOG).id);
    for (const modelId of models) {
      const model = GPU_CATALOG.find((m) => m.id === modelId)!;
      const gpuCount = rng.pick([8, 16, 32, 64]) * gpuScale;
      // ≈ list price / 10 000 per GPU-hour (an H100 near 3 USD), ± 20 %.
      const pricePerGpuHour = (BigInt(model.listPriceUsd) * 100n * BigInt(rng.between(80, 120))) / 100n;
      const receipt = await mined(
        chain,
        await w.writeContract({ account: address, chain: chain.chain, address: c.offerBook, abi: offerBookAbi, functionName: "createOffer", args: [modelId, gpuCount, pricePerGpuHour, c.paymentToken] }),
        "createOffer",
      );
      const [created] = parseEventLogs({ abi: offerBookAbi, eventName: "OfferCreated", logs: receipt.logs });
      offers.push({ offerId: created!.args.offerId, modelId, gpuCount, pricePerGpuHour });
    }
    out.push({ address, zone, offers });
  }
  return out;
}

/** Dev accounts 10‥19 are renters: payment tokens minted, the marketplace approved once. */
export async function fundRenters(chain: DevnetChain, d: Deployment): Promise<Address[]> {
  const owner = chain.wallet(chain.devAccounts[0]!);
  const c = d.contracts;
  const renters = chain.devAccounts.slice(10, 20);
  for (const r of renters) {
    await txOk(chain, await owner.writeContract({ account: chain.devAccounts[0]!, chain: chain.chain, address: c.paymentToken, abi: paymentTokenAbi, functionName: "mint", args: [r, 10n ** 9n * USD] }), "minting payment tokens");
    await txOk(chain, await chain.wallet(r).writeContract({ account: r, chain: chain.chain, address: c.paymentToken, abi: paymentTokenAbi, functionName: "approve", args: [c.marketplace, 2n ** 255n] }), "renter approve");
  }
  return renters;
}

export interface PlacedOrder {
  orderId: bigint;
  renter: Address;
  modelId: number;
}

/** M orders with varied models / tiers / regions / prices; some deliberately hard to fill. */
export async function placeOrders(chain: DevnetChain, d: Deployment, rng: Prng, renters: readonly Address[], providers: readonly ProviderSetup[], count: number): Promise<PlacedOrder[]> {
  const c = d.contracts;
  const head = await chain.publicClient.getBlockNumber();
  const offered = providers.flatMap((p) => p.offers.map((o) => ({ provider: p, modelId: o.modelId })));
  const placed: PlacedOrder[] = [];
  for (let i = 0; i < count; i++) {
    const renter = rng.pick(renters);
    const byTier = rng.chance(20);
    // Most orders aim at something offered (so the view shows leases); the rest ask for any catalog model.
    const target = rng.chance(85) ? rng.pick(offered) : null;
    const modelId = byTier ? 0 : (target?.modelId ?? rng.pick(GPU_CATALOG).id);
    const minTier = byTier ? rng.below(5) : 0;
    const reference = byTier ? GPU_CATALOG.filter((m) => m.tier >= minTier).reduce((a, m) => Math.min(a, m.listPriceUsd), Infinity) : GPU_CATALOG.find((m) => m.id === modelId)!.listPriceUsd;
    let regionMask = 0n;
    let preferredZone = 0;
    if (rng.chance(50)) {
      const regions = new Set<number>();
      if (target !== null && rng.chance(80)) regions.add(target.provider.zone >> 8);
      const k = 1 + rng.below(3);
      while (regions.size < k) regions.add(rng.pick(REGIONS).id);
      for (const r of regions) regionMask |= 1n << BigInt(r);
      if (rng.chance(50)) {
        const r = REGIONS.find((x) => x.id === [...regions][0])!;
        preferredZone = zoneId(r.id, 1 + rng.below(r.zones));
      }
    }
    const maxPricePerGpuHour = (BigInt(reference) * 100n * BigInt(rng.between(70, 160))) / 100n;
    const params = {
      modelId,
      minTier,
      gpuCount: rng.pick([1, 1, 2, 4, 8]),
      regionMask,
      preferredZone,
      maxPricePerGpuHour,
      durationHours: rng.between(1, 24),
      minUptimeBps: rng.chance(30) ? 9_000 : 0,
      minReputationBps: rng.chance(30) ? 4_000 : 0,
      maxTimesSlashed: 3,
      // Each order is mined in a block of its own (interval blocks come on top): alive 400 blocks after the last one.
      expiresAt: head + (2n * BigInt(count) + 400n < 10_000n ? 2n * BigInt(count) + 400n : 10_000n), // ≤ the devnet's maxOrderLifetime
      paymentToken: c.paymentToken,
    };
    const hash = await chain.wallet(renter).writeContract({ account: renter, chain: chain.chain, address: c.marketplace, abi: marketplaceAbi, functionName: "createOrder", args: [params] });
    await mined(chain, hash, "createOrder");
    placed.push({ orderId: 0n, renter, modelId });
  }
  return placed;
}
