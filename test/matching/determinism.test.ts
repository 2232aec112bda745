import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeAssignments } from "../../protocol/matching/encode.js";
import { matchBatch } from "../../protocol/matching/engine.js";
import { UnmatchedReason } from "../../protocol/matching/types.js";
import { generateInstance, seedOf, shuffled } from "../support/matching/generator.js";
import { hardRuleViolations } from "../support/matching/hard-rules.js";
import { toJson } from "../support/matching/json.js";

function runChild(file: string, seed: string, shuffleSeed?: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const args = ["test/support/matching/run-matcher.ts", file, seed, ...(shuffleSeed === undefined ? [] : [String(shuffleSeed)])];
    const child = spawn("node_modules/.bin/tsx", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`child exited ${code}: ${err}`))));
  });
}

describe("matcher determinism", () => {
  const inputs = generateInstance({ seed: 21, orders: 600, offers: 500, sizes: "mixed", supply: "balanced", wideTokenPct: 20 });
  const seed = seedOf(21);
  const reference = encodeAssignments(matchBatch(inputs, seed).assignments);

  describe("given the same batch with every input array shuffled", () => {
    it("should give byte-identical encoded assignments", () => {
      for (const s of [1, 2, 3]) expect(encodeAssignments(matchBatch(shuffled(inputs, s), seed).assignments)).to.equal(reference);
    });
    it("should give identical reasons and quality figures", () => {
      const a = matchBatch(inputs, seed);
      const b = matchBatch(shuffled(inputs, 4), seed);
      expect(b.unmatched).to.deep.equal(a.unmatched);
      expect(b.quality).to.deep.equal(a.quality);
    });
  });

  describe("given two separate processes", () => {
    it("should print byte-identical encoded assignments (one of them on shuffled inputs)", async function () {
      this.timeout(60_000);
      const dir = mkdtempSync(join(tmpdir(), "matchnet-det-"));
      try {
        const file = join(dir, "instance.json");
        writeFileSync(file, toJson(inputs));
        const [a, b] = await Promise.all([runChild(file, seed), runChild(file, seed, 77)]);
        expect(a).to.equal(reference);
        expect(b).to.equal(reference);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("given a different seed", () => {
    const other = matchBatch(inputs, seedOf(22));
    const first = matchBatch(inputs, seed);
    it("should change which offers orders get (the random term)", () => {
      expect(encodeAssignments(other.assignments)).to.not.equal(reference);
    });
    it("should still satisfy every hard rule", () => {
      expect(hardRuleViolations(inputs, other.assignments)).to.deep.equal([]);
    });
    it("should leave the hard-rule reasons of unmatched orders unchanged", () => {
      // Only "capacity taken in this batch" depends on who was served first; every other reason is the filters'.
      const fixed = (r: typeof first) => r.unmatched.filter((u) => u.reason !== UnmatchedReason.CapacityTaken);
      const matchedOrTaken = (r: typeof first) =>
        new Set([...r.assignments.map((a) => a.orderId), ...r.unmatched.filter((u) => u.reason === UnmatchedReason.CapacityTaken).map((u) => u.orderId)]);
      expect(fixed(other)).to.deep.equal(fixed(first));
      expect([...matchedOrTaken(other)].sort()).to.deep.equal([...matchedOrTaken(first)].sort());
    });
  });
});
