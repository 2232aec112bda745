/**
 * `--in-process-signers`: the devnet itself does what the operator and aggregator processes do, with the operators'
 * keys, in one process — leader seed, matcher at R_b, every live operator's partial signature, and the submission
 * built by the aggregator core (buildSubmission + the contract's check re-run locally). It exercises the contracts,
 * the matcher and the submission path without libp2p, and is the baseline the multi-process figures compare with.
 */
import { createWalletClient, http, type Hex, type PrivateKeyAccount } from "viem";
import { serviceManagerAbi } from "../../protocol/chain/abi.js";
import { BatchStatus, fallbackLength, readBatchTiming, readClosedBatch } from "../../protocol/chain/batches.js";
import { toOperatorId } from "../../protocol/chain/ids.js";
import { OperatorSets } from "../../protocol/chain/operatorSets.js";
import { readMatchInputs, type SystemAddresses } from "../../protocol/chain/reads.js";
import { resultMessageDigest, seedFromSignature } from "../../protocol/avs/messages.js";
import { assignmentsHash, matchBatch } from "../../protocol/matching/index.js";
import { buildSubmission, ChainSubmitter, checkSubmission, type G2KeySummer, type ReadyResult } from "../../aggregator/index.js";
import type { DevnetChain } from "./chain.js";
import type { BatchClose } from "./batch.js";
import type { OperatorSetup } from "./setup.js";

export async function signAndSubmitInProcess(
  chain: DevnetChain,
  addrs: SystemAddresses,
  closed: BatchClose,
  live: readonly OperatorSetup[],
  submitter: PrivateKeyAccount,
  g2: G2KeySummer,
): Promise<Hex | null> {
  const pc = chain.publicClient;
  const sm = addrs.serviceManager;
  const live_ = new Map(live.map((o) => [toOperatorId(o.operatorId), o]));
  const chainId = BigInt(chain.chain.id);
  // The batch as every process reads it at its close: R_b, the seed message, the leader fallback order.
  const timing = await readBatchTiming(pc, sm);
  const batch = await readClosedBatch(pc, { chainId, serviceManager: sm }, closed.batch, fallbackLength(timing));
  // The first leader of the fallback order that is live signs the seed once its turn has come.
  const index = batch.leaderOrder.findIndex((id) => live_.has(id));
  if (index < 0) return null;
  const leader = live_.get(batch.leaderOrder[index]!)!;
  const allowedFrom = batch.closedAt + BigInt(index) * timing.seedTimeout;
  while ((await pc.getBlockNumber()) + 1n < allowedFrom) await new Promise((r) => setTimeout(r, 100));
  const seedSignature = leader.sk.sign(batch.seedMessageHash);
  const seed = seedFromSignature(seedSignature);

  const [inputs, operatorSet] = await Promise.all([
    readMatchInputs(pc, addrs, batch.referenceBlock),
    new OperatorSets({ registry: addrs.operatorRegistry, retain: 1, withApk: false }, { client: pc }).load(batch.referenceBlock),
  ]);
  const assignments = matchBatch(inputs, seed).assignments;
  const digest = resultMessageDigest({ chainId, serviceManager: sm, batch: batch.batch, referenceBlock: batch.referenceBlock, seed, assignmentsHash: assignmentsHash(assignments) });
  const signers = operatorSet.operators
    .filter((o) => live_.has(o.operatorId))
    .map((o) => ({ operator: o, signature: live_.get(o.operatorId)!.sk.sign(digest) }));
  const signedStake = signers.reduce((s, x) => s + x.operator.stake, 0n);
  const quorum = await pc.readContract({ address: sm, abi: serviceManagerAbi, functionName: "quorumThresholdBps" });
  if (signedStake * 10_000n < operatorSet.totalStake * BigInt(quorum)) return null; // no quorum: the batch will time out
  const ready: ReadyResult = {
    batch: { ...batch, status: BatchStatus.Open },
    operatorSet,
    resultHash: digest,
    signers,
    signedStake,
    totalStake: operatorSet.totalStake,
  };
  const sub = buildSubmission({ chainId, serviceManager: sm }, ready, { seed, seedProof: { signature: seedSignature, signerIndex: BigInt(index) }, assignments }, g2);
  checkSubmission(sub, operatorSet, quorum);
  // The aggregator's own submitter: hints, page 0 with the signature, then every other page.
  const walletClient = createWalletClient({ account: submitter, chain: chain.chain, transport: http(chain.url) });
  const outcome = await new ChainSubmitter({ serviceManager: sm }, { publicClient: pc, walletClient }).submit(sub);
  return outcome.kind === "submitted" ? outcome.txHash : null;
}
