/**
 * Operator nodes in one process for the operator tests: each with its own LevelDB in a temp dir, its own peer key
 * and a fixed 127.0.0.1 port, so that its socket can be registered on-chain before it starts. No side effects at
 * import (mocha loads every file under test/).
 */
import { createServer } from "node:net";
import { join } from "node:path";
import type { PrivateKey } from "@libp2p/interface";
import type { PublicClient, WalletClient } from "viem";
import { createBlsVerifier, type BlsVerifier, type SecretKey } from "../../protocol/bls/index.js";
import type { SystemAddresses } from "../../protocol/chain/reads.js";
import { LevelDbController } from "../../protocol/db/controller.js";
import { silentLogger, type Logger } from "../../protocol/log/logger.js";
import { createMetrics, type Metrics } from "../../protocol/metrics/metrics.js";
import { loadOrCreatePeerKey } from "../../protocol/p2p/peerKey.js";
import { OperatorNode } from "../../operator/node.js";
import type { System } from "./serviceManager.js";
import { makeTempDir } from "./tempdir.js";

/** A free TCP port on 127.0.0.1 (bound and released; the race with other processes is acceptable in tests). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
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
