/** docs §6: the availability (headroom) part of the objective, shared by every phase of the engine. */
import type { PreparedBatch } from "./prepare.js";
import { headroomSum, unitHeadroom } from "./score.js";

/** Headroom value of the GPUs [t, t + g) of offer f (w_availability × Σ unitHeadroom). */
export function headroomValue(b: PreparedBatch, f: number, t: number, g: number): number {
  const F = b.offerFree[f]!;
  const C = b.offerTotal[f]!;
  return b.weightAvailability * (g === 1 ? unitHeadroom(F, C, t) : headroomSum(F, C, t, g));
}

/** Change of the headroom total of offer f when its taken GPUs go from `from` to `to`. */
export function headroomDelta(b: PreparedBatch, f: number, from: number, to: number): number {
  if (to === from) return 0;
  return to > from ? headroomValue(b, f, from, to - from) : -headroomValue(b, f, to, from - to);
}
