/**
 * A real-parts world for hostile-peer tests: real BN254 keys and the mcl verifier, protocol/avs digests, a real
 * BatchTable with batch 1 closed, and an operator set (leader, alice) as the chain would give it at R_b. Victims
 * are MatchnetNetwork nodes; attackers are plain libp2p nodes or raw sockets.
 */
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { bn254 } from "@noble/curves/bn254.js";
import { tcp } from "@libp2p/tcp";
import { createLibp2p, type Libp2p } from "libp2p";
import type { Hex } from "viem";
import { resultMessageDigest, seedFromSignature, seedMessageDigest } from "../../protocol/avs/messages.js";
import { SecretKey, createBlsVerifier, operatorId, type BlsVerifier, type G1Point, type G2Point } from "../../protocol/bls/index.js";
import { toOperatorId, type OperatorId } from "../../protocol/chain/ids.js";
import { silentLogger } from "../../protocol/log/logger.js";
import { createMetrics, type Metrics } from "../../protocol/metrics/metrics.js";
import { BatchTable } from "../../protocol/p2p/batchTable.js";
import type { BanStore } from "../../protocol/p2p/banStore.js";
import type { OperatorSetView } from "../../protocol/p2p/interfaces.js";
import type { PartialSignatureMessage } from "../../protocol/p2p/messages.js";
import { MatchnetNetwork, defaultNetworkOpts, type GossipProcessors, type NetworkOpts } from "../../protocol/p2p/network.js";

export const CHAIN_ID = 31337n;
export const SERVICE_MANAGER: Hex = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const key = (n: number) => SecretKey.fromBytes(Uint8Array.from({ length: 32 }, (_, i) => (i === 31 ? n : 0x22)));

export const leaderSk = key(1);
export const aliceSk = key(2);
export const bobSk = key(3);
export const leaderId = toOperatorId(operatorId(leaderSk.publicKeyG1()));
export const aliceId = toOperatorId(operatorId(aliceSk.publicKeyG1()));
export const bobId = toOperatorId(operatorId(bobSk.publicKeyG1()));

/** The registry's answer at R_b: leader, alice and bob, registered from block 0. */
export const operatorSet: OperatorSetView<G2Point> = {
  operatorAt: (id) =>
    id.toLowerCase() === leaderId
      ? { pkG2: leaderSk.publicKeyG2(), stake: 50n }
      : id.toLowerCase() === aliceId
        ? { pkG2: aliceSk.publicKeyG2(), stake: 30n }
        : id.toLowerCase() === bobId
          ? { pkG2: bobSk.publicKeyG2(), stake: 20n }
          : undefined,
};

export function resultDigest(batch: bigint, referenceBlock: bigint, seed: Hex, resultHash: Hex): Hex {
  return resultMessageDigest({ chainId: CHAIN_ID, serviceManager: SERVICE_MANAGER, batch, referenceBlock, seed, assignmentsHash: resultHash });
}

/** A BatchTable with batch 1 closed at block 100 (R_b = 99), the leader first in its fallback order. */
export function closedBatchTable(): BatchTable {
  const table = new BatchTable({ seedTimeoutBlocks: 5n, retainBatches: 8 }, { resultMessageHash: resultDigest });
  table.onClosed({
    batch: 1n,
    referenceBlock: 99n,
    closedAt: 100n,
    seedMessageHash: seedMessageDigest({ chainId: CHAIN_ID, serviceManager: SERVICE_MANAGER, batch: 1n, previousSeed: `0x${"00".repeat(32)}`, referenceBlockHash: `0x${"cd".repeat(32)}` }),
    leaderOrder: [leaderId, aliceId],
  });
  table.onBlock(100n);
  return table;
}

/** The leader's seed proof for batch 1 of `table`. */
export function seedProof(table: BatchTable): { seedSigner: OperatorId; seedSignature: G1Point; seed: Hex } {
  const seedSignature = leaderSk.sign(table.batch(1n)!.seedMessageHash);
  return { seedSigner: leaderId, seedSignature, seed: seedFromSignature(seedSignature) };
}

/** Alice's honest partial on `resultHash` for batch 1. */
export function honestPartial(table: BatchTable, resultHash: Hex, sk = aliceSk, id = aliceId): PartialSignatureMessage {
  const proof = seedProof(table);
  return { batch: 1n, resultHash, operatorId: id, signature: sk.sign(resultDigest(1n, 99n, proof.seed, resultHash)), ...proof };
}

/**
 * Alice's id and a believable signature that does not verify: a valid G1 point (her signature on the message
 * moved by i × G1), so each one costs the receiver a full pairing check.
 */
export function forgedPartial(table: BatchTable, resultHash: Hex, i: number): PartialSignatureMessage {
  const honest = honestPartial(table, resultHash);
  const moved = bn254.G1.Point.fromAffine({ x: honest.signature.X, y: honest.signature.Y }).add(bn254.G1.Point.BASE.multiply(BigInt(i + 1))).toAffine();
  return { ...honest, signature: { X: moved.x, Y: moved.y } };
}

let verifier: BlsVerifier | undefined;
export async function realVerifier(): Promise<BlsVerifier> {
  return (verifier ??= await createBlsVerifier("mcl"));
}

export interface Victim {
  net: MatchnetNetwork<G2Point>;
  metrics: Metrics;
  table: BatchTable;
}

/** `bans`: the node's ban store (a BanRepository over a real LevelDB) when the test restarts it. */
export async function startVictim(opts: Partial<NetworkOpts> = {}, processors: GossipProcessors<G2Point> = {}, table = closedBatchTable(), bans: BanStore | null = null): Promise<Victim> {
  const metrics = createMetrics();
  const net = await MatchnetNetwork.start<G2Point>(
    { ...defaultNetworkOpts, chainId: CHAIN_ID, listen: ["/ip4/127.0.0.1/tcp/0"], bootstrap: [], publishTimeoutMs: 5_000, ...opts },
    { batches: table, operators: operatorSet, verifier: await realVerifier(), logger: silentLogger(), metrics, processors, bans },
  );
  return { net, metrics, table };
}

/** A bare libp2p node (TCP, noise, yamux) for attackers that speak a protocol by hand. */
export async function startBareNode(): Promise<Libp2p> {
  return createLibp2p({ addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] });
}

export async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function refusals(m: Metrics, reason: string): Promise<number> {
  return (await m.p2pRefusals.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

/** Pairing checks the node ran, by kind (seed, partial, result-list). */
export async function pairings(m: Metrics, kind: string): Promise<number> {
  return (await m.blsVerifySeconds.get()).values.find((v) => v.metricName === "matchnet_bls_verify_seconds_count" && v.labels.kind === kind)?.value ?? 0;
}
