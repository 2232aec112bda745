/**
 * Writes the matcher's test vectors, test/vectors/matching/*.json: each holds a batch's inputs and seed and the
 * expected output (assignments, unmatched reasons, the ABI encoding and its keccak256). They pin the algorithm of
 * docs/matching.md: any change to a rule changes some vector, and must be deliberate.
 *   sh scripts/run.sh exec node_modules/.bin/tsx test/support/matching/make-vectors.ts
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Hex } from "viem";
import { assignmentsHash, encodeAssignments } from "../../../protocol/matching/encode.js";
import { matchBatch } from "../../../protocol/matching/engine.js";
import type { MatchInputs } from "../../../protocol/matching/types.js";
import { generateInstance, seedOf, type InstanceSpec } from "./generator.js";
import { toJson } from "./json.js";
import { chainBatch } from "./chain-batch.js";
import { makeRoomBatch } from "./make-room-batch.js";
import { generateMultizoneMarket, multizoneSeedOf } from "./multizone-generator.js";
import { tinyBatch } from "./tiny.js";

export interface MatchingVector {
  name: string;
  description: string;
  seed: Hex;
  inputs: MatchInputs;
  expected: {
    assignments: ReturnType<typeof matchBatch>["assignments"];
    unmatched: ReturnType<typeof matchBatch>["unmatched"];
    encoded: Hex;
    hash: Hex;
  };
}

export const VECTOR_DIR = join(dirname(fileURLToPath(import.meta.url)), "../../vectors/matching");

const generated: Array<{ name: string; description: string; spec: InstanceSpec }> = [
  { name: "unit-abundant", description: "40 one-GPU orders, 30 offers, plenty of free GPUs", spec: { seed: 101, orders: 40, offers: 30, sizes: "unit", supply: "abundant" } },
  { name: "mixed-scarce", description: "60 orders of 1–8 GPUs, 40 offers, most GPUs already leased", spec: { seed: 102, orders: 60, offers: 40, sizes: "mixed", supply: "scarce" } },
  { name: "mixed-fragmented-two-tokens", description: "60 orders of 1–8 GPUs on 60 offers with few GPUs left each; 30 % priced in an 18-decimal token", spec: { seed: 103, orders: 60, offers: 60, sizes: "mixed", supply: "fragmented", wideTokenPct: 30 } },
  { name: "mixed-balanced-200", description: "200 orders of 1–8 GPUs on 200 offers", spec: { seed: 104, orders: 200, offers: 200, sizes: "mixed", supply: "balanced" } },
  { name: "mixed-balanced-make-room", description: "60 orders of 1–8 GPUs on 60 partly leased offers; repair frees an offer of several occupants for a larger order (docs §7.4 make room)", spec: { seed: 185, orders: 60, offers: 60, sizes: "mixed", supply: "balanced" } },
];

export function vectorOf(name: string, description: string, inputs: MatchInputs, seed: Hex): MatchingVector {
  const r = matchBatch(inputs, seed);
  return {
    name,
    description,
    seed,
    inputs,
    expected: { assignments: r.assignments, unmatched: r.unmatched, encoded: encodeAssignments(r.assignments), hash: assignmentsHash(r.assignments) },
  };
}

export function allVectors(): MatchingVector[] {
  return [
    vectorOf("tiny-reasons", "hand-built: two matches and one order left open for each reason code", tinyBatch(), seedOf(1)),
    ...generated.map((g, i) => vectorOf(g.name, g.description, generateInstance(g.spec), seedOf(100 + i))),
    vectorOf("chain-two-moves", "hand-built: an order served only by an augmenting chain (it enters X, order 1 moves X → Y, order 2 moves Y → Z; docs §7.6)", chainBatch(), seedOf(1)),
    vectorOf(
      "make-room-ejection",
      "hand-built: a 4-GPU order served only by make room by ejection (it enters X, order 1 moves X → Y, order 2 moves X → Z, ejecting order 3 to W; docs §7.7)",
      makeRoomBatch(),
      seedOf(1),
    ),
    vectorOf(
      "multizone-unit-scarce",
      "second generator: 90 one-GPU orders, 80 offers, most GPUs leased; multi-zone providers, duplicated offers, 18-decimal prices above 2^36",
      generateMultizoneMarket({ seed: 201, orders: 90, offers: 80, sizes: "unit", regime: "scarce" }),
      multizoneSeedOf(201),
    ),
    vectorOf(
      "multizone-mixed-balanced",
      "second generator: 150 orders of 1–16 GPUs, 120 offers (tiny-offer tail, tier orders over many regions, prices clustered at round figures and at the max)",
      generateMultizoneMarket({ seed: 202, orders: 150, offers: 120, sizes: "mixed", regime: "balanced" }),
      multizoneSeedOf(202),
    ),
  ];
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  mkdirSync(VECTOR_DIR, { recursive: true });
  for (const v of allVectors()) {
    writeFileSync(join(VECTOR_DIR, `${v.name}.json`), toJson(v));
    console.log(`${v.name}: ${v.expected.assignments.length} assignments, ${v.expected.unmatched.length} unmatched, hash ${v.expected.hash}`);
  }
}
