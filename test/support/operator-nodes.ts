/**
 * Operator nodes in one process for the operator tests: each with its own LevelDB in a temp dir, its own peer key
 * and a fixed 127.0.0.1 port, so that its socket can be registered on-chain before it starts. No side effects at
 * import (mocha loads every file under test/).
 */
import { join } from "node:path";
import type { PrivateKey } from "@libp2p/interface";
import type { PublicClient, WalletClient } from "viem";
import { buildSubmission, checkSubmission, createG2KeySummer, submitResultArgs } from "../../aggregator/index.js";
import { createBlsVerifier, type BlsVerifier, type G1Point, type SecretKey } from "../../protocol/bls/index.js";
import { BatchStatus, readClosedBatch } from "../../protocol/chain/batches.js";
import { toBytes32 } from "../../protocol/chain/ids.js";
import { OperatorSets } from "../../protocol/chain/operatorSets.js";
import type { SystemAddresses } from "../../protocol/chain/reads.js";
import { LevelDbController } from "../../protocol/db/controller.js";
import { silentLogger, type Logger } from "../../protocol/log/logger.js";
import { createMetrics, type Metrics } from "../../protocol/metrics/metrics.js";
import { loadOrCreatePeerKey } from "../../protocol/p2p/peerKey.js";
import { freePorts } from "../../deploy/devnet/ports.js";
import { OperatorNode } from "../../operator/node.js";
import type { System } from "./serviceManager.js";
import { makeTempDir } from "./tempdir.js";

/** A free TCP port on 127.0.0.1 for a node to listen on later (deploy/devnet/ports.ts: below the ephemeral range). */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

export function addressesOf(s: System): SystemAddresses {
  return {
    serviceManager: s.serviceManager.address,
    operatorRegistry: s.operatorRegistry.address,
    marketplace: s.marketplace.address,
    offerBook: s.offerBook.address,
    providerRegistry: s.registry.address,
    catalog: s.catalog.address,
  };
}

/** What survives a node restart: data dir, peer key, port, BLS key. */
export interface NodeSlot {
  dir: string;
  port: number;
  peerKey: PrivateKey;
  sk: SecretKey;
  /** /ip4/127.0.0.1/tcp/<port>/p2p/<peer id> */
  socket: string;
  remove(): Promise<void>;
}

export async function makeSlot(sk: SecretKey): Promise<NodeSlot> {
  const dir = await makeTempDir("opnode");
  const port = await freePort();
  const { privateKey } = await loadOrCreatePeerKey(join(dir.path, "peer-key"));
  return { dir: dir.path, port, peerKey: privateKey, sk, socket: `/ip4/127.0.0.1/tcp/${port}/p2p/${privateKey.publicKey.toString()}`, remove: dir.remove };
}

export interface RunningNode {
  node: OperatorNode;
  db: LevelDbController;
  metrics: Metrics;
  stop(): Promise<void>;
}

let verifier: Promise<BlsVerifier> | undefined;

export async function startNode(
  s: System,
  slot: NodeSlot,
  opts: { wallet?: WalletClient | null; api?: boolean; logger?: Logger; bootstrap?: string[]; client?: PublicClient; pollIntervalMs?: number; healthMaxBlocksBehind?: number } = {},
): Promise<RunningNode> {
  verifier ??= createBlsVerifier("mcl");
  const db = await LevelDbController.open({ path: join(slot.dir, "db") });
  const metrics = createMetrics();
  const node = await OperatorNode.start(
    {
      chainId: s.chainId,
      addresses: addressesOf(s),
      listen: [`/ip4/127.0.0.1/tcp/${slot.port}`],
      bootstrap: opts.bootstrap ?? [],
      pollIntervalMs: opts.pollIntervalMs ?? 50,
      ...(opts.healthMaxBlocksBehind !== undefined ? { healthMaxBlocksBehind: opts.healthMaxBlocksBehind } : {}),
      api: opts.api ? { host: "127.0.0.1", port: 0 } : null,
      metrics: null,
      network: { publishTimeoutMs: 3_000, redialIntervalMs: 500 },
      nodeVersion: "test",
    },
    {
      client: opts.client ?? (s.publicClient as PublicClient),
      wallet: opts.wallet ?? null,
      secretKey: slot.sk,
      db,
      peerKey: slot.peerKey,
      verifier: await verifier,
      logger: opts.logger ?? silentLogger(),
      metrics,
    },
  ).catch(async (err: unknown) => {
    await db.close();
    throw err;
  });
  return {
    node,
    db,
    metrics,
    stop: async () => {
      await node.stop();
      await db.close();
    },
  };
}

export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Finalizes `batch` on-chain from the signatures node 0 holds (its own and those it received by gossip), with the
 * aggregator's submission builder, and waits until every node reports the batch final. Returns the signer count.
 */
export async function finalizeFromNode0(s: System, nodes: readonly RunningNode[], batch: bigint): Promise<number> {
  const ref = BigInt((await s.serviceManager.read.getBatch([batch])).referenceBlock);
  const client = s.publicClient as PublicClient;
  const operatorSet = await new OperatorSets({ registry: s.operatorRegistry.address, retain: 1, withApk: false }, { client }).load(ref);
  const n0 = nodes[0]!.node;
  const d = n0.decision(batch)!;
  const sigs = new Map<string, G1Point>([[n0.operatorId, d.signature]]);
  for (const [id, p] of n0.partialsSeen(batch)) if (p.resultHash === d.assignmentsHash && p.seed === d.seed) sigs.set(id, p.signature);
  const signers = operatorSet.operators.filter((o) => sigs.has(o.operatorId)).map((o) => ({ operator: o, signature: sigs.get(o.operatorId)! }));
  const seedProof = n0.verifiedSeeds(batch).get(d.seedRank)!;
  const closed = { ...(await readClosedBatch(client, { chainId: s.chainId, serviceManager: s.serviceManager.address }, batch, 1)), status: BatchStatus.Open };
  const sub = buildSubmission(
    { chainId: s.chainId, serviceManager: s.serviceManager.address },
    { batch: closed, operatorSet, resultHash: toBytes32(d.messageHash), signers, signedStake: signers.reduce((t, x) => t + x.operator.stake, 0n), totalStake: operatorSet.totalStake },
    { seed: d.seed, seedProof: { signature: seedProof.signature, signerIndex: BigInt(d.seedRank) }, assignments: d.assignments },
    await createG2KeySummer(),
  );
  checkSubmission(sub, operatorSet, 6_667);
  const hints = await s.serviceManager.read.signatureCheckHints([d.messageHash, Number(ref), sub.nonSignerPubkeys]);
  await s.serviceManager.write.submitResult(submitResultArgs(sub, hints));
  await waitFor(() => nodes.every((n) => n.node.batchReport(batch)?.status === "final"), "every node seeing the batch final");
  return sigs.size;
}
