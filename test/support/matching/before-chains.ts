import { greedyPhase, improvePhase, objectiveOf, offerPrices, repairPhase, swapPhase, type Decisions } from "../../../protocol/matching/engine.js";
import type { Candidates, PreparedBatch } from "../../../protocol/matching/prepare.js";

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
