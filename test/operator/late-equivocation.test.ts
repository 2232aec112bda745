/**
 * Double signatures that reach an operator node late, end to end: four operator nodes in one process on an in-process
 * Hardhat chain (real libp2p on 127.0.0.1, real LevelDB in temp dirs, real BLS), node 0 holding the account that
 * sends proofs, and a witness node that gossips a conflicting partial of one operator. The proof goes to the real
 * ServiceManager (commit, then reveal) and is checked there: the operator's stake cut, the slash event naming node
 * 0's account as the reporter and the bounty paid to it (docs/contracts-avs.md, "EquivocationSlasher").
 *
 * - After the batch is final, at the last block of its slashing window (closedAt + slashingWindow), the proof is sent;
 *   a conflict seen once the window has passed is logged and counted as out of window, and nothing is sent.
 * - A node restarted while the batch is open reads back the partials it accepted before the restart, so a
 *   conflicting partial gossiped after the restart is caught and proven.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { keccak256, toHex, type Hex } from "viem";
import { resultMessageDigest } from "../../protocol/avs/messages.js";
import { SecretKey } from "../../protocol/bls/index.js";
import { createLogger } from "../../protocol/log/logger.js";
import { MemoryLines } from "../support/memory-stream.js";
import { finalizeFromNode0, makeSlot, startNode, waitFor, type NodeSlot, type RunningNode } from "../support/operator-nodes.js";
import { deploySystem, orders, providerOffer, type Op, type System } from "../support/serviceManager.js";

const connection = await network.create();

interface Nodes {
  s: System;
  slots: NodeSlot[];
  nodes: RunningNode[];
  /** Node 0's log lines. */
  lines: MemoryLines;
  witness?: RunningNode;
  witnessSlot?: NodeSlot;
  stop(): Promise<void>;
}

/** Node 0's options: the account of wallet 2 (it sends proofs) and a log the test reads. */
function node0Opts(s: System, lines: MemoryLines) {
  return { wallet: s.wallets[2]!, logger: createLogger({ level: "info", destination: lines }) };
}

/** A fresh system (two providers, six orders), four registered nodes with sockets on-chain, one batch decided by all. */
async function fourNodesAndABatch(): Promise<Nodes & { batch: bigint }> {
  const s = await deploySystem(connection);
  await providerOffer(s, 0, 40);
  await providerOffer(s, 1, 40);
  await orders(s, 6);
  const lines = new MemoryLines();
  // One object throughout: `stop` must see the witness and the restarted node the tests add to it.
  const sys: Nodes & { batch: bigint } = {
    batch: 0n,
    s,
    slots: [],
    nodes: [],
    lines,
    stop: async () => {
      for (const n of sys.nodes) await n.stop().catch(() => {});
      await sys.witness?.stop().catch(() => {});
      for (const slot of [...sys.slots, ...(sys.witnessSlot ? [sys.witnessSlot] : [])]) await slot.remove();
    },
  };
  try {
    for (const op of s.ops) {
      const slot = await makeSlot(op.sk);
      sys.slots.push(slot);
      await s.operatorRegistry.write.updateSocket([slot.socket], { account: s.wallets[10 + op.index]!.account });
    }
    for (let i = 0; i < sys.slots.length; i++) sys.nodes.push(await startNode(s, sys.slots[i]!, i === 0 ? node0Opts(s, lines) : {}));
    await waitFor(() => sys.nodes.every((n) => n.node.peerCount() >= 3), "a full mesh of peers");
    await s.serviceManager.write.closeBatch();
    const batch = await s.serviceManager.read.batchCount();
    await waitFor(() => sys.nodes.every((n) => n.node.decision(batch) !== undefined), "every node's decision", 20_000);
    await waitFor(() => sys.nodes.every((n) => n.node.partialsSeen(batch).size === 3), "every other partial seen by every node", 30_000);
    sys.batch = batch;
    return sys;
  } catch (err) {
    await sys.stop();
    throw err;
  }
}

