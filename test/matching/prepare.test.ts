import { expect } from "chai";
import { GPU_CATALOG } from "../../protocol/market/catalog.js";
import { ProviderStatus, type GpuModel, type OfferVersion, type Order, type Provider } from "../../protocol/market/types.js";
import { matchBatch } from "../../protocol/matching/engine.js";
import { MatchingErrorCode } from "../../protocol/matching/errors.js";
import { refusal } from "../support/matching/refusal.js";
import { buildCandidates, grownFloat64, grownInt32, isCandidate, pairBase, prepareBatch, regionAllowed, ScratchPool, type Candidates, type PreparedBatch } from "../../protocol/matching/prepare.js";
import { UnmatchedReason, type MatchInputs, type Seed } from "../../protocol/matching/types.js";
import { DEFAULT_WEIGHTS, generateInstance, REFERENCE_BLOCK, seedOf, WIDE } from "../support/matching/generator.js";
import { offer, order, provider, tinyBatch } from "../support/matching/tiny.js";

const R = REFERENCE_BLOCK;
const NO_RANDOM = { ...DEFAULT_WEIGHTS, region: DEFAULT_WEIGHTS.region + DEFAULT_WEIGHTS.random, random: 0 };
/** Any model, any region, any price, any provider record. */
const CATCH_ALL: Partial<Order> = { modelId: 0, minTier: 0, regionMask: 0n, maxPricePerGpuHour: 10n ** 12n, minUptimeBps: 0, minReputationBps: 0, maxTimesSlashed: 2 ** 32 - 1 };

function batch(providers: Provider[], offers: OfferVersion[], orders: Order[], over: Partial<MatchInputs> = {}): MatchInputs {
  return { referenceBlock: R, catalog: GPU_CATALOG, providers, offers, orders, weights: DEFAULT_WEIGHTS, ...over };
}

/** Served offer version of order 1, or its reason code. */
function outcome(inputs: MatchInputs): bigint | UnmatchedReason {
  const r = matchBatch(inputs, seedOf(3));
  return r.assignments.find((a) => a.orderId === 1n)?.offerVersionId ?? r.unmatched.find((u) => u.orderId === 1n)!.reason;
}

/** The candidate index (uncapped) lists exactly the pairs the one-pair filter accepts, each with its one-pair base. */
function expectIndexIsFilter(b: PreparedBatch, cand: Candidates): { listed: number; refused: number } {
  let listedPairs = 0;
  let refused = 0;
  for (let oi = 0; oi < b.orders.length; oi++) {
    const listed = new Map<number, number>();
    for (let e = cand.start[oi]!; e < cand.start[oi + 1]!; e++) listed.set(cand.offer[e]!, cand.base[e]!);
    expect(listed.size, `order ${oi}: each offer once`).to.equal(cand.start[oi + 1]! - cand.start[oi]!);
    for (let f = 0; f < b.offers.length; f++) {
      expect(isCandidate(b, oi, f), `order ${oi} offer ${f}`).to.equal(listed.has(f));
      if (listed.has(f)) expect(pairBase(b, oi, f)).to.equal(listed.get(f));
      else refused++;
    }
    listedPairs += listed.size;
  }
  return { listed: listedPairs, refused };
}

/** Positions of order oi's pairs in `cand`. */
const pairsOf = (cand: Candidates, oi: number): number[] => Array.from({ length: cand.start[oi + 1]! - cand.start[oi]! }, (_, i) => cand.start[oi]! + i);

