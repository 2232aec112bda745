import { expect } from "chai";
import { network } from "hardhat";
import type { Hex } from "viem";
import { mined, type ReceiptWait } from "../../deploy/devnet/chain.js";

/** Short windows so each case runs in about a second; the rule is the same as with the devnet's 30 s / 120 s. */
const WAIT: ReceiptWait = { windowMs: 200, stalledMs: 800, pollingMs: 20 };

async function chainWithoutAutomine() {
  const connection = await network.create();
  await connection.provider.request({ method: "evm_setAutomine", params: [false] });
  const publicClient = await connection.viem.getPublicClient();
  const [wallet] = await connection.viem.getWalletClients();
  const send = (nonce?: number): Promise<Hex> => wallet!.sendTransaction({ to: wallet!.account.address, value: 1n, nonce });
  const mine = () => connection.provider.request({ method: "evm_mine", params: [] });
  return { publicClient, wallet: wallet!, send, mine };
}

describe("devnet: waiting for a receipt (mined)", () => {
  it("given a receipt that comes after several wait windows → it should keep waiting and return it", async () => {
    const c = await chainWithoutAutomine();
    const hash = await c.send();
    const started = Date.now();
    const late = new Promise((r) => setTimeout(r, 3 * WAIT.windowMs + 100)).then(c.mine);
    const receipt = await mined(c, hash, "a transfer", WAIT);
    await late;
    expect(receipt.status).to.equal("success");
    expect(Date.now() - started).to.be.at.least(3 * WAIT.windowMs);
  });

  it("given a node that mines no block → it should stop after stalledMs, naming the transaction and the head", async () => {
    const c = await chainWithoutAutomine();
    const hash = await c.send();
    const head = await c.publicClient.getBlockNumber({ cacheTime: 0 });
    const started = Date.now();
    let error: Error | undefined;
    await mined(c, hash, "a transfer", WAIT).catch((e: Error) => (error = e));
    expect(error?.message).to.include(hash).and.to.include(`head #${head}`).and.to.include("made no block");
    expect(Date.now() - started).to.be.at.least(WAIT.stalledMs);
  });

  it("given a node that keeps mining while the transaction waits longer than stalledMs → it should wait on, not give up", async () => {
    const c = await chainWithoutAutomine();
    const nonce = await c.publicClient.getTransactionCount({ address: c.wallet.account.address });
    // Nonce + 1 stays queued until nonce is sent: blocks are mined meanwhile, without it.
    const hash = await c.send(nonce + 1);
    const ticker = setInterval(() => void c.mine(), WAIT.windowMs / 2);
    const filled = new Promise((r) => setTimeout(r, 2 * WAIT.stalledMs)).then(() => c.send(nonce));
    try {
      const receipt = await mined(c, hash, "a queued transfer", WAIT);
      expect(receipt.status).to.equal("success");
      expect(await filled).to.match(/^0x[0-9a-f]{64}$/);
    } finally {
      clearInterval(ticker);
    }
  });
});
