/**
 * The phases before the chains other than repair, rule by rule: protocol/matching/engine.ts's greedyPhase (docs/
 * matching.md §7.1, with the prices of §7.2 for §7.3), offerPrices (§7.2), improvePhase and swapPhase (§7.5) and
 * objectiveOf (§6) against the rules written a second time (test/support/matching/phase-reference.ts) on small
 * markets whose bases take two to five values, so that values tie; then tie-breaks and thresholds on hand-made
 * markets, the answer worked out by hand, and the objective's exact sum above 2^53.
 */
import { expect } from "chai";
import { chainArcs } from "../../protocol/matching/chains.js";
import { decide, greedyPhase, improvePhase, matchBatch, objectiveOf, offerPrices, refine, SWAP_TRIES, swapPhase, type Decisions } from "../../protocol/matching/engine.js";
import { GPU_CATALOG, zoneId } from "../../protocol/market/catalog.js";
import { BPS, OrderStatus, ProviderStatus, reputationBps, Tier, type OfferVersion, type Provider } from "../../protocol/market/types.js";
import { prepareBatch, type Candidates } from "../../protocol/matching/prepare.js";
import { UnmatchedReason, type MatchInputs, type MatchQuality, type MatchResult } from "../../protocol/matching/types.js";
import { DEFAULT_WEIGHTS, REFERENCE_BLOCK, seedOf, USDC, WIDE } from "../support/matching/generator.js";
import { handCase, phaseCases, rng, type PhaseCase, type PhaseSpec } from "../support/matching/phase-market.js";
import { decisionsFrom, FEW_BASES, takenOf } from "../support/matching/tie-markets.js";
import { REF_SWAP_TRIES, RefMarket, refGreedy, refImprove, refObjective, refPrices, refSwap } from "../support/matching/phase-reference.js";
import { H100, L40S, offer, order, provider, RTX4090 } from "../support/matching/tiny.js";

const FAMILIES: { name: string; markets: number; spec: PhaseSpec }[] = [
  {
    name: "one-GPU orders on offers of one or two free GPUs, no headroom term",
    markets: 5,
    spec: { offers: 6, orders: 9, maxG: 1, maxFree: 2, maxLeased: 0, density: 0.5, bases: FEW_BASES, availability: 0, open: 0.3 },
  },
  {
    name: "orders of 1–3 GPUs on offers of 1–5 free GPUs, partly leased, headroom weighted 2 000",
    markets: 6,
    spec: { offers: 7, orders: 11, maxG: 3, maxFree: 5, maxLeased: 3, density: 0.55, bases: FEW_BASES, availability: 2_000, open: 0.25 },
  },
  {
    name: "orders of 1–4 GPUs, two bases only (ties everywhere), headroom weighted 5 000",
    markets: 6,
    spec: { offers: 7, orders: 12, maxG: 4, maxFree: 6, maxLeased: 4, density: 0.6, bases: [30_000_000, 40_000_000], availability: 5_000, open: 0.2 },
  },
  {
    name: "one- and two-GPU orders with many candidates (more than 8 better offers), headroom weighted 1 000",
    markets: 4,
    spec: { offers: 16, orders: 14, maxG: 2, maxFree: 3, maxLeased: 1, density: 0.9, bases: [10_000_000, 20_000_000, 30_000_000, 40_000_000], availability: 1_000, open: 0.1 },
  },
];

const PER_MARKET = 4;

function copy(c: PhaseCase): Decisions {
  return decisionsFrom(c.b, c.cand, c.pair);
}

