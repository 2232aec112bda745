/**
 * Child-process entry for the determinism test: `tsx run-matcher.ts <instance.json> <seed> [shuffleSeed]` prints
 * the ABI-encoded assignment list of that batch (optionally after shuffling every input array) and nothing else.
 * Inert when imported (the mocha runner loads every file under test/).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Hex } from "viem";
import { encodeAssignments } from "../../../protocol/matching/encode.js";
import { matchBatch } from "../../../protocol/matching/engine.js";
import type { MatchInputs } from "../../../protocol/matching/types.js";
import { shuffled } from "./generator.js";
import { fromJson } from "./json.js";

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [file, seed, shuffleSeed] = process.argv.slice(2);
  if (!file || !seed) {
    console.error("usage: run-matcher.ts <instance.json> <seed> [shuffleSeed]");
    process.exit(2);
  }
  let inputs = fromJson<MatchInputs>(readFileSync(file, "utf8"));
  if (shuffleSeed) inputs = shuffled(inputs, Number(shuffleSeed));
  process.stdout.write(encodeAssignments(matchBatch(inputs, seed as Hex).assignments) + "\n");
}
