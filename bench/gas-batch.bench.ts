/**
 * Gas of batches at scale (docs/protocol.md §3.7 pages, §3.1 close), on Hardhat's in-process EDR chain:
 * - gas.submit_total_per_assignment: a 2 000-assignment result of 2 000 distinct renters (none with a balance
 *   before), submitted with page 0 and then 15 applyPage transactions: every transaction's gas summed ÷ 2 000;
 * - gas.max_tx_2000_assignments: the largest of those 16 transactions (target ≤ 8 000 000);
 * - gas.close_batch_ops_<N>: closeBatch once N operators were ever registered and half of them left
 *   (deregistered, stake withdrawn), for N = 10, 100, 1 000.
 * - gas.leader_draw_withdrawn_<N>: leaderOf at the last fallback position (the costliest draw) once all N of them
 *   left and withdrew, 4 operators holding stake: flat in N (the draw walks operators holding stake only).
 */
import hre, { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import { encodeFunctionData, keccak256, toBytes, type Address, type Hex } from "viem";
import { operatorId, signProofOfPossession } from "../protocol/bls/index.js";
import { skFromScalar } from "../test/support/bls.js";
import { applyRemainingPages, buildSubmission, deploySystem, STAKE, USD, type System } from "../test/support/serviceManager.js";

const ORDERS = 2_000;

/** An impersonated account with ETH for gas. */
async function actor(connection: NetworkConnection, i: number): Promise<Address> {
  const address = `0x${(0xb0b00000 + i).toString(16).padStart(40, "0")}` as Address;
  await connection.networkHelpers.impersonateAccount(address);
  await connection.networkHelpers.setBalance(address, 10n ** 20n);
  return address;
}

async function gasOf(s: System, hash: Hex): Promise<bigint> {
  return (await s.publicClient.waitForTransactionReceipt({ hash })).gasUsed;
}

async function largeBatch(): Promise<{ perAssignment: number; maxTx: number }> {
  const connection = await network.create();
  // Creating 2 000 orders takes ~8 000 blocks: orders must live longer than the tests' 1 000 blocks.
  const s = await deploySystem(connection, 4, { maxOrderLifetime: 50_000n });
  // 10 providers × 400 GPUs (2 000 orders of 2 GPUs).
  const versions: bigint[] = [];
  for (let p = 0; p < 10; p++) {
    const provider = await actor(connection, 100_000 + p);
    await s.stakeToken.write.mint([provider, 10n * STAKE]);
    await s.stakeToken.write.approve([s.registry.address, 10n * STAKE], { account: provider });
    await s.registry.write.register([0x0001, STAKE], { account: provider });
    await s.offerBook.write.createOffer([11, 400, 2n * USD, s.paymentToken.address], { account: provider });
    versions.push(await s.offerBook.read.versionCount());
  }
  const expiresAt = (await s.publicClient.getBlockNumber()) + 40_000n;
  const rows = [];
  for (let i = 0; i < ORDERS; i++) {
    const renter = await actor(connection, i);
    await s.paymentToken.write.mint([renter, 100n * USD]);
    await s.paymentToken.write.approve([s.marketplace.address, 2n ** 255n], { account: renter });
    await s.marketplace.write.createOrder(
      [{
        modelId: 11, minTier: 0, gpuCount: 2, regionMask: 0n, preferredZone: 0, maxPricePerGpuHour: 3n * USD, durationHours: 10,
        minUptimeBps: 9_000, minReputationBps: 4_000, maxTimesSlashed: 3, expiresAt, paymentToken: s.paymentToken.address,
      }],
      { account: renter },
    );
    rows.push({ orderId: BigInt(i + 1), offerVersionId: versions[i % 10]!, gpuCount: 2, pricePerGpuHour: 2n * USD });
  }
  await s.serviceManager.write.closeBatch();
  const sub = await buildSubmission(s, 1n, rows);
  const gas = [await gasOf(s, await s.serviceManager.write.submitResult(sub.args, { gas: 16_000_000n }))];
  gas.push(...(await applyRemainingPages(s, 1n, rows)));
  let matched = 0;
  for (let i = 0; i < rows.length; i += 200) {
    matched += (await s.marketplace.read.getOrders([rows.slice(i, i + 200).map((r) => r.orderId)])).filter((o) => o.status === 2).length;
  }
  if (matched !== ORDERS) throw new Error(`only ${matched} of ${ORDERS} assignments applied`);
  const total = gas.reduce((a, b) => a + b, 0n);
  return { perAssignment: Number(total) / ORDERS, maxTx: Number(gas.reduce((a, b) => (a > b ? a : b), 0n)) };
}

/** closeBatch's gas after `n` operators registered and every second one left with its stake withdrawn. */
async function closeWithHistory(n: number): Promise<{ close: number; draw: number }> {
  const connection = await network.create();
  const s = await deploySystem(connection);
  const addresses: Address[] = [];
  for (let i = 0; i < n; i++) {
    const address = await actor(connection, 200_000 + i);
    const sk = skFromScalar(BigInt(keccak256(toBytes(`matchnet bench operator ${i}`))) >> 8n);
    await s.stakeToken.write.mint([address, STAKE]);
    await s.stakeToken.write.approve([s.operatorRegistry.address, STAKE], { account: address });
    const pop = signProofOfPossession(sk, { chainId: s.chainId, registry: s.operatorRegistry.address, operator: address });
    await s.operatorRegistry.write.register([STAKE, sk.publicKeyG1(), sk.publicKeyG2(), pop, `/ip4/127.0.0.1/tcp/${20_000 + i}`], { account: address });
    if (operatorId(sk.publicKeyG1()) === "0x") throw new Error("unreachable");
    addresses.push(address);
  }
  for (let i = 0; i < n; i += 2) await s.operatorRegistry.write.deregister({ account: addresses[i]! });
  await connection.networkHelpers.mine(Number(await s.operatorRegistry.read.exitDelay()) + 1);
  for (let i = 0; i < n; i += 2) await s.operatorRegistry.write.withdrawStake({ account: addresses[i]! });
  await connection.provider.request({ method: "evm_mine", params: [] });
  const close = Number(await gasOf(s, await s.serviceManager.write.closeBatch()));
  // Then the other half leaves too: only the 4 signing operators hold stake, N were ever registered.
  for (let i = 1; i < n; i += 2) await s.operatorRegistry.write.deregister({ account: addresses[i]! });
  await connection.networkHelpers.mine(Number(await s.operatorRegistry.read.exitDelay()) + 1);
  for (let i = 1; i < n; i += 2) await s.operatorRegistry.write.withdrawStake({ account: addresses[i]! });
  await connection.provider.request({ method: "evm_mine", params: [] });
  await s.serviceManager.write.closeBatch(); // abandons batch 1 (timed out), closes batch 2 over the 4
  const last = (await s.serviceManager.read.fallbackLength()) - 1n;
  const data = encodeFunctionData({ abi: s.serviceManager.abi, functionName: "leaderOf", args: [2n, last] });
  const draw = Number(await s.publicClient.estimateGas({ to: s.serviceManager.address, data }));
  return { close, draw };
}

export default async function (): Promise<Record<string, number>> {
  await hre.tasks.getTask("build").run({ quiet: true });
  const big = await largeBatch();
  const out: Record<string, number> = {
    "gas.submit_total_per_assignment": Math.round(big.perAssignment),
    "gas.max_tx_2000_assignments": big.maxTx,
  };
  for (const n of [10, 100, 1_000]) {
    const { close, draw } = await closeWithHistory(n);
    out[`gas.close_batch_ops_${n}`] = close;
    out[`gas.leader_draw_withdrawn_${n}`] = draw;
  }
  return out;
}
