/**
 * Fixture for the service-manager tests and the gas bench: the whole system deployed with the Ignition module
 * (market + operator registry + service manager), four operators with BLS keys made in TypeScript, providers and
 * renters funded, and helpers that build what an aggregator submits. No side effects at import.
 */
import type { NetworkConnection } from "hardhat/types/network";
import { getAddress, keccak256, toBytes, type Address } from "viem";
import { toOperatorId, type OperatorId } from "../../protocol/chain/ids.js";
import {
  aggregateG1, aggregateG2, operatorId, signProofOfPossession, type G1Point, type G2Point, type Hex,
  type SecretKey,
} from "../../protocol/bls/index.js";
import { assignmentsHash as matcherAssignmentsHash } from "../../protocol/matching/index.js";
import { pageCommitments, resultPages } from "../../protocol/matching/encode.js";
import { resultMessageDigest, seedFromSignature } from "../../protocol/avs/messages.js";
import { deployMatchnetWithAvs } from "../../deploy/deployment.js";
import { skFromScalar } from "./bls.js";
import type { AssignmentRow } from "./market.js";

export const STAKE = 10n ** 18n;
export const USD = 1_000_000n;
export const OPERATOR_STAKES = [100n, 200n, 300n, 400n].map((s) => s * STAKE);

export interface Op {
  index: number;
  address: Address;
  sk: SecretKey;
  id: OperatorId;
  pkG1: G1Point;
  pkG2: G2Point;
}

export async function deploySystem(
  connection: NetworkConnection,
  operators = 4,
  parameters: NonNullable<Parameters<typeof deployMatchnetWithAvs>[1]>["parameters"] = {},
) {
  const { viem } = connection;
  const d = await deployMatchnetWithAvs(connection, {
    parameters: { minProviderStake: STAKE, exitDelay: 10n, maxOrderLifetime: 1_000n, minOperatorStake: STAKE, operatorExitDelay: 400n, ...parameters },
  });
  const publicClient = await viem.getPublicClient();
  const wallets = await viem.getWalletClients();
  const chainId = BigInt(await publicClient.getChainId());
  const ops: Op[] = [];
  for (let i = 0; i < operators; i++) ops.push(await registerOperator(connection, d, chainId, i, OPERATOR_STAKES[i % 4]!));
  return { ...d, viem, publicClient, wallets, chainId, ops, connection };
}

export type System = Awaited<ReturnType<typeof deploySystem>>;

/**
 * Operator i uses wallet 10 + i (operators 0 … 9), or an impersonated account funded here from i = 10 on, and a key
 * derived from i.
 */
export async function registerOperator(
  connection: NetworkConnection,
  d: Awaited<ReturnType<typeof deployMatchnetWithAvs>>,
  chainId: bigint,
  i: number,
  stake: bigint,
): Promise<Op> {
  const wallets = await connection.viem.getWalletClients();
  let address: Address;
  if (i < 10) {
    address = getAddress(wallets[10 + i]!.account.address);
  } else {
    address = getAddress(`0x${(0x0be00000 + i).toString(16).padStart(40, "0")}`);
    await connection.networkHelpers.impersonateAccount(address);
    await connection.networkHelpers.setBalance(address, 10n ** 20n);
  }
  const sk = skFromScalar(BigInt(keccak256(toBytes(`matchnet sm operator ${i}`))) >> 8n);
  await d.stakeToken.write.mint([address, stake]);
  await d.stakeToken.write.approve([d.operatorRegistry.address, stake], { account: address });
  const pop = signProofOfPossession(sk, { chainId, registry: d.operatorRegistry.address, operator: address });
  await d.operatorRegistry.write.register([stake, sk.publicKeyG1(), sk.publicKeyG2(), pop, `/ip4/127.0.0.1/tcp/${9100 + i}`], {
    account: address,
  });
  return { index: i, address, sk, id: toOperatorId(operatorId(sk.publicKeyG1())), pkG1: sk.publicKeyG1(), pkG2: sk.publicKeyG2() };
}

/** The commitment to the result's pages (docs/protocol.md §3.7), by the matcher's own encoder: what operators sign. */
export function assignmentsHash(rows: readonly AssignmentRow[]): Hex {
  return matcherAssignmentsHash(rows);
}

/** seed_b = keccak256(signature X ‖ Y), the signature being the leader's on the batch's seed message. */
export function seedOf(sig: G1Point): Hex {
  return seedFromSignature(sig);
}

/** The result message docs/protocol.md §3.4 defines, computed by protocol/avs (what operators sign). */
export function resultMessage(s: System, batch: bigint, referenceBlock: number, seed: Hex, rows: readonly AssignmentRow[]): Hex {
  return resultMessageDigest({
    chainId: s.chainId,
    serviceManager: s.serviceManager.address,
    batch,
    referenceBlock: BigInt(referenceBlock),
    seed,
    assignmentsHash: assignmentsHash(rows),
  });
}

export function sortedKeys(ops: readonly Op[]): G1Point[] {
  return [...ops].sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1)).map((o) => o.pkG1);
}

/**
 * Everything `submitResult` takes for `rows` signed by `signers` (the rest of `s.ops` are non-signers), with the
 * seed signed by the leader at `seedIndex` (or by `seedSigner` to forge one).
 */
