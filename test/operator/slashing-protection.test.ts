import { spawn } from "node:child_process";
import { join } from "node:path";
import { expect } from "chai";
import type { Hex } from "viem";
import { Level } from "level";
import { LevelDbController } from "../../protocol/db/controller.js";
import { Bucket } from "../../protocol/db/buckets.js";
import { createLogger, silentLogger } from "../../protocol/log/logger.js";
import { createMetrics } from "../../protocol/metrics/metrics.js";
import { SlashingProtectionError, SlashingProtectionErrorCode } from "../../operator/slashing-protection/errors.js";
import { SignedMessageRepository, WatermarkRepository } from "../../operator/slashing-protection/repository.js";
import { SigningDuty, SlashingProtection } from "../../operator/slashing-protection/slashingProtection.js";
import { MemoryLines } from "../support/memory-stream.js";
import { g1Multiple } from "../support/g1.js";
import { CHILD_BATCH, CHILD_OPERATOR, CHILD_SIGNATURE } from "../support/slashing-child.js";
import { makeTempDir } from "../support/tempdir.js";

const OP_A: Hex = `0x${"11".repeat(32)}`;
const OP_B: Hex = `0x${"22".repeat(32)}`;
const HASH_1: Hex = `0x${"01".repeat(32)}`;
const HASH_2: Hex = `0x${"02".repeat(32)}`;

async function expectCode(p: Promise<unknown>, code: SlashingProtectionError["code"]): Promise<SlashingProtectionError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(SlashingProtectionError);
    expect((err as SlashingProtectionError).code).to.equal(code);
    return err as SlashingProtectionError;
  }
  expect.fail(`expected ${code}`);
}

