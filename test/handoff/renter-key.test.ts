import { describe, it } from "mocha";
import { expect } from "chai";
import { network } from "hardhat";
import { getAddress, hexToBytes } from "viem";
import { publicKeyToAddress } from "viem/accounts";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { HandoffError, open, seal } from "../../protocol/handoff/ecies.js";
import { renterPublicKey, signerPublicKey } from "../../protocol/handoff/renterKey.js";
import { deployMarket, placeOrder } from "../support/market.js";

const connection = await network.create();

describe("the renter's public key, recovered from its createOrder signature (protocol/handoff/renterKey.ts)", function () {
  describe("given an order created by its renter's own transaction", () => {
    it("→ it should recover a key that hashes to the renter, and a blob sealed to it should open with the renter's key only", async () => {
      const m = await deployMarket(connection);
      const orderId = await placeOrder(m, m.renter1);
      const key = await renterPublicKey(m.publicClient, m.marketplace.address, orderId, m.renter1.account.address, 0n);
      expect(hexToBytes(key).length).to.equal(65);
      expect(getAddress(publicKeyToAddress(key))).to.equal(getAddress(m.renter1.account.address));
      // The same key as the dev account's: Hardhat's accounts come from its public test mnemonic (index 2 here).
      const { mnemonicToAccount } = await import("viem/accounts");
      const dev = mnemonicToAccount("test test test test test test test test test test test junk", { addressIndex: 2 });
      expect(getAddress(dev.address)).to.equal(getAddress(m.renter1.account.address));
      const domain = { chainId: await m.publicClient.getChainId(), marketplace: m.marketplace.address, leaseId: orderId };
      const sealed = seal(key, domain, new TextEncoder().encode("for renter1"));
      expect(new TextDecoder().decode(open(dev.getHdKey().privateKey!, domain, sealed))).to.equal("for renter1");
      const other = mnemonicToAccount("test test test test test test test test test test test junk", { addressIndex: 3 });
      expect(() => open(other.getHdKey().privateKey!, domain, sealed)).to.throw(HandoffError, /does not open/);
    });

    it("→ it should refuse when the transaction's signer is not the expected renter (a contract account or a relayed order)", async () => {
      const m = await deployMarket(connection);
      const orderId = await placeOrder(m, m.renter1);
      let code = "";
      try {
        await renterPublicKey(m.publicClient, m.marketplace.address, orderId, m.renter2.account.address, 0n);
      } catch (err) {
        code = (err as HandoffError).code;
        expect((err as Error).message).to.contain("cannot be recovered");
      }
      expect(code).to.equal("HANDOFF_KEY_NOT_RECOVERABLE");
      let missing = "";
      await renterPublicKey(m.publicClient, m.marketplace.address, orderId + 1n, m.renter1.account.address, 0n).catch((e: HandoffError) => (missing = e.code));
      expect(missing).to.equal("HANDOFF_KEY_NOT_RECOVERABLE");
    });
  });

  describe("given transactions of each type the renter's wallet may send", () => {
    for (const type of ["legacy", "eip2930", "eip1559"] as const) {
      it(`→ it should recover the sender's key from a ${type} transaction`, async () => {
        const m = await deployMarket(connection);
        const fees = type === "eip1559" ? {} : { gasPrice: 2_000_000_000n };
        const hash = await m.renter2.sendTransaction({ to: m.stranger.account.address, value: 1n, type, ...(type === "eip2930" ? { accessList: [] } : {}), ...fees } as never);
        await m.publicClient.waitForTransactionReceipt({ hash });
        const tx = await m.publicClient.getTransaction({ hash });
        expect(tx.type).to.equal(type);
        const key = await signerPublicKey(tx);
        expect(getAddress(publicKeyToAddress(key))).to.equal(getAddress(m.renter2.account.address));
        expect(() => secp256k1.Point.fromBytes(hexToBytes(key))).to.not.throw();
      });
    }
  });
});
