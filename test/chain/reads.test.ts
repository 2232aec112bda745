import { expect } from "chai";
import { network } from "hardhat";
import type { PublicClient } from "viem";
import { orderFromChain, readMatchInputs, readOperatorSet, type SystemAddresses } from "../../protocol/chain/reads.js";
import { resultMessageDigest, seedMessageDigest } from "../../protocol/avs/messages.js";
import { GPU_CATALOG } from "../../protocol/market/catalog.js";
import { deploySystem, orders, providerOffer, registerOperator, type System } from "../support/serviceManager.js";

const connection = await network.create();

function addressesOf(s: System): SystemAddresses {
  return {
    serviceManager: s.serviceManager.address,
    operatorRegistry: s.operatorRegistry.address,
    marketplace: s.marketplace.address,
    offerBook: s.offerBook.address,
    providerRegistry: s.registry.address,
    catalog: s.catalog.address,
  };
}

describe("protocol/chain reads at a reference block", () => {
  let s: System;
  let referenceBlock: bigint;
  let openIds: bigint[];

  before(async () => {
    s = await deploySystem(connection);
    await providerOffer(s, 0);
    openIds = await orders(s, 2);
    await s.serviceManager.write.closeBatch();
    referenceBlock = BigInt((await s.serviceManager.read.getBatch([1n])).referenceBlock);
    // Changes after R_b that the batch must not see: a new order, a new offer version, a new operator.
    await orders(s, 1);
    await s.offerBook.write.updateOffer([1n, 300, 1_500_000n], { account: s.wallets[5]!.account });
    await registerOperator(connection, s, s.chainId, 4, 500n * 10n ** 18n);
  });

  it("given orders and offers changed after R_b → it should read exactly the state at R_b", async () => {
    const inputs = await readMatchInputs(s.publicClient as PublicClient, addressesOf(s), referenceBlock);
    expect(inputs.referenceBlock).to.equal(referenceBlock);
    expect(inputs.orders.map((o) => o.orderId)).to.deep.equal(openIds);
    for (const o of inputs.orders) expect(o).to.deep.equal(orderFromChain(await s.marketplace.read.getOrder([o.orderId])));
    expect(inputs.offers).to.have.length(1);
    expect(inputs.offers[0]!.versionId).to.equal(1n);
    expect(inputs.offers[0]!.gpuCount).to.equal(400);
    expect(inputs.providers.map((p) => p.provider)).to.deep.equal([inputs.offers[0]!.provider]);
    expect(inputs.weights).to.deep.equal({ ...(await s.serviceManager.read.matchingWeights()) });
    expect(inputs.catalog.map((m) => [m.id, m.tier])).to.deep.equal(GPU_CATALOG.map((m) => [m.id, m.tier]));

    const now = await readMatchInputs(s.publicClient as PublicClient, addressesOf(s), await s.publicClient.getBlockNumber());
    expect(now.orders).to.have.length(3);
    expect(now.offers[0]!.versionId).to.equal(2n);
  });

  it("given an operator registered after R_b → it should not be in the set at R_b, sorted by id with the total stake", async () => {
    const set = await readOperatorSet(s.publicClient as PublicClient, s.operatorRegistry.address, referenceBlock);
    expect(set.operators.map((o) => o.operatorId)).to.deep.equal(
      [...s.ops].map((o) => o.id).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1)),
    );
    expect(set.totalStake).to.equal(1_000n * 10n ** 18n);
    const later = await readOperatorSet(s.publicClient as PublicClient, s.operatorRegistry.address, await s.publicClient.getBlockNumber());
    expect(later.operators).to.have.length(5);
    expect(later.totalStake).to.equal(1_500n * 10n ** 18n);
  });

  it("given the state of a later block (readAt) → it should read the same ids and stakes at R_b, and refuse a block before R_b naming both", async () => {
    const client = s.publicClient as PublicClient;
    const atRb = await readOperatorSet(client, s.operatorRegistry.address, referenceBlock);
    const head = await client.getBlockNumber();
    const idsAndStakes = (set: typeof atRb) => set.operators.map((o) => [o.operatorId, o.stake]);
    for (const readAt of [referenceBlock, referenceBlock + 1n, head]) {
      const set = await readOperatorSet(client, s.operatorRegistry.address, referenceBlock, { readAt });
      expect(idsAndStakes(set), `read at ${readAt}`).to.deep.equal(idsAndStakes(atRb));
      expect(set.totalStake).to.equal(atRb.totalStake);
      expect(set.referenceBlock).to.equal(referenceBlock);
    }
    const err = await readOperatorSet(client, s.operatorRegistry.address, referenceBlock, { readAt: referenceBlock - 1n }).then(() => null, (e: Error) => e);
    expect(err?.message).to.equal(`operator set at block ${referenceBlock} read from the state of block ${referenceBlock - 1n}, before it`);
  });

  it("given batch 1 → the seed and result digests computed off-chain should equal the service manager's", async () => {
    const b = await s.serviceManager.read.getBatch([1n]);
    const seedDigest = seedMessageDigest({
      chainId: s.chainId,
      serviceManager: s.serviceManager.address,
      batch: 1n,
      previousSeed: b.previousSeed,
      referenceBlockHash: (await s.publicClient.getBlock({ blockNumber: referenceBlock })).hash,
    });
    expect(seedDigest).to.equal(await s.serviceManager.read.seedMessageHash([1n]));
    const seed = `0x${"ab".repeat(32)}` as const;
    const assignmentsHash = `0x${"cd".repeat(32)}` as const;
    expect(
      resultMessageDigest({ chainId: s.chainId, serviceManager: s.serviceManager.address, batch: 1n, referenceBlock, seed, assignmentsHash }),
    ).to.equal(await s.serviceManager.read.resultMessageHash([1n, seed, assignmentsHash]));
  });
});
