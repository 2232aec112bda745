/**
 * Single signature checks gathered into batch checks: `verify` buffers each (key, digest, signature) for up to
 * `maxWaitMs` or until `maxBatch` are waiting, then checks the group with one randomized multi-pairing
 * (BlsVerifier.verifyBatch). Gossip validators await one verdict per message as before; what changes is the cost.
 *
 * Why: every operator checks every other operator's partial for every batch, n² pairings per batch on the machine.
 * One check costs ≈ 3.5 ms with mcl; a group of 16 on one digest ≈ 7.3 ms and of 64 ≈ 13 ms in all (CPU time,
 * docs/operator.md, Peer network, "Signature checks in groups"), because the group shares one Miller loop per distinct digest and
 * one final exponentiation.
 *
 * A group that fails is searched for its invalid items (BlsVerifier.findInvalid: bisection down to single checks),
 * so an invalid signature gets `false` on its own and every valid one in its group `true`: per-message verdicts are
 * the same as with one check each (a valid item is cleared by a passing randomized check, as in any batch check;
 * docs/bls.md). A group of one is checked alone (a batch check of one costs more than a plain one).
 */
import { parseDigest, type G1Point, type G2Point, type Hex } from "./encoding.js";
import type { BlsVerifier, SignatureItem } from "./verifier.js";

export interface BufferedVerifierOpts {
  /**
   * Longest wait of a buffered check. Partials of one batch reach a node within tens of ms of each other on a LAN
   * and a busy event loop queues them further while a group is checked; 10 ms gathers them without adding
   * anything a batch's block-scale timing notices.
   */
  maxWaitMs: number;
  /**
   * A group this large is checked at once. 32 (as Lodestar's buffered BLS jobs) keeps the event loop blocked for
   * ≈ 10 ms at most, while the per-item cost is already within 1.5× of a group of 64.
   */
  maxBatch: number;
}

export const defaultBufferedVerifierOpts: BufferedVerifierOpts = { maxWaitMs: 10, maxBatch: 32 };

export interface BufferedVerifierModules {
  verifier: BlsVerifier;
  /** Told the size of each group checked and whether the group check passed (metrics, tests). */
  onGroup?: (size: number, passed: boolean) => void;
}

interface Pending {
  item: SignatureItem;
  resolve: (valid: boolean) => void;
  reject: (err: unknown) => void;
}

export class BufferedBlsVerifier {
  readonly #opts: BufferedVerifierOpts;
  readonly #modules: BufferedVerifierModules;
  #buffer: Pending[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: BufferedVerifierOpts, modules: BufferedVerifierModules) {
    if (!Number.isInteger(opts.maxBatch) || opts.maxBatch < 1) throw new RangeError(`maxBatch must be an integer ≥ 1, got ${opts.maxBatch}`);
    if (!Number.isFinite(opts.maxWaitMs) || opts.maxWaitMs < 0) throw new RangeError(`maxWaitMs must be a finite number ≥ 0, got ${opts.maxWaitMs}`);
    this.#opts = opts;
    this.#modules = modules;
  }

  /** Checks in progress, waiting for their group. */
  get pending(): number {
    return this.#buffer.length;
  }

  /**
   * Resolves as BlsVerifier.verify would for this one signature. A malformed digest (the caller's own value) throws
   * here, before it joins a group whose other members it would otherwise fail.
   */
  verify(pkG2: G2Point, digest: Hex, sig: G1Point): Promise<boolean> {
    parseDigest(digest);
    return new Promise<boolean>((resolve, reject) => {
      this.#buffer.push({ item: { pkG2, digest, sig }, resolve, reject });
      if (this.#buffer.length >= this.#opts.maxBatch) this.flush();
      else this.#timer ??= setTimeout(() => this.flush(), this.#opts.maxWaitMs);
    });
  }

  /** Checks whatever is buffered now (at most maxBatch per group); the node calls it on stop. */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#buffer.length > 0) this.#check(this.#buffer.splice(0, this.#opts.maxBatch));
  }

  #check(group: Pending[]): void {
    const { verifier, onGroup } = this.#modules;
    try {
      if (group.length === 1) {
        const { pkG2, digest, sig } = group[0]!.item;
        const valid = verifier.verify(pkG2, digest, sig);
        onGroup?.(1, valid);
        group[0]!.resolve(valid);
        return;
      }
      const items = group.map((p) => p.item);
      const passed = verifier.verifyBatch(items);
      onGroup?.(group.length, passed);
      const invalid = new Set(passed ? [] : verifier.findInvalid(items));
      group.forEach((p, i) => p.resolve(!invalid.has(i)));
    } catch (err) {
      // Not a verdict on any signature (the engine failed): each caller gets the error, as a single check would.
      for (const p of group) p.reject(err);
    }
  }
}
