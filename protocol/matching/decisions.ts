/**
 * The matcher's decisions: per order the candidate pair it got (index into Candidates, -1 = none), and the GPUs
 * each offer gave out. Every phase after the greedy (engine.ts, chains.ts, make-room.ts) changes them in place. A
 * class, like PreparedBatch: an object literal made twice per batch (plain and priced greedy) would discard the code
 * compiled against its fields the second time (docs/matching.md §11).
 */
export class Decisions {
  constructor(
    readonly pair: Int32Array,
    /** GPUs taken per offer in this batch. */
    readonly taken: Float64Array,
  ) {}
}
