import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hex } from "viem";
import { Supervisor } from "../../deploy/devnet/supervisor.js";
import { enableIntervalMining, startChain, type ChainKind } from "../../deploy/devnet/chain.js";
import { freePorts } from "../../deploy/devnet/ports.js";

/** Sends `n` plain transfers from dev account 0 without waiting, then the blocks their receipts name. */
async function blocksOfTransfers(chain: Awaited<ReturnType<typeof startChain>>, n: number): Promise<bigint[]> {
  const from = chain.devAccounts[0]!;
  const to = chain.devAccounts[1]!;
  const hashes: Hex[] = [];
  for (let i = 0; i < n; i++) hashes.push(await chain.wallet(from).sendTransaction({ account: from, chain: chain.chain, to, value: 1n }));
  const receipts = await Promise.all(hashes.map((hash) => chain.publicClient.waitForTransactionReceipt({ hash, timeout: 20_000, pollingInterval: 50 })));
  return receipts.map((r) => r.blockNumber);
}

describe("devnet: how the chain mines (enableIntervalMining)", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "matchnet-mining-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const kind of ["hardhat", "anvil"] as ChainKind[]) {
    describe(`given ${kind}`, () => {
      it("with automine (the default) → each of three transactions sent at once should get a block of its own", async () => {
        const supervisor = new Supervisor();
        const [port] = (await freePorts(1)) as [number];
        const chain = await startChain(supervisor, { port, root: process.cwd(), logFile: join(dir, `${kind}-auto.log`), kind, blockTimeMs: 2_000 });
        try {
          await enableIntervalMining(chain, 2_000);
          const blocks = await blocksOfTransfers(chain, 3);
          expect(new Set(blocks).size).to.equal(3);
        } finally {
          await supervisor.stopAll();
        }
      });

      it("with automine off → three transactions sent at once should share the next interval block, and the head should still advance without traffic", async () => {
        const supervisor = new Supervisor();
        const [port] = (await freePorts(1)) as [number];
        const chain = await startChain(supervisor, { port, root: process.cwd(), logFile: join(dir, `${kind}-interval.log`), kind, blockTimeMs: 2_000 });
        try {
          await enableIntervalMining(chain, 2_000, false);
          const blocks = await blocksOfTransfers(chain, 3);
          expect(new Set(blocks).size).to.equal(1);
          const head = await chain.publicClient.getBlockNumber({ cacheTime: 0 });
          await new Promise((r) => setTimeout(r, 4_500));
          expect((await chain.publicClient.getBlockNumber({ cacheTime: 0 })) > head).to.equal(true);
        } finally {
          await supervisor.stopAll();
        }
      });
    });
  }
});
