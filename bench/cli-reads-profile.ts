/**
 * Where a quote's reads spend their time (docs/cli.md, "Speed"): builds the `cli` bench's market (10 000 offers,
 * 1 000 open orders) and prints, for raw eth_calls on Hardhat's in-process EDR, the process's CPU and wall time of
 * a page of the packed views against the ABI views at the same pinned block, then `readMatchInputs` and the matcher.
 * Not a bench (it writes no figure): `sh scripts/run.sh exec node_modules/.bin/tsx bench/cli-reads-profile.ts`.
 */
import { createPublicClient, custom, encodeFunctionData, type Address, type Hex, type PublicClient } from "viem";
import { marketplaceAbi, offerBookAbi } from "../protocol/chain/abi.js";
import { systemAddresses } from "../protocol/chain/deployment.js";
import { readMatchInputs } from "../protocol/chain/reads.js";
import { matchBatch, type MatchInputs } from "../protocol/matching/index.js";
import { buildQuoteMarket } from "./cli.bench.js";

const { s, provider } = await buildQuoteMarket();
const client = createPublicClient({ transport: custom(provider as never) }) as PublicClient;
const block = await client.getBlockNumber();
const addrs = systemAddresses(s.deployment, "deployment.json");

async function measure(label: string, f: () => Promise<unknown>): Promise<void> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await f();
  const cpu = process.cpuUsage(cpu0);
  console.log(`${label.padEnd(44)} ${String(Math.round((cpu.user + cpu.system) / 1000)).padStart(6)} ms CPU ${String(Math.round(performance.now() - t0)).padStart(6)} ms wall`);
}
const call = (to: Address, data: Hex) => provider.request({ method: "eth_call", params: [{ to, data }, `0x${block.toString(16)}`] });

for (let round = 1; round <= 2; round++) {
  console.log(`round ${round} (load ${(await import("node:os")).loadavg()[0]!.toFixed(1)})`);
  for (const size of [256n, 512n]) {
    await measure(`activeOffersPacked, ${size} offers`, () => call(addrs.offerBook, encodeFunctionData({ abi: offerBookAbi, functionName: "activeOffersPacked", args: [1n, size, block] })));
    await measure(`versionsAt, ${size} offers`, () => call(addrs.offerBook, encodeFunctionData({ abi: offerBookAbi, functionName: "versionsAt", args: [1n, size, block] })));
  }
  await measure("offerCount (a call's fixed part)", () => call(addrs.offerBook, encodeFunctionData({ abi: offerBookAbi, functionName: "offerCount" })));
  await measure("openOrdersPacked, 500 ids", () => call(addrs.marketplace, encodeFunctionData({ abi: marketplaceAbi, functionName: "openOrdersPacked", args: [1n, 500n] })));
  await measure("openOrders, 500 ids", () => call(addrs.marketplace, encodeFunctionData({ abi: marketplaceAbi, functionName: "openOrders", args: [1n, 500n] })));
  let inputs: MatchInputs | undefined;
  await measure("readMatchInputs", async () => (inputs = await readMatchInputs(client, addrs, block)));
  await measure(`matchBatch (${inputs!.offers.length} offers, ${inputs!.orders.length} orders)`, async () => matchBatch(inputs!, `0x${"11".repeat(32)}`));
}
process.exit(0);