/** An unregistered, non-signing node that knows node 0: it gossips what the test hands it. */
async function startWitness(sys: Nodes): Promise<RunningNode> {
  sys.witnessSlot = await makeSlot(SecretKey.fromBytes(new Uint8Array(32).fill(9)));
  sys.witness = await startNode(sys.s, sys.witnessSlot, { bootstrap: [sys.slots[0]!.socket] });
  await waitFor(() => sys.witness!.node.peerCount() >= 1, "the witness connected");
  return sys.witness;
}

/** Finalizes `batch` on-chain from the signatures node 0 holds (its own and the three from gossip). */
async function finalize(sys: Nodes, batch: bigint): Promise<void> {
  await finalizeFromNode0(sys.s, sys.nodes, batch);
}

/** `cheater`'s signature on another result of `batch`, under the seed node 0 used, as the witness gossips it. */
async function conflictingPartial(sys: Nodes, batch: bigint, cheater: Op, label: string) {
  const { s, nodes } = sys;
  const d = nodes[0]!.node.decision(batch)!;
  const ref = BigInt((await s.serviceManager.read.getBatch([batch])).referenceBlock);
  const resultHash = keccak256(toHex(label));
  const digest = resultMessageDigest({ chainId: s.chainId, serviceManager: s.serviceManager.address, batch, referenceBlock: ref, seed: d.seed, assignmentsHash: resultHash });
  return { batch, resultHash, seed: d.seed, operatorId: cheater.id, signature: cheater.sk.sign(digest), seedSigner: d.seedSigner, seedSignature: d.seedSignature };
}

const dutyKey = (batch: bigint): Hex => toHex(batch, { size: 32 });

async function proofOutcomes(n: RunningNode): Promise<[string, number][]> {
  const metric = n.metrics.register.getSingleMetric("matchnet_equivocation_proofs_total")!;
  return (await metric.get()).values.map((v) => [String(v.labels.outcome), v.value]);
}

/**
 * Gossips a conflicting partial of `cheater` from the witness and checks what node 0's proof did on-chain: the
 * operator's stake cut by the slash fraction, `EquivocationSlashed` naming node 0's account and the bounty, the
 * bounty in that account (commit, then reveal in a later block, in stake tokens), one proof counted as submitted.
 */
async function expectConflictSlashed(sys: Nodes, batch: bigint, cheater: Op, label: string): Promise<void> {
  const { s, nodes, witness } = sys;
  const reporter = s.wallets[2]!.account.address;
  const stakeBefore = (await s.operatorRegistry.read.getOperator([cheater.id])).stake;
  const balanceBefore = await s.stakeToken.read.balanceOf([reporter]);
  await witness!.node.gossip!.publishPartial(await conflictingPartial(sys, batch, cheater, label));
  await waitFor(() => s.serviceManager.read.equivocationSlashed([cheater.id, dutyKey(batch)]), "the equivocation slash on-chain", 30_000);
  const after = await s.operatorRegistry.read.getOperator([cheater.id]);
  const [bps] = await s.serviceManager.read.slashFractions();
  expect(after.stake).to.equal(stakeBefore - (stakeBefore * BigInt(bps)) / 10_000n);
  const events = await s.serviceManager.getEvents.EquivocationSlashed({ operatorId: cheater.id }, { fromBlock: 0n });
  expect(events).to.have.length(1);
  const ev = events[0]!.args;
  expect([ev.dutyKey, ev.beneficiary?.toLowerCase(), ev.slashed]).to.deep.equal([dutyKey(batch), reporter.toLowerCase(), stakeBefore - after.stake]);
  expect(ev.bounty! > 0n).to.equal(true);
  expect(await s.stakeToken.read.balanceOf([reporter])).to.equal(balanceBefore + ev.bounty!);
  expect(await proofOutcomes(nodes[0]!)).to.deep.equal([["submitted", 1]]);
}

