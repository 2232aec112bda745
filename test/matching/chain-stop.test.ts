import { expect } from "chai";
import { CHAIN_STOP_SHIFT, chainPhase, roundGainTooSmall } from "../../protocol/matching/chains.js";
import type { Decisions } from "../../protocol/matching/engine.js";
import { prepareBatch, type Candidates, type PreparedBatch } from "../../protocol/matching/prepare.js";
import type { MatchInputs } from "../../protocol/matching/types.js";
import { REFERENCE_BLOCK, seedOf } from "../support/matching/generator.js";
import { offer, order, provider } from "../support/matching/tiny.js";
import { GPU_CATALOG } from "../../protocol/market/catalog.js";

/**
 * The stop rule of the chain phase (docs/matching.md §7.6): a round whose applied chains gain G ends the phase when
 * G·2^CHAIN_STOP_SHIFT < S, S = Σ gpuCount × base over the orders served after the round.
 *
 * The case: three one-GPU offers X, Y, W (one free GPU each, availability weight 0, so gains are bases only) and
 * three one-GPU orders with hand-set pair bases: A (X: 10 000, Y: 6 000), B (X: 8 000 only), Z (W: z only, already
 * served there). Round 1 serves A on X (gain G = 10 000; B's chain through X cannot exist yet, X being empty);
 * round 2 — next to X, which round 1 changed — finds "B enters X, A moves to Y" (gain 8 000 − 10 000 + 6 000). So
 * B ends up served iff the phase survives round 1's stop check, with S = 10 000 + z.
 */
const A_X = 10_000;
const A_Y = 6_000;
const B_X = 8_000;
const G = BigInt(A_X);
const THRESHOLD = G << CHAIN_STOP_SHIFT; // S at which G is exactly 2^-12 of it

/** No random or availability term: the bases below are set by hand, and only they count. */
const WEIGHTS = { region: 10_000, price: 0, uptime: 0, reputation: 0, availability: 0, slashing: 0, stake: 0, random: 0 };

function tinyMarket(): MatchInputs {
  const p = provider(1);
  const one = { gpuCount: 8, gpusLeased: 7 };
  return {
    referenceBlock: REFERENCE_BLOCK,
    catalog: GPU_CATALOG,
    providers: [p],
    offers: [offer(1, p, one), offer(2, p, one), offer(3, p, one)],
    orders: [order(1), order(2), order(3)],
    weights: WEIGHTS,
  };
}

interface StopCase {
  b: PreparedBatch;
  cand: Candidates;
  d: Decisions;
  X: number;
  Y: number;
}

/** The batch with Z's base z; A and B open, Z served on W. */
function stopCase(z: number): StopCase {
  const b = prepareBatch(tinyMarket(), seedOf(1));
  const at = (versionId: bigint): number => b.offers.findIndex((v) => v.versionId === versionId);
  const X = at(1n);
  const Y = at(2n);
  const W = at(3n);
  // Orders are indexed by orderId: A = 0, B = 1, Z = 2. Candidate rows in candidate order (X before Y).
  const cand: Candidates = {
    start: Int32Array.from([0, 2, 3, 4]),
    offer: Int32Array.from([X, Y, X, W]),
    base: Int32Array.from([A_X, A_Y, B_X, z]),
  };
  const taken = new Float64Array(b.offers.length);
  taken[W] = 1;
  return { b, cand, d: { pair: Int32Array.from([-1, -1, 3]), taken }, X, Y };
}

describe("chain phase stop rule (docs/matching.md §7.6, CHAIN_STOP_SHIFT)", () => {
  describe("given round 1 gains G and round 2 could serve one more order", () => {
    for (const [label, served, continues] of [
      ["exactly 2^-12 of the served base (G·2^12 = S)", THRESHOLD, true],
      ["one below the threshold (G·2^12 = S − 1)", THRESHOLD + 1n, false],
      ["one above the threshold (G·2^12 = S + 1)", THRESHOLD - 1n, true],
    ] as const) {
      it(`gain ${label}: round 2 should ${continues ? "run and serve B through the chain" : "not run: B stays open"}`, () => {
        const z = Number(served - G);
        const { b, cand, d, X, Y } = stopCase(z);
        // The precondition: the stop rule itself, on round 1's exact figures.
        expect(roundGainTooSmall(G, served)).to.equal(!continues);
        const applied = chainPhase(b, cand, d);
        expect(d.pair[2], "Z stays on W").to.equal(3);
        if (continues) {
          expect(applied).to.equal(2);
          expect(cand.offer[d.pair[0]!], "A moved to Y").to.equal(Y);
          expect(cand.offer[d.pair[1]!], "B on X").to.equal(X);
        } else {
          expect(applied).to.equal(1);
          expect(cand.offer[d.pair[0]!], "A on X").to.equal(X);
          expect(d.pair[1], "B open").to.equal(-1);
        }
      });
    }
  });

  describe("given the rule alone", () => {
    it("should end the phase only when G·2^12 is strictly below the served base", () => {
      expect(roundGainTooSmall(1n, 4096n)).to.equal(false);
      expect(roundGainTooSmall(1n, 4097n)).to.equal(true);
      expect(roundGainTooSmall(1n, 4095n)).to.equal(false);
      expect(roundGainTooSmall(0n, 1n)).to.equal(true);
      expect(roundGainTooSmall(0n, 0n)).to.equal(false);
    });
  });
});
