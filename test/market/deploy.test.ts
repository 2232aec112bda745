import { describe, it } from "mocha";
import { expect } from "chai";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { network } from "hardhat";
import { getAddress } from "viem";
import { DeploymentFileError, deployMatchnet, readDeployment } from "../../deploy/deployment.js";
import { MATCHNET_DEFAULTS } from "../../deploy/MatchnetModule.js";
import { as, deployMarket } from "../support/market.js";

describe("deploy/ (Ignition module and deployment file)", () => {
  describe("given a fresh chain", () => {
    it("→ it should deploy and wire every contract with the documented defaults and write a readable deployment file", async () => {
      const connection = await network.create();
      const dir = await mkdtemp(join(tmpdir(), "matchnet-deploy-"));
      try {
        const file = join(dir, "deployment.json");
        const d = await deployMatchnet(connection, { outFile: file });
        const back = await readDeployment(file);
        expect(back).to.deep.equal(d.deployment);
        expect(back.chainId).to.equal(31337);
        const created = await connection.viem.getPublicClient();
        const receiptBlock = (await created.getBlockNumber());
        expect(back.deployBlock).to.be.greaterThan(0).and.at.most(Number(receiptBlock));
        expect(await d.offerBook.read.marketplace()).to.equal(getAddress(d.marketplace.address));
        expect(await d.registry.read.marketplace()).to.equal(getAddress(d.marketplace.address));
        expect(await d.registry.read.offerBook()).to.equal(getAddress(d.offerBook.address));
        expect(await d.registry.read.stakeToken()).to.equal(getAddress(d.stakeToken.address));
        expect(await d.marketplace.read.isPaymentTokenAllowed([d.paymentToken.address])).to.equal(true);
        expect(await d.registry.read.minProviderStake()).to.equal(MATCHNET_DEFAULTS.minProviderStake);
        expect(await d.registry.read.exitDelay()).to.equal(MATCHNET_DEFAULTS.exitDelay);
        expect(await d.marketplace.read.maxOrderLifetime()).to.equal(MATCHNET_DEFAULTS.maxOrderLifetime);
        expect(await d.paymentToken.read.decimals()).to.equal(6);
        expect(await d.stakeToken.read.decimals()).to.equal(18);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  describe("given a malformed deployment file", () => {
    it("→ it should throw DeploymentFileError naming the problem", async () => {
      const dir = await mkdtemp(join(tmpdir(), "matchnet-deploy-"));
      try {
        const file = join(dir, "bad.json");
        await writeFile(file, JSON.stringify({ version: 1, chainId: 1, deployBlock: 1, contracts: { paymentToken: "0x0000000000000000000000000000000000000001" } }));
        const err = await readDeployment(file).catch((e: unknown) => e);
        expect(err).to.be.instanceOf(DeploymentFileError);
        expect((err as Error).message).to.contain("contracts.stakeToken missing");
        await writeFile(file, JSON.stringify({ version: 2 }));
        expect(await readDeployment(file).catch((e: unknown) => e)).to.be.instanceOf(DeploymentFileError);
        expect(JSON.parse(await readFile(file, "utf8")).version).to.equal(2);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});

describe("devnet tokens", () => {
  const connectionP = network.create();
  describe("given the faucet and the owner's mint", () => {
    it("→ it should mint up to the faucet cap to anyone and refuse more, and let only the owner mint", async () => {
      const connection = await connectionP;
      const m = await deployMarket(connection);
      const s = await as(m, m.stranger);
      await s.paymentToken.write.faucet([100_000n * 1_000_000n]);
      expect(await m.paymentToken.read.balanceOf([m.stranger.account.address])).to.equal(100_000n * 1_000_000n);
      await connection.viem.assertions.revertWithCustomError(s.paymentToken.write.faucet([100_000n * 1_000_000n + 1n]), m.paymentToken, "PaymentTokenFaucetLimit");
      await connection.viem.assertions.revertWithCustomError(s.stakeToken.write.faucet([10_001n * 10n ** 18n]), m.stakeToken, "StakeTokenFaucetLimit");
      await s.stakeToken.write.faucet([10n ** 18n]);
      await connection.viem.assertions.revertWithCustomError(s.paymentToken.write.mint([m.stranger.account.address, 1n]), m.paymentToken, "OwnableUnauthorizedAccount");
      await connection.viem.assertions.revertWithCustomError(s.stakeToken.write.mint([m.stranger.account.address, 1n]), m.stakeToken, "OwnableUnauthorizedAccount");
    });
  });

  describe("given a chain that is not a local devnet (chain id 42161)", () => {
    it("→ the deployment should refuse before sending anything, and a faucet token deployed there anyway should refuse to mint", async () => {
      const connection = await network.create({ override: { chainId: 42161 } });
      const [owner] = await connection.viem.getWalletClients();
      const publicClient = await connection.viem.getPublicClient();
      const nonce = await publicClient.getTransactionCount({ address: owner!.account.address });
      let refused: unknown = null;
      await deployMatchnet(connection).catch((err: unknown) => (refused = err));
      expect(String(refused)).to.match(/chain 42161 is not a local devnet/);
      expect(await publicClient.getTransactionCount({ address: owner!.account.address })).to.equal(nonce);
      const pay = await connection.viem.deployContract("PaymentToken", [owner!.account.address]);
      const stake = await connection.viem.deployContract("StakeToken", [owner!.account.address]);
      await connection.viem.assertions.revertWithCustomErrorWithArgs(pay.write.faucet([1n]), pay, "PaymentTokenFaucetNotOnThisChain", [42161n]);
      await connection.viem.assertions.revertWithCustomErrorWithArgs(stake.write.faucet([1n]), stake, "StakeTokenFaucetNotOnThisChain", [42161n]);
    });
  });
});
