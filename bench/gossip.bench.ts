/**
 * Gossip delivery latency on 4 libp2p nodes over TCP on 127.0.0.1 (full mesh, noise, yamux, gossipsub with the
 * node's own validators): time from `publishPartial` on one node to the processing of the accepted message on
 * each of the other three, over 300 partial signatures published 5 ms apart by rotating senders.
 *
 * What it measures is the network path: encode → libp2p → decode → the topic validator's checks → process. BLS
 * verification is left out on purpose (the verifier here accepts every signature): its cost is the BLS library's
 * and is measured by its own bench and by `matchnet_bls_verify_seconds`, and with all four nodes on one thread
 * here, three receivers' pairings would run one after another, which no real deployment does.
 */
import { toOperatorId } from "../protocol/chain/ids.js";
import { keccak256, toHex, type Hex } from "viem";
import { seedFromSignature } from "../protocol/avs/messages.js";
import { silentLogger } from "../protocol/log/logger.js";
import { BatchStatus } from "../protocol/chain/batches.js";
import { type BatchInfo, type BatchView, type OperatorSetView, type SignatureVerifier } from "../protocol/p2p/interfaces.js";
import { MatchnetNetwork, defaultNetworkOpts } from "../protocol/p2p/network.js";
import { GossipTopicName } from "../protocol/p2p/topics.js";

const NODES = 4;
const MESSAGES = 300;
const WARMUP = 20;
const SPACING_MS = 5;
const SIGNATURE = { X: 1n, Y: 2n }; // the G1 generator: a valid point, which is all the codec checks

/** Accepts every signature; see the file comment for why this bench leaves BLS out. */
const acceptAllVerifier: SignatureVerifier<null> = { verify: () => true };

const LEADER = toOperatorId(keccak256(toHex("bench-leader")));

const operators: OperatorSetView<null> = { operatorAt: () => ({ pkG2: null, stake: 1n }) };

const openBatch: BatchInfo = {
  status: BatchStatus.Open,
  referenceBlock: 1n,
  seedMessageHash: keccak256(toHex("seed")),
  leaderOrder: [toOperatorId(LEADER)],
  leadersAllowed: 1,
  resultMessageHash: (resultHash) => resultHash,
};
const batches: BatchView = { batch: (b) => (b === 1n ? openBatch : undefined), latestBatch: () => 1n };

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export default async function (): Promise<Record<string, number>> {
  const sentAt = new Map<Hex, number>();
  const samples: number[] = [];
  let received = 0;
  const nodes: MatchnetNetwork<null>[] = [];
  try {
    for (let i = 0; i < NODES; i++) {
      nodes.push(
        await MatchnetNetwork.start<null>(
          { ...defaultNetworkOpts, chainId: 31337, listen: ["/ip4/127.0.0.1/tcp/0"], bootstrap: nodes.flatMap((n) => n.multiaddrs()) },
          {
            batches,
            operators,
            verifier: acceptAllVerifier,
            logger: silentLogger(),
            metrics: null,
            processors: {
              partial: (v) => {
                const t0 = sentAt.get(v.message.operatorId);
                if (t0 !== undefined) samples.push(performance.now() - t0);
                received++;
              },
            },
          },
        ),
      );
    }
    const deadline = Date.now() + 10_000;
    while (!nodes.every((n) => n.subscribers(GossipTopicName.Partial).length === NODES - 1)) {
      if (Date.now() > deadline) throw new Error("nodes did not subscribe to each other");
      await new Promise((r) => setTimeout(r, 20));
    }

    for (let i = 0; i < MESSAGES; i++) {
      const operatorId = toOperatorId(keccak256(toHex(`bench-operator-${i}`)));
      if (i >= WARMUP) sentAt.set(operatorId, performance.now());
      await nodes[i % NODES]!.publishPartial({
        batch: 1n,
        resultHash: keccak256(toHex(i)),
        operatorId,
        signature: SIGNATURE,
        seedSigner: LEADER,
        seedSignature: SIGNATURE,
        seed: seedFromSignature(SIGNATURE),
      });
      await new Promise((r) => setTimeout(r, SPACING_MS));
    }
    const expected = MESSAGES * (NODES - 1);
    const waitUntil = Date.now() + 10_000;
    while (received < expected && Date.now() < waitUntil) await new Promise((r) => setTimeout(r, 20));
    if (received < expected) throw new Error(`only ${received} of ${expected} deliveries`);
  } finally {
    for (const n of nodes) await n.stop();
  }
  samples.sort((a, b) => a - b);
  return {
    "gossip.delivery_p50_ms": Number(percentile(samples, 50).toFixed(3)),
    "gossip.delivery_p99_ms": Number(percentile(samples, 99).toFixed(3)),
  };
}