describe("phases before the chains against the rules of docs/matching.md §6–§7.5 (test/support/matching/phase-reference.ts)", () => {
  it("given the constants: the reference swap should try as many better offers as SWAP_TRIES", () => {
    expect(SWAP_TRIES).to.equal(REF_SWAP_TRIES);
  });

  for (const [k, family] of FAMILIES.entries()) {
    const cases = (): PhaseCase[] => Array.from({ length: family.markets }, (_, i) => phaseCases(3_000 * (k + 1) + i, family.spec, PER_MARKET)).flat();
    describe(`given ${family.markets * PER_MARKET} cases on small markets: ${family.name}`, () => {
      it("greedy (§7.1) should assign the same pairs as the rule, for 1, 2 and 4 pairs loaded per order", () => {
        for (const [j, c] of cases().entries()) {
          const want = refGreedy(new RefMarket(c.b, c.cand));
          for (const load of [1, 2, 4]) {
            const got = greedyPhase(c.b, c.cand, { load });
            expect([...got.pair], `case ${j} load ${load}: assignment`).to.deep.equal(want.pair);
            expect([...got.taken], `case ${j} load ${load}: taken`).to.deep.equal(want.taken);
          }
          expect([...decide(c.b, c.cand, { greedyOnly: true }).pair], `case ${j}: decide, greedy only`).to.deep.equal(want.pair);
        }
      });
      it("the prices of a greedy result (§7.2) and the priced greedy (§7.3) should be the rule's", () => {
        let priced = 0;
        for (const [j, c] of cases().entries()) {
          const M = new RefMarket(c.b, c.cand);
          for (const start of [refGreedy(M).pair, [...c.pair]]) {
            const want = refPrices(M, start);
            const got = offerPrices(c.b, c.cand, decisionsFrom(c.b, c.cand, start));
            expect([...got].map(BigInt), `case ${j}: prices`).to.deep.equal(want);
            priced += want.filter((p) => p > 0n).length;
            const price = want.map(Number);
            expect([...greedyPhase(c.b, c.cand, { load: 2 }, Float64Array.from(price)).pair], `case ${j}: priced greedy`).to.deep.equal(refGreedy(M, price).pair);
          }
        }
        expect(priced, "offers with a price above 0").to.be.greaterThan(0);
      });
      it("improve (§7.5) should make the same moves as the rule from a random assignment", () => {
        let moves = 0;
        for (const [j, c] of cases().entries()) {
          const want = refImprove(new RefMarket(c.b, c.cand), c.pair);
          const d = copy(c);
          improvePhase(c.b, c.cand, d);
          expect([...d.pair], `case ${j}: assignment`).to.deep.equal(want.pair);
          expect([...d.taken], `case ${j}: taken`).to.deep.equal(want.taken);
          moves += want.moves;
        }
        expect(moves).to.be.greaterThan(0);
      });
      it("swap (§7.5) should make the same exchanges as the rule from a random assignment", () => {
        let swaps = 0;
        let unequal = 0;
        for (const [j, c] of cases().entries()) {
          const want = refSwap(new RefMarket(c.b, c.cand), c.pair);
          const d = copy(c);
          swapPhase(c.b, c.cand, d);
          expect([...d.pair], `case ${j}: assignment`).to.deep.equal(want.pair);
          expect([...d.taken], `case ${j}: taken`).to.deep.equal(want.taken);
          swaps += want.swaps;
          unequal += want.unequal;
        }
        expect(swaps, "swaps").to.be.greaterThan(0);
        if (family.spec.maxG > 1) expect(unequal, "swaps of orders of different sizes").to.be.greaterThan(0);
      });
      it("objectiveOf (§6) should equal the exact sum of the rule", () => {
        for (const [j, c] of cases().entries()) {
          const M = new RefMarket(c.b, c.cand);
          expect(objectiveOf(c.b, c.cand, c.pair), `case ${j}`).to.equal(refObjective(M, c.pair));
        }
      });
    });
  }
});

/** Where each order ends (versionId or null). */
type Ends = (number | null)[];

describe("greedy with more heap rows than the heap first holds (1 024)", () => {
  it("given 24 orders of 70 candidate pairs each and 64 pairs loaded per order: should assign the same pairs as the rule", () => {
    // 24 × (64 + 1) = 1 560 rows are pushed before the first pop, so the heap's arrays grow once.
    const spec: PhaseSpec = { offers: 70, orders: 24, maxG: 2, maxFree: 2, maxLeased: 1, density: 1, bases: FEW_BASES, availability: 1_000, open: 1 };
    const [c] = phaseCases(4_242, spec, 1);
    const got = greedyPhase(c!.b, c!.cand, { load: 64 });
    const want = refGreedy(new RefMarket(c!.b, c!.cand));
    expect([...got.pair]).to.deep.equal(want.pair);
    expect([...got.taken]).to.deep.equal(want.taken);
  });
});

