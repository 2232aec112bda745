import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { encodeAbiParameters, keccak256, type Hex } from "viem";
import { ASSIGNMENTS_ABI, type Assignment } from "../../protocol/market/types.js";
import { assignmentsHash, encodeAssignments } from "../../protocol/matching/encode.js";
import { matchBatch } from "../../protocol/matching/engine.js";
import { fromJson } from "../support/matching/json.js";
import { VECTOR_DIR, type MatchingVector } from "../support/matching/make-vectors.js";

/**
 * The page commitment of docs/protocol.md §3.7 with viem's generic encoder: pages of 128 rows, C_n = 0,
 * C_i = keccak256(abi.encode(page_i, C_{i+1})).
 */
function chainByViem(rows: readonly Assignment[]): Hex {
  let c: Hex = `0x${"0".repeat(64)}`;
  for (let end = rows.length; end > 0; end = Math.floor((end - 1) / 128) * 128) {
    const page = rows.slice(Math.floor((end - 1) / 128) * 128, end);
    c = keccak256(encodeAbiParameters([...ASSIGNMENTS_ABI, { type: "bytes32" }], [page as Assignment[], c]));
  }
  return c;
}

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
        expect(chainByViem(v.expected.assignments)).to.equal(v.expected.hash);
      });
    });
  }
});
