/**
 * The repair phase (docs/matching.md §7.4) rule by rule: protocol/matching/engine.ts's repairPhase against the rule
 * written a second time (test/support/matching/phase-reference.ts), on small markets whose bases take two to five
 * values (so moves tie), with one- and several-GPU orders and partly leased offers, from random starting
 * assignments; then each rule's tie-break and threshold on hand-made markets, the answer worked out by hand.
 */
import { expect } from "chai";
import { REPAIR_PASSES, repairPhase } from "../../protocol/matching/engine.js";
import { buildCandidates, prepareBatch } from "../../protocol/matching/prepare.js";
import { generateInstance, seedOf } from "../support/matching/generator.js";
import { handCase, phaseCases, randomStart, rng, type PhaseCase, type PhaseSpec } from "../support/matching/phase-market.js";
import { decisionsFrom, FEW_BASES } from "../support/matching/tie-markets.js";
import { REF_REPAIR_PASSES, RefMarket, refRepair, type RepairCounts } from "../support/matching/phase-reference.js";

function engineRepair(c: PhaseCase): { pair: number[]; taken: number[] } {
  const d = decisionsFrom(c.b, c.cand, c.pair);
  repairPhase(c.b, c.cand, d);
  return { pair: [...d.pair], taken: [...d.taken] };
}

function expectSameAsRule(c: PhaseCase, label: string): RepairCounts {
  const want = refRepair(new RefMarket(c.b, c.cand), c.pair);
  const got = engineRepair(c);
  expect(got.pair, `${label}: assignment`).to.deep.equal(want.pair);
  expect(got.taken, `${label}: taken`).to.deep.equal(want.taken);
  return want.counts;
}

const FAMILIES: { name: string; markets: number; perMarket: number; spec: PhaseSpec }[] = [
  {
    name: "one-GPU orders on offers of one or two free GPUs, no headroom term",
    markets: 6,
    perMarket: 5,
    spec: { offers: 5, orders: 8, maxG: 1, maxFree: 2, maxLeased: 0, density: 0.5, bases: FEW_BASES, availability: 0, open: 0.4 },
  },
  {
    name: "orders of 1–3 GPUs on offers of 1–5 free GPUs, partly leased, headroom weighted 2 000",
    markets: 8,
    perMarket: 5,
    spec: { offers: 6, orders: 10, maxG: 3, maxFree: 5, maxLeased: 3, density: 0.55, bases: FEW_BASES, availability: 2_000, open: 0.35 },
  },
  {
    name: "orders of 1–4 GPUs on offers of 2–6 free GPUs, two bases only (ties everywhere), headroom weighted 5 000",
    markets: 8,
    perMarket: 5,
    spec: { offers: 6, orders: 12, maxG: 4, maxFree: 6, maxLeased: 4, density: 0.6, bases: [30_000_000, 40_000_000], availability: 5_000, open: 0.3 },
  },
  {
    name: "orders of 1–8 GPUs, many occupants per offer (make room), headroom weighted 1 000",
    markets: 8,
    perMarket: 5,
    spec: { offers: 5, orders: 16, maxG: 8, maxFree: 10, maxLeased: 2, density: 0.7, bases: FEW_BASES, availability: 1_000, open: 0.3 },
  },
];

