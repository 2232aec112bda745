/**
 * The reference transportation solver (protocol/matching/optimum/flow.ts, docs/matching.md §10) on hand-made
 * problems: its value against an enumeration of every way to send each unit of each order to one of the order's
 * offers or to the sink (units of one order may split: that is the relaxation it solves), the flow it returns
 * against its own value and capacities, and its node potentials against the property its interface states (every
 * residual arc has a reduced cost ≥ 0), which is what lets the Lagrangian bound start from them.
 */
import { expect } from "chai";
import { solveFlow, type FlowProblem, type FlowSolution } from "../../protocol/matching/optimum/flow.js";
import { mulberry32 } from "../support/matching/tie-markets.js";

interface FlowSpec {
  orders: number;
  offers: number;
  maxSupply: number;
  maxCapacity: number;
  density: number;
  values: number[];
  /** Slot values are drawn from these and sorted non-increasing per offer. */
  slots: number[];
}

function problem(seed: number, spec: FlowSpec): FlowProblem {
  const r = mulberry32(seed);
  const pick = (k: number): number => Math.floor(r() * k);
  const supply = Array.from({ length: spec.orders }, () => pick(spec.maxSupply + 1));
  const capacity = Array.from({ length: spec.offers }, () => pick(spec.maxCapacity + 1));
  const start = [0];
  const arcOffer: number[] = [];
  const arcValue: number[] = [];
  for (let o = 0; o < spec.orders; o++) {
    for (let f = 0; f < spec.offers; f++) {
      if (r() >= spec.density) continue;
      arcOffer.push(f);
      arcValue.push(spec.values[pick(spec.values.length)]!);
    }
    start.push(arcOffer.length);
  }
  const slot = capacity.map((c) => Array.from({ length: c }, () => spec.slots[pick(spec.slots.length)]!).sort((a, b) => b - a));
  return {
    orders: spec.orders,
    offers: spec.offers,
    supply,
    capacity,
    arcStart: Int32Array.from(start),
    arcOffer: Int32Array.from(arcOffer),
    arcValue: Float64Array.from(arcValue),
    slotValue: (f, k) => slot[f]![k]!,
    valueCap: Math.max(...spec.values),
    slotCap: Math.max(...spec.slots),
  };
}

/** The best value over every way to send each unit to one of its order's arcs or to the sink, within capacity. */
function enumerate(p: FlowProblem): number {
  const units: number[] = [];
  for (let o = 0; o < p.orders; o++) for (let u = 0; u < p.supply[o]!; u++) units.push(o);
  const used = new Array<number>(p.offers).fill(0);
  let best = 0;
  const visit = (i: number, value: number): void => {
    if (i === units.length) {
      let total = value;
      for (let f = 0; f < p.offers; f++) for (let k = 0; k < used[f]!; k++) total += p.slotValue(f, k);
      best = Math.max(best, total);
      return;
    }
    visit(i + 1, value);
    const o = units[i]!;
    for (let e = p.arcStart[o]!; e < p.arcStart[o + 1]!; e++) {
      const f = p.arcOffer[e]!;
      if (used[f]! >= p.capacity[f]!) continue;
      used[f]!++;
      visit(i + 1, value + p.arcValue[e]!);
      used[f]!--;
    }
  };
  visit(0, 0);
  return best;
}

/** Everything solveFlow's interface promises, checked on its answer; returns the enumerated optimum. */
function expectOptimal(p: FlowProblem, s: FlowSolution, label: string): number {
  const best = enumerate(p);
  expect(s.value, `${label}: value`).to.equal(best);
  expectCertified(p, s, label);
  return best;
}

/**
 * The flow within supply and capacity, worth the value returned, and no residual arc of negative reduced cost under
 * the potentials returned: together a proof that the flow is optimal (a feasible flow is of least cost iff some
 * potential leaves no negative reduced cost in its residual graph), for problems too large to enumerate.
 */
function expectCertified(p: FlowProblem, s: FlowSolution, label: string): void {
  const m = p.orders;
  const T = m + p.offers;
  const into = new Array<number>(p.offers).fill(0);
  let value = 0;
  for (let o = 0; o < m; o++) {
    let out = 0;
    for (let e = p.arcStart[o]!; e < p.arcStart[o + 1]!; e++) {
      expect(s.flow[e]!, `${label}: flow ≥ 0`).to.be.at.least(0);
      out += s.flow[e]!;
      into[p.arcOffer[e]!]! += s.flow[e]!;
      value += s.flow[e]! * p.arcValue[e]!;
    }
    expect(out, `${label}: order ${o} sends at most its supply`).to.be.at.most(p.supply[o]!);
  }
  for (let f = 0; f < p.offers; f++) {
    expect(s.used[f], `${label}: used of offer ${f}`).to.equal(into[f]);
    expect(s.used[f]!, `${label}: capacity of offer ${f}`).to.be.at.most(p.capacity[f]!);
    for (let k = 0; k < s.used[f]!; k++) value += p.slotValue(f, k);
  }
  expect(value, `${label}: value of the flow returned`).to.equal(s.value);
  // Reduced costs of the residual graph (costs as the interface defines them).
  const pi = s.potential;
  const dummyCost = p.valueCap + p.slotCap;
  for (let o = 0; o < m; o++) {
    let out = 0;
    for (let e = p.arcStart[o]!; e < p.arcStart[o + 1]!; e++) {
      const w = m + p.arcOffer[e]!;
      const cost = p.valueCap - p.arcValue[e]!;
      out += s.flow[e]!;
      if (s.flow[e]! < p.supply[o]!) expect(cost + pi[o]! - pi[w]!, `${label}: arc ${e} forward`).to.be.at.least(0);
      if (s.flow[e]! > 0) expect(-cost + pi[w]! - pi[o]!, `${label}: arc ${e} backward`).to.be.at.least(0);
    }
    const unmatched = p.supply[o]! - out;
    if (unmatched < p.supply[o]!) expect(dummyCost + pi[o]! - pi[T]!, `${label}: order ${o} to the sink`).to.be.at.least(0);
    if (unmatched > 0) expect(-dummyCost + pi[T]! - pi[o]!, `${label}: order ${o} from the sink`).to.be.at.least(0);
  }
  for (let f = 0; f < p.offers; f++) {
    const u = s.used[f]!;
    if (u < p.capacity[f]!) expect(p.slotCap - p.slotValue(f, u) + pi[m + f]! - pi[T]!, `${label}: offer ${f} next slot`).to.be.at.least(0);
    if (u > 0) expect(-(p.slotCap - p.slotValue(f, u - 1)) + pi[T]! - pi[m + f]!, `${label}: offer ${f} last slot back`).to.be.at.least(0);
  }
}

