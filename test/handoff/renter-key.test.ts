import { describe, it } from "mocha";
import { expect } from "chai";
import { network } from "hardhat";
import { bytesToHex, encodeFunctionData, getAddress, hexToBytes, type Address, type Hex } from "viem";
import { publicKeyToAddress } from "viem/accounts";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { HandoffError, open, seal } from "../../protocol/handoff/ecies.js";
import { renterPublicKey, sealKeyOf, signerPublicKey } from "../../protocol/handoff/renterKey.js";
import { marketplaceAbi, paymentTokenAbi } from "../../protocol/chain/abi.js";
import { USD, defaultOrder, deployMarket, placeOrder } from "../support/market.js";

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

describe("the key a lease's access is sealed to: the renter's named access key, else the recovered one (sealKeyOf)", function () {
  /** A contract-account renter (SmartWallet owned by renter2), funded and allowed to spend, with one order. */
  async function walletRenter() {
    const m = await deployMarket(connection);
    const wallet = await m.viem.deployContract("SmartWallet", [m.renter2.account.address]);
    const run = async (to: Address, data: Hex) => {
      const hash = await m.renter2.writeContract({ address: wallet.address, abi: wallet.abi, functionName: "execute", args: [to, data], account: m.renter2.account, chain: m.renter2.chain });
      const r = await m.publicClient.waitForTransactionReceipt({ hash });
      expect(r.status).to.equal("success");
    };
    await m.paymentToken.write.mint([wallet.address, 1_000_000n * USD]);
    await run(m.paymentToken.address, encodeFunctionData({ abi: paymentTokenAbi, functionName: "approve", args: [m.marketplace.address, 2n ** 255n] }));
    await run(m.marketplace.address, encodeFunctionData({ abi: marketplaceAbi, functionName: "createOrder", args: [await defaultOrder(m)] }));
    const orderId = await m.marketplace.read.orderCount();
    return { m, wallet, run, orderId };
  }

  describe("given a contract-account renter that named no access key", () => {
    it("→ it should refuse with HANDOFF_KEY_NOT_RECOVERABLE (its order was signed by the wallet's owner, not by it)", async () => {
      const { m, wallet, orderId } = await walletRenter();
      expect(getAddress((await m.marketplace.read.getOrder([orderId])).renter)).to.equal(getAddress(wallet.address));
      const head = await m.publicClient.getBlockNumber();
      let code = "";
      await sealKeyOf(m.publicClient, m.marketplace.address, orderId, 0n, head).catch((e: HandoffError) => (code = e.code));
      expect(code).to.equal("HANDOFF_KEY_NOT_RECOVERABLE");
    });
  });

  describe("given a contract-account renter that named an access key through its wallet", () => {
    it("→ it should seal to that key, and only its secret key should open the access; cleared → refused again", async () => {
      const { m, wallet, run, orderId } = await walletRenter();
      const secret = secp256k1.utils.randomSecretKey();
      const pub = bytesToHex(secp256k1.getPublicKey(secret, true));
      await run(m.marketplace.address, encodeFunctionData({ abi: marketplaceAbi, functionName: "setAccessKey", args: [pub] }));
      const at = await m.publicClient.getBlockNumber();
      const k = await sealKeyOf(m.publicClient, m.marketplace.address, orderId, 0n, at, wallet.address);
      expect(k).to.deep.equal({ key: pub, renter: getAddress(wallet.address), source: "access-key" });
      const domain = { chainId: await m.publicClient.getChainId(), marketplace: m.marketplace.address, leaseId: orderId };
      const sealed = seal(k.key, domain, new TextEncoder().encode("for the wallet"));
      expect(new TextDecoder().decode(open(secret, domain, sealed))).to.equal("for the wallet");
      expect(() => open(secp256k1.utils.randomSecretKey(), domain, sealed)).to.throw(HandoffError);
      // The key in force is the one at the block asked for: before it was named, none.
      let before = "";
      await sealKeyOf(m.publicClient, m.marketplace.address, orderId, 0n, at - 1n).catch((e: HandoffError) => (before = e.code));
      expect(before).to.equal("HANDOFF_KEY_NOT_RECOVERABLE");
      await run(m.marketplace.address, encodeFunctionData({ abi: marketplaceAbi, functionName: "setAccessKey", args: ["0x"] }));
      let cleared = "";
      await sealKeyOf(m.publicClient, m.marketplace.address, orderId, 0n, await m.publicClient.getBlockNumber()).catch((e: HandoffError) => (cleared = e.code));
      expect(cleared).to.equal("HANDOFF_KEY_NOT_RECOVERABLE");
    });

    it("→ it should refuse a named key of the right form that is not a curve point (HANDOFF_BAD_PUBLIC_KEY), and a wrong expected renter", async () => {
      const { m, wallet, run, orderId } = await walletRenter();
      // x = 5: x³ + 7 = 132 is not a square mod p, so no point has this x-coordinate.
      const notOnCurve = `0x02${"00".repeat(31)}05` as Hex;
      expect(() => secp256k1.Point.fromBytes(hexToBytes(notOnCurve))).to.throw();
      await run(m.marketplace.address, encodeFunctionData({ abi: marketplaceAbi, functionName: "setAccessKey", args: [notOnCurve] }));
      const head = await m.publicClient.getBlockNumber();
      let code = "";
      await sealKeyOf(m.publicClient, m.marketplace.address, orderId, 0n, head).catch((e: HandoffError) => (code = e.code));
      expect(code).to.equal("HANDOFF_BAD_PUBLIC_KEY");
      let other = "";
      await sealKeyOf(m.publicClient, m.marketplace.address, orderId, 0n, head, m.renter1.account.address).catch((e: HandoffError) => (other = e.message));
      expect(other).to.contain(`created for renter ${getAddress(wallet.address)}`);
    });
  });

  describe("given an EOA renter with no access key", () => {
    it("→ it should fall back to the key recovered from its order's transaction", async () => {
      const m = await deployMarket(connection);
      const orderId = await placeOrder(m, m.renter1);
      const k = await sealKeyOf(m.publicClient, m.marketplace.address, orderId, 0n, await m.publicClient.getBlockNumber());
      expect(k.source).to.equal("recovered");
      expect(getAddress(publicKeyToAddress(k.key))).to.equal(getAddress(m.renter1.account.address));
    });
  });
});
