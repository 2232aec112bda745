/**
 * Gossip message types and their binary encodings. Binary rather than JSON because every field is fixed-width:
 * a message is exactly as long as its type says, so "structure valid" is a length check plus range checks, and
 * no parser sees attacker-chosen nesting. All integers are big-endian; the first byte is the encoding version.
 *
 *   seed         version(1) ‖ batch(8) ‖ signer operatorId(32) ‖ signature G1(64)                    = 105 bytes
 *   partial      version(1) ‖ batch(8) ‖ resultHash(32) ‖ operatorId(32) ‖ signature G1(64) ‖
 *                seed signer operatorId(32) ‖ seed signature G1(64)                                  = 233 bytes
 *   result-list  partial(233) ‖ count(4) ‖ count × assignment(36)
 *                the publisher's own partial on the list's result hash, then the list
 *                assignment = orderId(8) ‖ offerVersionId(8) ‖ gpuCount(4) ‖ pricePerGpuHour(16)
 *   assignment list (the body alone, as the operator stores its decision; no topic carries it)
 *                version(1) ‖ batch(8) ‖ resultHash(32) ‖ count(4) ‖ count × assignment(36)
 *
 * G1 points use the EVM encoding (x ‖ y), so signatures go on-chain unchanged. Operator ids are the branded,
 * lower-case OperatorId (protocol/chain/ids.ts) in memory and 32 raw bytes on the wire, so a decoded id compares
 * with === against any other OperatorId. Result hashes and seeds leave the decoder in the same one spelling
 * (toBytes32; a derived seed is a keccak256, lower-case too), so decoded messages compare them with ===.
 */
import type { Hex } from "viem";
import { seedFromSignature } from "../avs/messages.js";
import type { Assignment } from "../market/types.js";
import { toBytes32, toOperatorId, type OperatorId } from "../chain/ids.js";
import { bytesToHex, concatBytes, hexToFixedBytes, readUint64BE, uint64BE } from "../db/keys.js";
import { GossipErrorCode, reject } from "./errors.js";
import { G1_BYTES, PointEncodingError, decodeG1, encodeG1, readUint256, writeUint256, type G1Like } from "./points.js";

export const WIRE_VERSION = 1;

/** The leader's BLS signature over the batch's seed message; seed_b = keccak256(signature). */
export interface SeedMessage {
  batch: bigint;
  signer: OperatorId; // bytes32
  signature: G1Like;
}

/**
 * One operator's BLS signature over the result message of `batch` whose assignments hash to `resultHash`.
 *
 * It carries the seed it used as its proof — the leader's seed signature and that leader's id — not just the seed
 * value. Normally every operator uses the first leader's seed, but under the liveness backstop (docs/protocol.md §3.8)
 * operators may hold different verified seeds; and a receiver may have missed the leader's seed message (it was
 * ignored while the receiver had not yet seen the close, and gossipsub never delivers one message id twice). With
 * the proof inside, every partial is checkable on its own: a receiver that lacks the seed verifies the leader's
 * signature once and learns the seed from it (an operator that has not decided yet then decides with it, an
 * aggregator can submit with it). `seed` is derived at decode (seed_b = keccak256(seedSignature)), never sent.
 */
export interface PartialSignatureMessage {
  batch: bigint;
  resultHash: Hex; // keccak256(abi.encode(Assignment[]))
  operatorId: OperatorId;
  signature: G1Like;
  /** Operator id of the leader whose seed signature gave the seed, and that signature. */
  seedSigner: OperatorId;
  seedSignature: G1Like;
  /** seed_b the signed result message was built with: keccak256 of seedSignature (checked by the encoder). */
  seed: Hex;
}

/** A batch's assignment list with the hash it was matched to. */
export interface AssignmentListMessage {
  batch: bigint;
  resultHash: Hex;
  assignments: Assignment[];
}

/**
 * A batch's assignment list as gossiped: sent with its publisher's own partial signature on the list's result
 * hash, so that only an operator registered at R_b can publish one, one list per operator and batch (the result-list
 * validator), and every list an aggregator holds is backed by at least one signature (docs/operator.md).
 */
export type ResultListMessage = PartialSignatureMessage & { assignments: Assignment[] };

