/**
 * Fixtures for the aggregator tests against the real contracts on an in-process Hardhat chain: an aggregator
 * account unlocked from a real account keystore (funded, signing its own transactions), the operator set read
 * from the registry at R_b, and a submission built by the real pool from real partial signatures.
 * No side effects at import (mocha loads every file under test/).
 */
import { join } from "node:path";
import { createWalletClient, custom, defineChain, type PublicClient } from "viem";
import { createAccountKeystore, unlockAccountKeystoreFile, writeAccountKeystoreFile } from "../../protocol/keystore/index.js";
import { createBlsVerifier, type Hex } from "../../protocol/bls/index.js";
import { readOperatorSet } from "../../protocol/chain/reads.js";
import { operatorRegistryAbi } from "../../protocol/chain/abi.js";
import { AggregationPool, buildSubmission, candidateDigest, createG2KeySummer, type ResultCandidate, type ResultSubmission } from "../../aggregator/index.js";
import type { OperatorSetAtBlock } from "../../protocol/chain/operatorSets.js";
import type { Assignment } from "../../protocol/market/types.js";
import { seedFromSignature } from "../../protocol/avs/messages.js";
import { toOperatorId } from "../../protocol/chain/ids.js";
import { newBatchTable, closeBatch, TestOperatorSets, RecordingLogger } from "./aggregator.js";
import type { Op, System } from "./serviceManager.js";
import { makeTempDir } from "./tempdir.js";

export const PASSWORD = "aggregator test password";
export const FAST_SCRYPT = { scrypt: { n: 1024, r: 8, p: 1 } };

/** A fresh account keystore in a temp dir, unlocked through the file (as the process does), funded with 100 ETH. */
export async function keystoreWallet(s: System) {
  const dir = await makeTempDir("agg-account");
  const { keystore, address } = await createAccountKeystore(PASSWORD, FAST_SCRYPT);
  const path = join(dir.path, "account.json");
  await writeAccountKeystoreFile(path, keystore);
  const account = await unlockAccountKeystoreFile(path, PASSWORD);
  await s.connection.networkHelpers.setBalance(address, 100n * 10n ** 18n);
  const chain = defineChain({
    id: Number(s.chainId),
    name: "hardhat in-process",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: ["http://127.0.0.1:0"] } },
  });
  const walletClient = createWalletClient({ account, chain, transport: custom(s.connection.provider), pollingInterval: 20 });
  return { walletClient, account, address, dir, keystorePath: path };
}

/** The registry's operator set at `referenceBlock` in the pool's shape, with apk(R_b). */
export async function operatorSetAt(s: System, referenceBlock: bigint): Promise<OperatorSetAtBlock> {
  const client = s.publicClient as PublicClient;
  const set = await readOperatorSet(client, s.operatorRegistry.address, referenceBlock);
  const apk = await client.readContract({
    address: s.operatorRegistry.address,
    abi: operatorRegistryAbi,
    functionName: "apkAt",
    args: [Number(referenceBlock)],
    blockNumber: referenceBlock,
  });
  return {
    referenceBlock,
    operators: set.operators.map((o) => ({ operatorId: toOperatorId(o.operatorId), pkG1: o.pkG1, pkG2: o.pkG2, stake: o.stake })),
    totalStake: set.totalStake,
    apkG1: apk,
  };
}

/** The first leader's seed signature for `batch`, as the leader operator would produce it. */
export async function leaderSeed(s: System, batch: bigint, index = 0n) {
  const leaderId = await s.serviceManager.read.leaderOf([batch, index]);
  const leader = s.ops.find((o) => o.id.toLowerCase() === leaderId.toLowerCase());
  if (leader === undefined) throw new Error(`leader ${leaderId} is not a test operator`);
  const signature = leader.sk.sign(await s.serviceManager.read.seedMessageHash([batch]));
  return { leader, signature, seed: seedFromSignature(signature), signerIndex: index };
}

/**
 * What the real pool builds for `rows` signed by `signers` on batch `batch`: partials verified by batch
 * verification, tallied against the registry's stake at R_b, then aggregated and checked like the contract does.
 */
export async function poolSubmission(s: System, batch: bigint, rows: readonly Assignment[], signers: readonly Op[]): Promise<ResultSubmission | null> {
  const b = await s.serviceManager.read.getBatch([batch]);
  const R = BigInt(b.referenceBlock);
  const seed = await leaderSeed(s, batch);
  const candidate: ResultCandidate = { seed: seed.seed, seedProof: { signature: seed.signature, signerIndex: seed.signerIndex }, assignments: rows };
  const batches = newBatchTable();
  const info = closeBatch(batches, batch, R);
  const sets = new TestOperatorSets();
  sets.put(await operatorSetAt(s, R));
  const ctx = { chainId: s.chainId, serviceManager: s.serviceManager.address as Hex };
  const digest = candidateDigest(ctx, info, candidate);
  const pool = new AggregationPool({ waitBlocks: 0 }, { verifier: await createBlsVerifier("mcl"), batches, operatorSets: sets, logger: new RecordingLogger(), metrics: null });
  pool.onNewBlock(R + 1n);
  for (const o of signers) pool.addPartial({ batch, resultHash: digest, operatorId: o.id.toLowerCase() as Hex, signature: o.sk.sign(digest) });
  pool.onNewBlock(R + 2n);
  const [ready] = pool.readyResults();
  return ready === undefined ? null : buildSubmission(ctx, ready, candidate, await createG2KeySummer());
}
