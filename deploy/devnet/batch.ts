/**
 * One batch as the devnet drives and watches it: close it as soon as the contract allows, wait (bounded in blocks)
 * until it is final or abandoned, then read what happened from the chain — the finalizing transaction's gas, its
 * applied and skipped assignments, its seed signer and non-signers — and re-run the TypeScript matcher at R_b with
 * the batch's seed to check that the signed result is exactly the matcher's output.
 */
import { parseEventLogs, type Address, type Hex } from "viem";
import { marketplaceAbi, serviceManagerAbi } from "../../protocol/chain/abi.js";
import { readMatchInputs, readOperatorSet, type SystemAddresses } from "../../protocol/chain/reads.js";
import { resultMessageDigest } from "../../protocol/avs/messages.js";
import { assignmentsHash, matchBatch, UnmatchedReason } from "../../protocol/matching/index.js";
import type { Assignment } from "../../protocol/market/types.js";
import { operatorId } from "../../protocol/bls/index.js";
import { resultReceipts, type BatchTiming } from "../../protocol/chain/batches.js";
import { decodeNonSigners } from "../../protocol/chain/submissions.js";
import { mined, mineBlocks, type DevnetChain } from "./chain.js";

const ZERO_HASH: Hex = `0x${"0".repeat(64)}`;

/** ServiceManager BatchStatus. */
const STATUS = { None: 0, Closed: 1, Final: 2, Abandoned: 3 } as const;

/** A close the devnet sent, as its receipt showed it. */
export interface BatchClose {
  batch: bigint;
  referenceBlock: bigint;
  closedAt: bigint;
  leaderId: Hex;
  /** Wall-clock time at which the close transaction's receipt was seen. */
  closedAtMs: number;
}

export interface DevnetBatchReport {
  batch: bigint;
  status: "final" | "abandoned";
  referenceBlock: bigint;
  closedAt: bigint;
  leaderId: Hex;
  /** The operator whose seed was used (the leader, or a fallback leader). */
  seedSignerId: Hex | null;
  seedSignerIndex: bigint | null;
  seed: Hex | null;
  ordersOpen: number;
  matched: number;
  skipped: number;
  operators: number;
  signers: number;
  /** Operator ids of the non-signers named in the submission. */
  nonSignerIds: Hex[];
  signedStakeBps: number;
  gasUsed: bigint | null;
  txHash: Hex | null;
  finalizedAt: bigint | null;
  blocks: number | null;
  ms: number | null;
  /** The signed result hash equals the TypeScript matcher's at R_b with the batch's seed. */
  matcherAgrees: boolean | null;
  /** What the matcher outputs for this batch, and what the chain applied (AssignmentApplied). */
  expected: Assignment[];
  applied: { orderId: bigint; offerVersionId: bigint; pricePerGpuHour: bigint }[];
  /** Why each order open at R_b stayed open: the matcher's own reasons (protocol/matching UnmatchedReason). */
  unmatched: { orderId: bigint; reason: UnmatchedReason }[];
  /** GPUs offered by live offers at R_b, and how many of them active leases held. */
  gpusOffered: number;
  gpusLeased: number;
}

