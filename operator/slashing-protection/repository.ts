/**
 * One record per (operator, batch) and duty: the message hash this operator decided to sign and, once produced,
 * the signature. Key = operatorId (32 bytes) ‖ batch (uint64 big-endian), so one operator's records scan in batch
 * order. Value = version (1) ‖ messageHash (32) ‖ hasSignature (1) ‖ signature (64, EVM G1 encoding, zero when
 * absent).
 */
import { toBytes32, type Bytes32 } from "../../protocol/chain/ids.js";
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
  messageHash: Bytes32;
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
    const record: SignedMessageRecord = { messageHash: toBytes32(bytesToHex(bytes.subarray(1, 33))) };
    if (bytes[33] === 1) record.signature = decodeG1(bytes.subarray(34));
    return record;
  }
}

/** The duty's byte in a watermark key (numbers never reused, like buckets). */
export const DUTY_KEY_BYTE = { result: 1, seed: 2 } as const;

export interface WatermarkKey {
  duty: keyof typeof DUTY_KEY_BYTE;
  operatorId: Hex;
}

/**
 * The low watermark per (duty, operator), as EIP-3076 keeps one per key: the highest batch whose record may have
 * been pruned. Key = duty (1) ‖ operatorId (32). Value = version (1) ‖ batch (uint64 big-endian).
 */
export class WatermarkRepository extends Repository<WatermarkKey, bigint> {
  constructor(db: KvController, bucket: Bucket) {
    super(db, bucket);
  }

  protected encodeId(id: WatermarkKey): Uint8Array {
    return concatBytes(Uint8Array.of(DUTY_KEY_BYTE[id.duty]), hexToFixedBytes(id.operatorId, 32));
  }

  protected decodeId(key: Uint8Array): WatermarkKey {
    const duty = key[0] === DUTY_KEY_BYTE.result ? "result" : "seed";
    return { duty, operatorId: bytesToHex(key.subarray(1, 33)) };
  }

  protected encodeValue(batch: bigint): Uint8Array {
    return concatBytes(Uint8Array.of(VALUE_VERSION), uint64BE(batch));
  }

  protected decodeValue(bytes: Uint8Array): bigint {
    if (bytes.length !== 9 || bytes[0] !== VALUE_VERSION) {
      throw new Error(`slashing-protection watermark corrupt: ${bytes.length} bytes, version ${bytes[0]}`);
    }
    return readUint64BE(bytes, 1);
  }

}
