/**
 * One verification interface, two engines: `noble` (reference) and `mcl` (fast, for gossip validation and the
 * aggregator). Both run the same algorithms, written here once against PairingBackend.
 *
 * Batch verification is the small-exponents test: with fresh CSPRNG weights r_i ∈ [1, 2^64),
 *   e(Σ r_i·sig_i, −G2) · Π_m e(H(m), Σ_{i: m_i = m} r_i·pk_i) == 1
 * one Miller loop per distinct message plus one, one final exponentiation, and two multi-scalar multiplications.
 * If any item is invalid the check passes with probability ≤ 2^-64 (docs/bls.md has the argument; it needs every
 * point in the order-r groups, which decoding enforces).
 */
import { randomBytes } from "node:crypto";
import type { PairingBackend } from "./backend.js";
import { BlsError } from "./errors.js";
import { parseDigest, type G1Point, type G2Point, type Hex } from "./encoding.js";
import { toBytes32, type Bytes32 } from "../chain/ids.js";
import { nobleBackend } from "./nobleBackend.js";
import { createMclBackend, initMcl, type MclBackendOptions } from "./mclBackend.js";

export interface SignatureItem {
  pkG2: G2Point;
  digest: Hex;
  sig: G1Point;
}

export interface BlsVerifier {
  readonly engine: "noble" | "mcl";
  /** e(sig, G2) == e(H(digest), pk); false on any invalid point. A malformed digest throws BlsError(InvalidDigest). */
  verify(pkG2: G2Point, digest: Hex, sig: G1Point): boolean;
  /** True iff every item is valid (except with probability ≤ 2^-64); an empty batch is true. */
  verifyBatch(items: readonly SignatureItem[]): boolean;
  /** Indexes (ascending) of the invalid items; never names a valid item, misses one with probability ≤ k·2^-64. */
  findInvalid(items: readonly SignatureItem[]): number[];
}

export type BlsEngine = "noble" | "mcl";

export interface BlsVerifierOptions extends MclBackendOptions {
  /** Source of the batch weights; tests may pin it, production keeps the CSPRNG default. */
  randomWeights?: (n: number) => bigint[];
}

/** n uniform weights in [1, 2^64) from the OS CSPRNG; zero is excluded because it would drop an item unchecked. */
export function csprngWeights(n: number): bigint[] {
  const out: bigint[] = [];
  while (out.length < n) {
    const buf = randomBytes(8 * (n - out.length));
    for (let i = 0; i < buf.length; i += 8) {
      const w = buf.readBigUInt64BE(i);
      if (w !== 0n) out.push(w);
    }
  }
  return out;
}

const HASH_CACHE_SIZE = 1024;

interface DecodedItem<P1, P2> {
  index: number;
  pk: P2;
  /** In its one spelling, so that equal digests share one hash-to-curve and one pairing group. */
  digest: Bytes32;
  sig: P1;
}

class Verifier<P1, P2> implements BlsVerifier {
  readonly engine: BlsEngine;
  readonly #b: PairingBackend<P1, P2>;
  readonly #weights: (n: number) => bigint[];
  // Many partials share one digest (every operator signs the same result): hash it onto the curve once.
  readonly #hashes = new Map<Bytes32, P1>();

  constructor(backend: PairingBackend<P1, P2>, weights: (n: number) => bigint[]) {
    this.#b = backend;
    this.engine = backend.name;
    this.#weights = weights;
  }

