/**
 * `--in-process-signers`: the devnet itself does what the operator and aggregator processes do, with the operators'
 * keys, in one process — leader seed, matcher at R_b, every live operator's partial signature, and the submission
 * built by the aggregator core (buildSubmission + the contract's check re-run locally). It exercises the contracts,
 * the matcher and the submission path without libp2p, and is the baseline the multi-process figures compare with.
 */
import type { Address, Hex, PrivateKeyAccount } from "viem";
import { serviceManagerAbi } from "../../protocol/chain/abi.js";
import { readMatchInputs, readOperatorSet, type SystemAddresses } from "../../protocol/chain/reads.js";
import { resultMessageDigest, seedFromSignature } from "../../protocol/avs/messages.js";
import { assignmentsHash, matchBatch } from "../../protocol/matching/index.js";
import { pageCommitments, resultPages } from "../../protocol/matching/encode.js";
import { buildSubmission, checkSubmission, fetchSignatureCheckHints, submitResultArgs, type G2KeySummer, type ReadyResult } from "../../aggregator/index.js";
import type { OperatorSetAtBlock } from "../../aggregator/types.js";
import type { DevnetChain } from "./chain.js";
import type { ClosedBatch } from "./batch.js";
import type { OperatorSetup } from "./setup.js";

export async function signAndSubmitInProcess(
  chain: DevnetChain,
  addrs: SystemAddresses,
  closed: ClosedBatch,
  live: readonly OperatorSetup[],
  submitter: PrivateKeyAccount,
  g2: G2KeySummer,
): Promise<Hex | null> {
  const pc = chain.publicClient;
  const sm = addrs.serviceManager;
  const live_ = new Map(live.map((o) => [o.operatorId.toLowerCase(), o]));
  // The first leader of the fallback order that is live signs the seed once its turn has come.
  const timing = await pc.readContract({ address: sm, abi: serviceManagerAbi, functionName: "batchTiming" });
  let index = 0n;
  let leader: OperatorSetup | undefined;
  for (; index < 32n; index++) {
    const id = await pc.readContract({ address: sm, abi: serviceManagerAbi, functionName: "leaderOf", args: [closed.batch, index] });
    leader = live_.get(id.toLowerCase());
    if (leader !== undefined) break;
  }
  if (leader === undefined) return null;
  const allowedFrom = closed.closedAt + index * BigInt(timing.seedTimeout);
  while ((await pc.getBlockNumber()) + 1n < allowedFrom) await new Promise((r) => setTimeout(r, 100));
  const seedDigest = await pc.readContract({ address: sm, abi: serviceManagerAbi, functionName: "seedMessageHash", args: [closed.batch] });
  const seedSignature = leader.sk.sign(seedDigest);
  const seed = seedFromSignature(seedSignature);

  const [inputs, set] = await Promise.all([readMatchInputs(pc, addrs, closed.referenceBlock), readOperatorSet(pc, addrs.operatorRegistry, closed.referenceBlock)]);
  const assignments = matchBatch(inputs, seed).assignments;
  const chainId = BigInt(chain.chain.id);
  const digest = resultMessageDigest({ chainId, serviceManager: sm, batch: closed.batch, referenceBlock: closed.referenceBlock, seed, assignmentsHash: assignmentsHash(assignments) });
  const operatorSet: OperatorSetAtBlock = {
    referenceBlock: closed.referenceBlock,
    operators: set.operators.map((o) => ({ operatorId: o.operatorId.toLowerCase() as Hex, pkG1: o.pkG1, pkG2: o.pkG2, stake: o.stake })),
    totalStake: set.totalStake,
  };
  const signers = operatorSet.operators
    .filter((o) => live_.has(o.operatorId))
    .map((o) => ({ operator: o, signature: live_.get(o.operatorId)!.sk.sign(digest) }));
  const signedStake = signers.reduce((s, x) => s + x.operator.stake, 0n);
  const quorum = await pc.readContract({ address: sm, abi: serviceManagerAbi, functionName: "quorumThresholdBps" });
  if (signedStake * 10_000n < set.totalStake * BigInt(quorum)) return null; // no quorum: the batch will time out
  const ready: ReadyResult = {
    batch: { batch: closed.batch, referenceBlock: closed.referenceBlock, closedAtBlock: closed.closedAt, status: "open" },
    operatorSet,
    resultHash: digest,
    signers,
    signedStake,
    totalStake: set.totalStake,
  };
  const sub = buildSubmission({ chainId, serviceManager: sm }, ready, { seed, seedProof: { signature: seedSignature, signerIndex: index }, assignments }, g2);
  checkSubmission(sub, operatorSet, quorum);
  const hash = await chain.wallet(submitter.address as Address).writeContract({
    account: submitter,
    chain: chain.chain,
    address: sm,
    abi: serviceManagerAbi,
    functionName: "submitResult",
    args: submitResultArgs(sub, await fetchSignatureCheckHints(pc, sm, sub)),
  });
  const receipt = await pc.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") return hash;
  const pages = resultPages(assignments);
  const commitments = pageCommitments(assignments);
  for (let i = 1; i < pages.length; i++) {
    const pageHash = await chain.wallet(submitter.address as Address).writeContract({
      account: submitter,
      chain: chain.chain,
      address: sm,
      abi: serviceManagerAbi,
      functionName: "applyPage",
      args: [closed.batch, pages[i]!.map((a) => ({ ...a })), commitments[i + 1]!],
    });
    await pc.waitForTransactionReceipt({ hash: pageHash });
  }
  return hash;
}