describe("greedy tie-breaks on hand-made markets (docs/matching.md §7.1)", () => {
  // handCase: offers by free GPUs (versionId = position + 1, cheaper as the versionId grows, so listed in reverse).
  const greedy = (c: ReturnType<typeof handCase>, load: number): Ends => {
    const got = greedyPhase(c.b, c.cand, { load }).pair;
    expect([...got], `load ${load}: the rule`).to.deep.equal(refGreedy(new RefMarket(c.b, c.cand)).pair);
    return c.versionOf(got);
  };
  describe("given two orders worth the same on the only free GPU", () => {
    const c = (b2: number) => handCase([1], [1, 1], [[[1, 40_000_000]], [[1, b2]]], [null, null]);
    for (const load of [1, 4]) {
      it(`load ${load}: should give it to the smaller orderId; to order 2 once it is worth 1 more`, () => {
        expect(greedy(c(40_000_000), load)).to.deep.equal([1, null]);
        expect(greedy(c(39_999_999), load)).to.deep.equal([1, null]);
        expect(greedy(c(40_000_001), load)).to.deep.equal([null, 1]);
      });
    }
  });
  describe("given one order worth the same on two offers (the one of larger versionId listed first)", () => {
    const c = (b2: number) => handCase([1, 1], [1], [[[1, 40_000_000], [2, b2]]], [null]);
    for (const load of [1, 4]) {
      it(`load ${load}: should take the smaller versionId; the other once it is worth 1 more`, () => {
        expect(greedy(c(40_000_000), load)).to.deep.equal([1]);
        expect(greedy(c(39_999_999), load)).to.deep.equal([1]);
        expect(greedy(c(40_000_001), load)).to.deep.equal([2]);
      });
    }
  });
  describe("given six orders worth the same on six identical offers, more than the pairs loaded", () => {
    it("should pair order k with offer k for every load (orderId, then versionId)", () => {
      const pairs = Array.from({ length: 6 }, (): [number, number][] => [1, 2, 3, 4, 5, 6].map((v): [number, number] => [v, 30_000_000]));
      const c = handCase([1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1], pairs, [null, null, null, null, null, null]);
      for (const load of [1, 2, 3, 5, 6]) expect(greedy(c, load), `load ${load}`).to.deep.equal([1, 2, 3, 4, 5, 6]);
    });
  });
  describe("given a pair whose value falls while it waits in the heap (headroom weighted 10 000, no base)", () => {
    it("should re-rank it and serve the pair of larger value now", () => {
      // Offer 1: 4 GPUs, offer 2: 2 GPUs (versionIds). Orders 1 and 2 (1 GPU each) on both; with equal bases the
      // first unit of each offer is worth a(0) = 10 000 (F = C), then offer 1's next 7 500, offer 2's next 5 000.
      const c = handCase([4, 2], [1, 1, 1], [[[1, 0], [2, 0]], [[1, 0], [2, 0]], [[1, 0], [2, 0]]], [null, null, null], 10_000);
      expect(greedy(c, 1)).to.deep.equal([1, 2, 1]);
    });
  });
});

describe("offer prices on hand-made markets (docs/matching.md §7.2)", () => {
  const priced = (c: ReturnType<typeof handCase>, pair: Int32Array): number[] => {
    const got = [...offerPrices(c.b, c.cand, decisionsFrom(c.b, c.cand, pair))];
    expect(got.map(BigInt), "the rule").to.deep.equal(refPrices(new RefMarket(c.b, c.cand), pair));
    return got;
  };
  it("given a filled offer: its price should be the least loss of its occupants (base − best other base with room)", () => {
    // Offer 1 (2 GPUs) holds orders 1 (5·10^7; 2·10^7 on offer 2) and 2 (4·10^7; 3·10^7 on offer 3). Offers 2, 3
    // have room. Losses 3·10^7 and 10^7: price 10^7. Offers 2 and 3 are not filled: 0.
    const c = handCase([2, 1, 1], [1, 1], [[[1, 50_000_000], [2, 20_000_000]], [[1, 40_000_000], [3, 30_000_000]]], [1, 1]);
    expect(priced(c, c.pair)[c.at(1)]).to.equal(10_000_000);
    expect(priced(c, c.pair)[c.at(2)]).to.equal(0);
  });
  it("given an occupant whose other offer has no room for it: its alternative should count as 0", () => {
    // Order 1 (2 GPUs) on offer 1; offer 2 has 1 free GPU only: alt 0, loss 5·10^7.
    const c = handCase([2, 1], [2], [[[1, 50_000_000], [2, 45_000_000]]], [1]);
    expect(priced(c, c.pair)[c.at(1)]).to.equal(50_000_000);
  });
  it("given an occupant better off elsewhere: the price should be 0, not negative", () => {
    const c = handCase([1, 1], [1], [[[1, 20_000_000], [2, 30_000_000]]], [1]);
    expect(priced(c, c.pair)[c.at(1)]).to.equal(0);
  });
  it("given an offer one GPU short of full: its price should be 0", () => {
    const c = handCase([2, 1], [1], [[[1, 50_000_000], [2, 10_000_000]]], [1]);
    expect(priced(c, c.pair)[c.at(1)]).to.equal(0);
  });
});

