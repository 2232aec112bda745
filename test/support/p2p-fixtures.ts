/**
 * Fixtures for the p2p tests: an in-memory batch view and operator set (the node will back these with chain
 * reads), and a test signature scheme.
 *
 * `InsecureTestBls` is real BLS verification — a pairing check e(sig, G2) = e(H(m), pk) on BN254 with noble —
 * over an *insecure* hash to curve: H(m) = (m mod r)·G1, whose discrete log everyone knows. It is deterministic
 * and exercises G2 keys and the pairing, but it is for tests only; the node injects the project's BLS library
 * (EigenLayer's try-and-increment hashToG1).
 */
import { toOperatorId, type OperatorId } from "../../protocol/chain/ids.js";
import { bn254 } from "@noble/curves/bn254.js";
import type { Hex } from "viem";
import { keccak256, toHex } from "viem";
import { BatchStatus } from "../../protocol/chain/batches.js";
import { type BatchInfo, type BatchView, type OperatorSetView, type RegisteredOperator, type SignatureVerifier } from "../../protocol/p2p/interfaces.js";
import type { G1Like } from "../../protocol/p2p/points.js";
import type { PartialSignatureMessage } from "../../protocol/p2p/messages.js";
import { seedFromSignature } from "../../protocol/avs/messages.js";

type G2 = InstanceType<typeof bn254.G2.Point>;
const R = bn254.fields.Fr.ORDER;

export class InsecureTestBls implements SignatureVerifier<G2> {
  static publicKey(sk: bigint): G2 {
    return bn254.G2.Point.BASE.multiply(sk);
  }
  static hashToPoint(digest: Hex) {
    return bn254.G1.Point.BASE.multiply(BigInt(digest) % R);
  }
  static sign(sk: bigint, digest: Hex): G1Like {
    const p = InsecureTestBls.hashToPoint(digest).multiply(sk).toAffine();
    return { X: p.x, Y: p.y };
  }
  verify(pkG2: G2, digest: Hex, signature: G1Like): boolean {
    const sig = bn254.G1.Point.fromAffine({ x: signature.X, y: signature.Y });
    // e(sig, G2) · e(−H(m), pk) = 1, with one final exponentiation for both pairings.
    const product = bn254.pairingBatch([
      { g1: sig, g2: bn254.G2.Point.BASE },
      { g1: InsecureTestBls.hashToPoint(digest).negate(), g2: pkG2 },
    ]);
    return bn254.fields.Fp12.eql(product, bn254.fields.Fp12.ONE);
  }
}

export interface TestOperator {
  id: OperatorId;
  sk: bigint;
  pk: G2;
  stake: bigint;
}

export function testOperator(index: number, stake = 100n): TestOperator {
  const sk = 1_000n + BigInt(index);
  return { id: toOperatorId(keccak256(toHex(`operator-${index}`))), sk, pk: InsecureTestBls.publicKey(sk), stake };
}

export class TestOperatorSet implements OperatorSetView<G2> {
  /** Each operator registered from a block on. */
  private readonly registered = new Map<string, { from: bigint; op: RegisteredOperator<G2> }>();
  add(op: TestOperator, fromBlock = 0n): void {
    this.registered.set(op.id.toLowerCase(), { from: fromBlock, op: { pkG2: op.pk, stake: op.stake } });
  }
  private readonly failing = new Set<string>();
  /** Lookups of this id throw, as a chain read would while the RPC endpoint is down. */
  failLookupsOf(operatorId: Hex): void {
    this.failing.add(operatorId.toLowerCase());
  }
  operatorAt(operatorId: Hex, referenceBlock: bigint): RegisteredOperator<G2> | undefined {
    if (this.failing.has(operatorId.toLowerCase())) throw new Error("operator set read failed: RPC unavailable");
    const r = this.registered.get(operatorId.toLowerCase());
    return r && r.from <= referenceBlock ? r.op : undefined;
  }
}

/** Result message digest the way the tests define it; the node uses docs/protocol.md §3.4's abi encoding. */
export function testResultDigest(batch: bigint, resultHash: Hex, seed: Hex): Hex {
  return keccak256(toHex(`result:${batch}:${resultHash}:${seed}`));
}

/** The seed message digest TestBatchView gives each batch. */
export function testSeedMessageHash(batch: bigint): Hex {
  return keccak256(toHex(`seed:${batch}`));
}

/** A leader's seed for `batch` as partials carry it: the leader's id, its signature over the seed message, the seed. */
export interface TestSeedProof {
  seedSigner: OperatorId;
  seedSignature: G1Like;
  seed: Hex;
}

export function testSeedProof(leader: TestOperator, batch: bigint, signWith = leader.sk): TestSeedProof {
  const seedSignature = InsecureTestBls.sign(signWith, testSeedMessageHash(batch));
  return { seedSigner: leader.id, seedSignature, seed: seedFromSignature({ X: seedSignature.X, Y: seedSignature.Y }) };
}

/** A partial of `op` on `resultHash` under the seed `proof` carries (signed with `signWith`, by default op's key). */
export function testPartial(op: TestOperator, batch: bigint, resultHash: Hex, proof: TestSeedProof, signWith = op.sk): PartialSignatureMessage {
  return { batch, resultHash, operatorId: op.id, signature: InsecureTestBls.sign(signWith, testResultDigest(batch, resultHash, proof.seed)), ...proof };
}

export class TestBatchView implements BatchView {
  private readonly batches = new Map<bigint, BatchInfo>();
  private readonly seeds = new Map<bigint, Set<string>>();
  private readonly waiters = new Set<() => void>();
  private latest = 0n;

  open(batch: bigint, init: { referenceBlock?: bigint; leaderOrder?: Hex[]; leadersAllowed?: number; seeds?: Hex[] } = {}): BatchInfo {
    const seeds = new Set((init.seeds ?? []).map((s) => s.toLowerCase()));
    this.seeds.set(batch, seeds);
    const info: BatchInfo = {
      status: BatchStatus.Open,
      referenceBlock: init.referenceBlock ?? 10n * batch,
      seedMessageHash: testSeedMessageHash(batch),
      leaderOrder: (init.leaderOrder ?? []).map(toOperatorId),
      leadersAllowed: init.leadersAllowed ?? 1,
      resultMessageHash: (resultHash, seed) => (seeds.has(seed.toLowerCase()) ? testResultDigest(batch, resultHash, seed) : undefined),
    };
    this.batches.set(batch, info);
    if (batch > this.latest) this.latest = batch;
    for (const wake of this.waiters) wake();
    return info;
  }

  /** What the node's batch table does once a validator verified a seed. */
  addVerifiedSeed(batch: bigint, seed: Hex): void {
    this.seeds.get(batch)?.add(seed.toLowerCase());
  }

  /** Seeds verified for `batch` (given at open or added by a validator). */
  verifiedSeeds(batch: bigint): string[] {
    return [...(this.seeds.get(batch) ?? [])];
  }

  finalize(batch: bigint): void {
    const info = this.batches.get(batch);
    if (info) info.status = BatchStatus.Final;
  }

  batch(batch: bigint): BatchInfo | undefined {
    return this.batches.get(batch);
  }

  latestBatch(): bigint {
    return this.latest;
  }

  waitForBatch(batch: bigint, timeoutMs: number): Promise<boolean> {
    if (this.batches.has(batch)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve(ok);
      };
      const wake = () => this.batches.has(batch) && done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.waiters.add(wake);
    });
  }
}