/** Mines empty blocks until closeBatch() is allowed in the next block, then sends it from `closer`. */
export async function closeNextBatch(chain: DevnetChain, sm: Address, closer: Address, timing: BatchTiming): Promise<BatchClose> {
  const count = await chain.publicClient.readContract({ address: sm, abi: serviceManagerAbi, functionName: "batchCount" });
  if (count > 0n) {
    const prev = await chain.publicClient.readContract({ address: sm, abi: serviceManagerAbi, functionName: "getBatch", args: [count] });
    if (prev.status === STATUS.Closed) throw new Error(`devnet: batch ${count} is still pending; it must be final or abandoned before the next close`);
    const head = await chain.publicClient.getBlockNumber();
    const afterInterval = BigInt(prev.closedAt) + timing.batchInterval;
    const afterPages = BigInt(prev.pagesDoneAt) + 1n; // R_b must see every page (docs/protocol.md §3.1)
    const earliest = afterInterval > afterPages ? afterInterval : afterPages;
    if (head + 1n < earliest) await mineBlocks(chain, earliest - head - 1n);
  }
  const hash = await chain.wallet(closer).writeContract({ account: closer, chain: chain.chain, address: sm, abi: serviceManagerAbi, functionName: "closeBatch" });
  const receipt = await mined(chain, hash, "closeBatch");
  const closedAtMs = Date.now();
  const [ev] = parseEventLogs({ abi: serviceManagerAbi, eventName: "BatchClosed", logs: receipt.logs });
  if (ev === undefined) throw new Error(`devnet: closeBatch emitted no BatchClosed (tx ${hash})`);
  const leaderId = await chain.publicClient.readContract({ address: sm, abi: serviceManagerAbi, functionName: "leaderOf", args: [ev.args.batch, 0n] });
  return { batch: ev.args.batch, referenceBlock: BigInt(ev.args.referenceBlock), closedAt: receipt.blockNumber, leaderId, closedAtMs };
}

/**
 * Waits until the batch is final or abandoned. The bound is the contract's own: once `batchTimeout` blocks passed
 * since the close, the devnet abandons the batch itself. `wallGuardMs` only catches a chain that stopped producing
 * blocks, and says so.
 */
export async function waitBatchOutcome(
  chain: DevnetChain,
  sm: Address,
  closed: BatchClose,
  timing: BatchTiming,
  opts: { abandoner: Address; wallGuardMs: number; pollMs?: number },
): Promise<{ status: "final" | "abandoned"; finalizedAt: bigint | null; seenAtMs: number }> {
  const started = Date.now();
  const deadline = closed.closedAt + timing.batchTimeout;
  let lastHeadCheck = 0;
  let head = closed.closedAt;
  for (;;) {
    // One light call per poll: hardhat node serves every process on the devnet from one thread.
    const b = await chain.publicClient.readContract({ address: sm, abi: serviceManagerAbi, functionName: "getBatch", args: [closed.batch] });
    // Final with every page applied (or the rest expired: nobody applied them within batchTimeout blocks).
    const pagesOver = b.pendingPages === ZERO_HASH || head > BigInt(b.finalizedAt) + BigInt(timing.batchTimeout);
    if (b.status === STATUS.Final && pagesOver) return { status: "final", finalizedAt: BigInt(b.finalizedAt), seenAtMs: Date.now() };
    if (b.status === STATUS.Abandoned) return { status: "abandoned", finalizedAt: null, seenAtMs: Date.now() };
    if (Date.now() - lastHeadCheck > 1_000) {
      head = await chain.publicClient.getBlockNumber({ cacheTime: 0 });
      lastHeadCheck = Date.now();
    }
    if (head > deadline && b.status === STATUS.Closed) {
      try {
        const hash = await chain.wallet(opts.abandoner).writeContract({ account: opts.abandoner, chain: chain.chain, address: sm, abi: serviceManagerAbi, functionName: "abandonBatch", args: [closed.batch] });
        await chain.publicClient.waitForTransactionReceipt({ hash, timeout: 30_000 });
      } catch {
        // a submission or another abandon may have landed meanwhile: the next read tells
      }
      continue;
    }
    if (Date.now() - started > opts.wallGuardMs) {
      throw new Error(
        `devnet: batch ${closed.batch} is neither final nor abandoned after ${Math.round(opts.wallGuardMs / 1000)} s ` +
          `(head #${head}, timeout block #${deadline}): the chain stopped producing blocks?`,
      );
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 100));
  }
}