describe("improve and swap on hand-made markets (docs/matching.md §7.5)", () => {
  const improved = (c: ReturnType<typeof handCase>): Ends => {
    const d = decisionsFrom(c.b, c.cand, c.pair);
    improvePhase(c.b, c.cand, d);
    expect([...d.pair], "the rule").to.deep.equal(refImprove(new RefMarket(c.b, c.cand), c.pair).pair);
    return c.versionOf(d.pair);
  };
  const swapped = (c: ReturnType<typeof handCase>): Ends => {
    const d = decisionsFrom(c.b, c.cand, c.pair);
    swapPhase(c.b, c.cand, d);
    expect([...d.pair], "the rule").to.deep.equal(refSwap(new RefMarket(c.b, c.cand), c.pair).pair);
    expect([...d.taken], "taken").to.deep.equal([...takenOf(c.b, c.cand, d.pair)]);
    return c.versionOf(d.pair);
  };

  describe("improve: an order on offer 1 whose offers 2 and 3 have room", () => {
    const c = (b2: number, b3: number) => handCase([1, 1, 1], [1], [[[1, 30_000_000], [2, b2], [3, b3]]], [1]);
    it("should move to the offer that gains most", () => expect(improved(c(31_000_000, 32_000_000))).to.deep.equal([3]));
    it("should move to the smaller versionId between equal gains", () => expect(improved(c(32_000_000, 32_000_000))).to.deep.equal([2]));
    it("should not move for a gain of 0", () => expect(improved(c(30_000_000, 30_000_000))).to.deep.equal([1]));
    it("should move for a gain of 1", () => expect(improved(c(30_000_000, 30_000_001))).to.deep.equal([3]));
  });
  describe("improve with headroom: a 2-GPU order leaving a busy offer for an empty one of the same base", () => {
    it("should move, as the headroom it frees and takes makes the move gain", () => {
      // Offer 1: 4 GPUs, 1 leased (C = 5), with order 1 (2 GPUs) and order 2 (1 GPU). Offer 2: 4 free of 4.
      const c = handCase([4, 4], [2, 1], [[[1, 30_000_000], [2, 30_000_000]], [[1, 30_000_000]]], [1, 1], 5_000, [1, 0]);
      expect(improved(c)).to.deep.equal([2, 1]);
    });
  });

  describe("swap: order 1 on offer 1 (2·10^7) would rather be on offer 2 (3·10^7), held by order 2", () => {
    // Order 2: b22 on offer 2, 10^7 on offer 1. The exchange gains (3·10^7 − 2·10^7) + (10^7 − b22).
    const c = (b22: number) => handCase([1, 1], [1, 1], [[[1, 20_000_000], [2, 30_000_000]], [[1, 10_000_000], [2, b22]]], [1, 2]);
    it("should swap when the exchange gains 1", () => expect(swapped(c(19_999_999))).to.deep.equal([2, 1]));
    it("should not swap when it gains 0", () => expect(swapped(c(20_000_000))).to.deep.equal([1, 2]));
    it("should not swap when it loses 1", () => expect(swapped(c(20_000_001))).to.deep.equal([1, 2]));
  });
  describe("swap: order 1 on offer 1 (1 GPU) and two occupants of offer 2 (2 GPUs) that would both exchange with it", () => {
    // Order 1: 10^7 on offer 1, 4·10^7 on offer 2. Orders 2 and 3 on offer 2: 10^7 there, 4·10^7 on offer 1.
    const pairs = (twoTakesOffer1: boolean): [number, number][][] => [
      [[1, 10_000_000], [2, 40_000_000]],
      twoTakesOffer1 ? [[1, 40_000_000], [2, 10_000_000]] : [[2, 10_000_000]],
      [[1, 40_000_000], [2, 10_000_000]],
    ];
    it("should exchange with the smaller orderId (order 2)", () => {
      expect(swapped(handCase([1, 2], [1, 1, 1], pairs(true), [1, 2, 2]))).to.deep.equal([2, 1, 2]);
    });
    it("should exchange with order 3 when offer 1 is not a candidate of order 2", () => {
      expect(swapped(handCase([1, 2], [1, 1, 1], pairs(false), [1, 2, 2]))).to.deep.equal([2, 2, 1]);
    });
  });
  describe("swap: an order served on the first pair of the candidate lists (pair index 0)", () => {
    it("should take part like any other", () => {
      // Order 1 sits on offer 2, its first listed pair (offers are listed versionId descending here), at 10^7; it
      // would rather be on offer 1 (3·10^7), held by order 2, which takes offer 2 in exchange at no loss.
      const c = handCase([1, 1], [1, 1], [[[2, 10_000_000], [1, 30_000_000]], [[1, 20_000_000], [2, 20_000_000]]], [2, 1]);
      expect(c.pair[0]).to.equal(0);
      expect(swapped(c)).to.deep.equal([1, 2]);
    });
  });
  describe("swap: occupants of an offer stay in orderId order after an exchange", () => {
    // Offers A (versionId 1), F (2, 3 GPUs), S (3). Order 1, 3 and 4 on F, order 2 on A, order 5 on S. Order 2
    // (10^7 on A, 3·10^7 on F) exchanges with order 4 (2·10^7 on F and on A): F then holds orders 1, 2, 3. Order 5
    // (10^7 on S, 4·10^7 on F) then exchanges with the first occupant of F, by orderId, that takes S.
    const c = (takesS: [number, number]) =>
      handCase(
        [1, 3, 1],
        [1, 1, 1, 1, 1],
        [
          takesS.includes(1) ? [[2, 20_000_000], [3, 15_000_000]] : [[2, 20_000_000]],
          takesS.includes(2) ? [[1, 10_000_000], [2, 30_000_000], [3, 25_000_000]] : [[1, 10_000_000], [2, 30_000_000]],
          takesS.includes(3) ? [[2, 20_000_000], [3, 15_000_000]] : [[2, 20_000_000]],
          [[2, 20_000_000], [1, 20_000_000]],
          [[3, 10_000_000], [2, 40_000_000]],
        ],
        [2, 1, 2, 2, 3],
      );
    it("should exchange order 5 with order 2 (placed between 1 and 3) when orders 2 and 3 take S", () => {
      expect(swapped(c([2, 3]))).to.deep.equal([2, 3, 2, 1, 2]);
    });
    it("should exchange order 5 with order 1 when orders 1 and 2 take S", () => {
      expect(swapped(c([1, 2]))).to.deep.equal([3, 2, 2, 1, 2]);
    });
  });
  describe("swap: an order with more better offers than SWAP_TRIES", () => {
    // Order 1 on offer 1 (base 10^7); offers 2‥11 are better for it (base 2·10^7 each: tried by versionId); each
    // holds one order (2·10^7 there); only the occupant of offer k has offer 1 as a candidate, at 1.5·10^7: the
    // exchange gains 10^7 − 5·10^6 > 0, and offer 1 is no better offer for that occupant.
    const c = (k: number) => {
      const free = Array.from({ length: 11 }, () => 1);
      const pairs: [number, number][][] = [[[1, 10_000_000], ...Array.from({ length: 10 }, (_, i): [number, number] => [i + 2, 20_000_000])]];
      for (let v = 2; v <= 11; v++) pairs.push(v === k ? [[v, 20_000_000], [1, 15_000_000]] : [[v, 20_000_000]]);
      return handCase(free, Array.from({ length: 11 }, () => 1), pairs, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    };
    it("should reach the 8th better offer (versionId 9)", () => expect(swapped(c(9))[0]).to.equal(9));
    it("should not reach the 9th (versionId 10)", () => expect(swapped(c(10))[0]).to.equal(1));
  });
  describe("swap of orders of different sizes: the offer that receives more GPUs must stay within its free GPUs", () => {
    // Order 1 (1 GPU) on offer 1 (F free GPUs, also holding order 3 of 1 GPU), order 2 (2 GPUs) on offer 2 (2 free).
    // After the exchange offer 1 holds 1 + 2 GPUs. Gain 1·(4·10^7 − 10^7) + 2·(3·10^7 − 2·10^7) > 0.
    const c = (F: number) =>
      handCase([F, 2], [1, 2, 1], [[[1, 10_000_000], [2, 40_000_000]], [[1, 30_000_000], [2, 20_000_000]], [[1, 10_000_000]]], [1, 2, 1]);
    it("should not swap when offer 1 has 2 free GPUs (one short)", () => expect(swapped(c(2))).to.deep.equal([1, 2, 1]));
    it("should swap when offer 1 has exactly 3", () => expect(swapped(c(3))).to.deep.equal([2, 1, 1]));
    it("should swap when offer 1 has 4", () => expect(swapped(c(4))).to.deep.equal([2, 1, 1]));
  });
  describe("swap of orders of different sizes: the other offer's free GPUs", () => {
    // Order 1 (2 GPUs) on offer 1 (2 free), order 2 (1 GPU) on offer 2 (F free, also holding order 3 of 1 GPU).
    const c = (F: number) =>
      handCase([2, F], [2, 1, 1], [[[1, 10_000_000], [2, 40_000_000]], [[1, 30_000_000], [2, 20_000_000]], [[2, 10_000_000]]], [1, 2, 2]);
    it("should not swap when offer 2 has 2 free GPUs (one short)", () => expect(swapped(c(2))).to.deep.equal([1, 2, 2]));
    it("should swap when offer 2 has exactly 3", () => expect(swapped(c(3))).to.deep.equal([2, 1, 2]));
  });
});

describe("objectiveOf above 2^53 (docs/matching.md §6, §12)", () => {
  it("should equal the exact bigint sum when the base part and the headroom part each pass 2^53", () => {
    // 3 000 offers of 65 536 free GPUs, each holding one order of 65 525–65 529 GPUs (odd) at an odd base near 10^8:
    // the base terms sum to ≈ 1.97·10^16 ≈ 2^54.1, the headroom terms to ≈ 9.8·10^15 ≈ 2^53.1, each of them odd too
    // (w_availability 9 999, and Σ_{k<g} a(k) is odd for these g); a double sum of either would lose its last bits.
    const n = 3_000;
    const p = provider(1);
    const offers = Array.from({ length: n }, (_, i) => offer(i + 1, p, { gpuCount: 65_536, gpusLeased: 0 }));
    const orders = Array.from({ length: n }, (_, j) => order(j + 1, { gpuCount: [65_529, 65_527, 65_525][j % 3]! }));
    const weights = { region: 1, price: 0, uptime: 0, reputation: 0, availability: 9_999, slashing: 0, stake: 0, random: 0 };
    const b = prepareBatch({ referenceBlock: REFERENCE_BLOCK, catalog: GPU_CATALOG, providers: [p], offers, orders, weights }, seedOf(3));
    const index = new Map(b.offers.map((v, f) => [Number(v.versionId), f]));
    const cand: Candidates = {
      start: Int32Array.from({ length: n + 1 }, (_, i) => i),
      offer: Int32Array.from({ length: n }, (_, j) => index.get(j + 1)!),
      base: Int32Array.from({ length: n }, (_, j) => 99_999_999 - 2 * j),
    };
    const pair = Int32Array.from({ length: n }, (_, j) => j);
    const want = refObjective(new RefMarket(b, cand), pair);
    expect(want > 2n ** 54n).to.equal(true);
    expect(objectiveOf(b, cand, pair)).to.equal(want);
    // Half the orders served: a sum between 2^53 and 2^54 whose headroom part alone is below 2^53.
    const half = Int32Array.from(pair, (e, j) => (j % 2 === 0 ? e : -1));
    expect(objectiveOf(b, cand, half)).to.equal(refObjective(new RefMarket(b, cand), half));
  });
});

/**
 * docs §8 written from the table: the offers active at R_b in the order's payment token and of its model (or, for
 * model 0, of a catalog model of tier ≥ minTier), then each filter in turn; the reason is the first filter that
 * leaves none. An order with an offer left after every filter but still open lost it to this batch's takers.
 */
function ruleReason(inputs: MatchInputs, oi: number): UnmatchedReason {
  const R = inputs.referenceBlock;
  const o = inputs.orders[oi]!;
  if (o.status !== OrderStatus.Open || o.createdAt > R) return UnmatchedReason.OrderNotOpen;
  if (o.expiresAt <= R) return UnmatchedReason.OrderExpired;
  const tier = new Map(inputs.catalog.map((m) => [m.id, m.tier]));
  const provider = new Map(inputs.providers.map((p) => [p.provider.toLowerCase(), p]));
  let left = inputs.offers.filter(
    (v) =>
      v.activeFrom <= R &&
      (v.activeUntil === 0n || R < v.activeUntil) &&
      v.paymentToken.toLowerCase() === o.paymentToken.toLowerCase() &&
      (o.modelId !== 0 ? v.modelId === o.modelId : (tier.get(v.modelId) ?? -1) >= o.minTier),
  );
  const filters: [UnmatchedReason, (v: OfferVersion, p: Provider) => boolean][] = [
    [UnmatchedReason.NoOfferInRegion, (_, p) => o.regionMask === 0n || (p.zone >> 8 < 64 && ((o.regionMask >> BigInt(p.zone >> 8)) & 1n) === 1n)],
    [UnmatchedReason.ProviderNotActive, (_, p) => p.status === ProviderStatus.Active],
    [UnmatchedReason.PriceAboveMax, (v) => v.pricePerGpuHour <= o.maxPricePerGpuHour],
    [UnmatchedReason.UptimeTooLow, (_, p) => p.uptimeBps >= o.minUptimeBps],
    [UnmatchedReason.ReputationTooLow, (_, p) => reputationBps(p) >= o.minReputationBps],
    [UnmatchedReason.TooManySlashes, (_, p) => p.timesSlashed <= o.maxTimesSlashed],
    [UnmatchedReason.CapacityTooSmall, (v) => Math.min(Math.max(v.gpuCount - v.gpusLeased, 0), 65_536) >= o.gpuCount],
  ];
  if (left.length === 0) return UnmatchedReason.NoOfferForModel;
  for (const [reason, keep] of filters) {
    left = left.filter((v) => keep(v, provider.get(v.provider.toLowerCase())!));
    if (left.length === 0) return reason;
  }
  return UnmatchedReason.CapacityTaken;
}

/** A market where orders fall out at every filter, often at the limit itself or one past it. */
function reasonMarket(seed: number): MatchInputs {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const R = REFERENCE_BLOCK;
  const providers = Array.from({ length: 6 }, (_, i) =>
    provider(i + 1, {
      status: r() < 0.25 ? pick([ProviderStatus.Jailed, ProviderStatus.Maintenance, ProviderStatus.Exiting]) : ProviderStatus.Active,
      zone: zoneId(pick([0, 2, 4, 64]), 1),
      uptimeBps: pick([8_999, 9_000, 9_001, 10_000]),
      leasesCompleted: pick([0, 3, 49, 50]),
      leasesFailed: pick([0, 1, 2]),
      timesSlashed: pick([0, 1, 2]),
    }),
  );
  const offers = Array.from({ length: 14 }, (_, i) =>
    offer(i + 1, pick(providers), {
      modelId: pick([RTX4090, L40S, H100, 13]),
      paymentToken: r() < 0.8 ? USDC : WIDE,
      pricePerGpuHour: pick([1_999_999n, 2_000_000n, 2_000_001n]),
      gpuCount: 1 + Math.floor(r() * 4),
      gpusLeased: pick([0, 0, 1, 5]),
      activeFrom: pick([R - 5n, R, R + 1n]),
      activeUntil: pick([0n, 0n, R, R + 1n]),
    }),
  );
  const orders = Array.from({ length: 40 }, (_, j) => {
    const defect = r();
    return order(j + 1, {
      modelId: pick([0, RTX4090, L40S, H100, 12]),
      minTier: pick([Tier.Entry, Tier.Low, Tier.High, Tier.Ultra]),
      regionMask: pick([0n, 1n, 1n << 2n, 1n << 4n, (1n << 2n) | 1n, 1n << 1n, 1n << 63n]),
      maxPricePerGpuHour: pick([1_999_999n, 2_000_000n, 2_000_001n]),
      minUptimeBps: pick([0, 9_000, 9_001]),
      minReputationBps: pick([0, 9_622, 9_623, 9_808]),
      maxTimesSlashed: pick([0, 1, 2]),
      gpuCount: 1 + Math.floor(r() * 4),
      paymentToken: r() < 0.9 ? USDC : WIDE,
      status: defect < 0.03 ? OrderStatus.Cancelled : OrderStatus.Open,
      createdAt: defect > 0.97 ? R + 1n : pick([R - 10n, R]),
      expiresAt: defect > 0.03 && defect < 0.06 ? R : pick([R + 1n, R + 1_000n]),
    });
  });
  return { referenceBlock: R, catalog: GPU_CATALOG, providers, offers, orders, weights: DEFAULT_WEIGHTS };
}

describe("reason codes of orders left open (docs/matching.md §8) against the table written a second time", () => {
  it("given 12 markets with filters at their limits: every open order should carry the rule's reason, and every code appear", () => {
    const seen = new Set<UnmatchedReason>();
    for (let seed = 1; seed <= 12; seed++) {
      const inputs = reasonMarket(seed);
      const result = matchBatch(inputs, seedOf(seed));
      const served = new Set(result.assignments.map((a) => a.orderId));
      const got = new Map(result.unmatched.map((u) => [u.orderId, u.reason]));
      for (const [oi, o] of inputs.orders.entries()) {
        if (served.has(o.orderId)) {
          expect(ruleReason(inputs, oi), `seed ${seed} order ${o.orderId} served`).to.equal(UnmatchedReason.CapacityTaken);
          continue;
        }
        expect(got.get(o.orderId), `seed ${seed} order ${o.orderId}`).to.equal(ruleReason(inputs, oi));
        seen.add(got.get(o.orderId)!);
      }
    }
    expect([...seen].sort((a, b) => a - b)).to.deep.equal(Object.values(UnmatchedReason).filter((v): v is number => typeof v === "number").sort((a, b) => a - b));
  });
});

/** docs §9 from the inputs and the assignments alone (totalValue, the objective, is checked against §6 above). */
function ruleQuality(inputs: MatchInputs, r: MatchResult): Omit<MatchQuality, "totalValue"> {
  const R = inputs.referenceBlock;
  const open = inputs.orders.filter((o) => o.status === OrderStatus.Open && o.createdAt <= R && R < o.expiresAt);
  const byId = new Map(inputs.orders.map((o) => [o.orderId, o]));
  const offerOf = new Map(inputs.offers.map((v) => [v.versionId, v]));
  const bps = (num: number, den: number): number => (den === 0 ? BPS : Math.floor((num * BPS) / den));
  let paid = 0n;
  let max = 0n;
  const perProvider = new Map<string, number>();
  for (const a of r.assignments) {
    const o = byId.get(a.orderId)!;
    const v = offerOf.get(a.offerVersionId)!;
    paid += v.pricePerGpuHour * BigInt(o.gpuCount);
    max += o.maxPricePerGpuHour * BigInt(o.gpuCount);
    const p = v.provider.toLowerCase();
    perProvider.set(p, (perProvider.get(p) ?? 0) + o.gpuCount);
  }
  const gpusRequested = open.reduce((s, o) => s + o.gpuCount, 0);
  const gpusMatched = r.assignments.reduce((s, a) => s + byId.get(a.orderId)!.gpuCount, 0);
  return {
    ordersOpen: open.length,
    ordersMatched: r.assignments.length,
    fillRateOrdersBps: bps(r.assignments.length, open.length),
    gpusRequested,
    gpusMatched,
    fillRateGpusBps: bps(gpusMatched, gpusRequested),
    meanPriceVsMaxBps: max === 0n ? BPS : Number((paid * BigInt(BPS)) / max),
    gpusPerProvider: inputs.providers
      .map((p) => p.provider)
      .sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1))
      .filter((p) => perProvider.has(p.toLowerCase()))
      .map((p) => ({ provider: p, gpus: perProvider.get(p.toLowerCase())!, shareBps: bps(perProvider.get(p.toLowerCase())!, gpusMatched) })),
  };
}

