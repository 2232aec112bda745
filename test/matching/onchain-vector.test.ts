import { expect } from "chai";
import { readFileSync } from "node:fs";
import { network } from "hardhat";
import type { Assignment } from "../../protocol/market/types.js";
import { assignmentsHash, encodeAssignments, matchBatch, type MatchInputs } from "../../protocol/matching/index.js";
import { fromJson } from "../support/matching/json.js";
import { deploySystem } from "../support/serviceManager.js";

interface Vector {
  name: string;
  seed: `0x${string}`;
  inputs: MatchInputs;
  expected: { assignments: Assignment[]; encoded: `0x${string}`; hash: `0x${string}` };
}

const connection = await network.create();

describe("matching vectors on-chain", () => {
  for (const name of ["tiny-reasons", "mixed-scarce"]) {
    it(`given the ${name} vector → the service manager should hash its assignment list to the vector's hash`, async () => {
      const v = fromJson<Vector>(readFileSync(`test/vectors/matching/${name}.json`, "utf8"));
      const result = matchBatch(v.inputs, v.seed);
      expect(encodeAssignments(result.assignments)).to.equal(v.expected.encoded);
      expect(assignmentsHash(result.assignments)).to.equal(v.expected.hash);
      expect(result.assignments.length).to.be.greaterThan(0);
      const s = await deploySystem(connection, 1);
      expect(await s.serviceManager.read.hashAssignments([result.assignments])).to.equal(v.expected.hash);
    });
  }
});
