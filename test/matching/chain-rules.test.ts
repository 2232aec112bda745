/**
 * The chain phase (docs/matching.md §7.6) rule by rule: protocol/matching/chains.ts against the rule written a
 * second time (test/support/matching/chain-reference.ts), on small hand-made candidate lists whose bases are drawn
 * from a handful of values, so that gains tie inside the search (which label an offer keeps, which terminal goes
 * first, which arcs an order keeps when it has more than CHAIN_ARCS), with one- and several-GPU orders, partly
 * leased offers (headroom), starting assignments that leave room for evictions and cycles, and 1–6 rounds.
 */
import { expect } from "chai";
import { CHAIN_ARCS, CHAIN_DEPTH, CHAIN_ROUNDS, CHAIN_STOP_SHIFT, chainArcs, chainPhase } from "../../protocol/matching/chains.js";
import { REF_ARCS, REF_DEPTH, REF_ROUNDS, REF_STOP_SHIFT, referenceChainPhase, type RefResult } from "../support/matching/chain-reference.js";
import { decisionsFrom, FEW_BASES, handMarket, tieAssignment, tieCases, tieMarket, type HandMarket, type TieCase, type TieMarketSpec } from "../support/matching/tie-markets.js";

export interface ChainCase extends TieCase {
  rounds: number;
}

/**
 * Cases on one market: offers with prices in a random order (so the offers' index order in the batch is not their
 * versionId order); per case, candidate lists in offer index order with bases drawn from `bases`, and a random
 * starting assignment within capacity. (One prepared market serves several cases: preparing is the slow part.)
 */
function chainCases(seed: number, spec: TieMarketSpec, count: number): ChainCase[] {
  const market = tieMarket(seed, spec);
  const { b, pick } = market;
  const inOrder = Array.from({ length: b.orders.length }, (_, oi) => oi);
  return tieCases(market, spec, count, (cand) => ({ b, cand, pair: tieAssignment(market, cand, inOrder, (draw) => draw >= 0.35), rounds: 1 + pick(CHAIN_ROUNDS) }));
}

/** Runs chains.ts on a copy of the case's assignment; returns what it left, how many chains it applied, its arcs. */
function engineRun(c: ChainCase): { pair: number[]; taken: number[]; applied: number; arcs: (number[] | null)[] } {
  const d = decisionsFrom(c.b, c.cand, c.pair);
  const { pair, taken } = d;
  const arcs = chainArcs(c.b.orders.length);
  const applied = chainPhase(c.b, c.cand, d, c.rounds, arcs);
  const loaded = Array.from({ length: pair.length }, (_, oi) =>
    arcs.arcLoaded[oi] === 1 ? [...arcs.arcOffer.subarray(oi * CHAIN_ARCS, oi * CHAIN_ARCS + arcs.arcCount[oi]!)] : null,
  );
  return { pair: [...pair], taken: [...taken], applied, arcs: loaded };
}

function expectSameAsRule(c: ChainCase, label: string): RefResult {
  const want = referenceChainPhase(c.b, c.cand, c.pair, c.rounds);
  const got = engineRun(c);
  expect(got.pair, `${label}: assignment`).to.deep.equal(want.pair);
  expect(got.taken, `${label}: taken`).to.deep.equal(want.taken);
  expect(got.applied, `${label}: chains applied`).to.equal(want.applied);
  // Every order with candidates starts a chain in the first round, so its arcs are loaded by then.
  const hasCandidates = (oi: number): boolean => c.cand.start[oi + 1]! > c.cand.start[oi]!;
  expect(got.arcs, `${label}: arcs`).to.deep.equal(want.arcs.map((a, oi) => (hasCandidates(oi) ? a : null)));
  return want;
}

/** Cases per prepared market. */
const PER_MARKET = 5;

