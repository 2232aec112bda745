/**
 * The provider agent (agent/agent.ts) against a real in-process Hardhat chain, driven block by block: handover of the
 * leases of one block, and a lease whose block is reorged out (evm_snapshot / evm_revert).
 */
import { describe, it } from "mocha";
import { expect } from "chai";
import { network } from "hardhat";
import { getAddress, type PublicClient } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { ProviderAgent } from "../../agent/agent.js";
import { StateStore } from "../../agent/state.js";
import { Workloads, portIsFree } from "../../agent/workloads.js";
import { silentLogger } from "../../protocol/log/logger.js";
import { USD, apply, deployMarket, placeOrder, providerWithOffer } from "../support/market.js";
import { makeTempDir } from "../support/tempdir.js";

const connection = await network.create();
const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";

async function freeRange(n: number): Promise<[number, number]> {
  for (let base = 33_000 + Math.floor(Math.random() * 1_000) * 10; ; base += 10) {
    let ok = true;
    for (let p = base; p < base + n && ok; p++) ok = await portIsFree("127.0.0.1", p);
    if (ok) return [base, base + n - 1];
  }
}

/** A market with provider1's offer and an agent for provider1 (ticks driven by the test, not by a timer). */
async function agentFixture() {
  const m = await deployMarket(connection);
  const { versionId } = await providerWithOffer(m, m.provider1, { gpuCount: 8, price: 2n * USD });
  const index = (await m.viem.getWalletClients()).findIndex((w) => getAddress(w.account.address) === getAddress(m.provider1.account.address));
  const account = mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: index });
  expect(getAddress(account.address)).to.equal(getAddress(m.provider1.account.address));
  const dir = await makeTempDir("agent-test");
  const store = await StateStore.open(dir.path);
  const workloads = new Workloads({ host: "127.0.0.1", portRange: await freeRange(4), spares: 2 }, silentLogger());
  const agent = await ProviderAgent.start(
    { chainId: await m.publicClient.getChainId(), marketplace: m.marketplace.address, offerBook: m.offerBook.address, deployBlock: 0n, advertiseHost: "127.0.0.1", pollIntervalMs: 3_600_000 },
    { client: m.publicClient as unknown as PublicClient, account: account as never, store, workloads, logger: silentLogger() },
  );
  const lease = (id: bigint) => m.marketplace.read.getLease([id]);
  /** Ticks until `done` holds (receipts are recorded in the background). */
  const until = async (done: () => Promise<boolean>) => {
    for (let i = 0; i < 50 && !(await done()); i++) {
      await agent.tick();
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await done()).to.equal(true);
  };
  const cleanup = async () => {
    await agent.stop();
    await dir.remove();
  };
  return { m, versionId, agent, workloads, lease, until, cleanup };
}

describe("provider agent on a real chain (agent/agent.ts)", function () {
  this.timeout(120_000);

  describe("given two leases of the provider started in one block", () => {
    it("→ it should start both workloads and mark both ready, each exactly once", async () => {
      const f = await agentFixture();
      try {
        const a = await placeOrder(f.m, f.m.renter1, { maxPricePerGpuHour: 3n * USD, gpuCount: 2 });
        const b = await placeOrder(f.m, f.m.renter2, { maxPricePerGpuHour: 3n * USD, gpuCount: 1 });
        await apply(f.m, [
          { orderId: a, offerVersionId: f.versionId, gpuCount: 2, pricePerGpuHour: 2n * USD },
          { orderId: b, offerVersionId: f.versionId, gpuCount: 1, pricePerGpuHour: 2n * USD },
        ]);
        await f.until(async () => f.agent.leases().filter((l) => l.phase === "ready").length === 2);
        expect(f.workloads.isRunning(a)).to.equal(true);
        expect(f.workloads.isRunning(b)).to.equal(true);
        expect((await f.lease(a)).readyAt > 0n).to.equal(true);
        expect((await f.lease(b)).readyAt > 0n).to.equal(true);
        const ready = await f.m.publicClient.getContractEvents({ address: f.m.marketplace.address, abi: f.m.marketplace.abi, eventName: "LeaseReady", fromBlock: 0n });
        expect(ready.map((l) => l.args.leaseId).sort()).to.deep.equal([a, b].sort());
        // More blocks: nothing is sent again.
        for (let i = 0; i < 3; i++) {
          await f.m.viem.getTestClient().then((t) => t.mine({ blocks: 1 }));
          await f.agent.tick();
        }
        const again = await f.m.publicClient.getContractEvents({ address: f.m.marketplace.address, abi: f.m.marketplace.abi, eventName: "LeaseReady", fromBlock: 0n });
        expect(again).to.have.length(2);
      } finally {
        await f.cleanup();
      }
    });
  });

  describe("given a lease handed over in blocks that are then reorged out (evm_revert)", () => {
    it("→ it should stop its workload and drop its record (port, credential hash), and keep serving on the new branch", async () => {
      const f = await agentFixture();
      try {
        const test = await f.m.viem.getTestClient();
        const a = await placeOrder(f.m, f.m.renter1, { maxPricePerGpuHour: 3n * USD, gpuCount: 2 });
        const snapshot = await test.snapshot();
        await apply(f.m, [{ orderId: a, offerVersionId: f.versionId, gpuCount: 2, pricePerGpuHour: 2n * USD }]);
        await f.until(async () => f.agent.leases().some((l) => l.leaseId === String(a) && l.phase === "ready"));
        expect(f.workloads.isRunning(a)).to.equal(true);
        await test.revert({ id: snapshot });
        // The new branch is longer than the old one, without the lease.
        await test.mine({ blocks: 8 });
        await f.agent.tick();
        expect(f.workloads.isRunning(a), "workload of the reorged-out lease").to.equal(false);
        expect(f.agent.leases().find((l) => l.leaseId === String(a)), "record of the reorged-out lease").to.equal(undefined);
        // The new branch creates the lease again (same id): the agent finds it afresh and hands it over.
        await apply(f.m, [{ orderId: a, offerVersionId: f.versionId, gpuCount: 2, pricePerGpuHour: 2n * USD }], 2n);
        await f.until(async () => f.agent.leases().some((l) => l.leaseId === String(a) && l.phase === "ready"));
        expect(f.workloads.isRunning(a)).to.equal(true);
        expect((await f.lease(a)).readyAt > 0n).to.equal(true);
      } finally {
        await f.cleanup();
      }
    });
  });
});
