/**
 * The provider agent (agent/agent.ts) against a real in-process Hardhat chain, driven block by block: handover of the
 * leases of one block, a lease whose block is reorged out (evm_snapshot / evm_revert), and a confirmation depth at its
 * boundary (depth N−1 and N, with restarts in between).
 */
import { describe, it } from "mocha";
import { expect } from "chai";
import { network } from "hardhat";
import { getAddress, type PublicClient } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { AgentError, ProviderAgent } from "../../agent/agent.js";
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
async function agentFixture(opts: { confirmations?: number } = {}) {
  const m = await deployMarket(connection);
  const { versionId } = await providerWithOffer(m, m.provider1, { gpuCount: 8, price: 2n * USD });
  const index = (await m.viem.getWalletClients()).findIndex((w) => getAddress(w.account.address) === getAddress(m.provider1.account.address));
  const account = mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: index });
  expect(getAddress(account.address)).to.equal(getAddress(m.provider1.account.address));
  const dir = await makeTempDir("agent-test");
  const portRange = await freeRange(4);
  const options = { chainId: await m.publicClient.getChainId(), marketplace: m.marketplace.address, offerBook: m.offerBook.address, deployBlock: 0n, advertiseHost: "127.0.0.1", pollIntervalMs: 3_600_000, confirmations: opts.confirmations ?? 0 };
  /** An agent on the fixture's data dir (a second call after `stop` is a restart). */
  const startAgent = async () => {
    const workloads = new Workloads({ host: "127.0.0.1", portRange, spares: 2 }, silentLogger());
    const agent = await ProviderAgent.start(options, { client: m.publicClient as unknown as PublicClient, account: account as never, store: await StateStore.open(dir.path), workloads, logger: silentLogger() });
    return { agent, workloads };
  };
  const f = { m, versionId, options, ...(await startAgent()) };
  const lease = (id: bigint) => m.marketplace.read.getLease([id]);
  /** Ticks until `done` holds (receipts are recorded in the background). */
  const until = async (done: () => Promise<boolean>) => {
    for (let i = 0; i < 50 && !(await done()); i++) {
      await f.agent.tick();
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await done()).to.equal(true);
  };
  const restart = async () => {
    await f.agent.stop();
    Object.assign(f, await startAgent());
  };
  const cleanup = async () => {
    await f.agent.stop();
    await dir.remove();
  };
  /**
   * The head, asked directly: viem's getBlockNumber shares a request still in flight on the same client (the agent's
   * receipt waits poll it in the background), whose answer may predate blocks the test has just mined.
   */
  const blockNumber = async () => BigInt(await m.publicClient.request({ method: "eth_blockNumber" }));
  /** Mines `blocks` blocks one at a time, ticking the agent after each. */
  const mineTicking = async (blocks: number) => {
    const test = await m.viem.getTestClient();
    for (let i = 0; i < blocks; i++) {
      await test.mine({ blocks: 1 });
      await f.agent.tick();
    }
  };
  return Object.assign(f, { lease, until, restart, cleanup, startAgent, mineTicking, blockNumber });
}

/** Runs `body` on a fresh agent fixture and removes the fixture's agent and data dir whatever the outcome. */
async function withAgent(opts: { confirmations?: number }, body: (f: Awaited<ReturnType<typeof agentFixture>>) => Promise<void>): Promise<void> {
  const f = await agentFixture(opts);
  try {
    await body(f);
  } finally {
    await f.cleanup();
  }
}