describe("market-quality figures (docs/matching.md §9) against the definitions written a second time", () => {
  it("given the 12 markets of the reason-code test: every figure should be the rule's", () => {
    for (let seed = 1; seed <= 12; seed++) {
      const inputs = reasonMarket(seed);
      const { totalValue, ...figures } = matchBatch(inputs, seedOf(seed)).quality;
      expect(figures, `seed ${seed}`).to.deep.equal(ruleQuality(inputs, matchBatch(inputs, seedOf(seed))));
      expect(totalValue > 0n).to.equal(figures.ordersMatched > 0);
    }
  });
  it("given a batch with no open order: the fill rates and the mean price should read 10 000, nothing requested or matched", () => {
    const inputs = reasonMarket(1);
    const closed = { ...inputs, orders: inputs.orders.map((o) => ({ ...o, status: OrderStatus.Cancelled })) };
    const q = matchBatch(closed, seedOf(1)).quality;
    expect([q.ordersOpen, q.gpusRequested, q.gpusMatched, q.fillRateOrdersBps, q.fillRateGpusBps, q.meanPriceVsMaxBps, q.totalValue]).to.deep.equal([0, 0, 0, 10_000, 10_000, 10_000, 0n]);
  });
});

/** The phases after §7.3 (engine's refine) on a copy of `start`. */
function laterPhases(b: PhaseCase["b"], cand: Candidates, start: Decisions): number[] {
  const d = { pair: Int32Array.from(start.pair), taken: Float64Array.from(start.taken) };
  refine(b, cand, d, chainArcs(b.orders.length));
  return [...d.pair];
}

describe("plain or priced greedy (docs/matching.md §7.3)", () => {
  it("given both passes worth the same objective with different assignments: decide should go on from the priced one", () => {
    // A one-GPU market of the first family above where the two passes tie and the phases after them end apart.
    const spec: PhaseSpec = { offers: 5, orders: 8, maxG: 1, maxFree: 2, maxLeased: 0, density: 0.5, bases: FEW_BASES, availability: 0, open: 1 };
    const c = phaseCases(7_003, spec, 3)[0]!;
    const plain = greedyPhase(c.b, c.cand);
    const priced = greedyPhase(c.b, c.cand, {}, offerPrices(c.b, c.cand, plain));
    expect(objectiveOf(c.b, c.cand, priced.pair)).to.equal(objectiveOf(c.b, c.cand, plain.pair));
    expect([...priced.pair]).to.not.deep.equal([...plain.pair]);
    const fromPriced = laterPhases(c.b, c.cand, priced);
    expect(fromPriced).to.not.deep.equal(laterPhases(c.b, c.cand, plain));
    expect([...decide(c.b, c.cand).pair]).to.deep.equal(fromPriced);
  });
});
