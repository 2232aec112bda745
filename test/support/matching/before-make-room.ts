import { chainPhase, CHAIN_ROUNDS, reusedChainArcs } from "../../../protocol/matching/chains.js";
import { improvePhase, swapPhase, type Decisions } from "../../../protocol/matching/engine.js";
import type { Candidates, PreparedBatch } from "../../../protocol/matching/prepare.js";
import { beforeChains } from "./before-chains.js";

/** Every phase before make room by ejection (docs/matching.md §7.1–§7.6), as decide runs them. */
export function beforeMakeRoom(b: PreparedBatch, cand: Candidates): Decisions {
  const d = beforeChains(b, cand);
  const arcs = reusedChainArcs(b.orders.length);
  chainPhase(b, cand, d, CHAIN_ROUNDS, arcs);
  improvePhase(b, cand, d);
  swapPhase(b, cand, d);
  chainPhase(b, cand, d, CHAIN_ROUNDS, arcs);
  return d;
}
