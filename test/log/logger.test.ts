import { expect } from "chai";
import { REDACTED, createLogger } from "../../protocol/log/logger.js";
import { MemoryLines } from "../support/memory-stream.js";

describe("protocol/log", () => {
  describe("given objects carrying secret-like keys", () => {
    it("should redact them at the top level and when nested", () => {
      const out = new MemoryLines();
      const log = createLogger({ level: "info", destination: out });
      log.info({ password: "hunter2", keystore: { privateKey: "0xabc", path: "/k.json" }, a: { b: { secretKey: "s" } } }, "loaded");
      const text = out.lines.join("\n");
      expect(text).to.not.include("hunter2");
      expect(text).to.not.include("0xabc");
      const line = out.objects()[0]!;
      expect(line.password).to.equal(REDACTED);
      expect((line.keystore as Record<string, unknown>).privateKey).to.equal(REDACTED);
      expect((line.keystore as Record<string, unknown>).path).to.equal("/k.json");
      expect(((line.a as Record<string, Record<string, unknown>>).b!).secretKey).to.equal(REDACTED);
      expect(line.msg).to.equal("loaded");
    });
  });

  describe("given bigint and byte fields", () => {
    it("should print bigints as decimal strings and bytes as hex", () => {
      const out = new MemoryLines();
      createLogger({ level: "info", destination: out }).info({ stake: 10n ** 30n, hash: Uint8Array.of(1, 255) }, "x");
      const line = out.objects()[0]!;
      expect(line.stake).to.equal("1000000000000000000000000000000");
      expect(line.hash).to.equal("0x01ff");
    });
  });

  describe("given a level", () => {
    it("should drop lines below it", () => {
      const out = new MemoryLines();
      const log = createLogger({ level: "warn", destination: out, name: "node" });
      log.info("hidden");
      log.warn("shown");
      expect(out.objects().map((o) => o.msg)).to.deep.equal(["shown"]);
      expect(out.objects()[0]!.name).to.equal("node");
    });
  });
});