/** Everything the view and the tests report about a settled batch, read from the chain. */
export async function reportBatch(
  chain: DevnetChain,
  addrs: SystemAddresses,
  closed: BatchClose,
  outcome: { status: "final" | "abandoned"; finalizedAt: bigint | null; seenAtMs: number },
): Promise<DevnetBatchReport> {
  const pc = chain.publicClient;
  const sm = addrs.serviceManager;
  const [inputs, set] = await Promise.all([readMatchInputs(pc, addrs, closed.referenceBlock), readOperatorSet(pc, addrs.operatorRegistry, closed.referenceBlock)]);
  const base: DevnetBatchReport = {
    batch: closed.batch,
    status: outcome.status,
    referenceBlock: closed.referenceBlock,
    closedAt: closed.closedAt,
    leaderId: closed.leaderId,
    seedSignerId: null,
    seedSignerIndex: null,
    seed: null,
    ordersOpen: inputs.orders.length,
    matched: 0,
    skipped: 0,
    operators: set.operators.length,
    signers: 0,
    nonSignerIds: [],
    signedStakeBps: 0,
    gasUsed: null,
    txHash: null,
    finalizedAt: outcome.finalizedAt,
    blocks: null,
    ms: null,
    matcherAgrees: null,
    expected: [],
    applied: [],
    unmatched: [],
    gpusOffered: inputs.offers.reduce((n, o) => n + o.gpuCount, 0),
    gpusLeased: inputs.offers.reduce((n, o) => n + o.gpusLeased, 0),
  };
  if (outcome.status !== "final" || outcome.finalizedAt === null) return base;
  const finLogs = await pc.getContractEvents({ address: sm, abi: serviceManagerAbi, eventName: "BatchFinalized", args: { batch: closed.batch }, fromBlock: outcome.finalizedAt, toBlock: outcome.finalizedAt });
  const fin = finLogs[0];
  if (fin === undefined) throw new Error(`devnet: batch ${closed.batch} is final at #${outcome.finalizedAt} but no BatchFinalized log is there`);
  const tx = await pc.getTransaction({ hash: fin.transactionHash });
  const nonSigners = decodeNonSigners(tx.input);
  if (nonSigners === null) throw new Error(`devnet: batch ${closed.batch} was finalized by transaction ${fin.transactionHash}, not a submitResult call`);
  const seedSignerIndex = BigInt(fin.args.seedSignerIndex!);
  const seedSignerId = await pc.readContract({ address: sm, abi: serviceManagerAbi, functionName: "leaderOf", args: [closed.batch, seedSignerIndex] });
  const receipts = await resultReceipts(pc, sm, closed.batch, outcome.finalizedAt, fin.transactionHash);
  const logs = receipts.flatMap((r) => r.logs);
  const applied = parseEventLogs({ abi: marketplaceAbi, eventName: "AssignmentApplied", logs })
    .filter((l) => l.args.batch === closed.batch)
    .map((l) => ({ orderId: l.args.orderId, offerVersionId: l.args.offerVersionId, pricePerGpuHour: l.args.pricePerGpuHour }));
  const skipped = parseEventLogs({ abi: marketplaceAbi, eventName: "AssignmentSkipped", logs }).filter((l) => l.args.batch === closed.batch).length;
  const receipt = { gasUsed: receipts.reduce((sum, r) => sum + r.gasUsed, 0n) };
  const seed = fin.args.seed!;
  const result = matchBatch(inputs, seed);
  const expected = result.assignments;
  const expectedHash = resultMessageDigest({
    chainId: BigInt(chain.chain.id),
    serviceManager: sm,
    batch: closed.batch,
    referenceBlock: closed.referenceBlock,
    seed,
    assignmentsHash: assignmentsHash(expected),
  });
  const totalStake = fin.args.totalStake!;
  return {
    ...base,
    seedSignerId,
    seedSignerIndex,
    seed,
    matched: applied.length,
    skipped,
    signers: set.operators.length - nonSigners.length,
    nonSignerIds: nonSigners.map((k) => operatorId(k)),
    signedStakeBps: totalStake === 0n ? 0 : Number((fin.args.signedStake! * 10_000n) / totalStake),
    gasUsed: receipt.gasUsed,
    txHash: fin.transactionHash,
    blocks: Number(outcome.finalizedAt - closed.closedAt),
    ms: outcome.seenAtMs - closed.closedAtMs,
    matcherAgrees: expectedHash === fin.args.resultHash!,
    expected,
    applied,
    unmatched: result.unmatched.map((u) => ({ orderId: u.orderId, reason: u.reason })),
  };
}
