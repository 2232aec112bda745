/**
 * What an accepted result submission said, read back from the chain (docs/protocol.md §3.6, §5): the `submitResult`
 * call that finalized a batch carries the seed signer's position and the non-signer keys whose hash the batch stores
 * (`nonSignersHash`). Everything that proves something about a batch's signers — an invalid result's slashing, an
 * inactive operator's ejection, the CLI's and explorer's "who signed" — reads them here, through one decoder.
 */
import { decodeFunctionData, isAddressEqual, type Address, type Hex, type PublicClient } from "viem";
import { operatorId as operatorIdOf, type G1Point } from "../bls/index.js";
import { operatorRegistryAbi, serviceManagerAbi } from "./abi.js";
import { OnChainBatchStatus, OperatorStatus } from "./enums.js";
import { toOperatorId, type OperatorId } from "./ids.js";
import { readOperatorSet } from "./reads.js";

/** `seedPosition` of a missed duty that is a missing signature rather than a missed seed turn (IServiceManager.MissedDuty). */
export const NOT_A_SEED_TURN = 255;

export interface FinalizedSubmission {
  batch: bigint;
  referenceBlock: bigint;
  closedAt: bigint;
  /** The block the batch became final in, and the transaction that finalized it. */
  finalizedAt: bigint;
  transactionHash: Hex;
  seedSignerIndex: number;
  /** The BatchFinalized log's figures. */
  seed: Hex;
  assignmentsHash: Hex;
  signedStake: bigint;
  totalStake: bigint;
  /**
   * The non-signer keys in the order the submission listed them (what `nonSignersHash` commits to), or null when
   * the batch was finalized through another contract's call, whose input is not a `submitResult` to decode.
   */
  nonSignerPubkeys: readonly G1Point[] | null;
}

/** The submission that finalized `batch`, read in the block it was final in; null when the batch is not final. */
export async function readFinalizedSubmission(client: PublicClient, serviceManager: Address, batch: bigint): Promise<FinalizedSubmission | null> {
  const b = await client.readContract({ address: serviceManager, abi: serviceManagerAbi, functionName: "getBatch", args: [batch] });
  if (b.status !== OnChainBatchStatus.Final) return null;
  const finalizedAt = BigInt(b.finalizedAt);
  const logs = await client.getContractEvents({ address: serviceManager, abi: serviceManagerAbi, eventName: "BatchFinalized", args: { batch }, fromBlock: finalizedAt, toBlock: finalizedAt });
  const log = logs[0];
  if (log === undefined) throw new Error(`batch ${batch} is final at block ${finalizedAt} but that block has no BatchFinalized log (is the RPC pruned?)`);
  const tx = await client.getTransaction({ hash: log.transactionHash });
  return {
    batch,
    referenceBlock: BigInt(b.referenceBlock),
    closedAt: BigInt(b.closedAt),
    finalizedAt,
    transactionHash: log.transactionHash,
    seedSignerIndex: Number(log.args.seedSignerIndex!),
    seed: log.args.seed!,
    assignmentsHash: log.args.assignmentsHash!,
    signedStake: log.args.signedStake!,
    totalStake: log.args.totalStake!,
    nonSignerPubkeys: tx.to !== null && tx.to !== undefined && isAddressEqual(tx.to, serviceManager) ? decodeNonSigners(tx.input) : null,
  };
}

/** The non-signer keys of a `submitResult` call's input, or null for any other call. */
export function decodeNonSigners(input: Hex): readonly G1Point[] | null {
  let call;
  try {
    call = decodeFunctionData({ abi: serviceManagerAbi, data: input });
  } catch {
    return null;
  }
  if (call.functionName !== "submitResult") return null;
  // submitResult(batch, page0, rest, seedSignature, seedSignerIndex, quorum)
  return call.args[5].nonSignerPubkeys.map((k) => ({ X: k.X, Y: k.Y }));
}

/** The operator ids of a non-signer list. */
export function nonSignerIds(keys: readonly G1Point[]): Set<OperatorId> {
  return new Set(keys.map((k) => toOperatorId(operatorIdOf(k))));
}

export interface ResultSigners {
  batch: bigint;
  referenceBlock: bigint;
  nonSignerPubkeys: readonly G1Point[];
  /** Operators with stake at R_b that the submission did not list as non-signers, ascending by id. */
  signers: OperatorId[];
}

/**
 * Who signed a final batch's result: the operators with stake at its R_b minus the submission's non-signers (the set
 * `slashInvalidResultSigner` accepts). Throws when the submission's input cannot be decoded.
 */
export async function readResultSigners(client: PublicClient, addrs: { serviceManager: Address; operatorRegistry: Address }, batch: bigint): Promise<ResultSigners> {
  const sub = await readFinalizedSubmission(client, addrs.serviceManager, batch);
  if (sub === null) throw new Error(`batch ${batch} is not final`);
  if (sub.nonSignerPubkeys === null) throw new Error(`batch ${batch} was finalized by transaction ${sub.transactionHash}, which is not a direct submitResult call`);
  const set = await readOperatorSet(client, addrs.operatorRegistry, sub.referenceBlock);
  const excluded = nonSignerIds(sub.nonSignerPubkeys);
  const signers = set.operators.map((o) => toOperatorId(o.operatorId)).filter((id) => !excluded.has(id));
  return { batch, referenceBlock: sub.referenceBlock, nonSignerPubkeys: sub.nonSignerPubkeys, signers };
}

