/**
 * Gas of the marketplace's and the service manager's hot paths on Hardhat's in-process EDR chain (deployed with
 * the Ignition modules):
 * - gas.create_order: a renter's createOrder (escrow transfer included), second order of the chain;
 * - gas.cancel_order: cancelOrder of an open order (refund into a balance that was zero);
 * - gas.per_assignment: one applyAssignments transaction applying 100 assignments, divided by 100 — 100 orders of
 *   100 distinct renters with no earlier refund balance (each refund writes a fresh slot: the worst case), spread
 *   over 10 offers of 10 providers, every assignment priced below the renter's max;
 * - gas.per_assignment_repeat_renters: the same with 10 renters placing 10 orders each;
 * - gas.close_batch: ServiceManager.closeBatch with 4 operators (leader draw included);
 * - gas.submit_batch_100_assignments: submitResult of the same 100 assignments (worst case renters), 4 operators
 *   all signing (0 non-signers): seed check, quorum signature check, and the 100 applications;
 * - gas.submit_per_assignment: gas.submit_batch_100_assignments / 100;
 * - gas.mark_lease_ready: the provider's markLeaseReady with a 200-byte sealed access (an envelope of ephemeral key,
 *   nonce, tag and connection details), the lease's first settlement-slot write;
 * - gas.extend_lease: the renter's extendLease by 5 h of a ready lease (payment transferFrom included);
 * - gas.close_lease_by_provider: closeLeaseByProvider of a ready lease one block in (refund, settlement, capacity,
 *   failure count);
 * - gas.close_lease_handoff_timeout: the renter's closeLeaseForHandoffTimeout of a lease never marked ready.
 */
