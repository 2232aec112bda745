import { expect } from "chai";
import { network } from "hardhat";
import { formatUnits } from "viem";
import { writeFile } from "node:fs/promises";
import { ExitCode } from "../../cli/errors.js";
import { cliWorld, type CliWorld } from "./fixture.js";
import { GPU_CATALOG } from "../../protocol/market/catalog.js";

const connection = await network.create();
const USD = 1_000_000n;
const STAKE = 10n ** 18n;

describe("matchnet CLI: catalog, provider and offers against the real contracts", () => {
  let w: CliWorld;
  before(async () => {
    w = await cliWorld(connection);
  });
  after(async () => w.remove());

  it("given the deployment → catalog list --json should print the on-chain catalog, one JSON document", async () => {
    const r = await w.cli(["--json", "catalog", "list"]);
    expect(r.code).to.equal(ExitCode.Ok);
    expect(r.err).to.equal("");
    const models = r.json().models as { id: number; name: string; vramGb: number; listPriceUsd: number; tier: number; tierName: string }[];
    expect(models.map((m) => [m.id, m.name, m.vramGb, m.listPriceUsd, m.tier])).to.deep.equal(GPU_CATALOG.map((m) => [m.id, m.name, m.vramGb, m.listPriceUsd, m.tier]));
    expect(models.find((m) => m.id === 11)!.tierName).to.equal("ultra");
    const text = await w.cli(["catalog", "list"]);
    expect(text.out).to.match(/^id\s+model\s+VRAM\s+list price\s+tier/);
    expect(text.out).to.contain("NVIDIA H100 SXM").and.contain("$30,000");
  });

  describe("provider register → status → offer create/update/list → maintenance → top-up → exit → withdraw-stake", () => {
    it("given a funded account → it should run the provider's life cycle and print each step", async () => {
      const p = await w.account("prov-life", { stake: 10n * STAKE });
      let r = await w.cli([...p.args, "provider", "register", "--zone", "eu-central-2", "--stake", "2"]);
      expect(r.code, r.err).to.equal(0);
      expect(r.out).to.match(/^registered provider 0x[0-9a-fA-F]{40} in eu-central-2 with stake 2 \(tx 0x/);

      r = await w.cli([...p.args, "--json", "provider", "status"]);
      const st = r.json();
      expect(st).to.include({ provider: p.address, status: "active", stake: (2n * STAKE).toString(), zoneName: "eu-central-2", uptimeBps: 10_000, reputationBps: 5_000, offers: 0 });

      r = await w.cli([...p.args, "--json", "provider", "offer", "create", "--model", "H100 SXM", "--gpus", "8", "--price", "2.5"]);
      expect(r.code, r.out).to.equal(0);
      const offerId = r.json().offerId as string;
      expect(r.json()).to.include({ modelId: 11, gpuCount: 8, pricePerGpuHour: (2_500_000n).toString() });
      const onChain = await w.s.offerBook.read.versionAt([BigInt(offerId), await w.s.publicClient.getBlockNumber()]);
      expect(onChain.pricePerGpuHour).to.equal(2_500_000n);

      r = await w.cli([...p.args, "provider", "offer", "update", offerId, "--price", "2.25"]);
      expect(r.code, r.err).to.equal(0);
      expect(r.out).to.match(new RegExp(`^offer ${offerId} now 8 GPUs at 2.25/GPU-hour \\(version \\d+, tx 0x`));

      r = await w.cli([...p.args, "--json", "provider", "offer", "list"]);
      expect(r.json().offers).to.have.length(1);
      expect(r.json().offers[0]).to.include({ offerId, gpuCount: 8, pricePerGpuHour: "2250000", active: true, model: "NVIDIA H100 SXM" });

      r = await w.cli([...p.args, "provider", "maintenance", "on"]);
      expect(r.out).to.match(/^maintenance on \(tx/);
      expect((await w.s.registry.read.getProvider([p.address])).status).to.equal(2);
      const nonce = await w.s.publicClient.getTransactionCount({ address: p.address });
      r = await w.cli([...p.args, "provider", "maintenance", "on"]);
      expect(r.code, r.err).to.equal(0);
      expect(r.out).to.equal("maintenance already on: nothing sent\n");
      expect(await w.s.publicClient.getTransactionCount({ address: p.address })).to.equal(nonce);
      r = await w.cli([...p.args, "provider", "maintenance", "off"]);
      expect((await w.s.registry.read.getProvider([p.address])).status).to.equal(1);

      r = await w.cli([...p.args, "provider", "top-up", "--amount", "1.5"]);
      expect(r.out).to.match(/^added 1.5 stake; stake now 3.5 \(tx/);

      r = await w.cli([...p.args, "provider", "offer", "withdraw", offerId]);
      expect(r.code).to.equal(0);
      r = await w.cli([...p.args, "provider", "exit"]);
      expect(r.code, r.err).to.equal(0);
      expect(r.out).to.match(/^exit requested; run `matchnet provider withdraw-stake` from block \d+/);

      r = await w.cli([...p.args, "provider", "withdraw-stake"]);
      expect(r.code).to.equal(ExitCode.Reverted);
      expect(r.err).to.match(/^matchnet: provider withdraw-stake reverted: ProviderRegistryExitDelayNotElapsed\(\d+\)\n  The exit delay has not passed yet;/);

      await connection.networkHelpers.mine(10);
      r = await w.cli([...p.args, "--json", "provider", "withdraw-stake"]);
      expect(r.code, r.out).to.equal(0);
      expect(r.json().withdrawn).to.equal((35n * STAKE / 10n).toString());
    });

    it("given a provider exiting with a GPU leased → exit and status should say the stake waits for the lease as well as the delay; once it is closed, that withdraw-stake may run", async () => {
      const p = await w.account("prov-leased", { stake: 10n * STAKE });
      expect((await w.cli([...p.args, "provider", "register", "--zone", "ap-northeast-1", "--stake", "2"])).code).to.equal(0);
      expect((await w.cli([...p.args, "provider", "offer", "create", "--model", "3", "--gpus", "2", "--price", "0.5"])).code).to.equal(0);
      const renter = await w.account("renter-leased", { usd: 100n * USD });
      const order = await w.cli([...renter.args, "--json", "renter", "order", "create", "--model", "3", "--gpus", "1", "--max-price", "0.5", "--hours", "1", "--regions", "ap-northeast", "--yes"]);
      expect(order.code, order.out).to.equal(0);
      const orderId = order.json().orderId as string;
      const { assignments } = await w.runBatch();
      expect(assignments.map((a) => a.orderId.toString())).to.include(orderId);

      let r = await w.cli([...p.args, "provider", "exit"]);
      expect(r.code, r.err).to.equal(0);
      expect(r.out).to.match(/^exit requested; run `matchnet provider withdraw-stake` from block \d+ once the leases running on your offers have ended \(tx 0x/);
      await connection.networkHelpers.mine(10);
      r = await w.cli([...p.args, "--json", "provider", "status"]);
      expect(r.json()).to.include({ status: "exiting", hasLeasedCapacity: true });
      expect(BigInt(r.json().headBlock) >= BigInt(r.json().exitReadyAt), "exit delay passed").to.equal(true);
      r = await w.cli([...p.args, "provider", "status"]);
      expect(r.out).to.match(/\nexit        stake withdrawable from block \d+ \(now \d+\), once no GPU of the provider is leased \(some are now: their leases must end or be closed first\)\n/);
      r = await w.cli([...p.args, "provider", "withdraw-stake"]);
      expect(r.code).to.equal(ExitCode.Reverted);
      expect(r.err).to.contain("ProviderRegistryActiveLeases");

      expect((await w.cli([...renter.args, "renter", "lease", "close", orderId])).code).to.equal(0);
      r = await w.cli([...p.args, "provider", "status"]);
      expect(r.out).to.match(/\nexit        stake withdrawable from block \d+ \(now \d+\): run `matchnet provider withdraw-stake`\n/);
      r = await w.cli([...p.args, "provider", "withdraw-stake"]);
      expect(r.code, r.err).to.equal(0);
    });

    it("given an account already registered → register should fail with the decoded error, a hint and exit 5", async () => {
      const p = await w.account("prov-twice", { stake: 10n * STAKE });
      expect((await w.cli([...p.args, "provider", "register", "--zone", "us-east-1", "--stake", "1"])).code).to.equal(0);
      const r = await w.cli([...p.args, "provider", "register", "--zone", "us-east-1", "--stake", "1"]);
      expect(r.code).to.equal(ExitCode.Reverted);
      expect(r.out).to.equal("");
      expect(r.err).to.equal(`matchnet: provider register reverted: ProviderRegistryAlreadyRegistered(${p.address})\n  This account is already a provider; see \`matchnet provider status\`.\n`);
      const j = await w.cli([...p.args, "--json", "provider", "register", "--zone", "us-east-1", "--stake", "1"]);
      expect(j.code).to.equal(ExitCode.Reverted);
      expect(j.err).to.equal("");
      expect(j.json().error).to.include({ code: "REVERTED", exitCode: 5, errorName: "ProviderRegistryAlreadyRegistered" });
    });

    it("given a stake below the minimum → it should refuse before sending, naming --stake (exit 2)", async () => {
      const p = await w.account("prov-low", { stake: 10n * STAKE });
      const min = await w.s.registry.read.minProviderStake();
      expect(min).to.equal(STAKE);
      const r = await w.cli([...p.args, "provider", "register", "--zone", "us-east-1", "--stake", formatUnits(min - 1n, 18)]);
      expect(r.code).to.equal(ExitCode.Usage);
      expect(r.err).to.match(/^matchnet: --stake: 0.999999999999999999 is below the minimum provider stake 1\n/);
      const exact = await w.cli([...p.args, "provider", "register", "--zone", "us-east-1", "--stake", formatUnits(min, 18)]);
      expect(exact.code, exact.err).to.equal(0);
    });

    it("given another provider's offer → update should fail with OfferBookNotOfferProvider (exit 5); an unknown offer is not found (exit 7)", async () => {
      const a = await w.account("prov-a", { stake: 10n * STAKE });
      const b = await w.account("prov-b", { stake: 10n * STAKE });
      for (const p of [a, b]) expect((await w.cli([...p.args, "provider", "register", "--zone", "us-west-1", "--stake", "1"])).code).to.equal(0);
      const r = await w.cli([...a.args, "--json", "provider", "offer", "create", "--model", "5", "--gpus", "2", "--price", "0.4"]);
      const offerId = r.json().offerId as string;
      const u = await w.cli([...b.args, "provider", "offer", "update", offerId, "--gpus", "1"]);
      expect(u.code).to.equal(ExitCode.Reverted);
      expect(u.err).to.contain("OfferBookNotOfferProvider").and.contain("belongs to another provider");
      const n = await w.cli([...b.args, "provider", "offer", "update", "999", "--gpus", "1"]);
      expect(n.code).to.equal(ExitCode.NotFound);
      expect(n.err).to.match(/^matchnet: no offer 999 \(there are \d+\)/);
    });

    it("given a provider with nothing earned → earnings says 0 and withdraw fails with MarketplaceNothingToWithdraw", async () => {
      const p = await w.account("prov-poor", { stake: 10n * STAKE });
      let r = await w.cli([...p.args, "provider", "earnings"]);
      expect(r.out).to.equal("earnings 0 withdrawable (run `matchnet provider withdraw`)\n");
      r = await w.cli([...p.args, "provider", "withdraw"]);
      expect(r.code).to.equal(ExitCode.Reverted);
      expect(r.err).to.contain("MarketplaceNothingToWithdraw").and.contain("There is nothing to withdraw");
    });
  });

  describe("faucet", () => {
    it("given a fresh account → it should mint devnet tokens up to the faucet's limit and refuse more with the decoded error", async () => {
      const a = await w.account("faucet-user");
      const r = await w.cli([...a.args, "--json", "faucet", "--usd", "100000", "--stake", "5"]);
      expect(r.code, r.out).to.equal(0);
      expect(r.json()).to.deep.equal({ usd: "100000000000", usdBalance: "100000000000", stake: (5n * STAKE).toString(), stakeBalance: (5n * STAKE).toString() });
      const over = await w.cli([...a.args, "faucet", "--usd", "100000.000001"]);
      expect(over.code).to.equal(ExitCode.Reverted);
      expect(over.err).to.contain("PaymentTokenFaucetLimit").and.contain("at most its limit");
      expect(await w.s.paymentToken.read.balanceOf([a.address])).to.equal(100_000n * USD);
    });
  });

  describe("bad input", () => {
    it("given an unknown flag → it should name the flag and exit 2", async () => {
      const r = await w.cli(["provider", "offer", "create", "--model", "5", "--gpu", "2", "--price", "1"]);
      expect(r.code).to.equal(ExitCode.Usage);
      expect(r.err).to.match(/unknown option '--gpu'/);
    });
    it("given a missing required flag → it should name it and exit 2", async () => {
      const r = await w.cli(["--json", "provider", "offer", "create", "--model", "5", "--price", "1"]);
      expect(r.code).to.equal(ExitCode.Usage);
      expect(r.json().error.message).to.match(/required option '--gpus <n>' not specified/);
    });
    it("given bad values → each error names its flag (exit 2), nothing is sent", async () => {
      const p = await w.account("prov-bad", { stake: 10n * STAKE });
      const before = await w.s.publicClient.getTransactionCount({ address: p.address });
      const cases: [string[], RegExp][] = [
        [["provider", "register", "--zone", "mars-1", "--stake", "1"], /--zone: unknown region "mars"/],
        [["provider", "register", "--zone", "us-east-0", "--stake", "1"], /--zone: us-east-0 is not a valid zone/],
        [["provider", "register", "--zone", "us-east-1", "--stake", "1.2.3"], /--stake: "1.2.3" is not a decimal amount/],
        [["provider", "offer", "create", "--model", "H999", "--gpus", "1", "--price", "1"], /--model: "H999" is not a catalog model/],
        [["provider", "offer", "create", "--model", "5", "--gpus", "0", "--price", "1"], /--gpus: 0 is outside 1‥4294967295/],
        [["provider", "offer", "create", "--model", "5", "--gpus", "1", "--price", "0.0000001"], /--price: "0.0000001" has more than 6 decimals/],
        [["provider", "maintenance", "sometimes"], /<on\|off>: "sometimes" is neither on nor off/],
      ];
      for (const [args, re] of cases) {
        const r = await w.cli([...p.args, ...args]);
        expect(r.code, args.join(" ")).to.equal(ExitCode.Usage);
        expect(r.err, args.join(" ")).to.match(re);
      }
      expect(await w.s.publicClient.getTransactionCount({ address: p.address })).to.equal(before);
    });
    it("given an account without ETH → a transaction should exit 9 saying the account cannot pay for gas", async () => {
      const r0 = await w.cli(["--password-file", w.passwordFile, "--json", "keys", "create", "--name", "no-eth", "--kdf-n", "1024"]);
      const r = await w.cli(["--account", r0.json().file, "--password-file", w.passwordFile, "faucet", "--usd", "1"]);
      expect(r.code).to.equal(ExitCode.NoGas);
      expect(r.err).to.equal("matchnet: faucet usd: the account has too little ETH to pay for gas\n  Send ETH to the account (on the devnet: from one of Hardhat's dev accounts) and run the command again.\n");
    });
    it("given a deployment file for another chain or a missing one → exit 3 with what to do", async () => {
      const r = await w.cli(["catalog", "list", "--deployment", "/nonexistent/deployment.json"], { global: false });
      expect(r.code).to.equal(ExitCode.Chain);
      expect(r.err).to.contain("deployment file /nonexistent/deployment.json: not found");
      const other = `${w.dir}/other-chain.json`;
      await writeFile(other, JSON.stringify({ ...w.s.deployment, chainId: 1 }));
      const c = await w.cli(["catalog", "list", "--deployment", other, "--rpc", "http://in-process.invalid"], { global: false });
      expect(c.code).to.equal(ExitCode.Chain);
      expect(c.err).to.contain("the RPC at http://in-process.invalid serves chain 31337, the deployment file is for chain 1");
      await writeFile(other, "{ not json");
      const j = await w.cli(["catalog", "list", "--deployment", other], { global: false });
      expect(j.code).to.equal(ExitCode.Chain);
      expect(j.err).to.contain("other-chain.json: is not JSON");
    });
  });
});
