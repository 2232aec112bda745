import { expect } from "chai";
import { network } from "hardhat";
import { bytesToHex, encodeFunctionData, getAddress, type Address, type Hex } from "viem";
import { marketplaceAbi, paymentTokenAbi } from "../../protocol/chain/abi.js";
import { encodeAccess, seal } from "../../protocol/handoff/ecies.js";
import { ExitCode } from "../../cli/errors.js";
import { cliWorld, type CliWorld } from "./fixture.js";

const connection = await network.create();
const { networkHelpers, viem } = connection;
const USD = 1_000_000n;
const STAKE = 10n ** 18n;

describe("matchnet CLI: renter lease show, list, extend and close against the real contracts", () => {
  let w: CliWorld;
  let renter: Awaited<ReturnType<CliWorld["account"]>>;
  let provider: Awaited<ReturnType<CliWorld["account"]>>;
  let offerId: string;

  before(async () => {
    w = await cliWorld(connection);
    provider = await w.account("prov", { stake: 10n * STAKE });
    expect((await w.cli([...provider.args, "provider", "register", "--zone", "eu-central-1", "--stake", "1"])).code).to.equal(0);
    offerId = (await w.cli([...provider.args, "--json", "provider", "offer", "create", "--model", "11", "--gpus", "40", "--price", "2"])).json().offerId;
    renter = await w.account("renter", { usd: 10_000n * USD });
    await networkHelpers.impersonateAccount(provider.address);
  });
  after(async () => w.remove());

  /** An order of 2 GPUs × 3 h at most 2.5 matched by a real batch at the offer's 2: a lease costing 12 (escrow 15). */
  async function newLease(): Promise<string> {
    const create = await w.cli([...renter.args, "--json", "renter", "order", "create", "--model", "11", "--gpus", "2", "--max-price", "2.5", "--hours", "3", "--yes"]);
    expect(create.code, create.err).to.equal(0);
    const id = create.json().orderId as string;
    const batch = await w.runBatch();
    expect(batch.assignments.map((a) => a.orderId.toString())).to.include(id);
    return id;
  }

  /** What the provider agent does once the workload runs: markLeaseReady from the provider's account. */
  async function markReady(leaseId: string): Promise<bigint> {
    const wallet = await viem.getWalletClient(provider.address as Address);
    const m = await viem.getContractAt("Marketplace", w.s.marketplace.address, { client: { wallet } });
    const hash = await m.write.markLeaseReady([BigInt(leaseId), "0xabcdef"]);
    return (await w.s.publicClient.waitForTransactionReceipt({ hash })).blockNumber;
  }

  describe("lease show and list", () => {
    it("given a lease not handed over → they should print the provider's deadline block, and 'handed over at block N' once ready", async () => {
      const id = await newLease();
      const lease = await w.s.marketplace.read.getLease([BigInt(id)]);
      const deadline = lease.startBlock + (await w.s.marketplace.read.handoffTimeout());
      const show = await w.cli([...renter.args, "renter", "lease", "show", id]);
      expect(show.code, show.err).to.equal(0);
      expect(show.out).to.contain(`started   ${new Date(Number(lease.startedAt) * 1000).toISOString()} (block ${lease.startBlock})\n`);
      expect(show.out).to.contain(`ready     not handed over yet; the provider has until block ${deadline}\n`);
      const json = (await w.cli([...renter.args, "--json", "renter", "lease", "show", id])).json();
      expect(json.readiness).to.deep.equal({ ready: false, readyAt: "0", deadline: deadline.toString(), timedOut: false });
      const list = await w.cli([...renter.args, "renter", "lease", "list", "--active"]);
      expect(list.out).to.match(/^lease\s+status\s+ready\s+offer/);
      expect(list.out).to.match(new RegExp(`\\n${id}\\s+active\\s+by ${deadline}\\s+${offerId}\\s`));

      const readyAt = await markReady(id);
      expect((await w.cli([...renter.args, "renter", "lease", "show", id])).out).to.contain(`ready     handed over at block ${readyAt}\n`);
      expect((await w.cli([...renter.args, "renter", "lease", "list", "--active"])).out).to.match(new RegExp(`\\n${id}\\s+active\\s+yes\\s`));
      const listed = (await w.cli([...renter.args, "--json", "renter", "lease", "list"])).json().leases.find((l: { leaseId: string }) => l.leaseId === id);
      expect(listed.readiness).to.include({ ready: true, readyAt: readyAt.toString() });
    });
  });

  describe("lease close", () => {
    it("given the provider's deadline passed with no handoff → it should close for a handoff timeout and refund everything paid", async () => {
      const id = await newLease();
      const lease = await w.s.marketplace.read.getLease([BigInt(id)]);
      const deadline = lease.startBlock + (await w.s.marketplace.read.handoffTimeout());
      await networkHelpers.mineUpTo(deadline + 1n); // the CLI simulates on the latest block: past the deadline
      const show = await w.cli([...renter.args, "renter", "lease", "show", id]);
      expect(show.out).to.contain(`ready     not handed over; the provider's deadline (block ${deadline}) has passed`);
      const before = BigInt((await w.cli([...renter.args, "--json", "renter", "refunds"])).json().refundable);
      const r = await w.cli([...renter.args, "--json", "renter", "lease", "close", id]);
      expect(r.code, r.err).to.equal(0);
      expect(r.json()).to.include({ reason: "handoff-timeout", call: "closeLeaseForHandoffTimeout", refund: (15n * USD).toString() });
      const after = BigInt((await w.cli([...renter.args, "--json", "renter", "refunds"])).json().refundable);
      expect(after - before).to.equal(15n * USD);
      const closed = (await w.cli([...renter.args, "--json", "renter", "lease", "show", id])).json();
      expect(closed).to.include({ statusName: "closed", closeReasonName: "handoff-timeout", closeReasonText: "the provider never handed it over; everything paid for it was refunded" });
      expect((await w.s.registry.read.getProvider([provider.address as Address])).leasesFailed).to.be.greaterThan(0);
    });

    it("given the latest block is the deadline → it should close as the renter's close (the timeout close is refused in that block), with the text saying nothing was earned", async () => {
      const id = await newLease();
      const lease = await w.s.marketplace.read.getLease([BigInt(id)]);
      const deadline = lease.startBlock + (await w.s.marketplace.read.handoffTimeout());
      await networkHelpers.mineUpTo(deadline);
      const r = await w.cli([...renter.args, "renter", "lease", "close", id]);
      expect(r.code, r.err).to.equal(0);
      expect(r.out).to.match(new RegExp(`^closed lease ${id}; 15 refundable \\(not handed over yet: the provider earned nothing\\) \\(tx 0x`));
      expect((await w.s.marketplace.read.getLease([BigInt(id)])).closeReason).to.equal(2); // RenterClosed
    });

    it("given a lease handed over → it should use the renter's close and print the refund", async () => {
      const id = await newLease();
      await markReady(id);
      const r = await w.cli([...renter.args, "--json", "renter", "lease", "close", id]);
      expect(r.code, r.err).to.equal(0);
      expect(r.json()).to.include({ reason: "renter-closed", call: "closeLease" });
      const refund = BigInt(r.json().refund); // the excess 3, plus most of the 12
      expect(refund > 3n * USD && refund < 15n * USD, String(refund)).to.equal(true);
      const again = await w.cli([...renter.args, "renter", "lease", "close", id]);
      expect(again.code).to.equal(ExitCode.Reverted);
      expect(again.err).to.contain("MarketplaceLeaseNotActive").and.contain("already closed");
    });
  });

  describe("lease extend", () => {
    it("given --hours 2 → it should print what it will pay, ask, and on yes extend the lease's end by 2 h", async () => {
      const id = await newLease();
      const before = await w.s.marketplace.read.getLease([BigInt(id)]);
      const no = await w.cli([...renter.args, "renter", "lease", "extend", id, "--hours", "2"], { confirm: [false] });
      expect(no.code).to.equal(ExitCode.Declined);
      expect(no.err).to.contain(`extend lease ${id} by 2 h: 2 GPUs × 2/GPU-hour × 2 h = 8; new end ${new Date(Number(before.endsAt + 7200n) * 1000).toISOString()}`);
      expect((await w.s.marketplace.read.getLease([BigInt(id)])).endsAt).to.equal(before.endsAt);
      const balance = await w.s.paymentToken.read.balanceOf([renter.address]);
      const yes = await w.cli([...renter.args, "renter", "lease", "extend", id, "--hours", "2"], { confirm: [true] });
      expect(yes.code, yes.err).to.equal(0);
      expect(yes.out).to.match(new RegExp(`^extended lease ${id} by 2 h for 8; it now ends ${new Date(Number(before.endsAt + 7200n) * 1000).toISOString()} \\(tx 0x`));
      expect((await w.s.marketplace.read.getLease([BigInt(id)])).endsAt).to.equal(before.endsAt + 7200n);
      expect(await w.s.paymentToken.read.balanceOf([renter.address])).to.equal(balance - 8n * USD);
    });

    it("given --json without --yes → exit 6 and nothing paid; with --yes → one JSON document of the extension", async () => {
      const id = await newLease();
      const no = await w.cli([...renter.args, "--json", "renter", "lease", "extend", id, "--hours", "1"]);
      expect(no.code).to.equal(ExitCode.Declined);
      const r = await w.cli([...renter.args, "--json", "renter", "lease", "extend", id, "--hours", "1", "--yes"]);
      expect(r.code, r.err).to.equal(0);
      const j = r.json();
      expect(j).to.include({ leaseId: id, hours: 1, paid: (4n * USD).toString() });
      expect(BigInt(j.endsAt)).to.equal((await w.s.marketplace.read.getLease([BigInt(id)])).endsAt);
    });

    it("given --hours 0 or not a number → exit 2 naming --hours; an unknown lease → exit 7", async () => {
      for (const bad of ["0", "1.5", "x"]) {
        const r = await w.cli([...renter.args, "renter", "lease", "extend", "1", "--hours", bad, "--yes"]);
        expect(r.code, bad).to.equal(ExitCode.Usage);
        expect(r.err).to.match(/^matchnet: --hours: /);
      }
      const r = await w.cli([...renter.args, "renter", "lease", "extend", "9999", "--hours", "1", "--yes"]);
      expect(r.code).to.equal(ExitCode.NotFound);
      expect(r.err).to.match(/^matchnet: no lease 9999\n/);
    });

    it("given the provider changed its price → exit 5 with MarketplaceOfferPriceChanged and its hint", async () => {
      const id = await newLease();
      const moved = await w.cli([...provider.args, "provider", "offer", "update", offerId, "--gpus", "40", "--price", "2.1"]);
      expect(moved.code, moved.err).to.equal(0);
      try {
        const r = await w.cli([...renter.args, "renter", "lease", "extend", id, "--hours", "1", "--yes"]);
        expect(r.code).to.equal(ExitCode.Reverted);
        expect(r.err).to.contain("MarketplaceOfferPriceChanged").and.contain("changed its price since the lease started");
      } finally {
        expect((await w.cli([...provider.args, "provider", "offer", "update", offerId, "--gpus", "40", "--price", "2"])).code).to.equal(0);
      }
    });

    it("given another renter's lease → exit 5 with MarketplaceNotRenter", async () => {
      const id = await newLease();
      const other = await w.account("renter-other", { usd: 100n * USD });
      const r = await w.cli([...other.args, "renter", "lease", "extend", id, "--hours", "1", "--yes"]);
      expect(r.code).to.equal(ExitCode.Reverted);
      expect(r.err).to.contain("MarketplaceNotRenter");
    });
  });

  describe("lease access for a contract-account renter (renter access-key set, lease access --access-key)", () => {
    it("given a SmartWallet renter that named an access key → it should open the lease's access with that key only", async () => {
      const owner = w.s.wallets[6]!;
      const sw = await viem.deployContract("SmartWallet", [owner.account!.address]);
      const exec = async (to: Address, data: Hex) => {
        const hash = await owner.writeContract({ address: sw.address, abi: sw.abi, functionName: "execute", args: [to, data], account: owner.account!, chain: owner.chain });
        expect((await w.s.publicClient.waitForTransactionReceipt({ hash })).status).to.equal("success");
      };
      await w.s.paymentToken.write.mint([sw.address, 1_000n * USD]);
      await exec(w.s.paymentToken.address, encodeFunctionData({ abi: paymentTokenAbi, functionName: "approve", args: [w.s.marketplace.address, 2n ** 255n] }));
      const params = {
        modelId: 11, minTier: 0, gpuCount: 2, regionMask: 0n, preferredZone: 0, maxPricePerGpuHour: 5n * USD / 2n, durationHours: 3, minUptimeBps: 0, minReputationBps: 0,
        maxTimesSlashed: 3, expiresAt: (await w.s.publicClient.getBlockNumber()) + 500n, paymentToken: w.s.paymentToken.address,
      };
      await exec(w.s.marketplace.address, encodeFunctionData({ abi: marketplaceAbi, functionName: "createOrder", args: [params] }));
      const id = (await w.s.marketplace.read.orderCount()).toString();
      const batch = await w.runBatch();
      expect(batch.assignments.map((a) => a.orderId.toString())).to.include(id);

      const ak = await w.account("access-key");
      const set = await w.cli(["--password-file", w.passwordFile, "--json", "renter", "access-key", "set", ak.file, "--calldata"]);
      expect(set.code, set.err).to.equal(0);
      const call = set.json<{ to: Address; data: Hex; accessKey: Hex }>();
      expect(getAddress(call.to)).to.equal(getAddress(w.s.marketplace.address));
      await exec(call.to, call.data);
      expect(await w.s.marketplace.read.accessKeyOf([sw.address])).to.equal(call.accessKey);

      // The provider seals to the key the renter named (what the agent does, protocol/handoff/renterKey.ts sealKeyOf).
      const domain = { chainId: Number(w.s.chainId), marketplace: w.s.marketplace.address, leaseId: BigInt(id) };
      const access = { endpoint: "http://127.0.0.1:20000/", credential: "c".repeat(43) };
      const wallet = await viem.getWalletClient(provider.address as Address);
      const m = await viem.getContractAt("Marketplace", w.s.marketplace.address, { client: { wallet } });
      await w.s.publicClient.waitForTransactionReceipt({ hash: await m.write.markLeaseReady([BigInt(id), bytesToHex(seal(call.accessKey, domain, encodeAccess(access)))]) });

      const opened = await w.cli(["--password-file", w.passwordFile, "--json", "renter", "lease", "access", id, "--access-key", ak.file]);
      expect(opened.code, opened.err + opened.out).to.equal(0);
      expect(opened.json()).to.include({ endpoint: access.endpoint, credential: access.credential });
      // Another keystore is not the renter's access key; the EOA renter's own account is not the lease's renter.
      const wrong = await w.cli(["--password-file", w.passwordFile, "renter", "lease", "access", id, "--access-key", renter.file]);
      expect(wrong.code).to.equal(ExitCode.Keystore);
      expect(wrong.err).to.contain(`not the access key renter ${getAddress(sw.address)} had named`);
      const notYours = await w.cli([...renter.args, "renter", "lease", "access", id]);
      expect(notYours.code).to.equal(ExitCode.Keystore);
      expect(notYours.err).to.contain("is not yours");
    });
  });
});
