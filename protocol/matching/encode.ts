/**
 * The signed form of a batch result (docs/protocol.md §3.4): the assignment list cut into pages of PAGE_SIZE rows in
 * order (the last one shorter), and the commitment the result message binds, `C_0` of the chain
 * `C_n = 0`, `C_i = keccak256(abi.encode(Assignment[] page_i, bytes32 C_{i+1}))` (0 for an empty list) — exactly as
 * ServiceManager.submitResult / applyPage recompute it link by link. Written by hand rather than
 * with viem's generic encoder because it runs on every batch and the generic path costs ~0.2 s for 10 000 rows; a
 * test checks the bytes against `encodeAbiParameters` and the contract.
 */
import { keccak256Bytes } from "./keccak.js";
import { bytesToHex, type Hex } from "viem";
import type { Assignment } from "../market/types.js";
import { MatchingErrorCode, MatchingInputError } from "./errors.js";

const WORD = 32;

/** 2^bits per width used below, so that a check allocates no bigint. */
const UINT_LIMIT = new Map<number, bigint>([32, 64, 128, 256].map((bits) => [bits, 1n << BigInt(bits)]));

function putUint(out: Uint8Array, end: number, v: bigint | number, bits: number, name: string): void {
  // The common cases first, without a bigint per field: a number in range, a bigint in range below 2^53.
  if (typeof v === "number" ? Number.isInteger(v) && v >= 0 && v < 2 ** bits : v >= 0n && v <= 0x1fffffffffffffn && v < UINT_LIMIT.get(bits)!) {
    let n = Number(v);
    for (let i = end - 1; n > 0; i--) {
      out[i] = n % 256;
      n = Math.floor(n / 256);
    }
    return;
  }
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

/** Rows per result page; ServiceManager.PAGE_SIZE. */
export const PAGE_SIZE = 128;

/** The list's pages: consecutive slices of PAGE_SIZE rows, the last one shorter; none for an empty list. */
export function resultPages<T>(assignments: ReadonlyArray<T>): T[][] {
  const pages: T[][] = [];
  for (let i = 0; i < assignments.length; i += PAGE_SIZE) pages.push(assignments.slice(i, i + PAGE_SIZE));
  return pages;
}

/** abi.encode(Assignment[] page, bytes32 rest): the array's offset (0x40), `rest`, then the array as above. */
function encodePageBytes(page: ReadonlyArray<Assignment>, rest: Uint8Array): Uint8Array {
  const list = encodeAssignmentsBytes(page);
  const out = new Uint8Array(WORD + list.length);
  out[WORD - 1] = 0x40;
  out.set(rest, WORD);
  out.set(list.subarray(WORD), 2 * WORD);
  return out;
}

/**
 * The commitments `C_0 … C_n` of the list's n pages (`C_n` = 0): page i is applied with `rest = C_{i+1}`, and the
 * first submission carries `C_1` beside page 0.
 */
export function pageCommitments(assignments: ReadonlyArray<Assignment>): Hex[] {
  const pages = resultPages(assignments);
  let c: Uint8Array = new Uint8Array(WORD);
  const out: Hex[] = [bytesToHex(c)];
  for (let i = pages.length - 1; i >= 0; i--) {
    c = keccak256Bytes(encodePageBytes(pages[i]!, c));
    out.push(bytesToHex(c));
  }
  return out.reverse();
}

/** C_0: the commitment to the whole list that operators sign over (inside the result message). */
export function assignmentsHash(assignments: ReadonlyArray<Assignment>): Hex {
  return pageCommitments(assignments)[0]!;
}