describe("operator/slashing-protection", () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  let db: LevelDbController;
  let metrics: ReturnType<typeof createMetrics>;
  let sp: SlashingProtection;

  const open = async () => {
    db = await LevelDbController.open({ path: dir.path });
    sp = new SlashingProtection({}, { db, logger: silentLogger(), metrics });
  };

  beforeEach(async () => {
    dir = await makeTempDir("sp");
    metrics = createMetrics();
    await open();
  });
  afterEach(async () => {
    await db.close();
    await dir.remove();
  });

  describe("given no record for (operator, batch)", () => {
    it("should record the hash and call the signer once", async () => {
      let calls = 0;
      const out = await sp.sign(SigningDuty.Result, { operatorId: OP_A, batch: 1n }, HASH_1, () => (calls++, g1Multiple(3n)));
      expect(out).to.deep.equal({ signature: g1Multiple(3n), fresh: true });
      expect(calls).to.equal(1);
      expect(await sp.get(SigningDuty.Result, { operatorId: OP_A, batch: 1n })).to.deep.equal({ messageHash: HASH_1, signature: g1Multiple(3n) });
    });
  });

  describe("given a record with the same hash", () => {
    it("should re-sign safely by returning the stored signature without calling the signer", async () => {
      await sp.sign(SigningDuty.Result, { operatorId: OP_A, batch: 1n }, HASH_1, () => g1Multiple(3n));
      const again = await sp.sign(SigningDuty.Result, { operatorId: OP_A, batch: 1n }, HASH_1, () => expect.fail("signer called"));
      expect(again).to.deep.equal({ signature: g1Multiple(3n), fresh: false });
      expect((await sp.checkAndInsert(SigningDuty.Result, { operatorId: OP_A, batch: 1n }, HASH_1)).status).to.equal("same");
    });
  });

  describe("given a record with a different hash", () => {
    it("should refuse with DoubleSign, count it, and never call the signer", async () => {
      await sp.checkAndInsert(SigningDuty.Result, { operatorId: OP_A, batch: 1n }, HASH_1);
      const err = await expectCode(
        sp.sign(SigningDuty.Result, { operatorId: OP_A, batch: 1n }, HASH_2, () => expect.fail("signer called")),
        SlashingProtectionErrorCode.DoubleSign,
      );
      expect(err.meta.recorded).to.equal(HASH_1);
      expect((await metrics.slashingProtectionRefusals.get()).values[0]).to.include({ value: 1 });
    });

    it("should still refuse after close and reopen", async () => {
      await sp.sign(SigningDuty.Result, { operatorId: OP_A, batch: 9n }, HASH_1, () => g1Multiple(5n));
      await db.close();
      await open();
      await expectCode(sp.checkAndInsert(SigningDuty.Result, { operatorId: OP_A, batch: 9n }, HASH_2), SlashingProtectionErrorCode.DoubleSign);
      expect((await sp.sign(SigningDuty.Result, { operatorId: OP_A, batch: 9n }, HASH_1, () => g1Multiple(6n))).signature).to.deep.equal(g1Multiple(5n));
    });
  });

  describe("given every write slashing protection makes", () => {
    it("should ask LevelDB to sync each one to disk before it resolves (put, del and batch alike)", async () => {
      await db.close();
      // The real LevelDB, with its write methods watched: each records the options it was called with, then writes.
      const level = new Level<Uint8Array, Uint8Array>(dir.path, { keyEncoding: "view", valueEncoding: "view" });
      const writes: { op: string; sync: unknown }[] = [];
      for (const op of ["put", "del", "batch"] as const) {
        const real = (level[op] as (...a: unknown[]) => Promise<unknown>).bind(level);
        (level as unknown as Record<string, unknown>)[op] = (...args: unknown[]) => {
          const options = args[op === "batch" ? 1 : op === "del" ? 1 : 2] as { sync?: unknown } | undefined;
          writes.push({ op, sync: options?.sync });
          return real(...args);
        };
      }
      db = await LevelDbController.openLevel(level, dir.path);
      sp = new SlashingProtection({}, { db, logger: silentLogger(), metrics });
      await sp.checkAndInsert(SigningDuty.Result, { operatorId: OP_A, batch: 1n }, HASH_1);
      await sp.sign(SigningDuty.Result, { operatorId: OP_A, batch: 2n }, HASH_1, () => g1Multiple(3n));
      await sp.sign(SigningDuty.Seed, { operatorId: OP_A, batch: 2n }, HASH_2, () => g1Multiple(4n));
      await sp.sign(SigningDuty.Result, { operatorId: OP_A, batch: 1n }, HASH_1, () => g1Multiple(5n));
      const before = writes.length;
      // A prune: the deletions and the watermark in one synced batch.
      expect(await sp.prune(OP_A, 2n)).to.equal(1);
      expect(writes.slice(before).map((w) => w.op)).to.deep.equal(["batch"]);
      // Record, record + signature per sign(), the signature of the batch recorded first, and the prune.
      expect(writes.length).to.be.greaterThanOrEqual(7);
      expect(writes.filter((w) => w.sync !== true)).to.deep.equal([]);
      // The writes reached the real store.
      expect((await sp.get(SigningDuty.Seed, { operatorId: OP_A, batch: 2n }))?.signature).to.deep.equal(g1Multiple(4n));
    });
  });

  describe("given records pruned below a cutoff, then a restart", () => {
    it("should have deleted the pruned records and refuse batches at and below the watermark, allowing those above", async () => {
      for (let b = 1n; b <= 5n; b++) {
        await sp.sign(SigningDuty.Result, { operatorId: OP_A, batch: b }, HASH_1, () => g1Multiple(b));
        await sp.sign(SigningDuty.Seed, { operatorId: OP_A, batch: b }, HASH_2, () => g1Multiple(b + 10n));
      }
      await sp.sign(SigningDuty.Result, { operatorId: OP_B, batch: 1n }, HASH_1, () => g1Multiple(20n));
      // Cutoff 4: the records of batches 1–3 go, the watermark becomes 3 for both duties of OP_A.
      expect(await sp.prune(OP_A, 4n)).to.equal(6);
      await db.close();
      await open();
      for (const duty of [SigningDuty.Result, SigningDuty.Seed]) {
        expect(await sp.watermark(duty, OP_A), `${duty} watermark`).to.equal(3n);
        for (const b of [1n, 2n, 3n]) expect(await sp.get(duty, { operatorId: OP_A, batch: b }), `${duty} ${b}`).to.equal(undefined);
        for (const b of [4n, 5n]) expect(await sp.get(duty, { operatorId: OP_A, batch: b }), `${duty} ${b}`).not.to.equal(undefined);
      }
      // Another operator's records and watermark are untouched.
      expect(await sp.watermark(SigningDuty.Result, OP_B)).to.equal(undefined);
      expect((await sp.get(SigningDuty.Result, { operatorId: OP_B, batch: 1n }))?.signature).to.deep.equal(g1Multiple(20n));
      const never = () => {
        throw new Error("the signer must not be called");
      };
      // Below the watermark (its record gone) and at it: refused, whatever the hash.
      await expectCode(sp.sign(SigningDuty.Result, { operatorId: OP_A, batch: 2n }, HASH_2, never), SlashingProtectionErrorCode.BelowWatermark);
      await expectCode(sp.sign(SigningDuty.Result, { operatorId: OP_A, batch: 3n }, HASH_1, never), SlashingProtectionErrorCode.BelowWatermark);
      await expectCode(sp.sign(SigningDuty.Seed, { operatorId: OP_A, batch: 3n }, HASH_2, never), SlashingProtectionErrorCode.BelowWatermark);
      // Above it: the kept record is re-served, a new batch is signed.
      expect(await sp.sign(SigningDuty.Result, { operatorId: OP_A, batch: 4n }, HASH_1, never)).to.deep.equal({ signature: g1Multiple(4n), fresh: false });
      expect((await sp.sign(SigningDuty.Result, { operatorId: OP_A, batch: 6n }, HASH_2, () => g1Multiple(6n))).fresh).to.equal(true);
      // The refusals are counted like any other.
      const refusals = (await metrics.slashingProtectionRefusals.get()).values;
      expect(refusals.reduce((t, v) => t + v.value, 0)).to.equal(3);
    });

    it("should never lower the watermark (a later prune with a smaller cutoff keeps it)", async () => {
      await sp.prune(OP_A, 10n);
      await sp.prune(OP_A, 4n);
      expect(await sp.watermark(SigningDuty.Result, OP_A)).to.equal(9n);
      // Cutoff 0 prunes nothing and sets no watermark.
      expect(await sp.prune(OP_B, 0n)).to.equal(0);
      expect(await sp.watermark(SigningDuty.Result, OP_B)).to.equal(undefined);
    });
  });

  describe("given independent keys and duties", () => {
    it("should keep operators, batches and the seed duty apart", async () => {
      await sp.checkAndInsert(SigningDuty.Result, { operatorId: OP_A, batch: 1n }, HASH_1);
      expect((await sp.checkAndInsert(SigningDuty.Result, { operatorId: OP_B, batch: 1n }, HASH_2)).status).to.equal("new");
      expect((await sp.checkAndInsert(SigningDuty.Result, { operatorId: OP_A, batch: 2n }, HASH_2)).status).to.equal("new");
      expect((await sp.checkAndInsert(SigningDuty.Seed, { operatorId: OP_A, batch: 1n }, HASH_2)).status).to.equal("new");
      await expectCode(sp.checkAndInsert(SigningDuty.Seed, { operatorId: OP_A, batch: 1n }, HASH_1), SlashingProtectionErrorCode.DoubleSign);
    });
  });

  describe("given concurrent conflicting requests for one key", () => {
    it("should let exactly one win and refuse the others", async () => {
      const hashes = Array.from({ length: 8 }, (_, i) => `0x${(i + 1).toString(16).padStart(2, "0").repeat(32)}` as Hex);
      let signerCalls = 0;
      const results = await Promise.allSettled(
        hashes.map((h, i) => sp.sign(SigningDuty.Result, { operatorId: OP_A, batch: 4n }, h, async () => {
          signerCalls++;
          await new Promise((r) => setTimeout(r, 5));
          return g1Multiple(BigInt(i + 2));
        })),
      );
      const won = results.filter((r) => r.status === "fulfilled");
      expect(won).to.have.length(1);
      expect(signerCalls).to.equal(1);
      for (const r of results) if (r.status === "rejected") expect((r.reason as SlashingProtectionError).code).to.equal(SlashingProtectionErrorCode.DoubleSign);
      const stored = await sp.get(SigningDuty.Result, { operatorId: OP_A, batch: 4n });
      expect(stored?.messageHash).to.equal(hashes[results.indexOf(won[0]!)]);
    });
  });

  describe("given bad input", () => {
    it("should refuse it with InvalidInput", async () => {
      await expectCode(sp.checkAndInsert(SigningDuty.Result, { operatorId: "0x12" as Hex, batch: 1n }, HASH_1), SlashingProtectionErrorCode.InvalidInput);
      await expectCode(sp.checkAndInsert(SigningDuty.Result, { operatorId: OP_A, batch: -1n }, HASH_1), SlashingProtectionErrorCode.InvalidInput);
      await expectCode(sp.checkAndInsert(SigningDuty.Result, { operatorId: OP_A, batch: 1n }, "0xzz" as Hex), SlashingProtectionErrorCode.InvalidInput);
    });
  });

  describe("given bad input at the edge of each rule", () => {
    const MAX_UINT64 = (1n << 64n) - 1n;
    it("should accept batch 2^64 − 1 and refuse 2^64 and −1 with InvalidInput naming the batch", async () => {
      expect((await sp.checkAndInsert(SigningDuty.Result, { operatorId: OP_A, batch: MAX_UINT64 }, HASH_1)).status).to.equal("new");
      for (const batch of [MAX_UINT64 + 1n, -1n]) {
        const err = await expectCode(sp.checkAndInsert(SigningDuty.Result, { operatorId: OP_A, batch }, HASH_1), SlashingProtectionErrorCode.InvalidInput);
        expect(err.message).to.equal(`batch must be a uint64, got ${batch}`);
      }
    });
    it("should refuse ids and hashes with anything before or after their 32 bytes, and values that only print as hex", async () => {
      const printsAs = (v: string) => ({ toString: () => v }) as unknown as Hex;
      for (const operatorId of [`x${OP_A}` as Hex, `${OP_A}00` as Hex, printsAs(OP_A)]) {
        const err = await expectCode(sp.checkAndInsert(SigningDuty.Result, { operatorId, batch: 1n }, HASH_1), SlashingProtectionErrorCode.InvalidInput);
        expect(err.message).to.match(/^operator id must be 32 bytes of hex, got /);
      }
      for (const hash of [`${HASH_1}0` as Hex, `0${HASH_1}` as Hex, printsAs(HASH_1)]) {
        const err = await expectCode(sp.checkAndInsert(SigningDuty.Result, { operatorId: OP_A, batch: 1n }, hash), SlashingProtectionErrorCode.InvalidInput);
        expect(err.message).to.match(/^message hash must be 32 bytes of hex, got /);
      }
      const err = await expectCode(sp.checkAndInsert(SigningDuty.Result, { operatorId: OP_A, batch: 1 as unknown as bigint }, HASH_1), SlashingProtectionErrorCode.InvalidInput);
      expect(err.message).to.equal("batch must be a uint64, got 1");
      expect(await sp.get(SigningDuty.Result, { operatorId: OP_A, batch: 1n })).to.equal(undefined);
    });
    it("should refuse bad input to sign() and get() too, before calling the signer", async () => {
      await expectCode(sp.sign(SigningDuty.Result, { operatorId: OP_A, batch: 1n }, "0x12" as Hex, () => expect.fail("signer called")), SlashingProtectionErrorCode.InvalidInput);
      await expectCode(sp.sign(SigningDuty.Result, { operatorId: "0x12" as Hex, batch: 1n }, HASH_1, () => expect.fail("signer called")), SlashingProtectionErrorCode.InvalidInput);
      await expectCode(sp.get(SigningDuty.Result, { operatorId: OP_A, batch: -1n }), SlashingProtectionErrorCode.InvalidInput);
      await expectCode(sp.prune("0x12" as Hex, 1n), SlashingProtectionErrorCode.InvalidInput);
    });
  });

  describe("given a refusal", () => {
    it("should log it with its event and fields, count it per duty, and say why in the error", async () => {
      const lines = new MemoryLines();
      sp = new SlashingProtection({}, { db, logger: createLogger({ level: "info", destination: lines }), metrics });
      await sp.checkAndInsert(SigningDuty.Seed, { operatorId: OP_A, batch: 5n }, HASH_1);
      const double = await expectCode(sp.checkAndInsert(SigningDuty.Seed, { operatorId: OP_A, batch: 5n }, HASH_2), SlashingProtectionErrorCode.DoubleSign);
      expect(double.message).to.equal(`refusing to sign seed message ${HASH_2} for batch 5: ${HASH_1} was signed`);
      expect(double.meta).to.deep.equal({ duty: "seed", batch: 5n, operatorId: OP_A, recorded: HASH_1, requested: HASH_2 });
      await sp.prune(OP_A, 3n);
      const below = await expectCode(sp.checkAndInsert(SigningDuty.Result, { operatorId: OP_A, batch: 2n }, HASH_2), SlashingProtectionErrorCode.BelowWatermark);
      expect(below.message).to.equal(`refusing to sign result message ${HASH_2} for batch 2: at or below the low watermark 2 (records pruned)`);
      expect(below.meta).to.deep.equal({ duty: "result", batch: 2n, operatorId: OP_A, watermark: 2n, requested: HASH_2 });
      const logged = lines.objects().map((l) => [l.level, l.event, l.duty, l.operatorId, l.batch, l.msg]);
      expect(logged).to.deep.equal([
        [50, "slashing_protection_double_sign", "seed", OP_A, "5", "slashing protection refused to sign a second message for a batch"],
        [50, "slashing_protection_below_watermark", "result", OP_A, "2", "slashing protection refused to sign a batch at or below its low watermark"],
      ]);
      expect(lines.objects()[0]).to.include({ recorded: HASH_1, requested: HASH_2 });
      expect(lines.objects()[1]).to.include({ watermark: "2", requested: HASH_2 });
      const refusals = (await metrics.slashingProtectionRefusals.get()).values;
      expect(refusals.map((v) => [v.labels.duty, v.value]).sort()).to.deep.equal([["result", 1], ["seed", 1]]);
    });
    it("should refuse the same way with no metrics registry", async () => {
      sp = new SlashingProtection({}, { db, logger: silentLogger(), metrics: null });
      await sp.checkAndInsert(SigningDuty.Result, { operatorId: OP_A, batch: 5n }, HASH_1);
      await expectCode(sp.checkAndInsert(SigningDuty.Result, { operatorId: OP_A, batch: 5n }, HASH_2), SlashingProtectionErrorCode.DoubleSign);
      await sp.prune(OP_A, 3n);
      await expectCode(sp.checkAndInsert(SigningDuty.Result, { operatorId: OP_A, batch: 2n }, HASH_2), SlashingProtectionErrorCode.BelowWatermark);
    });
  });

  describe("given a prune with nothing new to do", () => {
    it("should raise a lower watermark, and write nothing when nothing is deleted and the watermark is already there", async () => {
      await sp.prune(OP_A, 4n);
      await sp.prune(OP_A, 8n);
      for (const duty of [SigningDuty.Result, SigningDuty.Seed]) expect(await sp.watermark(duty, OP_A)).to.equal(7n);
      await db.close();
      const level = new Level<Uint8Array, Uint8Array>(dir.path, { keyEncoding: "view", valueEncoding: "view" });
      const writes: string[] = [];
      for (const op of ["put", "del", "batch"] as const) {
        const real = (level[op] as (...a: unknown[]) => Promise<unknown>).bind(level);
        (level as unknown as Record<string, unknown>)[op] = (...args: unknown[]) => {
          writes.push(op);
          return real(...args);
        };
      }
      db = await LevelDbController.openLevel(level, dir.path);
      sp = new SlashingProtection({}, { db, logger: silentLogger(), metrics });
      // Cutoff 8 again: the watermark is already 7 and no record is left below it.
      expect(await sp.prune(OP_A, 8n)).to.equal(0);
      expect(writes).to.deep.equal([]);
      // Cutoff 9: one watermark write per duty, in one batch.
      expect(await sp.prune(OP_A, 9n)).to.equal(0);
      expect(writes).to.deep.equal(["batch"]);
      expect(await sp.watermark(SigningDuty.Seed, OP_A)).to.equal(8n);
    });
  });

  describe("given requests for different keys and requests queued on one key", () => {
    it("should not hold one batch's request behind another batch's slow signer", async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const slow = sp.sign(SigningDuty.Result, { operatorId: OP_A, batch: 1n }, HASH_1, async () => (await gate, g1Multiple(3n)));
      const other = await sp.sign(SigningDuty.Result, { operatorId: OP_A, batch: 2n }, HASH_1, () => g1Multiple(4n));
      expect(other).to.deep.equal({ signature: g1Multiple(4n), fresh: true });
      release();
      expect((await slow).fresh).to.equal(true);
    });
    it("should queue a request that arrives while a queued one signs behind it, and keep no lock once all settle", async () => {
      const key = { operatorId: OP_A, batch: 3n };
      // A records the hash (no signature yet); B, queued behind A, signs with a signer held open.
      let releaseB!: () => void;
      const gateB = new Promise<void>((r) => (releaseB = r));
      let bSigning = false;
      const a = sp.checkAndInsert(SigningDuty.Result, key, HASH_1);
      const b = sp.sign(SigningDuty.Result, key, HASH_1, async () => {
        bSigning = true;
        await gateB;
        return g1Multiple(5n);
      });
      await a;
      const started = Date.now();
      while (!bSigning) {
        if (Date.now() - started > 10_000) expect.fail("B never reached its signer");
        await new Promise((r) => setTimeout(r, 5));
      }
      // C arrives after A left and while B is inside: it must wait for B and get B's stored signature.
      const c = sp.sign(SigningDuty.Result, key, HASH_1, () => expect.fail("a second signature was made for one key"));
      releaseB();
      expect(await b).to.deep.equal({ signature: g1Multiple(5n), fresh: true });
      expect(await c).to.deep.equal({ signature: g1Multiple(5n), fresh: false });
      expect((sp as unknown as { locks: Map<string, unknown> }).locks.size).to.equal(0);
    });
  });

  describe("given a corrupt stored value", () => {
    const records = () => new SignedMessageRepository(db, Bucket.SlashingProtectionResult);
    const marks = () => new WatermarkRepository(db, Bucket.SlashingProtectionWatermark);
    it("should refuse a record one byte short or long, or of another version, and read the well-formed one", async () => {
      const key = { operatorId: OP_A, batch: 1n };
      await sp.sign(SigningDuty.Result, key, HASH_1, () => g1Multiple(3n));
      const raw = (await db.get(records().keyOf(key)))!;
      expect(raw.length).to.equal(98);
      for (const bad of [raw.subarray(0, 97), Uint8Array.from([...raw, 0]), Uint8Array.from([2, ...raw.subarray(1)])]) {
        await db.put(records().keyOf(key), bad);
        try {
          await sp.get(SigningDuty.Result, key);
          expect.fail("a corrupt record was read");
        } catch (err) {
          expect((err as Error).message).to.equal(`slashing-protection record corrupt: ${bad.length} bytes, version ${bad[0]}`);
        }
      }
      await db.put(records().keyOf(key), raw);
      expect(await sp.get(SigningDuty.Result, key)).to.deep.equal({ messageHash: HASH_1, signature: g1Multiple(3n) });
    });
    it("should refuse a watermark one byte short or long, or of another version, and read the well-formed one", async () => {
      await sp.prune(OP_A, 5n);
      const key = marks().keyOf({ duty: "seed", operatorId: OP_A });
      const raw = (await db.get(key))!;
      expect(raw.length).to.equal(9);
      for (const bad of [raw.subarray(0, 8), Uint8Array.from([...raw, 0]), Uint8Array.from([2, ...raw.subarray(1)])]) {
        await db.put(key, bad);
        try {
          await sp.watermark(SigningDuty.Seed, OP_A);
          expect.fail("a corrupt watermark was read");
        } catch (err) {
          expect((err as Error).message).to.equal(`slashing-protection watermark corrupt: ${bad.length} bytes, version ${bad[0]}`);
        }
      }
      await db.put(key, raw);
      expect(await sp.watermark(SigningDuty.Seed, OP_A)).to.equal(4n);
    });
    it("should list the watermarks back as the (duty, operator) they belong to", async () => {
      await sp.prune(OP_B, 3n);
      const listed = [];
      for await (const { id, value } of marks().entries()) listed.push([id.duty, id.operatorId, value]);
      expect(listed).to.deep.equal([["result", OP_B, 2n], ["seed", OP_B, 2n]]);
    });
  });

  describe("given a process killed with SIGKILL right after it wrote", function () {
    this.timeout(120_000);
    const runChildAndKill = (mode: "insert" | "sign", hash: Hex) =>
      new Promise<void>((resolve, reject) => {
        // Node itself with tsx as a loader, not the `tsx` launcher: the launcher runs the script in a second process,
        // which a SIGKILL of the launcher would leave running (and holding the LevelDB lock).
        const child = spawn(process.execPath, ["--import", "tsx", join("test", "support", "slashing-child.ts"), dir.path, mode, hash], {
          stdio: ["ignore", "pipe", "pipe"],
        });
        // A child that never wrote is killed too, but then the test fails here rather than on a missing record
        // (a loaded machine can take tens of seconds to start it).
        let done = false;
        const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
        child.on("exit", () => clearTimeout(timer));
        let stderr = "";
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.stdout.on("data", (d: Buffer) => {
          if (d.toString().includes("done")) {
            done = true;
            child.kill("SIGKILL");
          }
        });
        child.on("exit", (_code, signal) => {
          if (signal === "SIGKILL" && done) resolve();
          else reject(new Error(done ? `child exited without being killed: ${stderr}` : `child never reported its write within 90 s: ${stderr}`));
        });
      });

    it("should find the recorded decision after restart and refuse a different hash", async () => {
      await db.close();
      await runChildAndKill("insert", HASH_1);
      await open();
      expect(await sp.get(SigningDuty.Result, { operatorId: CHILD_OPERATOR, batch: CHILD_BATCH })).to.deep.equal({ messageHash: HASH_1 });
      await expectCode(sp.checkAndInsert(SigningDuty.Result, { operatorId: CHILD_OPERATOR, batch: CHILD_BATCH }, HASH_2), SlashingProtectionErrorCode.DoubleSign);
    });

    it("should return the stored signature after restart instead of signing again", async () => {
      await db.close();
      await runChildAndKill("sign", HASH_2);
      await open();
      const out = await sp.sign(SigningDuty.Result, { operatorId: CHILD_OPERATOR, batch: CHILD_BATCH }, HASH_2, () => expect.fail("signer called"));
      expect(out).to.deep.equal({ signature: g1Multiple(CHILD_SIGNATURE), fresh: false });
    });
  });
});