const FAMILIES: { name: string; cases: number; spec: TieMarketSpec }[] = [
  {
    name: "one-GPU orders on offers with one or two free GPUs, no headroom term",
    cases: 30,
    spec: { offers: 5, orders: 7, maxG: 1, maxFree: 2, maxLeased: 0, density: 0.5, bases: FEW_BASES, availability: 0 },
  },
  {
    name: "one-GPU orders, partly leased offers, headroom weighted 3 000",
    cases: 30,
    spec: { offers: 5, orders: 7, maxG: 1, maxFree: 2, maxLeased: 3, density: 0.5, bases: FEW_BASES, availability: 3_000 },
  },
  {
    name: "orders of 1–3 GPUs on offers of 1–4 free GPUs, headroom weighted 2 000",
    cases: 40,
    spec: { offers: 6, orders: 8, maxG: 3, maxFree: 4, maxLeased: 2, density: 0.55, bases: FEW_BASES, availability: 2_000 },
  },
  {
    name: "orders of 1–2 GPUs, two bases only (ties everywhere), headroom weighted 5 000",
    cases: 30,
    spec: { offers: 6, orders: 9, maxG: 2, maxFree: 3, maxLeased: 4, density: 0.6, bases: [30_000_000, 40_000_000], availability: 5_000 },
  },
];

describe("chain phase against the rule of docs/matching.md §7.6 (test/support/matching/chain-reference.ts)", () => {
  it("given the constants: the reference should use the same CHAIN_DEPTH, CHAIN_ARCS, CHAIN_ROUNDS and CHAIN_STOP_SHIFT", () => {
    expect([CHAIN_DEPTH, CHAIN_ARCS, CHAIN_ROUNDS, CHAIN_STOP_SHIFT]).to.deep.equal([REF_DEPTH, REF_ARCS, REF_ROUNDS, REF_STOP_SHIFT]);
  });

  for (const [k, family] of FAMILIES.entries()) {
    describe(`given ${family.cases} cases on small markets: ${family.name}`, () => {
      it("should leave the same assignment and apply as many chains as the rule", () => {
        const total = { room: 0, evict: 0, close: 0, fromServed: 0, laterRounds: 0 };
        for (let i = 0; i < family.cases / PER_MARKET; i++) {
          for (const [j, c] of chainCases(1_000 * (k + 1) + i, family.spec, PER_MARKET).entries()) {
          const want = expectSameAsRule(c, `market ${i} case ${j}`);
          total.room += want.kinds.room;
          total.evict += want.kinds.evict;
          total.close += want.kinds.close;
          total.fromServed += want.kinds.fromServed;
          total.laterRounds += want.rounds.slice(1).reduce((s, x) => s + x.applied, 0);
          }
        }
        // The cases are only worth comparing if they apply chains of every kind, in rounds after the first too.
        for (const [kind, count] of Object.entries(total)) expect(count, kind).to.be.greaterThan(0);
      });
    });
  }

  describe("given orders with more candidate offers than CHAIN_ARCS, of two bases only", () => {
    it("should keep the same arcs as the rule (base desc, versionId asc), so the same chains", () => {
      // 30 one-GPU offers, orders that accept 20–30 of them: the 24th and 25th best arcs often tie on base.
      const spec: TieMarketSpec = { offers: 30, orders: 14, maxG: 1, maxFree: 1, maxLeased: 2, density: 0.85, bases: [30_000_000, 31_000_000], availability: 1_000 };
      for (let i = 0; i < 3; i++) for (const [j, c] of chainCases(9_000 + i, spec, PER_MARKET).entries()) expectSameAsRule(c, `market ${i} case ${j}`);
    });
  });
});

/**
 * A hand-made market: one-provider offers given by their free GPUs (versionId = position + 1, the price falling
 * with the versionId, so the batch lists them in reverse), orders by their GPU counts (orderId = position + 1), and
 * each order's candidate pairs as [versionId, base].
 */
function handCase(free: number[], gpus: number[], pairs: [number, number][][], served: (number | null)[], availability = 0): ChainCase & HandMarket {
  return { ...handMarket(free.map((F) => [F, 0] as const), gpus, pairs, served, availability), rounds: CHAIN_ROUNDS };
}

/** Where each order ends (versionId, or null if unmatched) after chains.ts, checked against the rule as well. */
function endsOn(c: ChainCase & HandMarket): (number | null)[] {
  expectSameAsRule(c, "hand-made");
  return c.versionOf(engineRun(c).pair);
}