describe("provider agent on a real chain (agent/agent.ts)", function () {
  this.timeout(120_000);

  describe("given two leases of the provider started in one block", () => {
    it("→ it should start both workloads and mark both ready, each exactly once", async () => {
      await withAgent({}, async (f) => {
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
        await f.mineTicking(3);
        const again = await f.m.publicClient.getContractEvents({ address: f.m.marketplace.address, abi: f.m.marketplace.abi, eventName: "LeaseReady", fromBlock: 0n });
        expect(again).to.have.length(2);
      });
    });
  });

  describe("given a lease handed over in blocks that are then reorged out (evm_revert)", () => {
    it("→ it should stop its workload and drop its record (port, credential hash), and keep serving on the new branch", async () => {
      await withAgent({}, async (f) => {
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
      });
    });
  });

  describe("given confirmations 2", () => {
    const N = 2;
    const readyLogs = (f: Awaited<ReturnType<typeof agentFixture>>) => f.m.publicClient.getContractEvents({ address: f.m.marketplace.address, abi: f.m.marketplace.abi, eventName: "LeaseReady", fromBlock: 0n });

    it("→ it should not act on a lease at depth N−1, and act on it at depth N, once", async () => {
      await withAgent({ confirmations: N }, async (f) => {
        const test = await f.m.viem.getTestClient();
        const a = await placeOrder(f.m, f.m.renter1, { maxPricePerGpuHour: 3n * USD, gpuCount: 2 });
        await apply(f.m, [{ orderId: a, offerVersionId: f.versionId, gpuCount: 2, pricePerGpuHour: 2n * USD }]);
        const start = (await f.lease(a)).startBlock;
        // Block by block (a multi-block mine keeps no state for the blocks inside it), ticking at each depth below N.
        for (let depth = 0; depth < N; depth++) {
          expect(await f.blockNumber()).to.equal(start + BigInt(depth));
          await f.agent.tick();
          await new Promise((r) => setTimeout(r, 200));
          expect(f.agent.leases().find((l) => l.leaseId === String(a)), `record at depth ${depth}`).to.equal(undefined);
          expect(f.workloads.isRunning(a), `workload at depth ${depth}`).to.equal(false);
          expect(await readyLogs(f), `LeaseReady at depth ${depth}`).to.have.length(0);
          await test.mine({ blocks: 1 });
        }
        expect(await f.blockNumber()).to.equal(start + BigInt(N));
        await f.agent.tick();
        expect(f.workloads.isRunning(a), "workload at depth N").to.equal(true);
        await f.until(async () => f.agent.leases().some((l) => l.leaseId === String(a) && l.phase === "ready"));
        const ready = await readyLogs(f);
        expect(ready.map((l) => l.args.leaseId)).to.deep.equal([a]);
        expect(ready[0]!.blockNumber).to.equal(start + BigInt(N) + 1n);
        await f.mineTicking(N + 2);
        expect(await readyLogs(f)).to.have.length(1);
        expect(f.workloads.isRunning(a)).to.equal(true);
      });
    });

    it("→ a restart while the lease is at depth N−1 should neither lose it nor hand it over twice", async () => {
      await withAgent({ confirmations: N }, async (f) => {
        const test = await f.m.viem.getTestClient();
        const a = await placeOrder(f.m, f.m.renter1, { maxPricePerGpuHour: 3n * USD, gpuCount: 2 });
        await apply(f.m, [{ orderId: a, offerVersionId: f.versionId, gpuCount: 2, pricePerGpuHour: 2n * USD }]);
        const start = (await f.lease(a)).startBlock;
        await test.mine({ blocks: 1 });
        await f.agent.tick();
        expect(await f.blockNumber()).to.equal(start + BigInt(N - 1));
        expect(f.agent.leases().find((l) => l.leaseId === String(a))).to.equal(undefined);
        // Stopped and started again at depth N−1: the new agent does not act on it either.
        await f.restart();
        expect(f.agent.leases().find((l) => l.leaseId === String(a)), "record after the restart at depth N−1").to.equal(undefined);
        expect(f.workloads.isRunning(a)).to.equal(false);
        expect(await readyLogs(f)).to.have.length(0);
        await test.mine({ blocks: 1 });
        await f.until(async () => f.agent.leases().some((l) => l.leaseId === String(a) && l.phase === "ready"));
        expect(f.workloads.isRunning(a)).to.equal(true);
        // A restart right after the handover (its LeaseReady still shallower than N) sends nothing again.
        await f.restart();
        await f.mineTicking(N + 2);
        expect((await readyLogs(f)).map((l) => l.args.leaseId)).to.deep.equal([a]);
        expect(f.agent.leases().find((l) => l.leaseId === String(a))?.phase).to.equal("ready");
        expect(f.workloads.isRunning(a), "workload started again after the restart").to.equal(true);
      });
    });
  });

  describe("given confirmations against the marketplace's handoffTimeout", () => {
    it("→ it should start with handoffTimeout − 1 and refuse handoffTimeout (AGENT_CONFIRMATIONS_TOO_DEEP, naming both)", async () => {
      await withAgent({}, async (f) => {
        const timeout = Number(await f.m.marketplace.read.handoffTimeout());
        await f.agent.stop();
        f.options.confirmations = timeout - 1;
        const ok = await f.startAgent();
        await ok.agent.stop();
        f.options.confirmations = timeout;
        const err = await f.startAgent().then(
          () => expect.fail("started with confirmations = handoffTimeout"),
          (e: AgentError) => e,
        );
        expect(err.code).to.equal("AGENT_CONFIRMATIONS_TOO_DEEP");
        expect(err.message).to.equal(`confirmations: ${timeout} blocks, but the marketplace's handoffTimeout is ${timeout} blocks: a lease would be handed over no earlier than its renter may close it for a handoff timeout; use at most ${timeout - 1} (docs/agent.md "Confirmation depth")`);
      });
    });
  });
});
