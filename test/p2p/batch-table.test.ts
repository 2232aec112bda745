import { expect } from "chai";
import { keccak256, toHex, type Hex } from "viem";
import { BatchTable } from "../../protocol/p2p/batchTable.js";
import { BatchStatus, type ClosedBatch } from "../../protocol/chain/batches.js";
import { toOperatorId } from "../../protocol/chain/ids.js";

const L = [1, 2, 3].map((i) => toOperatorId(keccak256(toHex(`leader-${i}`))));
const SEED_1: Hex = `0x${"01".repeat(32)}`;
const SEED_2: Hex = `0x${"02".repeat(32)}`;
const RESULT: Hex = `0x${"aa".repeat(32)}`;

const closed = (batch: bigint, closedAt = 100n * batch): ClosedBatch => ({
  batch,
  referenceBlock: closedAt - 1n,
  closedAt,
  seedMessageHash: keccak256(toHex(`seed-message-${batch}`)),
  leaderOrder: L,
});

describe("protocol/p2p batch table", () => {
  const digest = (batch: bigint, rb: bigint, seed: Hex, result: Hex) => keccak256(toHex(`${batch}|${rb}|${seed}|${result}`));
  let table: BatchTable;
  beforeEach(() => (table = new BatchTable({ seedTimeoutBlocks: 5n, retainBatches: 3 }, { resultMessageHash: digest })));

  it("given no close yet → it should not know the batch and report latest 0", () => {
    expect(table.batch(1n)).to.equal(undefined);
    expect(table.latestBatch()).to.equal(0n);
  });

  it("given a close → it should expose R_b, the seed message and one leader allowed", () => {
    table.onClosed(closed(1n));
    const info = table.batch(1n)!;
    expect(info).to.include({ status: BatchStatus.Open, referenceBlock: 99n, leadersAllowed: 1 });
    expect(info.leaderOrder).to.deep.equal(L);
    expect(table.latestBatch()).to.equal(1n);
  });

  it("given blocks passing → it should allow one more leader per seedTimeout, capped at the order's length", () => {
    table.onClosed(closed(1n));
    const allowedAt = (block: bigint) => (table.onBlock(block), table.batch(1n)!.leadersAllowed);
    expect(allowedAt(104n)).to.equal(1);
    expect(allowedAt(105n)).to.equal(2);
    expect(allowedAt(109n)).to.equal(2);
    expect(allowedAt(110n)).to.equal(3);
    expect(allowedAt(500n)).to.equal(3);
  });

  it("given verified seeds → it should compute result digests for those seeds only", () => {
    table.onClosed(closed(1n));
    expect(table.batch(1n)!.resultMessageHash(RESULT, SEED_1)).to.equal(undefined);
    table.addVerifiedSeed(1n, SEED_1);
    table.addVerifiedSeed(1n, SEED_1);
    table.addVerifiedSeed(1n, SEED_2);
    expect(table.seeds(1n)).to.deep.equal([SEED_1, SEED_2]);
    expect(table.batch(1n)!.resultMessageHash(RESULT, SEED_2)).to.equal(digest(1n, 99n, SEED_2, RESULT));
  });

  it("given final and abandoned batches → it should report their status and list only open ones", () => {
    for (const b of [1n, 2n, 3n]) table.onClosed(closed(b));
    table.markFinal(1n);
    table.markAbandoned(3n);
    expect(table.batch(1n)!.status).to.equal(BatchStatus.Final);
    expect(table.batch(3n)!.status).to.equal(BatchStatus.Abandoned);
    expect(table.openBatches()).to.deep.equal([2n]);
  });

  it("given more closes than retained → it should forget the oldest", () => {
    for (const b of [1n, 2n, 3n, 4n]) table.onClosed(closed(b));
    expect(table.batch(1n)).to.equal(undefined);
    expect(table.batch(2n)).to.not.equal(undefined);
    expect(table.latestBatch()).to.equal(4n);
  });

  it("given a waiter for the next batch → it should resolve true at its close, false on timeout", async () => {
    const early = table.waitForBatch(1n, 1_000);
    setTimeout(() => table.onClosed(closed(1n)), 20);
    expect(await early).to.equal(true);
    expect(await table.waitForBatch(2n, 30)).to.equal(false);
    expect(await table.waitForBatch(1n, 0)).to.equal(true);
  });

  it("given a second close event for a batch from another block (reorg) → it should replace it and drop its seeds", () => {
    table.onClosed(closed(1n));
    table.addVerifiedSeed(1n, SEED_1);
    table.onClosed(closed(1n, 101n));
    expect(table.batch(1n)!.referenceBlock).to.equal(100n);
    expect(table.seeds(1n)).to.deep.equal([]);
  });

  it("given closes and a finalization → it should serve each batch's record (what was read at close, and its status)", () => {
    expect(table.get(1n)).to.equal(null);
    table.onClosed(closed(1n));
    table.onClosed(closed(2n));
    table.markFinal(1n);
    expect(table.get(1n)).to.deep.equal({ ...closed(1n), status: BatchStatus.Final });
    expect(table.get(2n)?.status).to.equal(BatchStatus.Open);
    expect(table.latestClosed()).to.equal(2n);
  });
});
