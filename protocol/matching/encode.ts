/**
 * The signed form of a batch result: `abi.encode(Assignment[])` (ASSIGNMENTS_ABI) and its keccak256, exactly as the
 * service manager hashes the submitted list (PROTOCOL.md §3.4). Written by hand rather than with viem's generic
 * encoder because it runs on every batch and the generic path costs ~0.2 s for 10 000 rows; a test checks the bytes
 * against `encodeAbiParameters(ASSIGNMENTS_ABI, …)`.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex, type Hex } from "viem";
import type { Assignment } from "../market/types.js";
import { MatchingErrorCode, MatchingInputError } from "./errors.js";

const WORD = 32;

function putUint(out: Uint8Array, end: number, v: bigint | number, bits: number, name: string): void {
  let x = BigInt(v);
  if (x < 0n || x >= 1n << BigInt(bits)) throw new MatchingInputError(MatchingErrorCode.OutOfRange, `assignment ${name} = ${String(v)} does not fit uint${bits}`);
  // Right-aligned big-endian; numbers below 2^53 take the cheap path.
  if (typeof v === "number" || x <= 0x1fffffffffffffn) {
    let n = Number(x);
    for (let i = end - 1; n > 0; i--) {
      out[i] = n % 256;
      n = Math.floor(n / 256);
    }
    return;
  }
  for (let i = end - 1; x > 0n; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
}

/** abi.encode(Assignment[]): head offset 0x20, length, then four words per (static) tuple. */
export function encodeAssignmentsBytes(assignments: ReadonlyArray<Assignment>): Uint8Array {
  const n = assignments.length;
  const out = new Uint8Array(2 * WORD + 4 * WORD * n);
  out[WORD - 1] = 0x20;
  putUint(out, 2 * WORD, n, 256, "count");
  for (let i = 0; i < n; i++) {
    const a = assignments[i]!;
    const at = 2 * WORD + 4 * WORD * i;
    putUint(out, at + WORD, a.orderId, 64, "orderId");
    putUint(out, at + 2 * WORD, a.offerVersionId, 64, "offerVersionId");
    putUint(out, at + 3 * WORD, a.gpuCount, 32, "gpuCount");
    putUint(out, at + 4 * WORD, a.pricePerGpuHour, 128, "pricePerGpuHour");
  }
  return out;
}

export function encodeAssignments(assignments: ReadonlyArray<Assignment>): Hex {
  return bytesToHex(encodeAssignmentsBytes(assignments));
}

/** keccak256(abi.encode(assignments)): what operators sign over (inside the result message). */
export function assignmentsHash(assignments: ReadonlyArray<Assignment>): Hex {
  return bytesToHex(keccak_256(encodeAssignmentsBytes(assignments)));
}
