import { expect } from "chai";
import { network } from "hardhat";
import type { PublicClient } from "viem";
import { ChainFollower, type BatchClosedInfo, type BatchFinalizedInfo } from "../../protocol/chain/follower.js";
import { assignmentsHash, buildSubmission, deploySystem, orders, providerOffer, USD } from "../support/serviceManager.js";

const connection = await network.create();
const { networkHelpers } = connection;

function recorder() {
  const events: string[] = [];
  const closed: BatchClosedInfo[] = [];
  const finalized: BatchFinalizedInfo[] = [];
  const warnings: string[] = [];
  return {
    events,
    closed,
    finalized,
    warnings,
    handlers: {
      batchClosed: (i: BatchClosedInfo) => {
        closed.push(i);
        events.push(`closed:${i.batch}`);
      },
      batchFinalized: (i: BatchFinalizedInfo) => {
        finalized.push(i);
        events.push(`final:${i.batch}`);
      },
      batchAbandoned: (b: bigint) => {
        events.push(`abandoned:${b}`);
      },
      block: (n: bigint) => {
        events.push(`block:${n}`);
      },
    },
    logger: { warn: (_o: object, msg: string) => warnings.push(msg) },
  };
}

describe("protocol/chain ChainFollower", () => {
  it("given a batch closed before start → it should report it from contract views, then follow finality and later closes in chain order", async () => {
    const s = await deploySystem(connection);
    const versionId = await providerOffer(s, 0);
    const ids = await orders(s, 1);
    await s.serviceManager.write.closeBatch();
    const rec = recorder();
    const follower = new ChainFollower(
      { serviceManager: s.serviceManager.address, pollIntervalMs: 3_600_000 },
      { client: s.publicClient as PublicClient, handlers: rec.handlers, logger: rec.logger },
    );
    await follower.start();
    try {
      expect(rec.closed.map((c) => c.batch)).to.deep.equal([1n]);
      const onChain = await s.serviceManager.read.getBatch([1n]);
      expect(rec.closed[0]!.referenceBlock).to.equal(BigInt(onChain.referenceBlock));

      const rows = [{ orderId: ids[0]!, offerVersionId: versionId, gpuCount: 2, pricePerGpuHour: 2n * USD }];
      const sub = await buildSubmission(s, 1n, rows);
      await s.serviceManager.write.submitResult(sub.args);
      const finalBlock = await s.publicClient.getBlockNumber();
      await networkHelpers.mine(10);
      await s.serviceManager.write.closeBatch();
      rec.events.length = 0;
      await follower.poll();
      expect(rec.finalized.map((f) => [f.batch, f.seed, f.block])).to.deep.equal([[1n, sub.seed, finalBlock]]);
      expect(rec.finalized[0]!.assignmentsHash).to.equal(assignmentsHash(rows));
      const at = rec.events.indexOf("final:1");
      expect(rec.events[at + 1]).to.equal(`block:${finalBlock}`); // events of block n come before block(n)
      expect(rec.events.filter((e) => e.startsWith("closed:"))).to.deep.equal(["closed:2"]);
      expect(rec.events.at(-1)).to.equal(`block:${await s.publicClient.getBlockNumber()}`);
      expect(rec.warnings).to.deep.equal([]);
    } finally {
      await follower.stop();
    }
  });

  it("given a handler that throws → it should log the failure and keep dispatching", async () => {
    const s = await deploySystem(connection);
    const rec = recorder();
    const follower = new ChainFollower(
      { serviceManager: s.serviceManager.address, pollIntervalMs: 3_600_000 },
      {
        client: s.publicClient as PublicClient,
        handlers: {
          ...rec.handlers,
          batchClosed: () => {
            throw new Error("boom");
          },
        },
        logger: rec.logger,
      },
    );
    await follower.start();
    try {
      await s.serviceManager.write.closeBatch();
      await follower.poll();
      expect(rec.warnings).to.deep.equal(["chain follower: handler failed"]);
      expect(rec.events.at(-1)).to.equal(`block:${await s.publicClient.getBlockNumber()}`);
    } finally {
      await follower.stop();
    }
  });
});
