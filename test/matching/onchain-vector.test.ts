import { expect } from "chai";
import { readFileSync } from "node:fs";
import { network } from "hardhat";
import type { Assignment } from "../../protocol/market/types.js";
import { assignmentsHash, encodeAssignments, matchBatch, type MatchInputs } from "../../protocol/matching/index.js";
import { fromJson } from "../support/matching/json.js";
import { applyRemainingPages, buildSubmission, deploySystem } from "../support/serviceManager.js";

interface Vector {
  name: string;
  seed: `0x${string}`;
  inputs: MatchInputs;
  expected: { assignments: Assignment[]; encoded: `0x${string}`; hash: `0x${string}` };
}

const connection = await network.create();

describe("matching vectors on-chain", () => {
  for (const name of ["tiny-reasons", "mixed-scarce"]) {
    it(`given the ${name} vector → the service manager should accept its result as the commitment the vector names, page by page`, async () => {
      const v = fromJson<Vector>(readFileSync(`test/vectors/matching/${name}.json`, "utf8"));
      const result = matchBatch(v.inputs, v.seed);
      expect(encodeAssignments(result.assignments)).to.equal(v.expected.encoded);
      expect(assignmentsHash(result.assignments)).to.equal(v.expected.hash);
      expect(result.assignments.length).to.be.greaterThan(0);
      const s = await deploySystem(connection, 1);
      await s.serviceManager.write.closeBatch();
      // The vector's orders are not on this chain (their rows are skipped); what is checked is the commitment:
      // submitResult recomputes C_0 from page 0 and the given C_1, each applyPage the next link.
      await s.serviceManager.write.submitResult((await buildSubmission(s, 1n, result.assignments)).args as never);
      await applyRemainingPages(s, 1n, result.assignments);
      const b = await s.serviceManager.read.getBatch([1n]);
      expect([b.assignmentsHash, b.pendingPages, b.pagesApplied]).to.deep.equal([v.expected.hash, `0x${"0".repeat(64)}`, Math.ceil(result.assignments.length / 128)]);
    });
  }
});
