/**
 * Fixtures for the p2p tests, built on the node's real parts: `protocol/bls` keys (from a fixed seed per index) and
 * the mcl `BlsVerifier`, the `protocol/avs` seed and result digests, and a `BatchTable` fed the closes the test
 * needs. Only the operator set is in memory (the node reads it from the registry at R_b).
 */
import type { Hex } from "viem";
import { resultMessageDigest, seedFromSignature, seedMessageDigest } from "../../protocol/avs/messages.js";
import { SecretKey, createBlsVerifier, operatorId, type BlsVerifier, type G1Point, type G2Point } from "../../protocol/bls/index.js";
import { toOperatorId, type OperatorId } from "../../protocol/chain/ids.js";
import { BatchTable } from "../../protocol/p2p/batchTable.js";
import type { OperatorSetView, RegisteredOperator } from "../../protocol/p2p/interfaces.js";
import type { PartialSignatureMessage } from "../../protocol/p2p/messages.js";

export const TEST_CHAIN_ID = 31337n;
export const TEST_SERVICE_MANAGER: Hex = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
/** The on-chain `seedTimeout` the test tables use: one more fallback leader may sign every 5 blocks. */
export const TEST_SEED_TIMEOUT = 5n;

export type PK = G2Point;

export interface GossipOperator {
  id: OperatorId;
  sk: SecretKey;
  pk: G2Point;
  stake: bigint;
}

/** Operator `index` (1–255): the same key every run, so failures reproduce. */
export function testOperator(index: number, stake = 100n): GossipOperator {
  const sk = SecretKey.fromBytes(Uint8Array.from({ length: 32 }, (_, i) => (i === 31 ? index : 0x23)));
  return { id: toOperatorId(operatorId(sk.publicKeyG1())), sk, pk: sk.publicKeyG2(), stake };
}

let verifier: BlsVerifier | undefined;
/** The node's verifier (mcl), created once per test process. */
export async function testVerifier(): Promise<BlsVerifier> {
  return (verifier ??= await createBlsVerifier("mcl"));
}

export class TestOperatorSet implements OperatorSetView<G2Point> {
  /** Each operator registered from a block on. */
  private readonly registered = new Map<string, { from: bigint; op: RegisteredOperator<G2Point> }>();
  add(op: GossipOperator, fromBlock = 0n): void {
    this.registered.set(op.id, { from: fromBlock, op: { pkG2: op.pk, stake: op.stake } });
  }
  private readonly failing = new Set<string>();
  /** Lookups of this id throw, as a chain read would while the RPC endpoint is down. */
  failLookupsOf(id: Hex): void {
    this.failing.add(toOperatorId(id));
  }
  operatorAt(id: Hex, referenceBlock: bigint): RegisteredOperator<G2Point> | undefined {
    if (this.failing.has(toOperatorId(id))) throw new Error("operator set read failed: RPC unavailable");
    const r = this.registered.get(toOperatorId(id));
    return r && r.from <= referenceBlock ? r.op : undefined;
  }
}

/** Batch b of a test table closes at block 10·b + 1, so R_b = 10·b. */
export const referenceBlockOf = (batch: bigint) => 10n * batch;
const closedAtOf = (batch: bigint) => 10n * batch + 1n;

/** The docs/protocol.md §3.4 digest of batch `batch`'s result under `seed`, as a test table computes it. */
export function testResultDigest(batch: bigint, resultHash: Hex, seed: Hex): Hex {
  return resultMessageDigest({ chainId: TEST_CHAIN_ID, serviceManager: TEST_SERVICE_MANAGER, batch, referenceBlock: referenceBlockOf(batch), seed, assignmentsHash: resultHash });
}

/** The §3.2 seed message of batch `batch` in a test table. */
export function testSeedMessageHash(batch: bigint): Hex {
  return seedMessageDigest({
    chainId: TEST_CHAIN_ID,
    serviceManager: TEST_SERVICE_MANAGER,
    batch,
    previousSeed: `0x${"00".repeat(32)}`,
    referenceBlockHash: `0x${batch.toString(16).padStart(64, "0")}`,
  });
}

/** A BatchTable as the node builds it (real digests, seedTimeout 5 blocks), with no batch closed yet. */
export function testBatchTable(): BatchTable {
  return new BatchTable(
    { seedTimeoutBlocks: TEST_SEED_TIMEOUT, retainBatches: 64 },
    { resultMessageHash: (batch, referenceBlock, seed, resultHash) => resultMessageDigest({ chainId: TEST_CHAIN_ID, serviceManager: TEST_SERVICE_MANAGER, batch, referenceBlock, seed, assignmentsHash: resultHash }) },
  );
}

/**
 * Closes `batch` in `table` with the given fallback order; `seeds` are recorded as verified, and the head is moved
 * on until `leadersAllowed` leaders of the order may sign.
 */
export function closeBatch(table: BatchTable, batch: bigint, init: { leaderOrder: Hex[]; seeds?: Hex[]; leadersAllowed?: number }): void {
  table.onClosed({
    batch,
    referenceBlock: referenceBlockOf(batch),
    closedAt: closedAtOf(batch),
    seedMessageHash: testSeedMessageHash(batch),
    leaderOrder: init.leaderOrder.map(toOperatorId),
  });
  for (const seed of init.seeds ?? []) table.addVerifiedSeed(batch, seed);
  allowLeaders(table, batch, init.leadersAllowed ?? 1);
}

/** Moves the head on until `n` leaders of `batch`'s order may sign (n − 1 seed timeouts after its close). */
export function allowLeaders(table: BatchTable, batch: bigint, n: number): void {
  table.onBlock(closedAtOf(batch) + TEST_SEED_TIMEOUT * BigInt(n - 1));
}

/** A leader's seed for `batch` as partials carry it: the leader's id, its signature over the seed message, the seed. */
export interface TestSeedProof {
  seedSigner: OperatorId;
  seedSignature: G1Point;
  seed: Hex;
}

const proofs = new Map<string, TestSeedProof>();
/** `leader`'s seed proof for `batch` (signed with `signWith`, by default the leader's key); signed once per test run. */
export function testSeedProof(leader: GossipOperator, batch: bigint, signWith = leader.sk): TestSeedProof {
  const key = `${leader.id}:${batch}:${signWith.publicKeyG1().X}`;
  let proof = proofs.get(key);
  if (proof === undefined) {
    const seedSignature = signWith.sign(testSeedMessageHash(batch));
    proofs.set(key, (proof = { seedSigner: leader.id, seedSignature, seed: seedFromSignature(seedSignature) }));
  }
  return proof;
}

/** A partial of `op` on `resultHash` under the seed `proof` carries (signed with `signWith`, by default op's key). */
export function testPartial(op: GossipOperator, batch: bigint, resultHash: Hex, proof: TestSeedProof, signWith = op.sk): PartialSignatureMessage {
  return { batch, resultHash, operatorId: op.id, signature: signWith.sign(testResultDigest(batch, resultHash, proof.seed)), ...proof };
}