describe("chain phase tie-breaks on hand-made markets (docs/matching.md §7.6 step 4)", () => {
  describe("given an order whose 25th-listed candidate is worth less than the 24 listed before it", () => {
    it("should keep the 24 listed first as its arcs and enter the best of them (smallest versionId)", () => {
      // 25 one-GPU offers; the order's pairs: versionIds 1–24 at 3.1·10^7, then 25 at 3·10^7.
      const list: [number, number][] = Array.from({ length: 25 }, (_, i): [number, number] => [i + 1, i < 24 ? 31_000_000 : 30_000_000]);
      const c = handCase(Array.from({ length: 25 }, () => 1), [1], [list], [null]);
      expect(endsOn(c)).to.deep.equal([1]);
      const arcs = engineRun(c).arcs[0]!.map((f) => Number(c.b.offers[f]!.versionId));
      expect(arcs).to.deep.equal(Array.from({ length: 24 }, (_, i) => i + 1));
    });
  });


  describe("given two occupants of a full offer whose eviction gains the same", () => {
    it("should evict the one of smaller orderId", () => {
      // X (versionId 1) has 2 GPUs, held by orders 1 and 2 (base 3·10^7 each, nowhere else to go); order 3
      // (base 5·10^7 on X only) enters by evicting one: both evictions gain 2·10^7.
      const c = handCase([2], [1, 1, 1], [[[1, 30_000_000]], [[1, 30_000_000]], [[1, 50_000_000]]], [1, 1, null]);
      expect(endsOn(c)).to.deep.equal([null, 1, 1]);
    });
    it("should evict the other one when it is worth less on X (one below the tie)", () => {
      const c = handCase([2], [1, 1, 1], [[[1, 30_000_000]], [[1, 29_999_999]], [[1, 50_000_000]]], [1, 1, null]);
      expect(endsOn(c)).to.deep.equal([1, null, 1]);
    });
  });

  describe("given an eviction and a cycle closing into the origin that gain the same", () => {
    it("should evict (evict before close), leaving the evicted order unmatched", () => {
      // Order 1 on O (versionId 1) moves to X (versionId 2, base 6·10^7 vs 2·10^7 on O); X's occupant, order 2,
      // can only go back into O at base 0: the close gains exactly what the eviction gains (no headroom term).
      const c = handCase([1, 1], [1, 1], [[[1, 20_000_000], [2, 60_000_000]], [[2, 30_000_000], [1, 0]]], [1, 2]);
      expect(endsOn(c)).to.deep.equal([2, null]);
    });
    it("should close the cycle once order 2 is worth 1 on O (one above the tie)", () => {
      const c = handCase([1, 1], [1, 1], [[[1, 20_000_000], [2, 60_000_000]], [[2, 30_000_000], [1, 1]]], [1, 2]);
      expect(endsOn(c)).to.deep.equal([2, 1]);
    });
  });

  describe("given two room chains of the same gain and length into different offers", () => {
    it("should apply the one ending on the smaller versionId (listed last in the batch), the other no longer fitting", () => {
      // One open order, two empty offers at the same base: both room terminals gain 4·10^7 at layer 0.
      const c = handCase([1, 1], [1], [[[1, 40_000_000], [2, 40_000_000]]], [null]);
      expect(c.at(1)).to.be.greaterThan(c.at(2));
      expect(endsOn(c)).to.deep.equal([1]);
    });
  });

  describe("given two chains of the same gain, one through fewer offers", () => {
    it("should apply the shorter one", () => {
      // Order 2 (open) can enter Y (versionId 2) directly, gain 4·10^7; or enter X (versionId 1, base 5·10^7) pushing
      // order 1 from X to Y (order 1: 3·10^7 on X, 2·10^7 on Y): 5 − 3 + 2 = 4·10^7 as well, through two offers.
      const c = handCase([1, 1], [1, 1], [[[1, 30_000_000], [2, 20_000_000]], [[1, 50_000_000], [2, 40_000_000]]], [1, null]);
      expect(endsOn(c)).to.deep.equal([1, 2]);
    });
  });
});