export interface MissedDuty {
  batch: bigint;
  seedPosition: number;
  nonSignerPubkeys: readonly G1Point[];
}

export interface InactiveOperator {
  operatorId: OperatorId;
  /** One missed duty per final batch of the row, oldest first, ending at the latest final batch: the proof. */
  missed: MissedDuty[];
}

/** One final batch as the ejection rules see it (docs/protocol.md §5, "Ejection"). */
interface FinalBatchDuties {
  batch: bigint;
  closedAt: bigint;
  seedSignerIndex: number;
  /** Operators with stake at R_b. */
  members: Set<OperatorId>;
  nonSigners: Set<OperatorId>;
  nonSignerPubkeys: readonly G1Point[];
  /** The leaders whose seed turn passed unsigned: positions 0 … seedSignerIndex − 1 of the draw. */
  missedSeedTurns: OperatorId[];
}

/** How far back, in batches, the search for the last `streak` final batches goes (abandoned batches in between). */
export const EJECTION_LOOKBACK_BATCHES = 256n;

/**
 * Reads what the service manager needs to eject inactive operators, as of the latest final batch: every operator
 * with stake that missed a duty in each of the last `streak` final batches (it is a non-signer of the accepted
 * submission, or a leader whose seed turn passed while the draw is still stable at `atBlock`), with its proof for
 * `ejectInactive`. Only operators still active are returned. A batch finalized through a call that is not a direct
 * `submitResult` cannot be proven from and ends the search (an empty answer).
 */
export class EjectionProofs {
  readonly #cache = new Map<bigint, FinalBatchDuties | "skip">();

  constructor(
    private readonly client: PublicClient,
    private readonly addrs: { serviceManager: Address; operatorRegistry: Address },
  ) {}

  async inactive(latestFinal: bigint, atBlock: bigint): Promise<InactiveOperator[]> {
    const { client, addrs } = this;
    const [params, timing] = await Promise.all([
      client.readContract({ address: addrs.serviceManager, abi: serviceManagerAbi, functionName: "ejectionParameters" }),
      client.readContract({ address: addrs.serviceManager, abi: serviceManagerAbi, functionName: "batchTiming" }),
    ]);
    const streak = params.streak;
    if (streak === 0) return [];
    const row: FinalBatchDuties[] = [];
    for (let b = latestFinal; b >= 1n && row.length < streak && latestFinal - b < EJECTION_LOOKBACK_BATCHES; b--) {
      const d = await this.#duties(b);
      if (d === null) return [];
      if (d !== "skip") row.unshift(d);
    }
    if (row.length < streak || row[row.length - 1]!.batch !== latestFinal) return [];
    // A seed turn counts only while the draw is stable: the ejection lands at atBlock + 1 at the earliest.
    const seedTurnValid = (d: FinalBatchDuties) => atBlock + 1n <= d.closedAt + 3n * BigInt(timing.batchTimeout);
    const out: InactiveOperator[] = [];
    for (const id of [...row[row.length - 1]!.members].sort()) {
      const missed: MissedDuty[] = [];
      for (const d of row) {
        if (!d.members.has(id)) break;
        if (d.nonSigners.has(id)) {
          missed.push({ batch: d.batch, seedPosition: NOT_A_SEED_TURN, nonSignerPubkeys: d.nonSignerPubkeys });
          continue;
        }
        const position = d.missedSeedTurns.indexOf(id);
        if (position < 0 || !seedTurnValid(d)) break;
        missed.push({ batch: d.batch, seedPosition: position, nonSignerPubkeys: [] });
      }
      if (missed.length !== row.length) continue;
      const op = await client.readContract({ address: addrs.operatorRegistry, abi: operatorRegistryAbi, functionName: "getOperator", args: [id] });
      if (op.status === OperatorStatus.Active) out.push({ operatorId: id, missed });
    }
    return out;
  }

  /** A final batch's duties, "skip" for a batch that is not final (abandoned, or closed and past), null if unprovable. */
  async #duties(batch: bigint): Promise<FinalBatchDuties | "skip" | null> {
    const cached = this.#cache.get(batch);
    if (cached !== undefined) return cached;
    const { client, addrs } = this;
    const sub = await readFinalizedSubmission(client, addrs.serviceManager, batch);
    if (sub === null) return "skip"; // not cached: a closed batch may still become final
    if (sub.nonSignerPubkeys === null) return null;
    const set = await readOperatorSet(client, addrs.operatorRegistry, sub.referenceBlock);
    const missedSeedTurns: OperatorId[] = [];
    for (let p = 0; p < sub.seedSignerIndex; p++) {
      const leader = await client.readContract({ address: addrs.serviceManager, abi: serviceManagerAbi, functionName: "leaderOf", args: [batch, BigInt(p)] });
      missedSeedTurns.push(toOperatorId(leader));
    }
    const duties: FinalBatchDuties = {
      batch,
      closedAt: sub.closedAt,
      seedSignerIndex: sub.seedSignerIndex,
      members: new Set(set.operators.map((o) => toOperatorId(o.operatorId))),
      nonSigners: nonSignerIds(sub.nonSignerPubkeys),
      nonSignerPubkeys: sub.nonSignerPubkeys,
      missedSeedTurns,
    };
    this.#cache.set(batch, duties);
    for (const k of this.#cache.keys()) if (k + EJECTION_LOOKBACK_BATCHES < batch) this.#cache.delete(k);
    return duties;
  }
}
