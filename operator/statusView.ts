/**
 * The node's read model for the node API and tests: per-batch reports, the status summary and EigenLayer's health
 * answer, read from the per-batch states and the duties without changing either.
 */
import type { Hex, PublicClient } from "viem";
import type { VerifiedSeed } from "../protocol/chain/batches.js";
import type { OperatorId } from "../protocol/chain/ids.js";
import { DEFAULT_HEALTH_MAX_BLOCKS_BEHIND } from "../protocol/config/schema.js";
import type { BatchTable } from "../protocol/p2p/batchTable.js";
import type { AcceptedPartial, BatchStates, SignedDecision } from "./batchState.js";
import type { RegistrationView } from "./duties/registration.js";

/** What GET /matchnet/v1/batches/:b answers. */
export interface BatchReport {
  batch: string;
  status: string;
  /** The node's phase for the batch (operator/batchState.ts BatchPhase). */
  phase: string;
  referenceBlock: string;
  closedAt: string;
  leader: Hex;
  member: boolean | null;
  seed: Hex | null;
  seedLeaderRank: number | null;
  resultHash: Hex | null;
  messageHash: Hex | null;
  assignments: number | null;
  signed: boolean;
  partialsSeen: number;
  equivocators: Hex[];
  finalizedResultHash: Hex | null;
  signedFinalResult: boolean | null;
  error: string | null;
}

export interface NodeStatus {
  operatorId: OperatorId;
  registered: boolean;
  stake: string;
  chainId: string;
  headBlock: string;
  currentBatch: string | null;
  openBatches: string[];
  lastSignedBatch: string | null;
  peers: number;
  peerId: string;
  addrs: string[];
}

export interface StatusSources {
  chainId: bigint;
  operatorId: OperatorId;
  client: PublicClient;
  batches: BatchStates;
  table: BatchTable;
  healthMaxBlocksBehind?: number;
  registration(): RegistrationView;
  head(): bigint;
  lastSignedBatch(): bigint | null;
  peerCount(): number;
  peerId(): string;
  multiaddrs(): string[];
}

export class StatusView {
  constructor(private readonly src: StatusSources) {}

  decision(batch: bigint): SignedDecision | undefined {
    return this.src.batches.get(batch)?.decision;
  }

  verifiedSeeds(batch: bigint): Map<number, VerifiedSeed> {
    return new Map(this.src.batches.get(batch)?.seeds ?? []);
  }

  partialsSeen(batch: bigint): Map<string, AcceptedPartial> {
    return new Map(this.src.batches.get(batch)?.partials ?? []);
  }

  batchReport(batch: bigint): BatchReport | undefined {
    const st = this.src.batches.get(batch);
    if (!st) return undefined;
    const d = st.decision;
    return {
      batch: batch.toString(),
      status: st.status,
      phase: st.phase,
      referenceBlock: st.close.referenceBlock.toString(),
      closedAt: st.close.closedAt.toString(),
      leader: st.close.leaderOrder[0]!,
      member: st.member,
      seed: d?.seed ?? null,
      seedLeaderRank: d?.seedRank ?? null,
      resultHash: d?.assignmentsHash ?? null,
      messageHash: d?.messageHash ?? null,
      assignments: d ? d.assignments.length : null,
      signed: d !== undefined,
      partialsSeen: st.partials.size,
      equivocators: [...st.equivocators],
      finalizedResultHash: st.finalized?.resultHash ?? null,
      signedFinalResult: st.finalized ? (d ? sameHash(d.messageHash, st.finalized.resultHash) : false) : null,
      error: st.error ?? null,
    };
  }

  status(): NodeStatus {
    const latest = this.src.table.latestBatch();
    const reg = this.src.registration();
    const lastSigned = this.src.lastSignedBatch();
    return {
      operatorId: this.src.operatorId,
      registered: reg.registered,
      stake: reg.stake.toString(),
      chainId: this.src.chainId.toString(),
      headBlock: this.src.head().toString(),
      currentBatch: latest === 0n ? null : latest.toString(),
      openBatches: this.src.table.openBatches().map(String),
      lastSignedBatch: lastSigned === null ? null : lastSigned.toString(),
      peers: this.src.peerCount(),
      peerId: this.src.peerId(),
      addrs: this.src.multiaddrs(),
    };
  }

  /**
   * EigenLayer node API health: 503 when the chain RPC does not answer; 206 while syncing (follower not started or
   * behind the head), when not registered, or when other operators exist but no peer is connected; else 200.
   */
  async health(): Promise<{ code: 200 | 206 | 503; reasons: string[] }> {
    let chainHead: bigint;
    try {
      chainHead = await withTimeout(this.src.client.getBlockNumber({ cacheTime: 0 }), 2_000);
    } catch (err) {
      return { code: 503, reasons: [`chain RPC failed: ${(err as Error).message}`] };
    }
    const reasons: string[] = [];
    const head = this.src.head();
    const reg = this.src.registration();
    const maxBehind = BigInt(this.src.healthMaxBlocksBehind ?? DEFAULT_HEALTH_MAX_BLOCKS_BEHIND);
    if (head < 0n || chainHead - head > maxBehind) reasons.push(`syncing: follower at ${head}, chain at ${chainHead} (more than health.maxBlocksBehind = ${maxBehind} behind)`);
    if (!reg.registered) reasons.push("not registered: following without signing");
    if (reg.otherOperators > 0 && this.src.peerCount() === 0) reasons.push("no peers");
    return { code: reasons.length === 0 ? 200 : 206, reasons };
  }
}

/** Two 32-byte hashes from different sources (a digest computed here, a log decoded by viem), compared as numbers. */
export function sameHash(a: Hex, b: Hex): boolean {
  return BigInt(a) === BigInt(b);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e: unknown) => (clearTimeout(t), reject(e as Error)),
    );
  });
}
