/**
 * The node's decision per batch: which seed it used and the assignment list it signed. Written (synced) before
 * slashing protection records the message hash, so a restarted node can rebuild the exact partial and result
 * list it gossiped — the slashing-protection record holds only the message hash and the signature, not the seed
 * and list a partial names.
 *
 * Key = batch (uint64 BE). Value = version(1) ‖ seed(32) ‖ seedRank(4) ‖ seed signer(32) ‖ seed signature(64) ‖
 * assignment list (protocol/p2p/messages.ts's encoding of {batch, assignmentsHash, assignments}).
 * The seed's signature is kept so that the node can gossip it again with its partial: a peer that joined after the
 * leader's seed went round could otherwise never check the partial (it names a seed that peer has not verified).
 */
import type { Hex } from "viem";
import { toOperatorId, type OperatorId } from "../protocol/chain/ids.js";
import { Bucket } from "../protocol/db/buckets.js";
import type { KvController } from "../protocol/db/controller.js";
import { bytesToHex, concatBytes, hexToFixedBytes, readUint64BE, uint64BE } from "../protocol/db/keys.js";
import { Repository } from "../protocol/db/repository.js";
import type { Assignment } from "../protocol/market/types.js";
import { decodeAssignmentList, encodeAssignmentList } from "../protocol/p2p/messages.js";
import { G1_BYTES, decodeG1, encodeG1, type G1Like } from "../protocol/p2p/points.js";

export interface Decision {
  batch: bigint;
  seed: Hex;
  /** Fallback index of the leader whose seed was used (0 = first leader). */
  seedRank: number;
  /** Operator id of the leader whose signature gave the seed, and that signature (the seed proof). */
  seedSigner: OperatorId;
  seedSignature: G1Like;
  assignmentsHash: Hex;
  assignments: Assignment[];
}

const VALUE_VERSION = 1;
const HEADER_BYTES = 1 + 32 + 4 + 32 + G1_BYTES;

export class DecisionRepository extends Repository<bigint, Decision> {
  constructor(db: KvController) {
    super(db, Bucket.OperatorDecision);
  }

  /** Deletes the decisions of batches below `cutoff` (one atomic, synced write); returns how many. */
  async pruneBelow(cutoff: bigint): Promise<number> {
    const ids: bigint[] = [];
    for await (const { id } of this.entries({ lt: cutoff })) ids.push(id);
    if (ids.length > 0) await this.batchDelete(ids);
    return ids.length;
  }

  protected encodeId(batch: bigint): Uint8Array {
    return uint64BE(batch);
  }

  protected decodeId(key: Uint8Array): bigint {
    return readUint64BE(key, 0);
  }

  protected encodeValue(d: Decision): Uint8Array {
    const rank = new Uint8Array(4);
    new DataView(rank.buffer).setUint32(0, d.seedRank, false);
    const list = encodeAssignmentList({ batch: d.batch, resultHash: d.assignmentsHash, assignments: d.assignments });
    return concatBytes(Uint8Array.of(VALUE_VERSION), hexToFixedBytes(d.seed, 32), rank, hexToFixedBytes(d.seedSigner, 32), encodeG1(d.seedSignature), list);
  }

  protected decodeValue(bytes: Uint8Array): Decision {
    if (bytes.length < HEADER_BYTES || bytes[0] !== VALUE_VERSION) {
      // Like the slashing-protection records: a corrupt decision stops the node rather than being guessed.
      throw new Error(`operator decision record corrupt: ${bytes.length} bytes, version ${bytes[0]}`);
    }
    const seedRank = new DataView(bytes.buffer, bytes.byteOffset + 33, 4).getUint32(0, false);
    const list = decodeAssignmentList(bytes.subarray(HEADER_BYTES));
    return {
      batch: list.batch,
      seed: bytesToHex(bytes.subarray(1, 33)),
      seedRank,
      seedSigner: toOperatorId(bytesToHex(bytes.subarray(37, 69))),
      seedSignature: decodeG1(bytes.subarray(69, HEADER_BYTES)),
      assignmentsHash: list.resultHash,
      assignments: list.assignments,
    };
  }
}
