/**
 * One record per (operator, batch) and duty: the message hash this operator decided to sign and, once produced,
 * the signature. Key = operatorId (32 bytes) ‖ batch (uint64 big-endian), so one operator's records scan in batch
 * order. Value = version (1) ‖ messageHash (32) ‖ hasSignature (1) ‖ signature (64, EVM G1 encoding, zero when
 * absent).
 */
import type { Bucket } from "../../protocol/db/buckets.js";
import type { KvController } from "../../protocol/db/controller.js";
import { bytesToHex, concatBytes, hexToFixedBytes, readUint64BE, uint64BE } from "../../protocol/db/keys.js";
import { Repository } from "../../protocol/db/repository.js";
import { G1_BYTES, decodeG1, encodeG1, type G1Like } from "../../protocol/p2p/points.js";
import type { Hex } from "viem";

export interface SigningKey {
  operatorId: Hex;
  batch: bigint;
}

export interface SignedMessageRecord {
  messageHash: Hex;
  signature?: G1Like;
}

const VALUE_VERSION = 1;
const VALUE_BYTES = 1 + 32 + 1 + G1_BYTES;

export class SignedMessageRepository extends Repository<SigningKey, SignedMessageRecord> {
  constructor(db: KvController, bucket: Bucket) {
    super(db, bucket);
  }

  protected encodeId(id: SigningKey): Uint8Array {
    return concatBytes(hexToFixedBytes(id.operatorId, 32), uint64BE(id.batch));
  }

  protected decodeId(key: Uint8Array): SigningKey {
    return { operatorId: bytesToHex(key.subarray(0, 32)), batch: readUint64BE(key, 32) };
  }

  protected encodeValue(value: SignedMessageRecord): Uint8Array {
    const out = new Uint8Array(VALUE_BYTES);
    out[0] = VALUE_VERSION;
    out.set(hexToFixedBytes(value.messageHash, 32), 1);
    if (value.signature) {
      out[33] = 1;
      out.set(encodeG1(value.signature), 34);
    }
    return out;
  }

  protected decodeValue(bytes: Uint8Array): SignedMessageRecord {
    if (bytes.length !== VALUE_BYTES || bytes[0] !== VALUE_VERSION) {
      // Corruption here must stop the node: guessing could mean signing a second message for a batch.
      throw new Error(`slashing-protection record corrupt: ${bytes.length} bytes, version ${bytes[0]}`);
    }
    const record: SignedMessageRecord = { messageHash: bytesToHex(bytes.subarray(1, 33)) };
    if (bytes[33] === 1) record.signature = decodeG1(bytes.subarray(34));
    return record;
  }
}
