/**
 * The living devnet on anvil (deploy/devnet/market-life.ts), with the in-process signers so that the test needs no
 * operator processes: the clock moves on between batches, leases end and free their GPUs, the order count follows
 * the load, and the live view's figures (utilization, fill rate, most common open reason) come from the batches.
 */
import { expect } from "chai";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Devnet } from "../../deploy/devnet/devnet.js";
import { marketLifeOf, runLivingBatch } from "../../deploy/devnet/living.js";
import { marketFigures, FILL_WINDOW } from "../../deploy/devnet/market-life.js";
import type { DevnetBatchReport } from "../../deploy/devnet/batch.js";
import { UnmatchedReason } from "../../protocol/matching/index.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

describe("living devnet (--load) on anvil", function () {
  this.timeout(600_000);

  it("given load 50 % and 12 h per batch → leases should end and free their GPUs, and every batch be final with the matcher's reasons for what stayed open", async () => {
    const dn = await Devnet.start({ root, operators: 3, mode: "in-process", chain: "anvil", port: 0, seed: 5, providers: 3, intervalMiningMs: 1_000 });
    try {
      const life = marketLifeOf(dn, { load: 50, hoursPerBatch: 12 });
      // load / 100 × GPUs × hours per batch / 40 GPU-hours per order (market-life.ts).
      expect(life.ordersPerBatch()).to.equal(Math.round((50 * life.gpusOffered * 12) / (100 * 40)));
      let freed = false;
      let ended = 0;
      let last;
      for (let k = 0; k < 5; k++) {
        const { report, step, figures } = await runLivingBatch(dn, life);
        expect(report.status).to.equal("final");
        expect(report.matcherAgrees).to.equal(true);
        expect(step.ordersPlaced).to.equal(life.placedPerBatch[k]);
        // Every order open at R_b is either assigned or has the matcher's reason.
        expect(report.unmatched.length + report.expected.length).to.equal(report.ordersOpen);
        if (last !== undefined && step.leasesEnded + step.leasesClosedEarly > 0) {
          // GPUs leased now < GPUs leased at the last R_b + what the last batch leased: ended leases gave GPUs back.
          const startedLast = last.report.expected.reduce((n, a) => n + a.gpuCount, 0);
          if (report.gpusLeased < last.report.gpusLeased + startedLast) freed = true;
        }
        ended += step.leasesEnded + step.leasesClosedEarly;
        last = { report, figures };
      }
      // Leases last 1–24 h and the clock moves 12 h a batch: the first batches' leases have ended by the fifth.
      expect(ended).to.be.greaterThan(0);
      expect(freed).to.equal(true);
      expect(last!.figures.fillBps).to.not.equal(null);
      expect(last!.figures.topReason).to.not.equal(null);
    } finally {
      await dn.stop();
    }
  });
});

function report(over: Partial<DevnetBatchReport>): DevnetBatchReport {
  return {
    batch: 1n, status: "final", referenceBlock: 1n, closedAt: 2n, leaderId: "0x00", seedSignerId: null, seedSignerIndex: null, seed: null,
    ordersOpen: 0, matched: 0, skipped: 0, operators: 4, signers: 4, nonSignerIds: [], signedStakeBps: 10_000, gasUsed: null, txHash: null,
    finalizedAt: 3n, blocks: 1, ms: 1, matcherAgrees: true, expected: [], applied: [], unmatched: [], gpusOffered: 0, gpusLeased: 0, ...over,
  };
}

describe("living devnet figures", () => {
  it("given FILL_WINDOW + 1 batches → the fill rate should count only the last FILL_WINDOW", () => {
    const reports = Array.from({ length: FILL_WINDOW + 1 }, (_, i) => report({ matched: i === 0 ? 100 : 1 }));
    const placed = Array.from({ length: FILL_WINDOW + 1 }, () => 2);
    expect(marketFigures(reports, placed).fillBps).to.equal(5_000);
    expect(marketFigures(reports.slice(0, FILL_WINDOW), placed).fillBps).to.equal(Math.floor(((100 + FILL_WINDOW - 1) * 10_000) / (2 * FILL_WINDOW)));
  });

  it("given no order placed → fill should be unknown, not 0; given 0 GPUs offered → utilization 0", () => {
    const f = marketFigures([report({})], [0]);
    expect(f.fillBps).to.equal(null);
    expect(f.utilizationBps).to.equal(0);
  });

  it("given tied reasons → the most common reason should be the smaller code; given one more of the other → that one", () => {
    const u = (reason: UnmatchedReason, n: number) => Array.from({ length: n }, (_, i) => ({ orderId: BigInt(i), reason }));
    const tie = marketFigures([report({ unmatched: [...u(UnmatchedReason.CapacityTaken, 2), ...u(UnmatchedReason.PriceAboveMax, 2)] })], [1]);
    expect(tie.topReason).to.deep.equal({ reason: UnmatchedReason.PriceAboveMax, count: 2 });
    const more = marketFigures([report({ unmatched: [...u(UnmatchedReason.CapacityTaken, 3), ...u(UnmatchedReason.PriceAboveMax, 2)] })], [1]);
    expect(more.topReason).to.deep.equal({ reason: UnmatchedReason.CapacityTaken, count: 3 });
    const util = marketFigures([report({ gpusOffered: 300, gpusLeased: 299 })], [1]);
    expect(util.utilizationBps).to.equal(9_966);
  });
});
