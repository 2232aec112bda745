/**
 * Gas of the marketplace's hot paths on Hardhat's in-process EDR chain (deployed with the Ignition module):
 * - gas.create_order: a renter's createOrder (escrow transfer included), second order of that renter;
 * - gas.cancel_order: cancelOrder of an open order (refund into a balance that was zero);
 * - gas.per_assignment: one applyAssignments transaction applying 100 assignments, divided by 100 — 100 orders of
 *   100 distinct renters with no earlier refund balance (each refund writes a fresh slot: the worst case), spread
 *   over 10 offers of 10 providers, every assignment priced below the renter's max;
 * - gas.per_assignment_repeat_renters: the same with 10 renters placing 10 orders each.
 */
import { network } from "hardhat";
import type { Address } from "viem";
import { deployMatchnet } from "../deploy/deployment.js";

const USD = 1_000_000n;
const STAKE = 10n ** 18n;

async function scenario(distinctRenters: boolean) {
  const connection = await network.create();
  const { viem, networkHelpers } = connection;
  const d = await deployMatchnet(connection, { parameters: { minProviderStake: STAKE, exitDelay: 10n, maxOrderLifetime: 10_000n } });
  const publicClient = await viem.getPublicClient();
  const [owner, sm] = await viem.getWalletClients();
  await d.marketplace.write.setServiceManager([sm!.account.address]);

  const actor = async (i: number) => {
    const address = `0x${(0xa11ce000 + i).toString(16).padStart(40, "0")}` as Address;
    await networkHelpers.impersonateAccount(address);
    await networkHelpers.setBalance(address, 10n ** 20n);
    const wallet = await viem.getWalletClient(address);
    return { address, wallet };
  };
  const gasOf = async (hash: `0x${string}`) => (await publicClient.waitForTransactionReceipt({ hash })).gasUsed;

  const versions: bigint[] = [];
  for (let p = 0; p < 10; p++) {
    const { address, wallet } = await actor(1_000 + p);
    await d.stakeToken.write.mint([address, 10n * STAKE]);
    const stake = await viem.getContractAt("StakeToken", d.stakeToken.address, { client: { wallet } });
    await stake.write.approve([d.registry.address, 10n * STAKE]);
    const registry = await viem.getContractAt("ProviderRegistry", d.registry.address, { client: { wallet } });
    await registry.write.register([0x0001, STAKE]);
    const offers = await viem.getContractAt("OfferBook", d.offerBook.address, { client: { wallet } });
    await offers.write.createOffer([11, 100, 2n * USD, d.paymentToken.address]);
    versions.push(await d.offerBook.read.versionCount());
  }

  const orderGas: bigint[] = [];
  const rows = [];
  const renters = new Map<number, Awaited<ReturnType<typeof actor>>>();
  const expiresAt = (await publicClient.getBlockNumber()) + 5_000n;
  for (let i = 0; i < 101; i++) {
    const r = distinctRenters ? i : i % 10;
    if (!renters.has(r)) {
      const a = await actor(r);
      await d.paymentToken.write.mint([a.address, 1_000_000n * USD]);
      const pay = await viem.getContractAt("PaymentToken", d.paymentToken.address, { client: { wallet: a.wallet } });
      await pay.write.approve([d.marketplace.address, 2n ** 255n]);
      renters.set(r, a);
    }
    const market = await viem.getContractAt("Marketplace", d.marketplace.address, { client: { wallet: renters.get(r)!.wallet } });
    const hash = await market.write.createOrder([{
      modelId: 11, minTier: 0, gpuCount: 2, regionMask: 0n, preferredZone: 0, maxPricePerGpuHour: 3n * USD, durationHours: 10,
      minUptimeBps: 9_000, minReputationBps: 4_000, maxTimesSlashed: 3, expiresAt, paymentToken: d.paymentToken.address,
    }]);
    orderGas.push(await gasOf(hash));
    if (i < 100) rows.push({ orderId: BigInt(i + 1), offerVersionId: versions[i % 10]!, gpuCount: 2, pricePerGpuHour: 2n * USD });
  }
  // Order 101 is cancelled for the cancel figure (its renter has no refund balance yet in the distinct case).
  const last = renters.get(distinctRenters ? 100 : 0)!;
  const lastMarket = await viem.getContractAt("Marketplace", d.marketplace.address, { client: { wallet: last.wallet } });
  const cancelGas = await gasOf(await lastMarket.write.cancelOrder([101n]));

  const smMarket = await viem.getContractAt("Marketplace", d.marketplace.address, { client: { wallet: sm! } });
  const rb = await publicClient.getBlockNumber();
  const hash = await smMarket.write.applyAssignments([1n, rb, rows], { gas: 16_000_000n });
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  const applied = (await d.marketplace.read.getOrders([rows.map((r) => r.orderId)])).filter((o) => o.status === 2).length;
  if (applied !== 100) throw new Error(`only ${applied} of 100 assignments applied`);
  void owner;
  return { createOrder: Number(orderGas[1]!), cancelOrder: Number(cancelGas), perAssignment: Number(receipt.gasUsed) / 100 };
}

export default async function (): Promise<Record<string, number>> {
  const worst = await scenario(true);
  const repeat = await scenario(false);
  return {
    "gas.create_order": worst.createOrder,
    "gas.cancel_order": worst.cancelOrder,
    "gas.per_assignment": Math.round(worst.perAssignment),
    "gas.per_assignment_repeat_renters": Math.round(repeat.perAssignment),
  };
}
