/**
 * Retention of the node's records (operator/duties/retention.ts) on the real LevelDB in a temp dir, across a
 * restart: the decisions and slashing-protection records of batches more than `retain` behind the latest close are
 * gone, the rest kept, and slashing protection refuses the pruned batches for good.
 */
import { expect } from "chai";
import type { Hex } from "viem";
import { toOperatorId } from "../../protocol/chain/ids.js";
import { LevelDbController } from "../../protocol/db/controller.js";
import { silentLogger } from "../../protocol/log/logger.js";
import { DecisionRepository, type Decision } from "../../operator/decisions.js";
import { RetentionDuty } from "../../operator/duties/retention.js";
import { SlashingProtectionError, SlashingProtectionErrorCode } from "../../operator/slashing-protection/errors.js";
import { SigningDuty, SlashingProtection } from "../../operator/slashing-protection/slashingProtection.js";
import { g1Multiple } from "../support/g1.js";
import { makeTempDir } from "../support/tempdir.js";

const OP = toOperatorId(`0x${"11".repeat(32)}`);
const HASH: Hex = `0x${"01".repeat(32)}`;

function decision(batch: bigint): Decision {
  return { batch, seed: `0x${"02".repeat(32)}`, seedRank: 0, seedSigner: OP, seedSignature: g1Multiple(2n), assignmentsHash: `0x${"03".repeat(32)}`, assignments: [] };
}

describe("operator/duties/retention: records of old batches", () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  let db: LevelDbController;
  const stores = () => ({ sp: new SlashingProtection({}, { db, logger: silentLogger(), metrics: null }), decisions: new DecisionRepository(db) });

  beforeEach(async () => {
    dir = await makeTempDir("retention");
    db = await LevelDbController.open({ path: dir.path });
  });
  afterEach(async () => {
    await db.close();
    await dir.remove();
  });

  describe("given decisions and signatures for batches 1–6 and a retention of 3 batches", () => {
    it("→ it should, at the close of batch 6, keep batches 3–6 and, after a restart, refuse 2 and below while signing 7", async () => {
      let { sp, decisions } = stores();
      for (let b = 1n; b <= 6n; b++) {
        await decisions.put(b, decision(b));
        await sp.sign(SigningDuty.Result, { operatorId: OP, batch: b }, HASH, () => g1Multiple(b));
      }
      const retention = new RetentionDuty({ sp, decisions, operatorId: OP, log: silentLogger() }, 3n);
      // At or below the retention nothing is pruned.
      expect(await retention.onClosed(3n)).to.equal(null);
      expect(await retention.onClosed(6n)).to.equal(3n);

      await db.close();
      db = await LevelDbController.open({ path: dir.path });
      ({ sp, decisions } = stores());
      expect((await decisions.values()).map((d) => d.batch)).to.deep.equal([3n, 4n, 5n, 6n]);
      expect(await sp.watermark(SigningDuty.Result, OP)).to.equal(2n);
      for (const b of [1n, 2n]) expect(await sp.get(SigningDuty.Result, { operatorId: OP, batch: b })).to.equal(undefined);
      const refused = async (b: bigint) => {
        try {
          await sp.sign(SigningDuty.Result, { operatorId: OP, batch: b }, HASH, () => g1Multiple(99n));
        } catch (err) {
          expect(err).to.be.instanceOf(SlashingProtectionError);
          return (err as SlashingProtectionError).code;
        }
        return null;
      };
      // One below the watermark, at it, one above it (kept: re-served), and a new batch.
      expect(await refused(1n)).to.equal(SlashingProtectionErrorCode.BelowWatermark);
      expect(await refused(2n)).to.equal(SlashingProtectionErrorCode.BelowWatermark);
      expect(await sp.sign(SigningDuty.Result, { operatorId: OP, batch: 3n }, HASH, () => g1Multiple(99n))).to.deep.equal({ signature: g1Multiple(3n), fresh: false });
      expect((await sp.sign(SigningDuty.Result, { operatorId: OP, batch: 7n }, HASH, () => g1Multiple(7n))).fresh).to.equal(true);
    });
  });
});