  verify(pkG2: G2Point, digest: Hex, sig: G1Point): boolean {
    const d = this.#decode({ pkG2, digest, sig }, 0);
    if (d === undefined) return false;
    const h = this.#hash(d.digest);
    return this.#b.pairingProductIsOne([
      [d.sig, this.#b.negG2Generator],
      [h, d.pk],
    ]);
  }

  verifyBatch(items: readonly SignatureItem[]): boolean {
    const decoded: DecodedItem<P1, P2>[] = [];
    for (let i = 0; i < items.length; i++) {
      const d = this.#decode(items[i]!, i);
      if (d === undefined) return false;
      decoded.push(d);
    }
    return this.#check(decoded);
  }

  findInvalid(items: readonly SignatureItem[]): number[] {
    const bad: number[] = [];
    const decoded: DecodedItem<P1, P2>[] = [];
    for (let i = 0; i < items.length; i++) {
      const d = this.#decode(items[i]!, i);
      if (d === undefined) bad.push(i);
      else decoded.push(d);
    }
    // Bisection. A failing check is proof that its subset holds an invalid item (valid items satisfy the equation
    // for every weight); a passing one clears the subset except with probability ≤ 2^-64. Items are only ever
    // reported after failing a check on their own, which with one item is exact: no valid item is ever reported.
    const search = (subset: DecodedItem<P1, P2>[], knownToFail: boolean): void => {
      if (subset.length === 0) return;
      if (subset.length === 1) {
        if (!this.#check(subset)) bad.push(subset[0]!.index);
        return;
      }
      if (!knownToFail && this.#check(subset)) return;
      const mid = subset.length >> 1;
      const before = bad.length;
      search(subset.slice(0, mid), false);
      // The parent failed; if the left half came out clean, the right half must fail: skip its batch check.
      search(subset.slice(mid), bad.length === before);
    };
    search(decoded, false);
    return bad.sort((a, b) => a - b);
  }

  #decode(item: SignatureItem, index: number): DecodedItem<P1, P2> | undefined {
    // The digest is the caller's own value (computed locally), not network input: a malformed one throws.
    parseDigest(item.digest);
    try {
      return { index, pk: this.#b.decodeG2(item.pkG2), digest: toBytes32(item.digest), sig: this.#b.decodeG1(item.sig) };
    } catch (err) {
      if (err instanceof BlsError) return undefined;
      throw err;
    }
  }

  #hash(digest: Bytes32): P1 {
    let h = this.#hashes.get(digest);
    if (h === undefined) {
      h = this.#b.hashToG1(digest);
      if (this.#hashes.size >= HASH_CACHE_SIZE) this.#hashes.delete(this.#hashes.keys().next().value!);
      this.#hashes.set(digest, h);
    }
    return h;
  }

  /** The randomized check over already-decoded items, grouped by message. */
  #check(items: readonly DecodedItem<P1, P2>[]): boolean {
    if (items.length === 0) return true;
    const weights = this.#weights(items.length);
    const byMessage = new Map<Bytes32, { pks: P2[]; ws: bigint[] }>();
    for (let i = 0; i < items.length; i++) {
      let g = byMessage.get(items[i]!.digest);
      if (g === undefined) byMessage.set(items[i]!.digest, (g = { pks: [], ws: [] }));
      g.pks.push(items[i]!.pk);
      g.ws.push(weights[i]!);
    }
    const pairs: (readonly [P1, P2])[] = [
      [this.#b.msmG1(items.map((d) => d.sig), weights), this.#b.negG2Generator],
    ];
    for (const [digest, g] of byMessage) {
      pairs.push([this.#hash(digest), this.#b.msmG2(g.pks, g.ws)]);
    }
    return this.#b.pairingProductIsOne(pairs);
  }
}

/**
 * A verifier on the chosen engine. `mcl` initialises its WASM once per process (≈ 140 ms); `noble` is the
 * reference used to cross-check it.
 */
export async function createBlsVerifier(engine: BlsEngine = "mcl", opts: BlsVerifierOptions = {}): Promise<BlsVerifier> {
  const weights = opts.randomWeights ?? csprngWeights;
  if (engine === "noble") return new Verifier(nobleBackend, weights);
  if (engine === "mcl") {
    await initMcl();
    return new Verifier(createMclBackend(opts), weights);
  }
  throw new Error(`bls: unknown engine ${String(engine)}`);
}