describe("repair phase against the rule of docs/matching.md §7.4 (test/support/matching/phase-reference.ts)", () => {
  it("given the constants: the reference should make at most as many passes as REPAIR_PASSES", () => {
    expect(REPAIR_PASSES).to.equal(REF_REPAIR_PASSES);
  });

  for (const [k, family] of FAMILIES.entries()) {
    describe(`given ${family.markets * family.perMarket} cases on small markets: ${family.name}`, () => {
      it("should leave the same assignment and taken counts as the rule", () => {
        const total = { insert: 0, relocate: 0, displace: 0, makeRoom: 0, passes: 0 };
        for (let i = 0; i < family.markets; i++) {
          for (const [j, c] of phaseCases(2_000 * (k + 1) + i, family.spec, family.perMarket).entries()) {
            const counts = expectSameAsRule(c, `market ${i} case ${j}`);
            for (const key of Object.keys(total) as (keyof RepairCounts)[]) total[key] += counts[key];
          }
        }
        // The cases are only worth comparing if every move is applied somewhere.
        for (const key of ["insert", "relocate", "displace"] as const) expect(total[key], key).to.be.greaterThan(0);
        if (k === 3) expect(total.makeRoom, "makeRoom").to.be.greaterThan(0);
      });
    });
  }

  describe("given generated markets (real bases and candidate lists) from random starting assignments", () => {
    it("should leave the same assignment and taken counts as the rule", () => {
      let moves = 0;
      for (const [seed, sizes, supply] of [
        [21, "mixed", "balanced"],
        [22, "mixed", "fragmented"],
        [23, "unit", "scarce"],
      ] as const) {
        const b = prepareBatch(generateInstance({ seed, orders: 40, offers: 20, sizes, supply }), seedOf(seed));
        const cand = buildCandidates(b);
        const r = rng(seed);
        for (let j = 0; j < 3; j++) {
          const c = { b, cand, pair: randomStart(b, cand, r, 0.4) };
          const counts = expectSameAsRule(c, `seed ${seed} case ${j}`);
          moves += counts.insert + counts.relocate + counts.displace + counts.makeRoom;
        }
      }
      expect(moves).to.be.greaterThan(0);
    });
  });
});

/** Runs the engine's repair on a hand case, checks it against the rule too, and returns where each order ends. */
function repaired(c: ReturnType<typeof handCase>): (number | null)[] {
  expectSameAsRule(c, "hand-made");
  return c.versionOf(engineRepair(c).pair);
}