import hre, { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import type { Address } from "viem";
import { deployMatchnet } from "../deploy/deployment.js";
import { buildSubmission, deploySystem } from "../test/support/serviceManager.js";

const USD = 1_000_000n;
const STAKE = 10n ** 18n;

type DeployedMarket = Awaited<ReturnType<typeof deployMatchnet>>;

/** 10 providers with one 100-GPU offer each and 101 orders (renters distinct or 10 repeated); order 101 cancelled. */
async function populate(connection: NetworkConnection, d: DeployedMarket, distinctRenters: boolean) {
  const { viem, networkHelpers } = connection;
  const publicClient = await viem.getPublicClient();
  const actor = async (i: number) => {
    const address = `0x${(0xa11ce000 + i).toString(16).padStart(40, "0")}` as Address;
    await networkHelpers.impersonateAccount(address);
    await networkHelpers.setBalance(address, 10n ** 20n);
    return { address, wallet: await viem.getWalletClient(address) };
  };
  const gasOf = async (hash: `0x${string}`) => (await publicClient.waitForTransactionReceipt({ hash })).gasUsed;

  const versions: bigint[] = [];
  const providers: Awaited<ReturnType<typeof actor>>[] = [];
  for (let p = 0; p < 10; p++) {
    const { address, wallet } = await actor(1_000 + p);
    providers.push({ address, wallet });
    await d.stakeToken.write.mint([address, 10n * STAKE]);
    await d.stakeToken.write.approve([d.registry.address, 10n * STAKE], { account: wallet.account });
    await d.registry.write.register([0x0001, STAKE], { account: wallet.account });
    await d.offerBook.write.createOffer([11, 100, 2n * USD, d.paymentToken.address], { account: wallet.account });
    versions.push(await d.offerBook.read.versionCount());
  }

  const orderGas: bigint[] = [];
  const rows = [];
  const renters = new Map<number, Awaited<ReturnType<typeof actor>>>();
  const expiresAt = (await publicClient.getBlockNumber()) + 900n;
  for (let i = 0; i < 101; i++) {
    const r = distinctRenters ? i : i % 10;
    if (!renters.has(r)) {
      const a = await actor(r);
      await d.paymentToken.write.mint([a.address, 1_000_000n * USD]);
      await d.paymentToken.write.approve([d.marketplace.address, 2n ** 255n], { account: a.wallet.account });
      renters.set(r, a);
    }
    const hash = await d.marketplace.write.createOrder(
      [{
        modelId: 11, minTier: 0, gpuCount: 2, regionMask: 0n, preferredZone: 0, maxPricePerGpuHour: 3n * USD, durationHours: 10,
        minUptimeBps: 9_000, minReputationBps: 4_000, maxTimesSlashed: 3, expiresAt, paymentToken: d.paymentToken.address,
      }],
      { account: renters.get(r)!.wallet.account },
    );
    orderGas.push(await gasOf(hash));
    if (i < 100) rows.push({ orderId: BigInt(i + 1), offerVersionId: versions[i % 10]!, gpuCount: 2, pricePerGpuHour: 2n * USD });
  }
  const last = renters.get(distinctRenters ? 100 : 0)!;
  const cancelGas = await gasOf(await d.marketplace.write.cancelOrder([101n], { account: last.wallet.account }));
  return { rows, createOrder: Number(orderGas[1]!), cancelOrder: Number(cancelGas), gasOf, publicClient, renters, providers };
}

async function assertApplied(d: DeployedMarket, rows: { orderId: bigint }[]) {
  const applied = (await d.marketplace.read.getOrders([rows.map((r) => r.orderId)])).filter((o) => o.status === 2).length;
  if (applied !== rows.length) throw new Error(`only ${applied} of ${rows.length} assignments applied`);
}

async function marketScenario(distinctRenters: boolean) {
  const connection = await network.create();
  const d = await deployMatchnet(connection, { parameters: { minProviderStake: STAKE, exitDelay: 10n, maxOrderLifetime: 10_000n } });
  const [, sm] = await connection.viem.getWalletClients();
  await d.marketplace.write.setServiceManager([sm!.account.address]);
  const p = await populate(connection, d, distinctRenters);
  const rb = await p.publicClient.getBlockNumber();
  const gas = await p.gasOf(await d.marketplace.write.applyAssignments([1n, rb, p.rows], { account: sm!.account, gas: 16_000_000n }));
  await assertApplied(d, p.rows);
  return { ...p, perAssignment: Number(gas) / 100, lifecycle: distinctRenters ? await leaseLifecycle(connection, d, p) : undefined };
}

/** Lease i + 1 is renter i's (distinct renters) on provider i % 10's offer. */
async function leaseLifecycle(connection: NetworkConnection, d: DeployedMarket, p: Awaited<ReturnType<typeof populate>>) {
  const provider = (i: number) => ({ account: p.providers[i % 10]!.wallet.account });
  const renter = (i: number) => ({ account: p.renters.get(i)!.wallet.account });
  const sealed = `0x${"a5".repeat(200)}` as const;
  const ready = await p.gasOf(await d.marketplace.write.markLeaseReady([1n, sealed], provider(0)));
  const extend = await p.gasOf(await d.marketplace.write.extendLease([1n, 5], renter(0)));
  await d.marketplace.write.markLeaseReady([2n, sealed], provider(1));
  const providerClose = await p.gasOf(await d.marketplace.write.closeLeaseByProvider([2n], provider(1)));
  await connection.networkHelpers.mine(Number(await d.marketplace.read.handoffTimeout()) + 1);
  const timeout = await p.gasOf(await d.marketplace.write.closeLeaseForHandoffTimeout([3n], renter(2)));
  return { ready: Number(ready), extend: Number(extend), providerClose: Number(providerClose), timeout: Number(timeout) };
}

async function serviceManagerScenario() {
  const connection = await network.create();
  const s = await deploySystem(connection);
  const p = await populate(connection, s, true);
  const closeGas = await p.gasOf(await s.serviceManager.write.closeBatch());
  const sub = await buildSubmission(s, 1n, p.rows);
  const submitGas = await p.gasOf(await s.serviceManager.write.submitResult(sub.args, { gas: 16_000_000n }));
  await assertApplied(s, p.rows);
  return { closeGas: Number(closeGas), submitGas: Number(submitGas) };
}

export default async function (): Promise<Record<string, number>> {
  // tsx does not compile contracts: measure the current sources, not stale artifacts.
  await hre.tasks.getTask("build").run({ quiet: true });
  const worst = await marketScenario(true);
  const repeat = await marketScenario(false);
  const avs = await serviceManagerScenario();
  return {
    "gas.create_order": worst.createOrder,
    "gas.cancel_order": worst.cancelOrder,
    "gas.per_assignment": Math.round(worst.perAssignment),
    "gas.per_assignment_repeat_renters": Math.round(repeat.perAssignment),
    "gas.close_batch": avs.closeGas,
    "gas.submit_batch_100_assignments": avs.submitGas,
    "gas.submit_per_assignment": Math.round(avs.submitGas / 100),
    "gas.mark_lease_ready": worst.lifecycle!.ready,
    "gas.extend_lease": worst.lifecycle!.extend,
    "gas.close_lease_by_provider": worst.lifecycle!.providerClose,
    "gas.close_lease_handoff_timeout": worst.lifecycle!.timeout,
  };
}
