/**
 * The matcher's objective solved exactly (unit orders) or relaxed (any orders) on the same prepared batch, for
 * tests and benchmarks: the candidate pairs and their values come from prepare.ts, the very code the engine uses,
 * so engine and optimum score identical pairs identically. The hard rules themselves are checked independently by
 * the tests (test/support/matching/hard-rules.ts).
 */
import { BPS } from "../../market/types.js";
import type { Candidates, PreparedBatch } from "../prepare.js";
import { unitHeadroom } from "../score.js";
import { solveFlow, type FlowProblem } from "./flow.js";

export function flowProblemOf(b: PreparedBatch, cand: Candidates): FlowProblem {
  const m = b.orders.length;
  const supply = new Int32Array(m);
  for (let oi = 0; oi < m; oi++) supply[oi] = b.orderState[oi] === 0 ? b.orderGpus[oi]! : 0;
  const w = b.weightAvailability;
  return {
    orders: m,
    offers: b.offers.length,
    supply,
    capacity: b.offerFree,
    arcStart: cand.start,
    arcOffer: cand.offer,
    arcValue: Float64Array.from(cand.base),
    slotValue: (f, k) => w * unitHeadroom(b.offerFree[f]!, b.offerTotal[f]!, k),
    valueCap: BPS * BPS,
    slotCap: w * BPS,
  };
}

export interface UnitOptimum {
  value: number;
  /** Candidate pair per order (-1 = none), as the engine's decisions. */
  pair: Int32Array;
}

/** Exact maximum of the objective when every open order asks one GPU. */
export function unitOptimum(b: PreparedBatch, cand: Candidates): UnitOptimum {
  for (let oi = 0; oi < b.orders.length; oi++) {
    if (b.orderState[oi] === 0 && b.orderGpus[oi] !== 1) throw new Error("unitOptimum: every open order must ask for one GPU");
  }
  const p = flowProblemOf(b, cand);
  const sol = solveFlow(p);
  const pair = new Int32Array(b.orders.length).fill(-1);
  for (let oi = 0; oi < b.orders.length; oi++) {
    for (let e = p.arcStart[oi]!; e < p.arcStart[oi + 1]!; e++) if (sol.flow[e]! > 0) pair[oi] = e;
  }
  return { value: sol.value, pair };
}

/** Upper bound of the objective for any order sizes: the flow relaxation (orders may split and partly fill). */
export function flowBound(b: PreparedBatch, cand: Candidates): number {
  return solveFlow(flowProblemOf(b, cand)).value;
}
