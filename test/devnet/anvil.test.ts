/**
 * The devnet with real operator and aggregator processes on anvil (`--chain anvil`): the same code that runs on
 * hardhat node finalizes batches on a second node implementation (mixed mining, anvil_mine, the EIP-7825 cap on).
 */
import { expect } from "chai";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Devnet } from "../../deploy/devnet/devnet.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

describe("devnet --chain anvil (operator and aggregator processes)", function () {
  this.timeout(900_000);

  it("given 4 operators on anvil → every batch should be final with all signers and the TypeScript matcher's result", async () => {
    const dn = await Devnet.start({ root, operators: 4, mode: "processes", chain: "anvil", port: 0, seed: 7, intervalMiningMs: 1_000, readyTimeoutMs: 120_000 });
    try {
      expect(dn.chain.node.kind).to.equal("anvil");
      expect(dn.startMs).to.be.a("number");
      for (let k = 0; k < 3; k++) {
        const r = await dn.runBatch(6);
        expect(r.status, `batch ${r.batch}`).to.equal("final");
        expect(r.matcherAgrees).to.equal(true);
        expect(r.signers).to.be.at.least(3);
      }
    } finally {
      await dn.stop();
    }
  });
});
