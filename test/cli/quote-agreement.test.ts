/**
 * `renter quote` against what the next batch actually does, on markets generated from a seeded PRNG: providers in
 * several regions (some in maintenance), offers of three models at prices around the orders' limits, background
 * orders competing for the same GPUs, and a quoted order with random limits. The quote is taken, the same order is
 * then placed with the same flags, and the next batch is closed and finalized for real with the operators' matcher.
 *
 * With the random criterion's weight at 0 the matcher does not depend on the seed, so the quote must be the batch's
 * decision exactly: the same offer, or the same reason code. With the default weights the next batch's seed is
 * unknown when quoting; the quote is then checked to be the matcher's decision on the batch's own inputs with the
 * seed the quote used (docs/cli.md, "renter quote").
 */
import { expect } from "chai";
import { network } from "hardhat";
import { Prng } from "../../deploy/devnet/prng.js";
import { matchBatch } from "../../protocol/matching/index.js";
import { cliWorld, type CliWorld } from "./fixture.js";

const connection = await network.create();
const USD = 1_000_000n;
const STAKE = 10n ** 18n;
const ZONES = ["us-east-1", "us-west-1", "eu-central-2", "ap-southeast-1"];
const REGION_NAMES = ["us-east", "us-west", "eu-central", "ap-southeast"];
const MODELS = [5, 8, 11];

function cents(n: number): string {
  return `${Math.floor(n / 100)}.${String(n % 100).padStart(2, "0")}`;
}

describe("matchnet renter quote agrees with the next batch on generated markets", function () {
  this.timeout(600_000);
  let w: CliWorld;
  let providers: Awaited<ReturnType<CliWorld["account"]>>[];
  let renters: Awaited<ReturnType<CliWorld["account"]>>[];

  before(async () => {
    w = await cliWorld(connection);
    providers = [];
    for (let i = 0; i < 6; i++) {
      const p = await w.account(`qp${i}`, { stake: 10n * STAKE });
      expect((await w.cli([...p.args, "provider", "register", "--zone", ZONES[i % ZONES.length]!, "--stake", "1"])).code).to.equal(0);
      providers.push(p);
    }
    renters = [await w.account("qr0", { usd: 1_000_000n * USD }), await w.account("qr1", { usd: 1_000_000n * USD })];
  });
  after(async () => w.remove());

  /** One round: new offers and background orders from `rng`, then the quoted order's flags. */
  async function generate(rng: Prng): Promise<string[]> {
    for (const p of providers) {
      if (rng.chance(50)) {
        const r = await w.cli([...p.args, "provider", "offer", "create", "--model", String(rng.pick(MODELS)), "--gpus", String(rng.between(1, 6)), "--price", cents(rng.between(100, 300))]);
        expect(r.code, r.err).to.equal(0);
      }
    }
    const inMaintenance = rng.below(providers.length);
    for (let i = 0; i < providers.length; i++) {
      const status = (await w.cli([...providers[i]!.args, "--json", "provider", "status"])).json().status;
      const want = i === inMaintenance && rng.chance(50) ? "maintenance" : "active";
      if (status !== want) expect((await w.cli([...providers[i]!.args, "provider", "maintenance", want === "maintenance" ? "on" : "off"])).code).to.equal(0);
    }
    const orderFlags = (): string[] => {
      const flags = rng.chance(20) ? ["--min-tier", rng.pick(["low", "high", "ultra"])] : ["--model", String(rng.pick(MODELS))];
      flags.push("--gpus", String(rng.between(1, 6)), "--max-price", cents(rng.between(90, 320)), "--hours", String(rng.between(1, 8)));
      let zones = ZONES;
      if (rng.chance(40)) {
        const regions = [...new Set([rng.pick(REGION_NAMES), rng.pick(REGION_NAMES)])];
        flags.push("--regions", regions.join(","));
        zones = ZONES.filter((z) => regions.some((r) => z.startsWith(`${r}-`)));
      }
      if (rng.chance(30)) flags.push("--preferred-zone", rng.pick(zones));
      return flags;
    };
    for (let k = rng.below(4); k > 0; k--) {
      const r = await w.cli([...renters[1]!.args, "renter", "order", "create", "--yes", ...orderFlags()]);
      expect(r.code, r.err).to.equal(0);
    }
    return orderFlags();
  }

  async function quoteThenBatch(flags: string[]) {
    const renter = renters[0]!;
    const q = (await w.cli([...renter.args, "--json", "renter", "quote", ...flags])).json();
    const created = await w.cli([...renter.args, "--json", "renter", "order", "create", "--yes", ...flags]);
    expect(created.code, created.out).to.equal(0);
    expect(created.json().orderId).to.equal(q.orderId);
    const batch = await w.runBatch();
    // The matcher's own output is never a fault (docs/protocol.md §5): no row of it was wrong at R_b.
    expect((await w.s.serviceManager.read.getBatch([batch.batch])).invalidAt).to.equal(0);
    return { q, batch, orderId: BigInt(q.orderId) };
  }

  it("given the random criterion's weight at 0 → on 12 generated markets the quote is the batch's decision: same offer or same reason", async () => {
    const weights = await w.s.serviceManager.read.matchingWeights();
    await w.s.serviceManager.write.setMatchingWeights([{ ...weights, price: weights.price + weights.random, random: 0 }]);
    const rng = new Prng(20261205);
    const seen = { matched: 0, reasons: new Set<string>() };
    for (let round = 0; round < 12; round++) {
      const flags = await generate(rng);
      const { q, batch, orderId } = await quoteThenBatch(flags);
      const assigned = batch.result.assignments.find((a) => a.orderId === orderId);
      const label = `round ${round}: ${flags.join(" ")}`;
      if (q.wouldMatch) {
        seen.matched++;
        expect(assigned, label).to.not.equal(undefined);
        expect(assigned!.offerVersionId.toString(), label).to.equal(q.offer.versionId);
        expect(assigned!.pricePerGpuHour.toString(), label).to.equal(q.offer.pricePerGpuHour);
      } else {
        seen.reasons.add(q.reason.name);
        expect(assigned, label).to.equal(undefined);
        expect(batch.result.unmatched.find((u) => u.orderId === orderId)!.reason, label).to.equal(q.reason.code);
      }
    }
    // The generator reaches both outcomes (a test that only ever saw one would prove little).
    expect(seen.matched).to.be.within(1, 11);
    expect(seen.reasons.size).to.be.at.least(3);
    await w.s.serviceManager.write.setMatchingWeights([weights]);
  });

  it("given the default weights → the quote is the matcher's decision on the batch's inputs at R_b with the seed it used", async () => {
    const rng = new Prng(77);
    for (let round = 0; round < 4; round++) {
      const flags = await generate(rng);
      const { q, batch, orderId } = await quoteThenBatch(flags);
      const withQuoteSeed = matchBatch(batch.inputs, q.seed);
      const a = withQuoteSeed.assignments.find((x) => x.orderId === orderId);
      if (q.wouldMatch) expect(a?.offerVersionId.toString(), flags.join(" ")).to.equal(q.offer.versionId);
      else expect(withQuoteSeed.unmatched.find((u) => u.orderId === orderId)!.reason, flags.join(" ")).to.equal(q.reason.code);
    }
  });
});
