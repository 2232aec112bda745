import { expect } from "chai";
import { Bucket } from "../../protocol/db/buckets.js";
import { DbError, LevelDbController } from "../../protocol/db/controller.js";
import { KeyEncodingError, readUint64BE, uint64BE } from "../../protocol/db/keys.js";
import { Repository } from "../../protocol/db/repository.js";
import { makeTempDir } from "../support/tempdir.js";

/** A repository of utf-8 notes keyed by a uint64, in the bucket reserved for tests. */
class NoteRepository extends Repository<bigint, string> {
  constructor(db: LevelDbController, bucket: Bucket = Bucket.TestOnly) {
    super(db, bucket);
  }
  protected encodeId(id: bigint): Uint8Array {
    return uint64BE(id);
  }
  protected decodeId(key: Uint8Array): bigint {
    return readUint64BE(key);
  }
  protected encodeValue(value: string): Uint8Array {
    return new TextEncoder().encode(value);
  }
  protected decodeValue(bytes: Uint8Array): string {
    return new TextDecoder().decode(bytes);
  }
}

describe("protocol/db", () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  let db: LevelDbController;

  beforeEach(async () => {
    dir = await makeTempDir("db");
    db = await LevelDbController.open({ path: dir.path });
  });
  afterEach(async () => {
    await db.close();
    await dir.remove();
  });

  describe("given big-endian uint64 keys", () => {
    it("should round-trip and order bytes like numbers", () => {
      const values = [0n, 1n, 255n, 256n, 65_535n, 1n << 40n, (1n << 64n) - 1n];
      for (const v of values) expect(readUint64BE(uint64BE(v))).to.equal(v);
      const encoded = values.map((v) => Buffer.from(uint64BE(v)));
      const sorted = [...encoded].sort(Buffer.compare);
      expect(sorted).to.deep.equal(encoded);
    });
    it("should refuse negative and oversized numbers with a typed error", () => {
      expect(() => uint64BE(-1n)).to.throw(KeyEncodingError);
      expect(() => uint64BE(1n << 64n)).to.throw(KeyEncodingError);
    });
  });

  describe("given the KV controller", () => {
    it("should return undefined for a missing key", async () => {
      expect(await db.get(Uint8Array.of(1, 2, 3))).to.equal(undefined);
    });
    it("should apply a batch atomically", async () => {
      await db.put(Uint8Array.of(9), Uint8Array.of(1));
      await db.batch([
        { type: "put", key: Uint8Array.of(7), value: Uint8Array.of(2) },
        { type: "del", key: Uint8Array.of(9) },
      ]);
      expect(await db.get(Uint8Array.of(7))).to.deep.equal(Uint8Array.of(2));
      expect(await db.get(Uint8Array.of(9))).to.equal(undefined);
    });
    it("should refuse use after close with DbClosed", async () => {
      await db.close();
      try {
        await db.get(Uint8Array.of(1));
        expect.fail("expected DbClosed");
      } catch (err) {
        expect(err).to.be.instanceOf(DbError);
        expect((err as DbError).code).to.equal("DbClosed");
      }
    });
    it("should refuse a second open of the same directory (LevelDB lock) with DbLocked", async () => {
      try {
        await LevelDbController.open({ path: dir.path });
        expect.fail("expected DbLocked");
      } catch (err) {
        expect((err as DbError).code).to.equal("DbLocked");
      }
    });
  });

  describe("given a repository", () => {
    it("should return undefined for a missing id and the value for a stored one", async () => {
      const notes = new NoteRepository(db);
      expect(await notes.get(5n)).to.equal(undefined);
      expect(await notes.has(5n)).to.equal(false);
      await notes.put(5n, "five");
      expect(await notes.get(5n)).to.equal("five");
      expect(await notes.has(5n)).to.equal(true);
      await notes.delete(5n);
      expect(await notes.get(5n)).to.equal(undefined);
    });

    it("should scan its own bucket in numeric order and never another bucket's keys", async () => {
      const notes = new NoteRepository(db);
      const neighbour = new NoteRepository(db, Bucket.SlashingProtectionSeed);
      await neighbour.put(3n, "other bucket");
      await notes.batchPut([1000n, 2n, 256n, 1n, 70_000n].map((id) => ({ id, value: `n${id}` })));
      const ids: bigint[] = [];
      for await (const { id } of notes.entries()) ids.push(id);
      expect(ids).to.deep.equal([1n, 2n, 256n, 1000n, 70_000n]);
      expect(await notes.values({ gte: 2n, lt: 1000n })).to.deep.equal(["n2", "n256"]);
      expect(await notes.values({ reverse: true, limit: 2 })).to.deep.equal(["n70000", "n1000"]);
      expect(await neighbour.values()).to.deep.equal(["other bucket"]);
    });

    it("should keep its data after close and reopen", async () => {
      await new NoteRepository(db).batchPut([{ id: 42n, value: "kept" }]);
      await db.close();
      db = await LevelDbController.open({ path: dir.path });
      expect(await new NoteRepository(db).get(42n)).to.equal("kept");
    });
  });
});