export const SEED_MESSAGE_BYTES = 1 + 8 + 32 + G1_BYTES;
export const PARTIAL_MESSAGE_BYTES = 1 + 8 + 32 + 32 + G1_BYTES + 32 + G1_BYTES;
const ASSIGNMENT_LIST_HEADER_BYTES = 1 + 8 + 32 + 4;
/** The part of an assignment list's header a result-list message does not repeat (its partial has them). */
const LIST_PREFIX_BYTES = 1 + 8 + 32;
const ASSIGNMENT_BYTES = 8 + 8 + 4 + 16;
/**
 * Upper bound on assignments per batch that the network carries: each order is matched at most once per batch,
 * and the service manager applies a batch's assignments in one transaction, which gas bounds far below this.
 */
export const MAX_ASSIGNMENTS = 4096;
export const MAX_ASSIGNMENT_LIST_BYTES = ASSIGNMENT_LIST_HEADER_BYTES + MAX_ASSIGNMENTS * ASSIGNMENT_BYTES;
export const MAX_RESULT_LIST_BYTES = PARTIAL_MESSAGE_BYTES + MAX_ASSIGNMENT_LIST_BYTES - LIST_PREFIX_BYTES;

const MAX_UINT32 = 0xffff_ffff;
const MAX_UINT64 = (1n << 64n) - 1n;
const MAX_UINT128 = (1n << 128n) - 1n;

// ---- seed

export function encodeSeedMessage(m: SeedMessage): Uint8Array {
  return concatBytes(Uint8Array.of(WIRE_VERSION), uint64BE(m.batch), hexToFixedBytes(m.signer, 32), encodeG1(m.signature));
}

export function decodeSeedMessage(data: Uint8Array): SeedMessage {
  checkFixedLength(data, SEED_MESSAGE_BYTES);
  return { batch: readUint64BE(data, 1), signer: toOperatorId(bytesToHex(data.subarray(9, 41))), signature: g1At(data, 41) };
}

// ---- partial

export function encodePartialSignatureMessage(m: PartialSignatureMessage): Uint8Array {
  const derived = seedFromSignature({ X: m.seedSignature.X, Y: m.seedSignature.Y });
  if (derived !== m.seed) throw new RangeError(`partial of batch ${m.batch}: seed ${m.seed} is not keccak256 of the seed signature (${derived})`);
  return concatBytes(
    Uint8Array.of(WIRE_VERSION),
    uint64BE(m.batch),
    hexToFixedBytes(m.resultHash, 32),
    hexToFixedBytes(m.operatorId, 32),
    encodeG1(m.signature),
    hexToFixedBytes(m.seedSigner, 32),
    encodeG1(m.seedSignature),
  );
}

export function decodePartialSignatureMessage(data: Uint8Array): PartialSignatureMessage {
  checkFixedLength(data, PARTIAL_MESSAGE_BYTES);
  const seedSignature = g1At(data, 169);
  return {
    batch: readUint64BE(data, 1),
    resultHash: toBytes32(bytesToHex(data.subarray(9, 41))),
    operatorId: toOperatorId(bytesToHex(data.subarray(41, 73))),
    signature: g1At(data, 73),
    seedSigner: toOperatorId(bytesToHex(data.subarray(137, 169))),
    seedSignature,
    seed: seedFromSignature({ X: seedSignature.X, Y: seedSignature.Y }),
  };
}

// ---- result list

export function encodeResultListMessage(m: ResultListMessage): Uint8Array {
  return concatBytes(encodePartialSignatureMessage(m), encodeAssignmentList(m).subarray(LIST_PREFIX_BYTES));
}

export function decodeResultListMessage(data: Uint8Array): ResultListMessage {
  if (data.length > MAX_RESULT_LIST_BYTES) throw reject(GossipErrorCode.TooLarge, `${data.length} bytes > ${MAX_RESULT_LIST_BYTES}`);
  if (data.length < PARTIAL_MESSAGE_BYTES + 4) throw reject(GossipErrorCode.Malformed, `${data.length} bytes < header ${PARTIAL_MESSAGE_BYTES + 4}`);
  const partial = decodePartialSignatureMessage(data.subarray(0, PARTIAL_MESSAGE_BYTES));
  const body = concatBytes(data.subarray(0, LIST_PREFIX_BYTES), data.subarray(PARTIAL_MESSAGE_BYTES));
  return { ...partial, assignments: decodeAssignmentList(body).assignments };
}