describe("batch preparation (docs/matching.md §2–§4)", () => {
  describe("given generated markets and the hand-built batch, every (order, offer) pair", () => {
    for (const [label, make] of [
      ["hand-built", () => tinyBatch()],
      ["mixed/balanced, two tokens, seed 13", () => generateInstance({ seed: 13, orders: 40, offers: 30, sizes: "mixed", supply: "balanced", wideTokenPct: 30 })],
      ["unit/scarce, two tokens, seed 14", () => generateInstance({ seed: 14, orders: 40, offers: 30, sizes: "unit", supply: "scarce", wideTokenPct: 50 })],
      ["mixed/fragmented, seed 15", () => generateInstance({ seed: 15, orders: 40, offers: 30, sizes: "mixed", supply: "fragmented", wideTokenPct: 10 })],
    ] as const) {
      it(`${label}: the candidate index should list exactly the pairs the one-pair filter accepts, with the one-pair score`, () => {
        const b = prepareBatch(make(), seedOf(5));
        const { listed, refused } = expectIndexIsFilter(b, buildCandidates(b, new ScratchPool(), Infinity));
        expect(listed).to.be.greaterThan(0);
        expect(refused).to.be.greaterThan(0);
      });
    }
  });

  describe("given 40 offers in a second payment token and three orders paying in it (120 pairs, the first token has 2)", () => {
    it("should list every one of them: the arrays grow, keeping what is written, before a scan could pass their end", () => {
      const p = provider(1);
      const offers = [offer(1, p), ...Array.from({ length: 40 }, (_, i) => offer(i + 2, p, { paymentToken: WIDE, pricePerGpuHour: 10n ** 18n + BigInt(i) }))];
      const wide = { paymentToken: WIDE, maxPricePerGpuHour: 10n ** 19n };
      const b = prepareBatch(batch([p], offers, [order(1), order(2, wide), order(3, wide), order(4, wide), order(5)]), seedOf(6));
      const { listed } = expectIndexIsFilter(b, buildCandidates(b));
      expect(listed).to.equal(122);
    });
  });

  describe("given weights on availability only: every pair's base is 0, the lowest histogram bucket's edge", () => {
    // 12 H100 offers of one provider each, versionIds in another order than their asks; a catch-all order and an
    // H100 order accept all of them. Under a cap the lists keep the cap pairs of smallest versionId (bases tie).
    const AVAILABILITY_ONLY = { region: 0, price: 0, uptime: 0, reputation: 0, availability: 10_000, slashing: 0, stake: 0, random: 0 };
    const make = (): PreparedBatch => {
      const providers = Array.from({ length: 12 }, (_, i) => provider(i + 1));
      const offers = providers.map((p, i) => offer(1 + ((i * 5) % 12), p, { pricePerGpuHour: 2_000_000n + 1_000n * BigInt(i) }));
      return prepareBatch(batch(providers, offers, [order(1, CATCH_ALL), order(2, { maxPricePerGpuHour: 10n ** 12n })], { weights: AVAILABILITY_ONLY }), seedOf(8));
    };
    it("uncapped: should list all 12 pairs of both orders, each with base 0", () => {
      const b = make();
      const all = buildCandidates(b, new ScratchPool(), Infinity);
      expect(expectIndexIsFilter(b, all).listed).to.equal(24);
      expect([...all.base.subarray(0, 24)].every((v) => v === 0)).to.equal(true);
    });
    for (const cap of [3, 5, 6, 7, 8, 11, 12]) {
      it(`cap ${cap}${cap * 2 < 12 ? " (more than twice the cap: the list is cut while it is built)" : ""}: should keep versionIds 1–${cap} of each order, in listed order`, () => {
        const b = make();
        const capped = buildCandidates(b, new ScratchPool(), cap);
        for (let oi = 0; oi < 2; oi++) {
          const kept = pairsOf(capped, oi).map((e) => Number(b.offers[capped.offer[e]!]!.versionId));
          expect([...kept].sort((x, y) => x - y), `order ${oi}`).to.deep.equal(Array.from({ length: cap }, (_, i) => i + 1));
          expect(pairsOf(capped, oi).map((e) => capped.offer[e]!), `order ${oi}: listed order`).to.deep.equal(pairsOf(capped, oi).map((e) => capped.offer[e]!).sort((x, y) => x - y));
          expect(pairsOf(capped, oi).every((e) => capped.base[e] === 0)).to.equal(true);
        }
      });
    }
  });

  describe("given a growable buffer copied into a larger one (grownInt32, grownFloat64)", () => {
    it("should keep every value, in place, and fill the rest with 0", () => {
      expect([...grownInt32(Int32Array.from([7, -1, 2 ** 31 - 1]), 5)]).to.deep.equal([7, -1, 2 ** 31 - 1, 0, 0]);
      expect([...grownFloat64(Float64Array.from([2 ** 40 + 1, -3.5]), 4)]).to.deep.equal([2 ** 40 + 1, -3.5, 0, 0]);
    });
  });

  describe("given a 400 × 400 generated market, lists whole and cut by a cap of 8", () => {
    it("should list each order's pairs by offer index strictly ascending (pair look-ups search a list by halves)", () => {
      const b = prepareBatch(generateInstance({ seed: 16, orders: 400, offers: 400, sizes: "mixed", supply: "balanced", wideTokenPct: 10 }), seedOf(5));
      const all = buildCandidates(b, new ScratchPool(), Infinity);
      const capped = buildCandidates(b, new ScratchPool(), 8);
      let cut = 0;
      for (let oi = 0; oi < b.orders.length; oi++) {
        for (const cand of [all, capped]) {
          const list = Array.from(cand.offer.subarray(cand.start[oi]!, cand.start[oi + 1]!));
          expect(list, `order ${oi}`).to.deep.equal([...new Set(list)].sort((x, y) => x - y));
        }
        if (all.start[oi + 1]! - all.start[oi]! > 8) cut++;
      }
      expect(cut).to.be.greaterThan(10);
    });
  });

  describe("given a catch-all order and offers of several models, regions and equal prices, with the catalog reversed", () => {
    it("should list its pairs by model, region, price, then versionId, ascending", () => {
      const models = [1, 5, 11];
      const providers = [provider(1, { zone: 0x0101 }), provider(2, { zone: 0x0301 }), provider(3, { zone: 0x0201 })];
      const offers: OfferVersion[] = [];
      for (let i = 0; i < 18; i++) {
        const p = providers[(i * 7) % 3]!;
        offers.push(offer(100 - ((i * 7) % 18), p, { modelId: models[(i * 5) % 3]!, pricePerGpuHour: 1_000_000n + 100_000n * BigInt(i % 2) }));
      }
      const b = prepareBatch(batch(providers, offers, [order(1, CATCH_ALL)], { catalog: [...GPU_CATALOG].reverse() }), seedOf(2));
      const cand = buildCandidates(b, new ScratchPool(), Infinity);
      const listed = Array.from(cand.offer.subarray(cand.start[0]!, cand.start[1]!), (f) => b.offers[f]!);
      const regionOf = (v: OfferVersion) => providers.find((p) => p.provider === v.provider)!.zone >> 8;
      const want = [...offers].sort(
        (x, y) => x.modelId - y.modelId || regionOf(x) - regionOf(y) || Number(x.pricePerGpuHour - y.pricePerGpuHour) || Number(x.versionId - y.versionId),
      );
      expect(listed.map((v) => v.versionId)).to.deep.equal(want.map((v) => v.versionId));
    });
  });

  describe("given close scores and ties under a candidate cap of 1 to 12", () => {
    // 40 offers whose bases differ by a few price points (all in one histogram bucket), with equal prices in groups:
    // the cap's selection works inside one bucket and must break ties by versionId.
    for (const cap of [1, 2, 3, 4, 7, 12]) {
      it(`cap ${cap}: should keep the cap best pairs by (base desc, versionId asc), in listed order`, () => {
        const providers = Array.from({ length: 40 }, (_, i) => provider(i + 1));
        const offers = providers.map((p, i) => offer(1 + ((i * 17) % 40), p, { pricePerGpuHour: 2_000_000n + 100n * BigInt((i * 7) % 13) }));
        const b = prepareBatch(batch(providers, offers, [order(1, CATCH_ALL), order(2, CATCH_ALL)], { weights: NO_RANDOM }), seedOf(4));
        const all = buildCandidates(b, new ScratchPool(), Infinity);
        const capped = buildCandidates(b, new ScratchPool(), cap);
        for (let oi = 0; oi < 2; oi++) {
          const full = Array.from({ length: all.start[oi + 1]! - all.start[oi]! }, (_, i) => all.start[oi]! + i);
          expect(full.length).to.equal(40);
          const best = [...full].sort((x, y) => all.base[y]! - all.base[x]! || b.offerRank[all.offer[x]!]! - b.offerRank[all.offer[y]!]!).slice(0, cap);
          best.sort((x, y) => x - y);
          const kept = Array.from({ length: capped.start[oi + 1]! - capped.start[oi]! }, (_, i) => capped.start[oi]! + i);
          expect(kept.map((e) => b.offers[capped.offer[e]!]!.versionId)).to.deep.equal(best.map((e) => b.offers[all.offer[e]!]!.versionId));
        }
      });
    }
  });

  describe("given orders of 1 to 17 GPUs and offers with 0 to 17 free GPUs, half of them of a jailed provider", () => {
    // The scan reads the offers of the GPU class of the order (1, 2, 4, 8 free GPUs): each class edge at, one below
    // and one above, on both sides (the order's GPUs and the offer's free GPUs).
    it("should list exactly the pairs the one-pair filter accepts: an active provider's offer with at least the order's GPUs free", () => {
      const active = provider(1);
      const jailed = provider(2, { status: ProviderStatus.Jailed });
      const offers: OfferVersion[] = [];
      for (let free = 0; free <= 17; free++)
        for (const p of [active, jailed]) offers.push(offer(offers.length + 1, p, { gpuCount: 20, gpusLeased: 20 - free }));
      const orders = Array.from({ length: 17 }, (_, i) => order(i + 1, { ...CATCH_ALL, gpuCount: i + 1 }));
      const b = prepareBatch(batch([active, jailed], offers, orders), seedOf(2));
      const cand = buildCandidates(b, new ScratchPool(), Infinity);
      const { listed } = expectIndexIsFilter(b, cand);
      // Order of g GPUs: the active offers with 17, 16, …, g free GPUs.
      expect(listed).to.equal(Array.from({ length: 17 }, (_, i) => 18 - (i + 1)).reduce((x, y) => x + y, 0));
      for (let oi = 0; oi < orders.length; oi++) {
        const frees = pairsOf(cand, oi).map((e) => b.offerFree[cand.offer[e]!]!);
        expect(Math.min(...frees), `order of ${oi + 1} GPUs`).to.equal(oi + 1);
      }
    });
  });

  describe("given a provider's uptime and reputation at, one below and one above an order's minimum, one pair at a time", () => {
    // 8 completed, 0 failed: reputation ⌊(8 + 1)·10 000 / (8 + 0 + 2)⌋ = 9 000 (docs/matching.md §5.4); uptime 9 900.
    for (const [field, value] of [
      ["minUptimeBps", 9_900],
      ["minReputationBps", 9_000],
    ] as const) {
      it(`${field}: isCandidate should accept ${value - 1} and ${value}, refuse ${value + 1}`, () => {
        const p = provider(1, { leasesCompleted: 8, leasesFailed: 0, uptimeBps: 9_900 });
        const b = prepareBatch(batch([p], [offer(1, p)], [value - 1, value, value + 1].map((v, i) => order(i + 1, { [field]: v }))), seedOf(1));
        expect([0, 1, 2].map((oi) => isCandidate(b, oi, 0))).to.deep.equal([true, true, false]);
      });
    }
  });

  describe("given an offer version's activeFrom and activeUntil around R_b", () => {
    for (const [over, active] of [
      [{ activeFrom: R - 1n }, true],
      [{ activeFrom: R }, true],
      [{ activeFrom: R + 1n }, false],
      [{ activeUntil: R }, false],
      [{ activeUntil: R + 1n }, true],
      [{ activeUntil: 0n }, true],
    ] as const) {
      it(`${JSON.stringify(over, (_, v) => (typeof v === "bigint" ? `R${v - R >= 0n ? "+" : ""}${v - R}` : v))}: should ${active ? "" : "not "}take part`, () => {
        const p = provider(1);
        expect(outcome(batch([p], [offer(1, p, over)], [order(1)]))).to.equal(active ? 1n : UnmatchedReason.NoOfferForModel);
      });
    }
  });

  describe("given an order's createdAt around R_b", () => {
    for (const [createdAt, open] of [
      [R - 1n, true],
      [R, true],
      [R + 1n, false],
    ] as const) {
      it(`createdAt R${createdAt - R >= 0n ? "+" : ""}${createdAt - R}: should ${open ? "be served" : "stay open with OrderNotOpen"}`, () => {
        const p = provider(1);
        expect(outcome(batch([p], [offer(1, p)], [order(1, { createdAt })]))).to.equal(open ? 1n : UnmatchedReason.OrderNotOpen);
      });
    }
  });

  describe("given a catch-all order's minimum tier against models one tier below, at and above it", () => {
    const tiers = [...new Set(GPU_CATALOG.map((m) => m.tier))].sort((a, b) => a - b);
    const modelOfTier = (t: number): GpuModel => GPU_CATALOG.find((m) => m.tier === t)!;
    const mid = tiers[1]!;
    for (const [t, served] of [
      [tiers[0]!, false],
      [mid, true],
      [tiers[2]!, true],
    ] as const) {
      it(`minTier ${mid}, model of tier ${t}: should ${served ? "be served" : "stay open with NoOfferForModel"}`, () => {
        const p = provider(1);
        const inputs = batch([p], [offer(1, p, { modelId: modelOfTier(t).id })], [order(1, { ...CATCH_ALL, minTier: mid })]);
        expect(outcome(inputs)).to.equal(served ? 1n : UnmatchedReason.NoOfferForModel);
      });
    }
  });

  describe("given an order paying in a token no offer uses", () => {
    it("should not be served by an offer in another token", () => {
      const p = provider(1);
      const other = "0x00000000000000000000000000000000000000ee" as const;
      const offers = [offer(1, p, { modelId: 5 }), offer(2, p, { paymentToken: WIDE, pricePerGpuHour: 1n })];
      const inputs = batch([p], offers, [order(1, { paymentToken: other, maxPricePerGpuHour: 10n ** 30n })]);
      expect(outcome(inputs)).to.not.be.a("bigint");
      expect(outcome({ ...inputs, orders: [order(1, { paymentToken: WIDE, maxPricePerGpuHour: 10n ** 30n })] })).to.equal(2n);
    });
  });

  describe("given region masks with bits at 0, 31, 32 and 63", () => {
    it("should allow exactly the regions whose bit is set, none at 64 or above; mask 0 allows every region", () => {
      const p = provider(1);
      const masks = [(1n << 31n) | (1n << 32n) | (1n << 63n), 1n | (1n << 33n), 0n];
      const b = prepareBatch(batch([p], [offer(1, p)], masks.map((m, i) => order(i + 1, { regionMask: m }))), seedOf(1));
      for (let oi = 0; oi < masks.length; oi++) {
        for (const region of [0, 1, 30, 31, 32, 33, 34, 62, 63, 64, 65, 255]) {
          const want = masks[oi] === 0n || (region < 64 && ((masks[oi]! >> BigInt(region)) & 1n) === 1n);
          expect(regionAllowed(b, oi, region), `mask ${masks[oi]!.toString(16)} region ${region}`).to.equal(want);
        }
      }
    });
  });

  describe("given a jailed provider with the largest stake", () => {
    it("should leave the stake score of the active providers as if it were absent", () => {
      const p1 = provider(1, { stake: 100n * 10n ** 18n });
      const p2 = provider(2, { stake: 400n * 10n ** 18n });
      const whale = provider(3, { stake: 10_000n * 10n ** 18n, status: ProviderStatus.Jailed });
      const without = prepareBatch(batch([p1, p2], [offer(1, p1), offer(2, p2)], [order(1)]), seedOf(1));
      const withWhale = prepareBatch(batch([p1, p2, whale], [offer(1, p1), offer(2, p2)], [order(1)]), seedOf(1));
      expect(Array.from(withWhale.offerStatic)).to.deep.equal(Array.from(without.offerStatic));
    });
  });

  describe("given duplicates that are not next to each other in the input", () => {
    it("error: the same order twice, named", () => {
      const p = provider(1);
      const err = refusal(() => prepareBatch(batch([p], [offer(1, p)], [order(1), order(2), order(1)]), seedOf(1)));
      expect([err.code, err.detail]).to.deep.equal([MatchingErrorCode.DuplicateOrder, "order 1 appears twice"]);
    });
    it("error: the same offer version twice, named", () => {
      const p = provider(1);
      const err = refusal(() => prepareBatch(batch([p], [offer(1, p), offer(2, p), offer(1, p)], [order(1)]), seedOf(1)));
      expect([err.code, err.detail]).to.deep.equal([MatchingErrorCode.DuplicateOfferVersion, "offer version 1 appears twice"]);
    });
    it("error: the same provider twice, named", () => {
      const p = provider(1);
      const err = refusal(() => prepareBatch(batch([p, provider(2), p], [offer(1, p)], [order(1)]), seedOf(1)));
      expect([err.code, err.detail]).to.deep.equal([MatchingErrorCode.DuplicateProvider, `provider ${p.provider} appears twice`]);
    });
    it("error: the same catalog model twice, named", () => {
      const p = provider(1);
      const err = refusal(() => prepareBatch(batch([p], [offer(1, p)], [order(1)], { catalog: [...GPU_CATALOG, GPU_CATALOG[0]!] }), seedOf(1)));
      expect([err.code, err.detail]).to.deep.equal([MatchingErrorCode.DuplicateModel, `model ${GPU_CATALOG[0]!.id} appears twice in the catalog`]);
    });
    it("error: two active versions of one offer and an unknown provider, named", () => {
      const p = provider(1);
      const two = refusal(() => prepareBatch(batch([p], [offer(1, p), offer(2, p, { offerId: 1n })], [order(1)]), seedOf(1)));
      expect([two.code, two.detail]).to.deep.equal([MatchingErrorCode.TwoActiveVersions, `offer 1 has two versions active at block ${R}`]);
      const q = provider(2);
      const unknown = refusal(() => prepareBatch(batch([p], [offer(1, q)], [order(1)]), seedOf(1)));
      expect([unknown.code, unknown.detail]).to.deep.equal([MatchingErrorCode.UnknownProvider, `offer version 1 names provider ${q.provider}, not in the inputs`]);
    });
  });

  describe("given seeds one character off 32 bytes of hex", () => {
    const good = `0x${"ab".repeat(32)}`;
    it("should accept 32 bytes of hex", () => {
      expect(() => prepareBatch(tinyBatch(), good as Seed)).not.to.throw();
    });
    for (const [label, seed] of [
      ["one hex digit more", `${good}0`],
      ["a character before 0x", `0${good}`],
      ["one hex digit less", good.slice(0, -1)],
      ["not a string (though its text is 32 bytes of hex)", { toString: () => good }],
    ] as const) {
      it(`error: ${label}`, () => {
        const err = refusal(() => prepareBatch(tinyBatch(), seed as unknown as Seed));
        expect([err.code, err.detail]).to.deep.equal([MatchingErrorCode.BadSeed, `seed must be 32 bytes of hex, got ${String(seed)}`]);
      });
    }
  });
});
