import { describe, it } from "mocha";
import { expect } from "chai";
import { network } from "hardhat";
import type { Hex } from "viem";
import { OPERATOR_STAKES, batchSignedBy, buildSubmission, deploySystem, type Missed, type Op } from "../support/serviceManager.js";
import { decodeNonSigners } from "../../protocol/chain/submissions.js";

const connection = await network.create();
const { networkHelpers, viem } = connection;
const NOT_SEED = 255;
const Rule = { Count: 0, Order: 1, Final: 2, Gap: 3, Latest: 4, Stake: 5, List: 6, Signed: 7, Position: 8, Age: 9, Leader: 10 } as const;

/** Five final batches (the default streak) in which operator 0 signs nothing. */
async function silentFixture() {
  const s = await deploySystem(connection);
  const others = s.ops.slice(1);
  const missed: Missed[] = [];
  for (let i = 0; i < 5; i++) missed.push(await batchSignedBy(s, others));
  return { s, missed, silent: s.ops[0]!, others };
}

describe("ServiceManager.ejectInactive (docs/protocol.md §5)", () => {
  it("given an operator that signed none of the last 5 final batches → anyone should eject it (jailed, stake kept), not twice", async () => {
    const { s, missed, silent } = await networkHelpers.loadFixture(silentFixture);
    const stranger = s.wallets[19]!.account;
    await viem.assertions.emitWithArgs(s.serviceManager.write.ejectInactive([silent.id, missed], { account: stranger }), s.serviceManager, "OperatorEjected", [silent.id, 5n, OPERATOR_STAKES[0]!]);
    const op = await s.operatorRegistry.read.getOperator([silent.id]);
    expect([op.status, op.stake]).to.deep.equal([2, OPERATOR_STAKES[0]!]); // Jailed, nothing cut
    expect(await s.operatorRegistry.read.currentStake([silent.id])).to.equal(0n);
    await viem.assertions.revertWithCustomError(s.serviceManager.write.ejectInactive([silent.id, missed]), s.operatorRegistry, "OperatorRegistryWrongStatus");
  });

  for (const [n, ok] of [[4, false], [5, true], [6, false]] as const) {
    it(`a proof of ${n} missed batches with a streak of 5 → it should be ${ok ? "accepted" : "refused (Count)"}`, async () => {
      const { s, missed, silent, others } = await networkHelpers.loadFixture(silentFixture);
      const proof = n === 6 ? [...missed, ...[await batchSignedBy(s, others)]] : missed.slice(5 - n);
      const tx = s.serviceManager.write.ejectInactive([silent.id, proof]);
      if (ok) await viem.assertions.emit(tx, s.serviceManager, "OperatorEjected");
      else await viem.assertions.revertWithCustomErrorWithArgs(tx, s.serviceManager, "ServiceManagerNotInactive", [BigInt(n), Rule.Count]);
    });
  }

  it("→ it should refuse a row broken by a signed batch, a stale row, a forged list, a signer, and batches out of order", async () => {
    const { s, missed, silent, others } = await networkHelpers.loadFixture(silentFixture);
    const [a, b] = [s.ops[1]!, s.ops[2]!];
    const bad = (proof: Missed[], id: Hex, index: bigint, rule: number) =>
      viem.assertions.revertWithCustomErrorWithArgs(s.serviceManager.write.ejectInactive([id, proof]), s.serviceManager, "ServiceManagerNotInactive", [index, rule]);
    await bad([...missed.slice(0, 4), { ...missed[4]!, nonSignerPubkeys: [] }], silent.id, 4n, Rule.List);
    await bad(missed, a.id, 0n, Rule.Signed);
    await bad([missed[1]!, missed[0]!, ...missed.slice(2)], silent.id, 1n, Rule.Order);
    // A batch it signed after the row: the row no longer ends at the latest final batch, and skipping it is a gap.
    const signed = await batchSignedBy(s, [silent, ...others]);
    await bad(missed, silent.id, 4n, Rule.Latest);
    await bad([...missed.slice(1, 4), missed[4]!, { ...signed, nonSignerPubkeys: [] }], silent.id, 4n, Rule.Signed);
    expect(b.id).to.not.equal(silent.id);
  });

  it("an abandoned batch inside the row → it should not break it", async () => {
    const s = await deploySystem(connection);
    const others = s.ops.slice(1);
    const missed: Missed[] = [];
    for (let i = 0; i < 2; i++) missed.push(await batchSignedBy(s, others));
    await networkHelpers.mine(10);
    await s.serviceManager.write.closeBatch(); // batch 3, never submitted
    await networkHelpers.mine(41); // abandoned at the next close
    for (let i = 0; i < 3; i++) missed.push(await batchSignedBy(s, others));
    expect((await s.serviceManager.read.getBatch([3n])).status).to.equal(3);
    expect(missed.map((m) => m.batch)).to.deep.equal([1n, 2n, 4n, 5n, 6n]);
    await viem.assertions.emit(s.serviceManager.write.ejectInactive([s.ops[0]!.id, missed]), s.serviceManager, "OperatorEjected");
  });

  it("a leader whose seed turn passed unsigned → that batch should count as missed while the draw is stable (closedAt + 3 × batchTimeout), not later", async () => {
    const s = await deploySystem(connection);
    await s.serviceManager.write.setEjectionParameters([{ streak: 2, rateBps: 10_000, window: 100 }]);
    await s.serviceManager.write.setQuorumThresholdBps([5_001]); // any three of the four operators hold > half
    await s.serviceManager.write.closeBatch();
    const leaderId = await s.serviceManager.read.leaderOf([1n, 0n]);
    const leader = s.ops.find((o) => o.id === leaderId)!;
    // Batch 1: the leader signs the result but its seed turn passes (the seed comes from position 1).
    await networkHelpers.mine(5);
    const sub = await buildSubmission(s, 1n, [], { seedIndex: 1n });
    await s.serviceManager.write.submitResult(sub.args as never);
    const b1 = await s.serviceManager.read.getBatch([1n]);
    expect(b1.seedSignerIndex).to.equal(1);
    // Batch 2: it signs nothing.
    const second = await batchSignedBy(s, s.ops.filter((o) => o !== leader));
    const seedMiss = { batch: 1n, seedPosition: 0, nonSignerPubkeys: [] };
    await viem.assertions.revertWithCustomErrorWithArgs(
      s.serviceManager.write.ejectInactive([leader.id, [{ ...seedMiss, seedPosition: 1 }, second]]), s.serviceManager, "ServiceManagerNotInactive", [0n, Rule.Position]);
    const other = s.ops.find((o) => o !== leader)!;
    await viem.assertions.revertWithCustomErrorWithArgs(
      s.serviceManager.write.ejectInactive([other.id, [seedMiss, second]]), s.serviceManager, "ServiceManagerNotInactive", [0n, Rule.Leader]);
    const snapshot = await networkHelpers.takeSnapshot();
    const head = Number(await s.publicClient.getBlockNumber());
    await networkHelpers.mine(b1.closedAt + 120 - head - 1); // the tx lands at closedAt + 3 × 40
    await viem.assertions.emit(s.serviceManager.write.ejectInactive([leader.id, [seedMiss, second]]), s.serviceManager, "OperatorEjected");
    await snapshot.restore();
    await networkHelpers.mine(b1.closedAt + 121 - head - 1);
    await viem.assertions.revertWithCustomErrorWithArgs(
      s.serviceManager.write.ejectInactive([leader.id, [seedMiss, second]]), s.serviceManager, "ServiceManagerNotInactive", [0n, Rule.Age]);
  });

  it("→ it should eject at most rateBps of the current stake per window (at the cap, not one bps below), one operator always, and again in the next window", async () => {
    const s = await deploySystem(connection);
    await s.serviceManager.write.setEjectionParameters([{ streak: 2, rateBps: 3_749, window: 1_000 }]);
    const [o0, o1, o2, o3] = s.ops as [Op, Op, Op, Op];
    for (let i = 0; i < 2; i++) await batchSignedBy(s, [o2, o3]); // 700 of 1 000 sign; o0 (100) and o1 (200) do not
    const proof = async () => {
      const count = await s.serviceManager.read.batchCount();
      const out: Missed[] = [];
      for (const batch of [count - 1n, count]) {
        const fin = (await s.serviceManager.getEvents.BatchFinalized({ batch }, { fromBlock: 0n }))[0]!;
        const tx = await s.publicClient.getTransaction({ hash: fin.transactionHash });
        out.push({ batch, seedPosition: NOT_SEED, nonSignerPubkeys: decodeNonSigners(tx.input)! });
      }
      return out;
    };
    const window0 = Math.floor(Number(await s.publicClient.getBlockNumber()) / 1_000);
    // The first ejection of a window always goes: o1's 200 (the cap would be 374.9 of 1 000).
    await viem.assertions.emit(s.serviceManager.write.ejectInactive([o1.id, await proof()]), s.serviceManager, "OperatorEjected");
    // Then 200 + 100 = 300 against 3 749 bps of the 800 left = 299.92: refused; at 3 750 bps (300): accepted.
    await viem.assertions.revertWithCustomErrorWithArgs(s.serviceManager.write.ejectInactive([o0.id, await proof()]), s.serviceManager, "ServiceManagerEjectionRateExceeded", [200n * 10n ** 18n, 29_992n * 10n ** 16n]);
    const snapshot = await networkHelpers.takeSnapshot();
    await s.serviceManager.write.setEjectionParameters([{ streak: 2, rateBps: 3_750, window: 1_000 }]);
    await viem.assertions.emit(s.serviceManager.write.ejectInactive([o0.id, await proof()]), s.serviceManager, "OperatorEjected");
    await snapshot.restore();
    // In the next window the count starts again.
    const head = Number(await s.publicClient.getBlockNumber());
    await networkHelpers.mine((window0 + 1) * 1_000 - head);
    await viem.assertions.emit(s.serviceManager.write.ejectInactive([o0.id, await proof()]), s.serviceManager, "OperatorEjected");
  });

  it("→ it should let only the owner set the parameters, within 2 … 64 batches, ≤ 10 000 bps and a window > 0", async () => {
    const s = await deploySystem(connection);
    const set = (streak: number, rateBps: number, window: number, account?: `0x${string}`) =>
      s.serviceManager.write.setEjectionParameters([{ streak, rateBps, window }], account === undefined ? {} : { account });
    for (const [streak, rate, window, ok] of [[1, 0, 1, false], [2, 0, 1, true], [64, 10_000, 1, true], [65, 0, 1, false], [2, 10_001, 1, false], [2, 0, 0, false]] as const) {
      if (ok) await viem.assertions.emitWithArgs(set(streak, rate, window), s.serviceManager, "EjectionParametersSet", [streak, rate, window]);
      else await viem.assertions.revertWithCustomError(set(streak, rate, window), s.serviceManager, "ServiceManagerInvalidParameter");
    }
    await viem.assertions.revertWithCustomError(set(3, 1, 1, s.wallets[19]!.account.address), s.serviceManager, "OwnableUnauthorizedAccount");
  });
});
