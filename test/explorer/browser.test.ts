import { expect } from "chai";
import { network } from "hardhat";
import { mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import type { PublicClient } from "viem";
import { startExplorer } from "../../explorer/server.js";
import { buildSubmission, deploySystem, orders, providerOffer, USD } from "../support/serviceManager.js";
import { freePort, makeSlot, startNode, waitFor } from "../support/operator-nodes.js";
import { makeTempDir } from "../support/tempdir.js";

const connection = await network.create();
const { networkHelpers } = connection;
const ARTIFACTS = resolve(dirname(fileURLToPath(import.meta.url)), "..", "artifacts", "explorer");

/** Debian's chromium (installed by .ci/run); playwright-core never downloads a browser. */
async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

async function shot(page: Page, name: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

describe("explorer in a browser (headless chromium)", () => {
  it("given a market with a final batch → each page should show what the chain holds, search should lead to a lease, and a new batch should appear without reloading", async function () {
    this.timeout(120_000);
    const s = await deploySystem(connection);
    const versionId = await providerOffer(s, 0);
    const ids = await orders(s, 4);
    await s.serviceManager.write.closeBatch();
    const sub = await buildSubmission(s, 1n, [
      { orderId: ids[3]!, offerVersionId: versionId, gpuCount: 2, pricePerGpuHour: 2n * USD },
      { orderId: ids[1]!, offerVersionId: versionId, gpuCount: 5, pricePerGpuHour: 2n * USD }, // skipped: GpuCountMismatch
    ], { signers: s.ops.slice(1) });
    await s.serviceManager.write.submitResult(sub.args);
    const provider = s.wallets[5]!.account.address.toLowerCase();

    // Operator 0 runs a real node with its node API (alone: partially healthy, "no peers"); operator 1's node API
    // port is closed (unreachable); operators 2 and 3 gave none.
    const slot = await makeSlot(s.ops[0]!.sk);
    const node = await startNode(s, slot, { api: true });
    const closed = `http://127.0.0.1:${await freePort()}`;
    const dir = await makeTempDir("explorer-browser");
    const explorer = await startExplorer({
      rpc: "in-process", deployment: s.deployment, db: join(dir.path, "index.sqlite"), port: 0, pollIntervalMs: 100,
      client: s.publicClient as PublicClient,
      operatorApis: [{ operator: s.ops[0]!.id.toLowerCase(), url: `http://127.0.0.1:${node.node.apiPort}` }, { operator: s.ops[1]!.id.toLowerCase(), url: closed }],
      operatorHealth: { intervalMs: 200, timeoutMs: 2_000 },
    });
    const browser = await launch();
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      const requests: string[] = [];
      page.on("request", (r) => requests.push(r.url()));

      // Market: KPIs from the index, charts drawn by uPlot.
      await page.goto(explorer.url);
      await page.getByRole("heading", { name: "Market" }).waitFor();
      const kpi = async (label: string) => page.locator(".kpi", { hasText: label }).locator("b").innerText();
      expect(await kpi("open orders")).to.equal("3"); // orders 1, 2 (skipped) and 3
      expect(await kpi("active leases")).to.equal("1");
      expect(await kpi("fill rate, last batch")).to.equal("25.0 %"); // 1 matched of 4 open at R_b
      expect(await page.locator(".uplot").count()).to.equal(2); // price by tier, fill rate
      await shot(page, "market");

      // Batches → batch 1: leader, non-signer, the assignment and the skipped one with its reason.
      await page.getByRole("link", { name: "Batches" }).click();
      await page.locator("td a", { hasText: /^1$/ }).click();
      await page.getByRole("heading", { name: /Batch 1/ }).waitFor();
      const body = await page.locator("main").innerText();
      expect(body).to.include("GpuCountMismatch");
      expect(body).to.include("every open order was matched"); // the matcher's re-run at R_b would have matched all four
      expect(body).to.include(sub.seed);
      expect(body).to.include("90.0 % (900 of 1,000)"); // signed stake, in whole stake tokens: all but the 100
      expect(await page.locator(`a[href="#/operator/${s.ops[0]!.id}"]`).count()).to.be.greaterThan(0); // the non-signer
      await shot(page, "batch");

      // Search "1": order 1 and batch 1, both listed.
      await page.fill("#q", "1");
      await page.press("#q", "Enter");
      await page.getByRole("heading", { name: /Search/ }).waitFor();
      expect(await page.locator("main li").allInnerTexts()).to.deep.equal(["order 1", "batch 1"]);
      // Search a lease id → the order/lease page with price paid vs max.
      await page.fill("#q", String(ids[3]));
      await page.press("#q", "Enter");
      await page.getByRole("heading", { name: new RegExp(`Order #${ids[3]} matched`) }).waitFor();
      const lease = await page.locator("main").innerText();
      expect(lease).to.include("66.6 % of it"); // 2 USD paid of a 3 USD max
      expect(await page.locator(`a[href="#/provider/${provider}"]`).count()).to.be.greaterThan(0);
      await shot(page, "lease");

      // Providers and operators.
      await page.getByRole("link", { name: "Providers" }).click();
      await page.getByRole("heading", { name: "Providers" }).waitFor();
      expect(await page.locator("main tbody tr").count()).to.equal(1);
      await page.getByRole("link", { name: "Operators" }).click();
      await page.getByRole("heading", { name: "Operators" }).waitFor();
      expect(await page.locator("main tbody tr").count()).to.equal(4);
      expect(await page.locator("main td", { hasText: /^0\.0 %$/ }).count()).to.equal(1); // the non-signer's signing rate
      expect(await page.locator("main td", { hasText: /^100\.0 %$/ }).count()).to.equal(3);
      // Node API health: shown as last checked (the page re-reads it on each render; wait until both were checked).
      await waitFor(async () => {
        const ops = (await (await fetch(`${explorer.url}api/operators`)).json()) as { nodeApi: { checkedAt: number | null } | null }[];
        return ops.filter((o) => o.nodeApi?.checkedAt != null).length === 2;
      }, "both node APIs checked", 30_000);
      await page.getByRole("link", { name: "Batches" }).click();
      await page.getByRole("heading", { name: "Batches" }).waitFor();
      await page.getByRole("link", { name: "Operators" }).click();
      await page.getByRole("heading", { name: "Operators" }).waitFor();
      const healthCell = (op: string) => page.locator("main tr", { has: page.locator(`a[href="#/operator/${op}"]`) }).locator("td").nth(9).innerText();
      expect(await healthCell(s.ops[0]!.id)).to.match(/^partially healthy at \d\d:\d\d:\d\d$/);
      expect(await healthCell(s.ops[1]!.id)).to.match(/^unreachable at \d\d:\d\d:\d\d$/);
      expect(await healthCell(s.ops[2]!.id)).to.equal("—");
      await shot(page, "operators");
      await page.locator(`a[href="#/operator/${s.ops[0]!.id}"]`).first().click();
      await page.getByRole("heading", { name: /^Operator / }).waitFor();
      const opPage = await page.locator("main").innerText();
      expect(opPage).to.include(`http://127.0.0.1:${node.node.apiPort}`);
      expect(opPage).to.include("no peers"); // the node's own reason
      await page.getByRole("link", { name: "Operators" }).click();
      await page.getByRole("heading", { name: "Operators" }).waitFor();

      // A second batch appears on the open Batches page without a reload.
      await page.getByRole("link", { name: "Batches" }).click();
      await page.getByRole("heading", { name: "Batches" }).waitFor();
      await networkHelpers.mine((await s.serviceManager.read.batchTiming()).batchInterval);
      await s.serviceManager.write.closeBatch();
      const sub2 = await buildSubmission(s, 2n, [{ orderId: ids[2]!, offerVersionId: versionId, gpuCount: 2, pricePerGpuHour: 2n * USD }]);
      await s.serviceManager.write.submitResult(sub2.args);
      // Final, not only listed: batch 2's R_b is inside the mined range, where Hardhat serves no state, so this also
      // checks that the indexer reads its finalization without the state at R_b.
      const row2 = page.locator("main tbody tr", { has: page.locator("td a", { hasText: /^2$/ }) });
      await row2.locator("td", { hasText: /^final$/ }).waitFor({ timeout: 10_000 });
      expect(await page.locator("main tbody tr").count()).to.equal(2);
      await shot(page, "batches-live");

      expect(errors).to.deep.equal([]);
      const origin = new URL(explorer.url).origin;
      expect(requests.filter((r) => !r.startsWith(origin))).to.deep.equal([]); // nothing from a CDN
    } finally {
      await browser.close();
      await explorer.stop();
      await node.stop();
      await slot.remove();
      await dir.remove();
    }
  });
});