describe("operator node: late double signatures end to end (real nodes, libp2p, ServiceManager)", function () {
  this.timeout(180_000);

  describe("given a batch final on-chain, then the chain at the last block of its slashing window", () => {
    let sys: (Nodes & { batch: bigint }) | undefined;
    let deadline: bigint;
    before(async () => {
      sys = await fourNodesAndABatch();
      await finalize(sys, sys.batch);
      await startWitness(sys);
      const onChain = await sys.s.serviceManager.read.getBatch([sys.batch]);
      deadline = BigInt(onChain.closedAt) + (await sys.s.serviceManager.read.slashingWindow());
      // eth_blockNumber asked directly: viem's getBlockNumber shares a request still in flight on the same client
      // (the receipt wait's block polling), whose answer may predate the blocks mined here.
      const blockNumber = async () => BigInt(await sys!.s.publicClient.request({ method: "eth_blockNumber" }));
      await connection.networkHelpers.mine(deadline - (await blockNumber()));
      expect(await blockNumber()).to.equal(deadline);
      await waitFor(() => sys!.nodes[0]!.node.status().headBlock === deadline.toString(), "node 0 following the chain to the window's last block", 30_000);
    });
    after(async () => sys?.stop());

    it("→ a conflicting partial gossiped then should be caught by node 0 and slash the operator on the ServiceManager, the bounty paid to node 0's account; one seen after the window should send nothing and be counted out of window", async () => {
      const { s, nodes, batch, witness, lines } = sys!;
      const reporter = s.wallets[2]!.account.address;
      const [cheater, late] = [s.ops[2]!, s.ops[3]!];
      expect(nodes[0]!.node.batchReport(batch)!.status).to.equal("final");
      expect(nodes[0]!.node.partialsSeen(batch).has(cheater.id)).to.equal(true);
      await expectConflictSlashed(sys!, batch, cheater, "a second result");
      const seen = lines.objects().find((l) => l.event === "equivocation_seen" && l.operatorId === cheater.id)!;
      expect(seen).to.include({ batch: String(batch), second: keccak256(toHex("a second result")) });

      // The commit and the reveal took the head past the window: another operator's conflict is now out of it.
      expect((await s.publicClient.getBlockNumber()) > deadline).to.equal(true);
      const sent = await s.publicClient.getTransactionCount({ address: reporter });
      await witness!.node.gossip!.publishPartial(await conflictingPartial(sys!, batch, late, "a third result"));
      await waitFor(() => lines.objects().some((l) => l.event === "equivocation_out_of_window"), "the out-of-window line", 30_000);
      const out = lines.objects().find((l) => l.event === "equivocation_out_of_window")!;
      expect(out).to.include({ operatorId: late.id, batch: String(batch), deadline: String(deadline) });
      expect(BigInt(out.head as string) > deadline).to.equal(true);
      expect(await proofOutcomes(nodes[0]!)).to.deep.equal([["submitted", 1], ["out_of_window", 1]]);
      expect(await s.publicClient.getTransactionCount({ address: reporter })).to.equal(sent);
      expect(await s.serviceManager.read.equivocationSlashed([late.id, dutyKey(batch)])).to.equal(false);
    });
  });

  describe("given node 0 restarted on its data dir while the batch is open", () => {
    let sys: (Nodes & { batch: bigint }) | undefined;
    before(async () => {
      sys = await fourNodesAndABatch();
      await sys.nodes[0]!.stop();
      sys.lines = new MemoryLines();
      sys.nodes[0] = await startNode(sys.s, sys.slots[0]!, node0Opts(sys.s, sys.lines));
      await waitFor(() => sys!.nodes[0]!.node.decision(sys!.batch) !== undefined, "the restarted node's decision");
      await startWitness(sys);
    });
    after(async () => sys?.stop());

    it("→ it should read back the partials it accepted before the restart, and catch and prove a conflicting one gossiped after it", async () => {
      const { s, nodes, batch, lines } = sys!;
      const cheater = s.ops[2]!;
      expect(nodes[0]!.node.batchReport(batch)!.status).to.equal("open");
      expect(nodes[0]!.node.decision(batch)!.fresh).to.equal(false);
      // The three other operators' partials, as accepted before the restart (none was gossiped again since).
      expect([...nodes[0]!.node.partialsSeen(batch).keys()].sort()).to.deep.equal(s.ops.slice(1).map((o) => o.id).sort());
      expect(lines.objects().find((l) => l.event === "partials_restored")).to.include({ batch: String(batch), partials: 3 });
      await expectConflictSlashed(sys!, batch, cheater, "a result after the restart");
    });
  });
});