describe("repair rules on hand-made markets (docs/matching.md §7.4)", () => {
  describe("given order 3 (1 GPU, only X) and order 1 on X, whose other candidate Y has room: relocate", () => {
    // X = versionId 1, Y = 2, one GPU each. Order 1: 5·10^7 on X, b on Y. Order 3: 3·10^7 on X. No headroom term.
    // Relocating 1 changes the objective by 3·10^7 − 5·10^7 + b: positive iff b > 2·10^7.
    const c = (b: number) => handCase([1, 1], [1, 1, 1], [[[1, 50_000_000], [2, b]], [], [[1, 30_000_000]]], [1, null, null]);
    it("should move order 1 to Y and serve 3 on X when the change is +1 (b = 2·10^7 + 1)", () => {
      expect(repaired(c(20_000_001))).to.deep.equal([2, null, 1]);
    });
    it("should change nothing when the change is exactly 0 (b = 2·10^7)", () => {
      expect(repaired(c(20_000_000))).to.deep.equal([1, null, null]);
    });
    it("should change nothing when the change is −1 (b = 2·10^7 − 1)", () => {
      expect(repaired(c(19_999_999))).to.deep.equal([1, null, null]);
    });
  });

  describe("given order 3 (1 GPU, only X) and order 1 on X with nowhere else to go: displace", () => {
    const c = (b3: number) => handCase([1], [1, 1, 1], [[[1, 40_000_000]], [], [[1, b3]]], [1, null, null]);
    it("should displace order 1 when 3 is worth 1 more on X", () => {
      expect(repaired(c(40_000_001))).to.deep.equal([null, null, 1]);
    });
    it("should keep order 1 when both are worth the same", () => {
      expect(repaired(c(40_000_000))).to.deep.equal([1, null, null]);
    });
    it("should keep order 1 when 3 is worth 1 less", () => {
      expect(repaired(c(39_999_999))).to.deep.equal([1, null, null]);
    });
  });

  describe("given two occupants of X that both gain by being displaced, with nowhere else to go", () => {
    it("should displace the one of fewer GPUs (gpuCount asc), although its orderId is larger", () => {
      // X (3 GPUs): order 1 (2 GPUs, 10^7 each) and order 2 (1 GPU, 10^7); order 3 (1 GPU) is worth 5·10^7 on X.
      const c = handCase([3], [2, 1, 1], [[[1, 10_000_000]], [[1, 10_000_000]], [[1, 50_000_000]]], [1, 1, null]);
      expect(repaired(c)).to.deep.equal([1, null, 1]);
    });
    it("should displace the smaller orderId between occupants of the same size", () => {
      const c = handCase([2], [1, 1, 1], [[[1, 10_000_000]], [[1, 10_000_000]], [[1, 50_000_000]]], [1, 1, null]);
      expect(repaired(c)).to.deep.equal([null, 1, 1]);
    });
  });

  describe("given an occupant whose only other offer with room is worth 0 to it (base 0, no headroom term)", () => {
    it("should relocate it there (value 0 still counts as a best other offer) rather than displace the first occupant", () => {
      // X (2 GPUs) holds order 1 (10^7, X only) and order 2 (3·10^7 on X, 0 on Y, which is free). Order 3 (4·10^7 on
      // X): displacing order 1 would gain 3·10^7, but relocating order 2 to Y gains 10^7 and relocations come first.
      const c = handCase([2, 1], [1, 1, 1], [[[1, 10_000_000]], [[1, 30_000_000], [2, 0]], [[1, 40_000_000]]], [1, 1, null]);
      expect(repaired(c)).to.deep.equal([1, 2, 1]);
    });
  });

  describe("given an occupant's best other offer taken by an insert earlier in the same pass", () => {
    it("should no longer relocate it there", () => {
      // X (versionId 2) holds order 1 (5·10^7 on X, 4·10^7 on Y = versionId 1, which has one free GPU). Order 2
      // looks at X first (relocating order 1 changes 10^7 − 5·10^7 + 4·10^7 = 0: no), then inserts itself on Y.
      // Order 3 (3·10^7 on X) then finds Y full: order 1 has nowhere to go and displacing it loses.
      const c = handCase([1, 1], [1, 1, 1], [[[2, 50_000_000], [1, 40_000_000]], [[2, 10_000_000], [1, 20_000_000]], [[2, 30_000_000]]], [2, null, null]);
      expect(repaired(c)).to.deep.equal([2, 1, null]);
    });
  });

  describe("given X (2 GPUs) held by order 1 (displaceable, nowhere to go) and order 2 (can move to Y)", () => {
    it("should relocate order 2 rather than displace order 1, although 1 comes first (relocate before displace)", () => {
      // Order 3 (1 GPU) on X: 6·10^7. Order 1: 2·10^7 on X only. Order 2: 5·10^7 on X, 4·10^7 on Y.
      const c = handCase([2, 1], [1, 1, 1], [[[1, 20_000_000]], [[1, 50_000_000], [2, 40_000_000]], [[1, 60_000_000]]], [1, 1, null]);
      expect(repaired(c)).to.deep.equal([1, 2, 1]);
    });
  });

  describe("given two occupants of X that can both move to their own free offer with the same change", () => {
    it("should move the one of fewer GPUs first (gpuCount asc), although its orderId is larger", () => {
      // X (versionId 1) has 3 GPUs: order 1 (2 GPUs) and order 2 (1 GPU); order 3 (1 GPU) wants X only.
      // Order 1 goes to Y (2 GPUs), order 2 to Z (1 GPU); both changes are 3·10^7 − 2·g·10^7 + 2·g·10^7 > 0.
      const c = handCase(
        [3, 2, 1],
        [2, 1, 1],
        [
          [[1, 20_000_000], [2, 20_000_000]],
          [[1, 20_000_000], [3, 20_000_000]],
          [[1, 30_000_000]],
        ],
        [1, 1, null],
      );
      expect(repaired(c)).to.deep.equal([1, 3, 1]);
    });
    it("should move the one of smaller orderId when both have one GPU", () => {
      const c = handCase(
        [2, 1, 1],
        [1, 1, 1],
        [
          [[1, 20_000_000], [2, 20_000_000]],
          [[1, 20_000_000], [3, 20_000_000]],
          [[1, 30_000_000]],
        ],
        [1, 1, null],
      );
      expect(repaired(c)).to.deep.equal([2, 1, 1]);
    });
  });

  describe("given an occupant whose two other offers with room are worth the same to it", () => {
    it("should move it to the smaller versionId (Y = 2, not Z = 3), and to Z once Z is worth 1 more", () => {
      const c = (z: number) =>
        handCase([1, 1, 1], [1, 1], [[[1, 50_000_000], [2, 30_000_000], [3, z]], [[1, 40_000_000]]], [1, null]);
      expect(repaired(c(30_000_000))).to.deep.equal([2, 1]);
      expect(repaired(c(30_000_001))).to.deep.equal([3, 1]);
      expect(repaired(c(29_999_999))).to.deep.equal([2, 1]);
    });
  });

  describe("given an order whose candidates allow a move on each of two offers", () => {
    it("should take the first in candidate order (price asc: versionId 2 before 1), not the one that gains more", () => {
      // Offers 1 and 2 (one GPU each) hold orders 1 and 2, each displaceable. Order 3 gains 10^7 by displacing 2 on
      // offer 2 and 3·10^7 by displacing 1 on offer 1; offer 2 is cheaper, so it comes first.
      const c = handCase([1, 1], [1, 1, 1], [[[1, 20_000_000]], [[2, 20_000_000]], [[1, 50_000_000], [2, 30_000_000]]], [1, 2, null]);
      expect(repaired(c)).to.deep.equal([1, null, 2]);
    });
  });

  describe("given two open orders that want the same free GPU", () => {
    it("should serve the larger first (gpuCount desc), though its orderId is larger", () => {
      // X has 2 free GPUs; order 1 (1 GPU) and order 2 (2 GPUs) both open; order 2 takes both, order 1 then cannot
      // displace it (2·3·10^7 > 4·10^7).
      const c = handCase([2], [1, 2], [[[1, 40_000_000]], [[1, 30_000_000]]], [null, null]);
      expect(repaired(c)).to.deep.equal([null, 1]);
    });
    it("should serve the smaller orderId first between orders of the same size", () => {
      const c = handCase([1], [1, 1], [[[1, 40_000_000]], [[1, 40_000_000]]], [null, null]);
      expect(repaired(c)).to.deep.equal([1, null]);
    });
  });

  describe("given an order displaced in a pass", () => {
    it("should be tried again in the next pass (here it then displaces the weaker order 1 on Y)", () => {
      // X and Y one GPU each. Order 1 on Y (10^7, Y only), order 2 on X (2·10^7 on X, 3·10^7 on Y), order 3 open
      // (5·10^7 on X). Pass 1: 3 displaces 2 from X (2 cannot move: Y is full). Pass 2: 2 displaces 1 on Y.
      const c = handCase([1, 1], [1, 1, 1], [[[2, 10_000_000]], [[1, 20_000_000], [2, 30_000_000]], [[1, 50_000_000]]], [2, 1, null]);
      expect(repaired(c)).to.deep.equal([null, 2, 1]);
    });
  });

  describe("given a line of displacements, one per pass (each displaced order displaces the next one in the next pass)", () => {
    it("should stop after REPAIR_PASSES = 4 passes: order 5, displaced in the 4th, stays open and order 6 keeps offer 5", () => {
      // Offers 1–5, one GPU each. Order k + 1 sits on offer k (k = 1‥5); order 1 is open and worth 9·10^7 on offer 1.
      // Order k + 1 is worth 10^7 more on offer k + 1 than order k + 2 is there, and has no other offer: pass k
      // serves the order displaced in pass k − 1 by displacing the next one.
      const c = handCase(
        [1, 1, 1, 1, 1],
        [1, 1, 1, 1, 1, 1],
        [
          [[1, 90_000_000]],
          [[1, 80_000_000], [2, 70_000_000]],
          [[2, 60_000_000], [3, 50_000_000]],
          [[3, 40_000_000], [4, 30_000_000]],
          [[4, 20_000_000], [5, 15_000_000]],
          [[5, 10_000_000]],
        ],
        [null, 1, 2, 3, 4, 5],
      );
      expect(repaired(c)).to.deep.equal([1, 2, 3, 4, null, 5]);
    });
  });

  describe("make room: X (2 GPUs) held by orders 1 and 2 (1 GPU each), order 3 needs 2 GPUs on X", () => {
    // Order 1 can go to Y, order 2 to Z (1 GPU each). Change: 2·b3 − 2·4·10^7 + 2·3·10^7 = 2·b3 − 2·10^7.
    const c = (b3: number) =>
      handCase([2, 1, 1], [1, 1, 2], [[[1, 40_000_000], [2, 30_000_000]], [[1, 40_000_000], [3, 30_000_000]], [[1, b3]]], [1, 1, null]);
    it("should move both out and serve 3 when the change is +2 (b3 = 10^7 + 1)", () => {
      expect(repaired(c(10_000_001))).to.deep.equal([2, 3, 1]);
    });
    it("should change nothing when the change is 0 (b3 = 10^7)", () => {
      expect(repaired(c(10_000_000))).to.deep.equal([1, 1, null]);
    });
    it("should change nothing when the change is −2 (b3 = 10^7 − 1)", () => {
      expect(repaired(c(9_999_999))).to.deep.equal([1, 1, null]);
    });
  });

  describe("make room with three occupants of one GPU and an order of 2", () => {
    const c = (b1: number, b2: number, b3: number) =>
      handCase(
        [3, 1, 1, 1],
        [1, 1, 1, 2],
        [
          [[1, b1], [2, 10_000_000]],
          [[1, b2], [3, 10_000_000]],
          [[1, b3], [4, 10_000_000]],
          [[1, 60_000_000]],
        ],
        [1, 1, 1, null],
      );
    it("should take the two of least loss (orders 2 and 3 when order 1 loses most)", () => {
      expect(repaired(c(30_000_000, 20_000_000, 20_000_001))).to.deep.equal([1, 3, 4, 1]);
    });
    it("should take the smaller orderIds among equal losses (orders 1 and 2)", () => {
      expect(repaired(c(20_000_000, 20_000_000, 20_000_000))).to.deep.equal([2, 3, 1, 1]);
    });
    it("should take order 3 once its loss is 1 below the others'", () => {
      expect(repaired(c(20_000_000, 20_000_000, 19_999_999))).to.deep.equal([2, 1, 4, 1]);
    });
  });

  describe("make room where both occupants move to the same Y, headroom weighted 1 000", () => {
    // X (2 GPUs) holds orders 1 and 2 (4·10^7 each, 2·10^7 on Y, which has 2 free GPUs of 2). Order 3 (2 GPUs)
    // wants X at b3. Change: 2·b3 − 8·10^7 + 4·10^7 + 1 000·(a(0) + a(1)) = 2·b3 − 4·10^7 + 1.5·10^7 (Y's headroom
    // for its two GPUs together: a(0) = 10 000, a(1) = 5 000; X's count does not change).
    const c = (b3: number) =>
      handCase([2, 2], [1, 1, 2], [[[1, 40_000_000], [2, 20_000_000]], [[1, 40_000_000], [2, 20_000_000]], [[1, b3]]], [1, 1, null], 1_000);
    it("should move both to Y when the change is +2 (b3 = 1.25·10^7 + 1)", () => expect(repaired(c(12_500_001))).to.deep.equal([2, 2, 1]));
    it("should change nothing when the change is 0 (b3 = 1.25·10^7)", () => expect(repaired(c(12_500_000))).to.deep.equal([1, 1, null]));
    it("should change nothing when the change is −2", () => expect(repaired(c(12_499_999))).to.deep.equal([1, 1, null]));
  });

  describe("make room where two occupants' best other offer is the same Y with room for one", () => {
    it("should move the first taken to Y and leave the second unmatched", () => {
      // X (2 GPUs): orders 1 and 2 (1 GPU). Both: 3·10^7 on X, Y (1 GPU): 2·10^7 for 1, 2·10^7 − 1 for 2 (so 1
      // loses less). Order 3 (2 GPUs, 5·10^7 on X): 10^8 − 6·10^7 + 2·10^7 = 6·10^7 > 0.
      const c = handCase([2, 1], [1, 1, 2], [[[1, 30_000_000], [2, 20_000_000]], [[1, 30_000_000], [2, 19_999_999]], [[1, 50_000_000]]], [1, 1, null]);
      expect(repaired(c)).to.deep.equal([2, null, 1]);
    });
  });

  describe("make room where the occupant of least loss frees enough GPUs on its own", () => {
    it("should leave the order open: make room needs at least two occupants taken (one alone is a single move, refused)", () => {
      // X (3 GPUs): order 1 (2 GPUs, 4·10^7 on X, 10^7 on Y with 2 free GPUs: loss 6·10^7) and order 2 (1 GPU,
      // 8·10^7 on X only: loss 8·10^7). Order 3 (2 GPUs, 3·10^7 on X). Relocating order 1 changes 6·10^7 − 8·10^7
      // + 2·10^7 = 0; displacing it −2·10^7. Make room takes order 1 first, whose 2 GPUs suffice: one occupant.
      const c = handCase([3, 2], [2, 1, 2], [[[1, 40_000_000], [2, 10_000_000]], [[1, 80_000_000]], [[1, 30_000_000]]], [1, 1, null]);
      expect(repaired(c)).to.deep.equal([1, 1, null]);
    });
  });
});
