import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { keccak256 } from "viem";
import { assignmentsHash, encodeAssignments } from "../../protocol/matching/encode.js";
import { matchBatch } from "../../protocol/matching/engine.js";
import { fromJson } from "../support/matching/json.js";
import { VECTOR_DIR, type MatchingVector } from "../support/matching/make-vectors.js";

describe("matcher test vectors (test/vectors/matching)", () => {
  const files = readdirSync(VECTOR_DIR).filter((f) => f.endsWith(".json")).sort();
  it("should have vectors to check", () => expect(files.length).to.be.at.least(5));
  for (const file of files) {
    describe(`given ${file}`, () => {
      const v = fromJson<MatchingVector>(readFileSync(join(VECTOR_DIR, file), "utf8"));
      it("should reproduce the expected assignments, reasons, bytes and hash", () => {
        const r = matchBatch(v.inputs, v.seed);
        expect(r.assignments).to.deep.equal(v.expected.assignments);
        expect(r.unmatched).to.deep.equal(v.expected.unmatched);
        expect(encodeAssignments(r.assignments)).to.equal(v.expected.encoded);
        expect(assignmentsHash(r.assignments)).to.equal(v.expected.hash);
        expect(keccak256(v.expected.encoded)).to.equal(v.expected.hash);
      });
    });
  }
});
