import { expect } from "chai";
import { chainPhase } from "../../../protocol/matching/chains.js";
import { greedyPhase, improvePhase, objectiveOf, offerPrices, repairPhase, swapPhase, type Decisions } from "../../../protocol/matching/engine.js";
import type { Candidates, PreparedBatch } from "../../../protocol/matching/prepare.js";
import { takenOf } from "./tie-markets.js";

/** Every phase before the chains (docs/matching.md §7.1–§7.5), as decide runs them. */
export function beforeChains(b: PreparedBatch, cand: Candidates): Decisions {
  const first = greedyPhase(b, cand);
  const priced = greedyPhase(b, cand, {}, offerPrices(b, cand, first));
  const d = objectiveOf(b, cand, priced.pair) >= objectiveOf(b, cand, first.pair) ? priced : first;
  repairPhase(b, cand, d);
  improvePhase(b, cand, d);
  swapPhase(b, cand, d);
  repairPhase(b, cand, d);
  return d;
}

/**
 * Runs `phase` on `d` and checks what every phase after greedy must keep: the objective never falls, and each
 * offer's `taken` equals the GPUs its pairs use, within its free capacity.
 */
export function expectPhaseSound(b: PreparedBatch, cand: Candidates, d: Decisions, phase: (d: Decisions) => unknown): void {
  const before = objectiveOf(b, cand, d.pair);
  phase(d);
  expect(objectiveOf(b, cand, d.pair) >= before).to.equal(true);
  const used = takenOf(b, cand, d.pair);
  for (let f = 0; f < b.offers.length; f++) {
    expect(used[f]).to.equal(d.taken[f]);
    expect(used[f]).to.be.at.most(b.offerFree[f]!);
  }
}

/** Runs every phase before the chains, then the chain phase, under expectPhaseSound. */
export function expectChainPhaseSound(b: PreparedBatch, cand: Candidates): void {
  expectPhaseSound(b, cand, beforeChains(b, cand), (d) => chainPhase(b, cand, d));
}