export async function buildSubmission(
  s: System,
  batch: bigint,
  rows: readonly AssignmentRow[],
  opts: { signers?: readonly Op[]; nonSigners?: G1Point[]; seedIndex?: bigint; seedSigner?: Op; apkOps?: readonly Op[] } = {},
) {
  const b = await s.serviceManager.read.getBatch([batch]);
  const seedIndex = opts.seedIndex ?? 0n;
  const leaderId = await s.serviceManager.read.leaderOf([batch, seedIndex]);
  const leader = opts.seedSigner ?? s.ops.find((o) => o.id === leaderId);
  if (leader === undefined) throw new Error(`leader ${leaderId} is not a test operator`);
  const seedSig = leader.sk.sign(await s.serviceManager.read.seedMessageHash([batch]));
  const seed = seedOf(seedSig);
  const msg = resultMessage(s, batch, b.referenceBlock, seed, rows);
  const signers = opts.signers ?? s.ops;
  const nonSigners = opts.nonSigners ?? sortedKeys(s.ops.filter((o) => !signers.includes(o)));
  const sigma = aggregateG1(signers.map((o) => o.sk.sign(msg)));
  const apkG2 = aggregateG2((opts.apkOps ?? signers).map((o) => o.pkG2));
  const pages = resultPages(rows);
  const commitments = pageCommitments(rows);
  return {
    seed,
    msg,
    pages,
    commitments,
    args: [
      batch, [...(pages[0] ?? [])], commitments[1] ?? ZERO_HASH, seedSig, seedIndex,
      { nonSignerPubkeys: nonSigners, apkG2, sigma, hints: await s.serviceManager.read.signatureCheckHints([msg, b.referenceBlock, nonSigners]) },
    ] as const,
  };
}

/** One missed duty of an ejection proof (IServiceManager.MissedDuty). */
export interface Missed {
  batch: bigint;
  seedPosition: number;
  nonSignerPubkeys: readonly { X: bigint; Y: bigint }[];
}

/**
 * Closes the next batch (block by block up to the earliest close) and finalizes an empty result signed by `signers`
 * with the seed of the leader at `seedIndex`; returns the non-signers' missed duty for that batch.
 */
export async function batchSignedBy(s: System, signers: readonly Op[], seedIndex = 0n): Promise<Missed> {
  const timing = await s.serviceManager.read.batchTiming();
  const count = await s.serviceManager.read.batchCount();
  if (count > 0n) {
    const prev = await s.serviceManager.read.getBatch([count]);
    const earliest = Math.max(prev.closedAt + timing.batchInterval, prev.pagesDoneAt + 1);
    while (Number(await s.publicClient.getBlockNumber()) + 1 < earliest) await s.connection.provider.request({ method: "evm_mine", params: [] });
  }
  await s.serviceManager.write.closeBatch();
  const batch = count + 1n;
  if (seedIndex > 0n) await s.connection.networkHelpers.mine(Number(seedIndex) * timing.seedTimeout);
  const sub = await buildSubmission(s, batch, [], { signers, seedIndex });
  await s.serviceManager.write.submitResult(sub.args as never);
  return { batch, seedPosition: 255, nonSignerPubkeys: sub.args[5].nonSignerPubkeys };
}

export const ZERO_HASH: Hex = `0x${"0".repeat(64)}`;

/** Applies pages 1 … n − 1 of `rows` after a submission that carried page 0; returns each applyPage's gas. */
export async function applyRemainingPages(s: System, batch: bigint, rows: readonly AssignmentRow[]): Promise<bigint[]> {
  const pages = resultPages(rows);
  const commitments = pageCommitments(rows);
  const gas: bigint[] = [];
  for (let i = 1; i < pages.length; i++) {
    const hash = await s.serviceManager.write.applyPage([batch, [...pages[i]!], commitments[i + 1]!], { gas: 15_000_000n });
    gas.push((await s.publicClient.waitForTransactionReceipt({ hash })).gasUsed);
  }
  return gas;
}

/** One provider (wallet 5 + i) with one H100 offer of `gpus` GPUs at 2 USD; returns its version id. */
export async function providerOffer(s: System, i: number, gpus = 400): Promise<bigint> {
  const wallet = s.wallets[5 + i]!;
  await s.stakeToken.write.mint([wallet.account.address, 10n * STAKE]);
  await s.stakeToken.write.approve([s.registry.address, 10n * STAKE], { account: wallet.account });
  await s.registry.write.register([0x0001, STAKE], { account: wallet.account });
  await s.offerBook.write.createOffer([11, gpus, 2n * USD, s.paymentToken.address], { account: wallet.account });
  return s.offerBook.read.versionCount();
}

/** `count` orders of 2 H100 × 10 h at max 3 USD from wallet 3 (renter); returns their ids. */
export async function orders(s: System, count: number, renterIndex = 3): Promise<bigint[]> {
  const wallet = s.wallets[renterIndex]!;
  await s.paymentToken.write.mint([wallet.account.address, 1_000_000n * USD]);
  await s.paymentToken.write.approve([s.marketplace.address, 2n ** 255n], { account: wallet.account });
  const expiresAt = (await s.publicClient.getBlockNumber()) + 900n;
  const ids: bigint[] = [];
  for (let i = 0; i < count; i++) {
    await s.marketplace.write.createOrder(
      [{
        modelId: 11, minTier: 0, gpuCount: 2, regionMask: 0n, preferredZone: 0, maxPricePerGpuHour: 3n * USD, durationHours: 10,
        minUptimeBps: 0, minReputationBps: 0, maxTimesSlashed: 3, expiresAt, paymentToken: s.paymentToken.address,
      }],
      { account: wallet.account },
    );
    ids.push(await s.marketplace.read.orderCount());
  }
  return ids;
}