export function encodeAssignmentList(m: AssignmentListMessage): Uint8Array {
  if (m.assignments.length > MAX_ASSIGNMENTS) throw new RangeError(`${m.assignments.length} assignments exceed ${MAX_ASSIGNMENTS}`);
  const out = new Uint8Array(ASSIGNMENT_LIST_HEADER_BYTES + m.assignments.length * ASSIGNMENT_BYTES);
  const view = new DataView(out.buffer);
  out[0] = WIRE_VERSION;
  out.set(uint64BE(m.batch), 1);
  out.set(hexToFixedBytes(m.resultHash, 32), 9);
  view.setUint32(41, m.assignments.length, false);
  let at = ASSIGNMENT_LIST_HEADER_BYTES;
  for (const a of m.assignments) {
    if (a.orderId < 0n || a.orderId > MAX_UINT64 || a.offerVersionId < 0n || a.offerVersionId > MAX_UINT64) throw new RangeError("id not a uint64");
    if (!Number.isInteger(a.gpuCount) || a.gpuCount < 0 || a.gpuCount > MAX_UINT32) throw new RangeError("gpuCount not a uint32");
    if (a.pricePerGpuHour < 0n || a.pricePerGpuHour > MAX_UINT128) throw new RangeError("price not a uint128");
    view.setBigUint64(at, a.orderId, false);
    view.setBigUint64(at + 8, a.offerVersionId, false);
    view.setUint32(at + 16, a.gpuCount, false);
    // uint128 written through the uint256 writer into a scratch buffer, keeping its low 16 bytes.
    const scratch = new Uint8Array(32);
    writeUint256(scratch, 0, a.pricePerGpuHour);
    out.set(scratch.subarray(16), at + 20);
    at += ASSIGNMENT_BYTES;
  }
  return out;
}

export function decodeAssignmentList(data: Uint8Array): AssignmentListMessage {
  if (data.length > MAX_ASSIGNMENT_LIST_BYTES) throw reject(GossipErrorCode.TooLarge, `${data.length} bytes > ${MAX_ASSIGNMENT_LIST_BYTES}`);
  if (data.length < ASSIGNMENT_LIST_HEADER_BYTES) throw reject(GossipErrorCode.Malformed, `${data.length} bytes < header ${ASSIGNMENT_LIST_HEADER_BYTES}`);
  if (data[0] !== WIRE_VERSION) throw reject(GossipErrorCode.UnknownVersion, `version ${data[0]}`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const count = view.getUint32(41, false);
  if (count > MAX_ASSIGNMENTS || data.length !== ASSIGNMENT_LIST_HEADER_BYTES + count * ASSIGNMENT_BYTES) {
    throw reject(GossipErrorCode.Malformed, `count ${count} does not match ${data.length} bytes`);
  }
  const assignments: Assignment[] = [];
  let at = ASSIGNMENT_LIST_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    const padded = new Uint8Array(32);
    padded.set(data.subarray(at + 20, at + 36), 16);
    assignments.push({
      orderId: view.getBigUint64(at, false),
      offerVersionId: view.getBigUint64(at + 8, false),
      gpuCount: view.getUint32(at + 16, false),
      pricePerGpuHour: readUint256(padded, 0),
    });
    at += ASSIGNMENT_BYTES;
  }
  return { batch: readUint64BE(data, 1), resultHash: bytesToHex(data.subarray(9, 41)), assignments };
}

// ---- shared

function checkFixedLength(data: Uint8Array, length: number): void {
  if (data.length > length) throw reject(GossipErrorCode.TooLarge, `${data.length} bytes > ${length}`);
  if (data.length < length) throw reject(GossipErrorCode.Malformed, `${data.length} bytes < ${length}`);
  if (data[0] !== WIRE_VERSION) throw reject(GossipErrorCode.UnknownVersion, `version ${data[0]}`);
}

function g1At(data: Uint8Array, offset: number): G1Like {
  try {
    return decodeG1(data.subarray(offset, offset + G1_BYTES));
  } catch (err) {
    if (err instanceof PointEncodingError) throw reject(GossipErrorCode.InvalidPoint, err.message, { pointError: err.code });
    throw err;
  }
}
