/**
 * Exhaustive optimum of the matcher's objective for tiny instances (tests only): every way to give each open
 * order one candidate offer or none, within capacity. Pair scores come from the engine's candidate index (the
 * scoring rules are tested on their own); the search and the objective are written independently here.
 */
import { buildCandidates, ScratchPool, type PreparedBatch } from "../../../protocol/matching/prepare.js";
import { unitHeadroom } from "../../../protocol/matching/score.js";

export function bruteForceOptimum(b: PreparedBatch): number {
  const cand = buildCandidates(b, new ScratchPool(), Infinity);
  const m = b.orders.length;
  const used = new Array<number>(b.offers.length).fill(0);
  const w = b.weightAvailability;
  const headroomTotal = (f: number, n: number): number => {
    let s = 0;
    for (let k = 0; k < n; k++) s += w * unitHeadroom(b.offerFree[f]!, b.offerTotal[f]!, k);
    return s;
  };
  let best = 0;
  const visit = (oi: number, pairsValue: number): void => {
    if (oi === m) {
      let total = pairsValue;
      for (let f = 0; f < used.length; f++) total += headroomTotal(f, used[f]!);
      if (total > best) best = total;
      return;
    }
    visit(oi + 1, pairsValue);
    const g = b.orderGpus[oi]!;
    for (let e = cand.start[oi]!; e < cand.start[oi + 1]!; e++) {
      const f = cand.offer[e]!;
      if (used[f]! + g > b.offerFree[f]!) continue;
      used[f]! += g;
      visit(oi + 1, pairsValue + g * cand.base[e]!);
      used[f]! -= g;
    }
  };
  visit(0, 0);
  return best;
}