const FAMILIES: { name: string; cases: number; spec: FlowSpec }[] = [
  { name: "one unit per order (the assignment problem), three values, flat slots", cases: 24, spec: { orders: 5, offers: 3, maxSupply: 1, maxCapacity: 2, density: 0.6, values: [10, 20, 30], slots: [0] } },
  { name: "1–3 units per order, falling slot values, values that tie", cases: 24, spec: { orders: 3, offers: 3, maxSupply: 3, maxCapacity: 3, density: 0.7, values: [5, 10, 15], slots: [0, 4, 8] } },
  { name: "slots worth more than arcs (the headroom decides), dense arcs", cases: 20, spec: { orders: 4, offers: 2, maxSupply: 2, maxCapacity: 4, density: 0.9, values: [1, 2], slots: [3, 9, 27] } },
  { name: "scarce capacity, many competing orders", cases: 20, spec: { orders: 6, offers: 2, maxSupply: 2, maxCapacity: 2, density: 0.8, values: [7, 11, 13, 17], slots: [0, 1] } },
];

describe("reference transportation solver solveFlow (protocol/matching/optimum/flow.ts, docs/matching.md §10)", () => {
  for (const [k, family] of FAMILIES.entries()) {
    describe(`given ${family.cases} small problems: ${family.name}`, () => {
      it("should reach the enumerated optimum with a flow within supply and capacity, and potentials with no negative reduced cost", () => {
        let positive = 0;
        for (let i = 0; i < family.cases; i++) {
          const p = problem(5_000 * (k + 1) + i, family.spec);
          if (expectOptimal(p, solveFlow(p), `problem ${i}`) > 0) positive++;
        }
        expect(positive).to.be.greaterThan(family.cases / 2);
      });
    });
  }

  describe("given 12 problems of 40 orders of 1–4 units and 12 offers of 0–8 units (paths through many orders, larger heaps)", () => {
    it("should return a feasible flow worth its value, certified optimal by its potentials", () => {
      // Values and slots spread over many integers, so that paths rarely tie: a heap that pops a node too early
      // settles it at a wrong distance, which the certificate then shows.
      const values = Array.from({ length: 200 }, (_, i) => 1_000 + 7_919 * i);
      const slots = Array.from({ length: 50 }, (_, i) => 13 * i * i);
      const spec: FlowSpec = { orders: 40, offers: 12, maxSupply: 4, maxCapacity: 8, density: 0.3, values, slots };
      let matched = 0;
      for (let i = 0; i < 12; i++) {
        const p = problem(9_000 + i, spec);
        const s = solveFlow(p);
        expectCertified(p, s, `problem ${i}`);
        matched += s.used.reduce((a, x) => a + x, 0);
      }
      expect(matched).to.be.greaterThan(0);
    });
  });

  describe("given an order whose best path moves another order (a unit sent back along a used arc)", () => {
    it("should reroute the first order's unit: 0 → B, 1 → A (value 9 + 10), not 0 → A alone", () => {
      // Offers A (0) and B (1) take one unit each; order 0 values A 10, B 9; order 1 values only A, at 10. Order 0 is
      // routed first and takes A; order 1's shortest path goes 1 → A → 0 (back) → B.
      const p: FlowProblem = {
        orders: 2,
        offers: 2,
        supply: [1, 1],
        capacity: [1, 1],
        arcStart: Int32Array.from([0, 2, 3]),
        arcOffer: Int32Array.from([0, 1, 0]),
        arcValue: Float64Array.from([10, 9, 10]),
        slotValue: () => 0,
        valueCap: 10,
        slotCap: 0,
      };
      const s = solveFlow(p);
      expectOptimal(p, s, "reroute");
      expect([...s.flow]).to.deep.equal([0, 1, 1]);
      expect([...s.used]).to.deep.equal([1, 1]);
    });
  });

  describe("given an offer whose later slots add nothing", () => {
    it("should be worth its first slot only (5), however many units it sends", () => {
      // One order of 3 units, one offer of capacity 3 whose arc is worth 0; slots worth 5, 0, 0: the value is 5 with
      // 1 unit (sending more adds 0, which the solver need not do); the enumeration agrees whatever it sends.
      const p: FlowProblem = {
        orders: 1,
        offers: 1,
        supply: [3],
        capacity: [3],
        arcStart: Int32Array.from([0, 1]),
        arcOffer: Int32Array.from([0]),
        arcValue: Float64Array.from([0]),
        slotValue: (_f, k) => (k === 0 ? 5 : 0),
        valueCap: 1,
        slotCap: 5,
      };
      expect(expectOptimal(p, solveFlow(p), "slots")).to.equal(5);
    });
  });
});
