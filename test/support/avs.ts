/**
 * Fixtures for the AVS contract tests and benchmarks: a fresh chain with a stake token, the operator registry and
 * the service-manager stand-in (AvsHarness), and operators whose BLS keys are made with protocol/bls.
 * No side effects at import (mocha loads every file under test/).
 */
import { network } from "hardhat";
import { getAddress, keccak256, toBytes } from "viem";
import {
  aggregateG1,
  aggregateG2,
  operatorId,
  signProofOfPossession,
  type G1Point,
  type G2Point,
  type Hex,
  type SecretKey,
} from "../../protocol/bls/index.js";
import { skFromScalar } from "./bls.js";

export const STAKE_UNIT = 10n ** 18n;
export const MIN_STAKE = 100n * STAKE_UNIT;
export const EXIT_DELAY = 50;
export const EQUIVOCATION_SLASH_BPS = 5_000n;
export const EQUIVOCATION_BOUNTY_BPS = 1_000n;
/** The stand-in service manager's slashing window (its batchTimeout 20, doubled, as ServiceManager computes it). */
export const SLASHING_WINDOW = 40n;

/**
 * `historyHarness`: deploy OperatorRegistryHarness (the registry plus `churn`, to grow its histories quickly) in
 * place of the registry; `registry` is typed as the registry either way, `historyHarness` is the harness handle.
 */
export async function deployAvs(opts: { historyHarness?: boolean } = {}) {
  const connection = await network.create();
  const { viem, networkHelpers } = connection;
  const publicClient = await viem.getPublicClient();
  const wallets = await viem.getWalletClients();
  const [owner, treasury] = [wallets[0]!, wallets[1]!];
  const token = await viem.deployContract("TestToken", ["matchnet stake", "MNS"]);
  const registryArgs = [owner.account.address, token.address, treasury.account.address, MIN_STAKE, EXIT_DELAY] as const;
  const historyHarness = opts.historyHarness ? await viem.deployContract("OperatorRegistryHarness", registryArgs) : null;
  const registry = historyHarness
    ? await viem.getContractAt("OperatorRegistry", historyHarness.address)
    : await viem.deployContract("OperatorRegistry", registryArgs);
  const avs = await viem.deployContract("AvsHarness", [registry.address, EQUIVOCATION_SLASH_BPS, EQUIVOCATION_BOUNTY_BPS, SLASHING_WINDOW]);
  const chainId = BigInt(await publicClient.getChainId());
  return { connection, viem, networkHelpers, publicClient, wallets, owner, treasury, token, registry, historyHarness, avs, chainId };
}

export type Avs = Awaited<ReturnType<typeof deployAvs>>;
export type Wallet = Avs["wallets"][number];

export interface AvsOperator {
  wallet: Wallet;
  address: Hex;
  sk: SecretKey;
  id: Hex;
  pkG1: G1Point;
  pkG2: G2Point;
  socket: string;
}

/** The secret scalar of operator i's deterministic key. */
export function operatorScalar(i: number): bigint {
  return BigInt(keccak256(toBytes(`matchnet test operator ${i}`))) >> 8n;
}

/** Operator i: wallet 2+i (0 is the owner, 1 the treasury) and a deterministic key (`scalar` overrides it). */
export function makeOperator(avs: Avs, i: number, scalar = operatorScalar(i)): AvsOperator {
  const wallet = avs.wallets[2 + i];
  if (!wallet) throw new Error(`no wallet for operator ${i}`);
  const sk = skFromScalar(scalar);
  return {
    wallet,
    address: getAddress(wallet.account.address),
    sk,
    id: operatorId(sk.publicKeyG1()),
    pkG1: sk.publicKeyG1(),
    pkG2: sk.publicKeyG2(),
    socket: `/ip4/127.0.0.1/tcp/${9000 + i}`,
  };
}

export function popFor(avs: Avs, sk: SecretKey, operator: Hex): G1Point {
  return signProofOfPossession(sk, { chainId: avs.chainId, registry: avs.registry.address, operator });
}

/** Mints `stake`, approves the registry and registers; returns the mined block number. */
export async function register(avs: Avs, op: AvsOperator, stake = MIN_STAKE): Promise<bigint> {
  const account = op.wallet.account;
  await avs.token.write.mint([op.address, stake]);
  await avs.token.write.approve([avs.registry.address, stake], { account });
  const hash = await avs.registry.write.register([stake, op.pkG1, op.pkG2, popFor(avs, op.sk, op.address), op.socket], {
    account,
  });
  const receipt = await avs.publicClient.waitForTransactionReceipt({ hash });
  return receipt.blockNumber;
}

/** What an aggregator submits for `signers` signing `digest`: aggregate signature and aggregate G2 key. */
export function aggregateFor(signers: readonly AvsOperator[], digest: Hex): { sigma: G1Point; apkG2: G2Point } {
  return {
    sigma: aggregateG1(signers.map((s) => s.sk.sign(digest))),
    apkG2: aggregateG2(signers.map((s) => s.pkG2)),
  };
}

/** The `hints` argument of checkSignatures for `digest` and these non-signer keys at R, from the contract's view. */
export async function hintsFor(avs: Avs, digest: Hex, referenceBlock: number | bigint, nonSignerKeys: readonly G1Point[]) {
  return avs.avs.read.signatureCheckHints([digest, Number(referenceBlock), [...nonSignerKeys]]);
}

/** Non-signer G1 keys sorted by operator id ascending, as checkSignatures requires. */
export function sortedNonSignerKeys(nonSigners: readonly AvsOperator[]): G1Point[] {
  return [...nonSigners].sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1)).map((o) => o.pkG1);
}
