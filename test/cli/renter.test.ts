import { expect } from "chai";
import { network } from "hardhat";
import { ExitCode } from "../../cli/errors.js";
import { UnmatchedReason } from "../../protocol/matching/index.js";
import { cliWorld, type CliWorld } from "./fixture.js";

const connection = await network.create();
const USD = 1_000_000n;
const STAKE = 10n ** 18n;

describe("matchnet CLI: renter quote, orders, leases, refunds and batches against the real contracts", () => {
  let w: CliWorld;
  let renter: Awaited<ReturnType<CliWorld["account"]>>;
  let offerEu: string;
  let offerUs: string;

  before(async () => {
    w = await cliWorld(connection);
    // Two providers: H100s in eu-central at 2.00 (uptime 100 %), and H100s in us-east at 1.50.
    const eu = await w.account("prov-eu", { stake: 10n * STAKE });
    const us = await w.account("prov-us", { stake: 10n * STAKE });
    expect((await w.cli([...eu.args, "provider", "register", "--zone", "eu-central-1", "--stake", "1"])).code).to.equal(0);
    expect((await w.cli([...us.args, "provider", "register", "--zone", "us-east-1", "--stake", "1"])).code).to.equal(0);
    offerEu = (await w.cli([...eu.args, "--json", "provider", "offer", "create", "--model", "11", "--gpus", "4", "--price", "2"])).json().offerId;
    offerUs = (await w.cli([...us.args, "--json", "provider", "offer", "create", "--model", "11", "--gpus", "2", "--price", "1.5"])).json().offerId;
    renter = await w.account("renter", { usd: 10_000n * USD });
  });
  after(async () => w.remove());

  describe("renter quote", () => {
    it("given offers that fit → it should say it would match, on which offer and price, and move no money", async () => {
      const balance = await w.s.paymentToken.read.balanceOf([renter.address]);
      const r = await w.cli([...renter.args, "--json", "renter", "quote", "--model", "H100 SXM", "--gpus", "2", "--max-price", "3", "--hours", "10"]);
      expect(r.code, r.out).to.equal(0);
      const q = r.json();
      expect(q.wouldMatch).to.equal(true);
      expect([offerEu, offerUs]).to.include(q.offer.offerId);
      expect(q.escrow).to.equal((3n * USD * 20n).toString());
      expect(BigInt(q.refundAtMatch)).to.equal((3n * USD - BigInt(q.offer.pricePerGpuHour)) * 20n);
      expect(await w.s.paymentToken.read.balanceOf([renter.address])).to.equal(balance);
      const text = await w.cli([...renter.args, "renter", "quote", "--model", "11", "--gpus", "2", "--max-price", "3", "--hours", "10"]);
      expect(text.out).to.match(/^would match now: offer \d+ \(version \d+\) of 0x[0-9a-fA-F]{40} in (eu-central-1|us-east-1) at (2|1.5)\/GPU-hour\n/);
    });

    it("given a max price below every ask → PriceAboveMax with 'raise the max price to' the cheapest ask, checked to match", async () => {
      const r = await w.cli(["--json", "renter", "quote", "--model", "11", "--gpus", "2", "--max-price", "1.49", "--hours", "1"]);
      const q = r.json();
      expect(q.wouldMatch).to.equal(false);
      expect(q.reason).to.include({ code: UnmatchedReason.PriceAboveMax, name: "PriceAboveMax" });
      expect(q.suggestions[0].changes).to.deep.equal([{ field: "maxPricePerGpuHour", flag: "--max-price", value: "1.5", text: "raise the max price to 1.5" }]);
      expect(q.suggestions[0].wouldMatch).to.equal(true);
      expect(q.suggestions[0].offer.offerId).to.equal(offerUs);
      // at the boundary: exactly the ask matches
      const at = (await w.cli(["--json", "renter", "quote", "--model", "11", "--gpus", "2", "--max-price", "1.5", "--hours", "1"])).json();
      expect(at.wouldMatch).to.equal(true);
      expect(at.offer.offerId).to.equal(offerUs);
      const text = await w.cli(["renter", "quote", "--model", "11", "--gpus", "2", "--max-price", "1.49", "--hours", "1"]);
      expect(text.out).to.contain("would not match now: PriceAboveMax (6) — every remaining offer asks more than the max price\n  raise the max price to 1.5 (--max-price 1.5): would match offer");
    });

    it("given a region with no offer → NoOfferInRegion with 'allow region' suggestions", async () => {
      const q = (await w.cli(["--json", "renter", "quote", "--model", "11", "--gpus", "1", "--max-price", "5", "--hours", "1", "--regions", "ap-southeast"])).json();
      expect(q.reason.name).to.equal("NoOfferInRegion");
      const texts = q.suggestions.map((s: { changes: { text: string }[] }) => s.changes.map((c) => c.text).join(", "));
      expect(texts).to.include.members(["allow region us-east", "allow region eu-central"]);
      // --regions replaces the list: the suggested value keeps the regions already allowed
      const values = q.suggestions.map((s: { changes: { flag: string; value: string }[] }) => s.changes.find((c) => c.flag === "--regions")!.value);
      expect(values).to.include.members(["us-east,ap-southeast", "eu-central,ap-southeast"]);
      expect(q.suggestions.every((s: { wouldMatch: boolean }) => s.wouldMatch)).to.equal(true);
    });

    it("given more GPUs than any offer has free → CapacityTooSmall with 'lower the GPU count to 4'", async () => {
      const q = (await w.cli(["--json", "renter", "quote", "--model", "11", "--gpus", "5", "--max-price", "5", "--hours", "1"])).json();
      expect(q.reason.name).to.equal("CapacityTooSmall");
      expect(q.suggestions[0].changes[0]).to.include({ flag: "--gpus", value: "4" });
      expect(q.suggestions[0].offer.offerId).to.equal(offerEu);
    });

    it("given a minimum uptime above every provider's → its bound is the provider's uptime (10 000 bps passes, none is above)", async () => {
      const q = (await w.cli(["--json", "renter", "quote", "--model", "11", "--gpus", "1", "--max-price", "5", "--hours", "1", "--min-uptime", "100"])).json();
      expect(q.wouldMatch).to.equal(true);
      const bad = await w.cli(["renter", "quote", "--model", "11", "--gpus", "1", "--max-price", "5", "--hours", "1", "--min-uptime", "100.01"]);
      expect(bad.code).to.equal(ExitCode.Usage);
      expect(bad.err).to.contain("--min-uptime: 100.01 is above 100%");
    });

    it("given a cheaper card nobody offers at that price → it should not suggest a card of a lower tier", async () => {
      const low = await w.account("prov-low", { stake: 10n * STAKE });
      expect((await w.cli([...low.args, "provider", "register", "--zone", "us-east-2", "--stake", "1"])).code).to.equal(0);
      expect((await w.cli([...low.args, "provider", "offer", "create", "--model", "RTX 4090", "--gpus", "4", "--price", "0.3"])).code).to.equal(0);
      const q = (await w.cli(["--json", "renter", "quote", "--model", "H200", "--gpus", "1", "--max-price", "5", "--hours", "1"])).json();
      expect(q.reason.name).to.equal("NoOfferForModel");
      // H100 (ultra) is the H200's tier: suggested; the RTX 4090 (low) is not
      const models = q.suggestions.map((s: { changes: { flag: string; value: string }[] }) => s.changes.find((c) => c.flag === "--model")!.value);
      expect(models).to.deep.equal(["11"]);
    });

    it("given a model nobody offers → NoOfferForModel with the models that are offered", async () => {
      const q = (await w.cli(["--json", "renter", "quote", "--model", "RTX 3060", "--gpus", "1", "--max-price", "5", "--hours", "1"])).json();
      expect(q.reason.name).to.equal("NoOfferForModel");
      expect(q.suggestions[0].changes[0]).to.include({ flag: "--model", value: "11" });
    });
  });

  describe("renter order create → batch → lease → close → refunds → withdraw", () => {
    it("given no --yes and no terminal → it should refuse to take the escrow (exit 6) and send nothing", async () => {
      const count = await w.s.marketplace.read.orderCount();
      const r = await w.cli([...renter.args, "renter", "order", "create", "--model", "11", "--gpus", "1", "--max-price", "3", "--hours", "2"]);
      expect(r.code).to.equal(ExitCode.Declined);
      expect(r.err).to.contain("order: 1 × NVIDIA H100 SXM for 2 h at most 3/GPU-hour; escrow 6 (the unused part is refunded)");
      expect(r.err).to.contain("not confirmed: pass --yes");
      expect(await w.s.marketplace.read.orderCount()).to.equal(count);
    });

    it("given a terminal that answers no → it should send nothing (exit 6); yes → the order is placed", async () => {
      const count = await w.s.marketplace.read.orderCount();
      const no = await w.cli([...renter.args, "renter", "order", "create", "--model", "11", "--gpus", "1", "--max-price", "3", "--hours", "2"], { confirm: [false] });
      expect(no.code).to.equal(ExitCode.Declined);
      expect(await w.s.marketplace.read.orderCount()).to.equal(count);
      const yes = await w.cli([...renter.args, "renter", "order", "create", "--model", "11", "--gpus", "1", "--max-price", "3", "--hours", "2"], { confirm: [true] });
      expect(yes.code, yes.err).to.equal(0);
      expect(yes.out).to.match(/^created order \d+: 1 × NVIDIA H100 SXM for 2 h at most 3\/GPU-hour; escrowed 6; open until block \d+/);
      const id = BigInt(/^created order (\d+)/.exec(yes.out)![1]!);
      const c = await w.cli([...renter.args, "renter", "order", "cancel", String(id)]);
      expect(c.out).to.match(new RegExp(`^cancelled order ${id}; 6 refundable`));
      const again = await w.cli([...renter.args, "renter", "order", "cancel", String(id)]);
      expect(again.code).to.equal(ExitCode.Reverted);
      expect(again.err).to.contain("MarketplaceOrderNotOpen").and.contain("no longer open");
    });

    it("given an order past its expiry block → refunds should name the escrow it still holds and the cancel that releases it (not at expiresAt − 1)", async () => {
      const before = (await w.cli([...renter.args, "--json", "renter", "refunds"])).json();
      const create = await w.cli([...renter.args, "--json", "renter", "order", "create", "--model", "11", "--gpus", "1", "--max-price", "0.5", "--hours", "2", "--expires-in", "3", "--yes"]);
      expect(create.code, create.out).to.equal(0);
      const orderId = create.json().orderId as string;
      const expiresAt = BigInt(create.json().expiresAt);
      while ((await w.s.publicClient.getBlockNumber()) < expiresAt - 1n) await connection.provider.request({ method: "evm_mine", params: [] });
      const open = (await w.cli([...renter.args, "--json", "renter", "refunds"])).json();
      expect(open.expiredOrders.map((o: { orderId: string }) => o.orderId), "at expiresAt − 1 the order is open").to.not.include(orderId);
      await connection.provider.request({ method: "evm_mine", params: [] });
      const at = await w.cli([...renter.args, "--json", "renter", "refunds"]);
      expect(at.code, at.out).to.equal(0);
      expect(at.json().refundable).to.equal(before.refundable);
      expect(at.json().expiredOrders).to.deep.include({ orderId, escrow: "1000000" });
      expect(BigInt(at.json().heldByExpiredOrders) - BigInt(before.heldByExpiredOrders)).to.equal(1_000_000n);
      const text = await w.cli([...renter.args, "renter", "refunds"]);
      expect(text.out).to.match(new RegExp(`^refundable .*\\n[0-9.]+ more is held by expired orders? (\\d+, )*${orderId}: \`matchnet renter order cancel <id>\` makes it refundable`));
      const cancel = await w.cli([...renter.args, "renter", "order", "cancel", orderId]);
      expect(cancel.out).to.match(new RegExp(`^cancelled order ${orderId}; 1 refundable`));
      const after = (await w.cli([...renter.args, "--json", "renter", "refunds"])).json();
      expect(BigInt(after.refundable) - BigInt(before.refundable)).to.equal(1_000_000n);
      expect(after.expiredOrders.map((o: { orderId: string }) => o.orderId)).to.not.include(orderId);
    });

    it("given an order matched by a real batch → lease list/show/close, refunds and withdraw print what happened", async () => {
      const create = await w.cli([...renter.args, "--json", "renter", "order", "create", "--model", "11", "--gpus", "2", "--max-price", "2.5", "--hours", "3", "--yes"]);
      expect(create.code, create.out).to.equal(0);
      const orderId = create.json().orderId as string;
      const unmatchable = (await w.cli([...renter.args, "--json", "renter", "order", "create", "--model", "11", "--gpus", "1", "--max-price", "1", "--hours", "1", "--yes"])).json().orderId as string;
      let list = (await w.cli([...renter.args, "--json", "renter", "order", "list", "--open"])).json();
      expect(list.orders.map((o: { orderId: string }) => o.orderId)).to.deep.equal([orderId, unmatchable]);

      const batch = await w.runBatch();
      expect(batch.assignments.map((a) => a.orderId.toString())).to.deep.equal([orderId]);

      list = (await w.cli([...renter.args, "--json", "renter", "order", "list"])).json();
      expect(list.orders.find((o: { orderId: string }) => o.orderId === orderId).statusName).to.equal("matched");

      const leases = (await w.cli([...renter.args, "--json", "renter", "lease", "list"])).json().leases;
      expect(leases).to.have.length(1);
      expect(leases[0]).to.include({ leaseId: orderId, statusName: "active", gpuCount: 2 });
      const show = await w.cli([...renter.args, "renter", "lease", "show", orderId]);
      expect(show.out).to.match(new RegExp(`^lease     ${orderId} \\(active\\)\\noffer     \\d+ version \\d+ of 0x`));

      const bs = await w.cli(["--json", "batch", "show", batch.batch.toString()]);
      const b = bs.json();
      expect(b.status).to.equal("final");
      expect(b.matcherAgrees).to.equal(true);
      expect(b.applied.map((a: { orderId: string }) => a.orderId)).to.deep.equal([orderId]);
      expect(b.open).to.deep.include({ orderId: unmatchable, reason: "PriceAboveMax", code: 6, text: "every remaining offer asks more than the max price" });
      expect(b.operators).to.have.length(4);
      expect(b.operators.every((o: { signed: boolean }) => o.signed)).to.equal(true);
      expect(Number(b.gasUsed)).to.be.greaterThan(0);
      const bl = await w.cli(["--json", "batch", "list"]);
      expect(bl.json().batches[0]).to.include({ batch: batch.batch.toString(), status: "final", assignments: "1" });
      const btext = await w.cli(["batch", "show", batch.batch.toString()]);
      expect(btext.out).to.contain(`  order ${unmatchable}: PriceAboveMax (6) — every remaining offer asks more than the max price`);

      const refundBefore = BigInt((await w.cli([...renter.args, "--json", "renter", "refunds"])).json().refundable);
      const close = await w.cli([...renter.args, "--json", "renter", "lease", "close", orderId]);
      expect(close.code, close.out).to.equal(0);
      expect(close.json().reason).to.equal("renter-closed");
      const after = (await w.cli([...renter.args, "--json", "renter", "lease", "show", orderId])).json();
      expect(after).to.include({ statusName: "closed", closeReasonName: "renter-closed" });
      const closeAgain = await w.cli([...renter.args, "renter", "lease", "close", orderId]);
      expect(closeAgain.code).to.equal(ExitCode.Reverted);
      expect(closeAgain.err).to.contain("MarketplaceLeaseNotActive");

      const refundable = BigInt((await w.cli([...renter.args, "--json", "renter", "refunds"])).json().refundable);
      expect(refundable - refundBefore).to.equal(BigInt(close.json().refund));
      const balance = await w.s.paymentToken.read.balanceOf([renter.address]);
      const wd = await w.cli([...renter.args, "--json", "renter", "withdraw"]);
      expect(wd.json().withdrawn).to.equal(refundable.toString());
      expect(await w.s.paymentToken.read.balanceOf([renter.address])).to.equal(balance + refundable);
      const wd2 = await w.cli([...renter.args, "renter", "withdraw"]);
      expect(wd2.code).to.equal(ExitCode.Reverted);
      expect(wd2.err).to.contain("MarketplaceNothingToWithdraw");
    });

    it("given an unknown lease or batch → exit 7 naming it", async () => {
      const l = await w.cli([...renter.args, "renter", "lease", "show", "9999"]);
      expect(l.code).to.equal(ExitCode.NotFound);
      expect(l.err).to.match(/^matchnet: no lease 9999\n/);
      const b = await w.cli(["batch", "show", "9999"]);
      expect(b.code).to.equal(ExitCode.NotFound);
      expect(b.err).to.match(/^matchnet: no batch 9999 \(there are \d+\)\n/);
    });

    it("given another renter's order → cancel fails with MarketplaceNotRenter", async () => {
      const other = await w.account("renter2", { usd: 100n * USD });
      const id = (await w.cli([...renter.args, "--json", "renter", "order", "create", "--model", "11", "--gpus", "1", "--max-price", "1", "--hours", "1", "--yes"])).json().orderId;
      const r = await w.cli([...other.args, "renter", "order", "cancel", id]);
      expect(r.code).to.equal(ExitCode.Reverted);
      expect(r.err).to.contain("MarketplaceNotRenter").and.contain("Only the order's renter may do this");
    });

    it("given a renter without enough tokens → order create fails with the token's ERC20InsufficientBalance decoded", async () => {
      const poor = await w.account("poor", { usd: 1n * USD });
      const r = await w.cli([...poor.args, "renter", "order", "create", "--model", "11", "--gpus", "1", "--max-price", "2", "--hours", "1", "--yes"]);
      expect(r.code).to.equal(ExitCode.Reverted);
      expect(r.err).to.contain("ERC20InsufficientBalance").and.contain("fund it");
    });
  });
});
