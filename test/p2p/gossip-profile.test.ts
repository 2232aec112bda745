import { expect } from "chai";
import type { Hex } from "viem";
import { BufferedBlsVerifier } from "../../protocol/bls/bufferedVerifier.js";
import { silentLogger } from "../../protocol/log/logger.js";
import { LARGE_SET_OPERATORS, MatchnetNetwork, defaultNetworkOpts, gossipProfileFor } from "../../protocol/p2p/network.js";
import { GossipTopicName } from "../../protocol/p2p/topics.js";
import { TestOperatorSet, closeBatch, testBatchTable, testOperator, testPartial, testSeedProof, testVerifier, type PK } from "../support/p2p-fixtures.js";

const RESULT: Hex = `0x${"b2".repeat(32)}`;

async function until(cond: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("protocol/p2p gossipProfileFor: gossip degree by operator-set size", function () {
  this.timeout(120_000);

  describe("the bound LARGE_SET_OPERATORS = 16", () => {
    it("given 16 operators → it should keep the libraries' defaults (D 6 / 4 / 12, flood publish, pings every 10 s)", () => {
      expect(gossipProfileFor(LARGE_SET_OPERATORS)).to.deep.equal({ gossip: { D: 6, Dlo: 4, Dhi: 12, floodPublish: true }, pingIntervalMs: 10_000 });
      expect(gossipProfileFor(LARGE_SET_OPERATORS - 1)).to.deep.equal(gossipProfileFor(LARGE_SET_OPERATORS));
    });

    it("given 17 operators → it should use D 4 / 3 / 6, no flood publish and no libp2p pings", () => {
      expect(gossipProfileFor(LARGE_SET_OPERATORS + 1)).to.deep.equal({ gossip: { D: 4, Dlo: 3, Dhi: 6, floodPublish: false }, pingIntervalMs: 0 });
    });
  });

  it("given 18 real nodes on the large-set profile, each publishing its partial at once → every node should accept all 17 others' (real BLS, checked in groups)", async () => {
    const NODES = LARGE_SET_OPERATORS + 2;
    const ops = Array.from({ length: NODES }, (_, i) => testOperator(i + 1));
    const operators = new TestOperatorSet();
    for (const op of ops) operators.add(op);
    const batches = testBatchTable();
    const proof = testSeedProof(ops[0]!, 1n);
    closeBatch(batches, 1n, { seeds: [proof.seed], leaderOrder: [ops[0]!.id] });
    const verifier = await testVerifier();
    const received = ops.map(() => new Set<string>());
    const nodes: MatchnetNetwork<PK>[] = [];
    const groups: number[] = [];
    try {
      for (let i = 0; i < NODES; i++) {
        nodes.push(
          await MatchnetNetwork.start<PK>(
            {
              ...defaultNetworkOpts,
              ...gossipProfileFor(NODES),
              chainId: 31337,
              listen: ["/ip4/127.0.0.1/tcp/0"],
              bootstrap: nodes.flatMap((n) => n.multiaddrs()),
            },
            {
              batches,
              operators,
              verifier: new BufferedBlsVerifier({ maxBatch: 32, maxWaitMs: 10 }, { verifier, onGroup: (size) => groups.push(size) }),
              logger: silentLogger(),
              metrics: null,
              processors: { partial: (v) => void received[i]!.add(v.message.operatorId) },
            },
          ),
        );
      }
      await until(() => nodes.every((n) => n.subscribers(GossipTopicName.Partial).length === NODES - 1), "every node to see every other's subscription", 60_000);
      // One heartbeat (1 s) builds the meshes a non-flood publish goes to.
      await new Promise((r) => setTimeout(r, 1_500));
      await Promise.all(nodes.map((n, i) => n.publishPartial(testPartial(ops[i]!, 1n, RESULT, proof))));
      await until(() => received.every((r) => r.size === NODES - 1), "every partial at every node", 60_000);
      received.forEach((r, i) => expect([...r].sort(), `node ${i}`).to.deep.equal(ops.filter((_, j) => j !== i).map((o) => o.id).sort()));
      expect(Math.max(...groups), "some checks were grouped").to.be.greaterThan(1);
    } finally {
      for (const n of nodes) await n.stop();
    }
  });
});