/**
 * Sums above 2^52 (docs/matching.md §12: chains.ts keeps exact sums as carries of 2^52 and a rest). The story of
 * test/matching/chain-stop.test.ts at full size, no headroom term: order A (65 536 GPUs; base 4·10^7 on X,
 * 2·10^7 on Y) and order B (65 536 GPUs; 3·10^7 on X only) are open, X and Y empty with 65 536 free GPUs. Round 1
 * serves A on X, G = 65 536 · 4·10^7 ≈ 2^41.3 (B cannot be labelled at X: A's gain there is larger); round 2 — next
 * to X — moves A to Y and serves B on X. Other orders, each on its own offer with no other candidate, only add to
 * the served base S (`fillers`: [gpuCount, base] each) or to round 1's gain (`open`: open orders with one empty
 * offer each).
 */
function bigCase(fillers: [number, number][], open: number): ChainCase {
  const G16 = 65_536;
  const free = [G16, G16, ...fillers.map(([g]) => g), ...Array.from({ length: open }, () => G16)];
  const gpus = [G16, G16, ...fillers.map(([g]) => g), ...Array.from({ length: open }, () => G16)];
  const own = (j: number, base: number): [number, number][] => [[3 + j, base]];
  const pairs: [number, number][][] = [
    [
      [1, 40_000_000],
      [2, 20_000_000],
    ],
    [[1, 30_000_000]],
    ...fillers.map(([, base], j) => own(j, base)),
    ...Array.from({ length: open }, (_, j) => own(fillers.length + j, 100_000_000)),
  ];
  const served = [null, null, ...fillers.map((_, j) => 3 + j), ...Array.from({ length: open }, () => null)];
  return handCase(free, gpus, pairs, served);
}

/** Served base of round 1 when the fillers sum to 65 536 · (4·10^7 · 4 095) + delta: S = G·2^12 + delta. */
function fillersFor(delta: number): [number, number][] {
  // 65 536 · 163 799 999 999 + (65 536 + delta): 1 637 fillers of 10^8, one of 10^8 − 1, and one 1-GPU order of
  // base 65 536 + delta listed first (so that a sum without carries rounds when it passes 2^53).
  return [[1, 65_536 + delta], ...Array.from({ length: 1_637 }, (): [number, number] => [65_536, 100_000_000]), [65_536, 99_999_999]];
}

describe("chain phase sums above 2^52 (docs/matching.md §7.6 stop rule, §12)", function () {
  this.timeout(60_000);
  const G = 65_536n * 40_000_000n;

  describe("given a served base S ≈ 2^53.3 after round 1, at the stop rule's edge", () => {
    for (const [delta, continues] of [
      [-1, true],
      [0, true],
      [1, false],
    ] as const) {
      it(`S = G·2^12${delta < 0 ? " − 1" : delta > 0 ? " + 1" : ""}: round 2 should ${continues ? "run: A moves to Y, B is served on X" : "not run: B stays open"}`, () => {
        const c = bigCase(fillersFor(delta), 0);
        let S = G;
        for (const [g, base] of fillersFor(delta)) S += BigInt(g) * BigInt(base);
        expect(S - (G << CHAIN_STOP_SHIFT)).to.equal(BigInt(delta));
        expect(S > 2n ** 53n).to.equal(true);
        const got = engineRun(c);
        expect(got.applied).to.equal(continues ? 2 : 1);
        const on = (oi: number): number | null => (got.pair[oi]! < 0 ? null : Number(c.b.offers[c.cand.offer[got.pair[oi]!]!]!.versionId));
        expect([on(0), on(1)]).to.deep.equal(continues ? [2, 1] : [1, null]);
      });
    }
  });

  describe("given round 1 applying 1 101 chains whose gains sum above 2^52 (more terminals than the 1 024 first allocated)", () => {
    it("should count the gain exactly (≈ 2^52.7) and run round 2: B is served", () => {
      const c = bigCase([], 1_100);
      const want = referenceChainPhase(c.b, c.cand, c.pair, c.rounds);
      expect(want.rounds[0]!.gain > 2n ** 52n).to.equal(true);
      const got = engineRun(c);
      expect(got.applied).to.equal(1_102);
      expect(got.pair).to.deep.equal(want.pair);
      expect(got.pair[1]).to.be.at.least(0);
    });
  });
});
