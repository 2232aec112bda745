/**
 * The lease handoff end to end: a real `hardhat node`, the system deployed, batches matched and applied (in-process
 * signers), and one provider agent per provider as a real process (`node --import tsx agent/main.ts`), each lease's
 * workload a real process. The renter decrypts with the real CLI (`renter lease access`) and makes real HTTP
 * requests. One chain is shared by the tests, in order.
 */
import { expect } from "chai";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { bytesToHex, getAddress, hexToBytes, type Address } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { Devnet } from "../../deploy/devnet/devnet.js";
import { readLogLines } from "../../deploy/devnet/processes.js";
import { marketplaceAbi } from "../../protocol/chain/abi.js";
import { encryptAccountKey, writeAccountKeystoreFile } from "../../protocol/keystore/index.js";
import { HandoffError, open } from "../../protocol/handoff/ecies.js";
import { run } from "../../cli/program.js";
import { CapturedIo } from "../../cli/io.js";
import { makeTempDir } from "../support/tempdir.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const MNEMONIC = "test test test test test test test test test test test junk";
const PASSWORD = "renter password";
const LEASE_ACTIVE = 1;
const LEASE_CLOSED = 2;

describe("e2e: provider agents hand leases over to their renters", function () {
  this.timeout(600_000);
  let dn: Devnet;
  let tmp: { path: string; remove: () => Promise<void> };
  /** Renter address → its keystore file (dev accounts 10‥19, written encrypted for the CLI). */
  const keystores = new Map<string, string>();
  const devKey = (address: Address) => {
    for (let i = 10; i < 20; i++) {
      const a = mnemonicToAccount(MNEMONIC, { addressIndex: i });
      if (getAddress(a.address) === getAddress(address)) return bytesToHex(a.getHdKey().privateKey!);
    }
    throw new Error(`${address} is not a devnet renter`);
  };

  before(async function () {
    tmp = await makeTempDir("matchnet-agent-e2e-");
    dn = await Devnet.start({ root, operators: 1, providers: 3, mode: "in-process", port: 0, seed: 11, intervalMiningMs: 1_000, agents: true, keep: process.env.MATCHNET_E2E_KEEP === "1" });
    for (let i = 10; i < 20; i++) {
      const a = mnemonicToAccount(MNEMONIC, { addressIndex: i });
      const file = join(tmp.path, `renter${i}.json`);
      await writeAccountKeystoreFile(file, await encryptAccountKey(bytesToHex(a.getHdKey().privateKey!), PASSWORD, { scrypt: { n: 1 << 10, r: 8, p: 1 } }));
      keystores.set(getAddress(a.address), file);
    }
  });

  after(async function () {
    if (dn !== undefined) await dn.stop();
    await tmp?.remove();
  });

  const client = () => dn.chain.publicClient;
  const getLease = (id: bigint) => client().readContract({ address: dn.addrs.marketplace, abi: marketplaceAbi, functionName: "getLease", args: [id] });
  const readyLogs = () => client().getContractEvents({ address: dn.addrs.marketplace, abi: marketplaceAbi, eventName: "LeaseReady", fromBlock: BigInt(dn.deployment.deployBlock), strict: true });
  const leaseIds = async () =>
    (await client().getContractEvents({ address: dn.addrs.marketplace, abi: marketplaceAbi, eventName: "AssignmentApplied", fromBlock: BigInt(dn.deployment.deployBlock), strict: true })).map((l) => l.args.orderId);
  const cli = async (args: string[]) => {
    const io = new CapturedIo({ MATCHNET_PASSWORD: PASSWORD }, tmp.path);
    const code = await run(["--rpc", dn.chain.url, "--deployment", dn.deploymentFile, ...args], io);
    return { code, out: io.out, err: io.err, json: () => JSON.parse(io.out) };
  };
  /** Waits until every lease started so far is ready on-chain (bounded). */
  async function allReady(timeoutMs = 60_000) {
    const h = await dn.handoffs(timeoutMs);
    expect(h.started, "leases started").to.be.greaterThan(0);
    expect(h.ready, `leases ready (of ${h.started})`).to.equal(h.started);
  }
  const get = (endpoint: string, credential?: string) =>
    fetch(endpoint, { headers: credential === undefined ? {} : { authorization: `Bearer ${credential}` }, signal: AbortSignal.timeout(5_000) });

  describe("given three providers with agents running and a batch of orders matched", function () {
    it("→ it should mark every lease ready, and the renter should reach its workload with what it decrypted", async function () {
      await dn.runBatch(8);
      await allReady();
      const ids = await leaseIds();
      for (const id of ids) {
        const l = await getLease(id);
        expect(l.readyAt > 0n, `lease ${id} readyAt ${l.readyAt}`).to.equal(true);
        const r = await cli(["--account", keystores.get(getAddress(l.renter))!, "--json", "renter", "lease", "access", String(id)]);
        expect(r.code, r.out + r.err).to.equal(0);
        const access = r.json() as { endpoint: string; credential: string; leaseId: string };
        expect(access.endpoint).to.match(/^http:\/\/127\.0\.0\.1:\d+\/$/);
        const res = await get(access.endpoint, access.credential);
        expect(res.status).to.equal(200);
        const body = (await res.json()) as { leaseId: string; gpuModel: string; gpuCount: number };
        expect(body.leaseId).to.equal(String(id));
        expect(body.gpuCount).to.equal(l.gpuCount);
        expect(body.gpuModel).to.be.a("string").and.not.match(/^model /);
      }
    });

    it("→ it should refuse a wrong, a missing and another lease's credential with 401", async function () {
      const ids = await leaseIds();
      expect(ids.length).to.be.greaterThan(1);
      const accesses = [];
      for (const id of ids.slice(0, 2)) {
        const l = await getLease(id);
        accesses.push((await cli(["--account", keystores.get(getAddress(l.renter))!, "--json", "renter", "lease", "access", String(id)])).json() as { endpoint: string; credential: string });
      }
      const [a, b] = accesses as [{ endpoint: string; credential: string }, { endpoint: string; credential: string }];
      expect((await get(a.endpoint)).status).to.equal(401);
      expect((await get(a.endpoint, "wrong")).status).to.equal(401);
      expect((await get(a.endpoint, a.credential.slice(0, -1))).status).to.equal(401);
      expect((await get(a.endpoint, b.credential)).status).to.equal(401);
      expect((await get(a.endpoint, a.credential)).status).to.equal(200);
    });

    it("→ it should not let a second account decrypt the access (CLI: not your lease; ECIES: cannot open)", async function () {
      const [id] = await leaseIds();
      const l = await getLease(id!);
      const other = [...keystores.entries()].find(([addr]) => addr !== getAddress(l.renter))!;
      const r = await cli(["--account", other[1], "--json", "renter", "lease", "access", String(id)]);
      expect(r.code).to.equal(4);
      expect(r.json().error.message).to.contain("is not yours");
      const log = (await readyLogs()).find((x) => x.args.leaseId === id)!;
      const domain = { chainId: dn.deployment.chainId, marketplace: dn.addrs.marketplace, leaseId: id! };
      let code = "";
      try {
        open(hexToBytes(devKey(other[0] as Address)), domain, hexToBytes(log.args.sealedAccess));
      } catch (err) {
        code = (err as HandoffError).code;
      }
      expect(code).to.equal("HANDOFF_CANNOT_OPEN");
      // The renter's own key opens it: the refusal above is the key, not the blob.
      expect(open(hexToBytes(devKey(l.renter)), domain, hexToBytes(log.args.sealedAccess)).length).to.be.greaterThan(0);
    });
  });

  describe("given an agent killed with SIGKILL while leases keep coming", function () {
    it("→ it should pick its leases up after a restart: every lease ready exactly once, old credentials still served", async function () {
      const before = await leaseIds();
      const accessBefore = new Map<bigint, { endpoint: string; credential: string }>();
      for (const id of before) {
        const l = await getLease(id);
        accessBefore.set(id, (await cli(["--account", keystores.get(getAddress(l.renter))!, "--json", "renter", "lease", "access", String(id)])).json());
      }
      for (let i = 0; i < dn.agents.length; i++) expect(await dn.stopAgent(i, "SIGKILL")).to.equal("SIGKILL");
      // Its workloads end with it (their stdin pipe closes): nothing answers while the agents are down.
      const first = accessBefore.values().next().value!;
      await new Promise((r) => setTimeout(r, 1_000));
      const down = await get(first.endpoint, first.credential).then((r) => r.status, () => "refused");
      expect(down).to.equal("refused");
      // Random traffic: a batch may match nothing new; a few batches always do.
      for (let k = 0; k < 4 && (await leaseIds()).length === before.length; k++) await dn.runBatch(8);
      const during = await leaseIds();
      expect(during.length, "new leases while the agents were down").to.be.greaterThan(before.length);
      for (let i = 0; i < dn.agents.length; i++) await dn.startAgent(i);
      await allReady();
      const logs = await readyLogs();
      const perLease = new Map<bigint, number>();
      for (const l of logs) perLease.set(l.args.leaseId, (perLease.get(l.args.leaseId) ?? 0) + 1);
      for (const id of during) expect(perLease.get(id), `LeaseReady events of lease ${id}`).to.equal(1);
      expect(logs.length).to.equal(during.length);
      for (const [id, a] of accessBefore) {
        const res = await get(a.endpoint, a.credential);
        expect(res.status, `lease ${id} after the restart`).to.equal(200);
      }
      for (const id of during.filter((x) => !before.includes(x))) {
        const l = await getLease(id);
        const a = (await cli(["--account", keystores.get(getAddress(l.renter))!, "--json", "renter", "lease", "access", String(id)])).json() as { endpoint: string; credential: string };
        expect((await get(a.endpoint, a.credential)).status, `lease ${id} (created while the agent was down)`).to.equal(200);
      }
    });
  });

  describe("given providers whose agents never mark a lease ready", function () {
    it("→ it should tell the renter it is not ready, then let it close with a full refund after the handoff timeout", async function () {
      for (let i = 0; i < dn.agents.length; i++) await dn.stopAgent(i, "SIGTERM");
      const known = await leaseIds();
      for (let k = 0; k < 4 && (await leaseIds()).length === known.length; k++) await dn.runBatch(8);
      const fresh = (await leaseIds()).filter((id) => !known.includes(id));
      expect(fresh.length).to.be.greaterThan(0);
      const id = fresh[0]!;
      const l = await getLease(id);
      expect(l.readyAt).to.equal(0n);
      const notReady = await cli(["--account", keystores.get(getAddress(l.renter))!, "--json", "renter", "lease", "access", String(id)]);
      expect(notReady.code).to.equal(10);
      const timeout = await client().readContract({ address: dn.addrs.marketplace, abi: marketplaceAbi, functionName: "handoffTimeout" });
      await dn.waitForBlock(l.startBlock + timeout + 1n, 600_000);
      const order = await client().readContract({ address: dn.addrs.marketplace, abi: marketplaceAbi, functionName: "getOrder", args: [id] });
      const escrow = order.params.maxPricePerGpuHour * BigInt(order.params.gpuCount) * BigInt(order.params.durationHours);
      const before = await client().readContract({ address: dn.addrs.marketplace, abi: marketplaceAbi, functionName: "refundableOf", args: [order.params.paymentToken, l.renter] });
      const hash = await dn.chain.wallet(l.renter).writeContract({ account: l.renter, chain: dn.chain.chain, address: dn.addrs.marketplace, abi: marketplaceAbi, functionName: "closeLeaseForHandoffTimeout", args: [id] });
      expect((await client().waitForTransactionReceipt({ hash })).status).to.equal("success");
      const after = await client().readContract({ address: dn.addrs.marketplace, abi: marketplaceAbi, functionName: "refundableOf", args: [order.params.paymentToken, l.renter] });
      expect(after - before, "refund = the whole escrow").to.equal(escrow);
      expect((await getLease(id)).status).to.equal(LEASE_CLOSED);
      // Restarted agents see the lease closed and start nothing for it.
      for (let i = 0; i < dn.agents.length; i++) await dn.startAgent(i);
      const closedAccess = await cli(["--account", keystores.get(getAddress(l.renter))!, "--json", "renter", "lease", "access", String(id)]);
      expect(closedAccess.code).to.equal(7);
      const lines = (await Promise.all(dn.agents.map((a) => readLogLines(a.logFile)))).flat();
      expect(lines.filter((x) => x.event === "agent_workload_started" && x.leaseId === String(id))).to.have.length(0);
    });
  });

  describe("given leases past their end", function () {
    it("→ it should complete them, stop their workloads and free the ports; SIGTERM leaves no workload behind", async function () {
      const ids = await leaseIds();
      const served: { id: bigint; endpoint: string; credential: string }[] = [];
      for (const id of ids) {
        const l = await getLease(id);
        if (l.status !== LEASE_ACTIVE || l.readyAt === 0n) continue;
        served.push({ id, ...((await cli(["--account", keystores.get(getAddress(l.renter))!, "--json", "renter", "lease", "access", String(id)])).json() as { endpoint: string; credential: string }) });
      }
      expect(served.length).to.be.greaterThan(0);
      await client().request({ method: "evm_increaseTime", params: [25 * 3600] } as never);
      await client().request({ method: "evm_mine", params: [] } as never);
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const open = await Promise.all(served.map(async (s) => (await getLease(s.id)).status === LEASE_ACTIVE));
        if (!open.some(Boolean)) break;
        await new Promise((r) => setTimeout(r, 300));
      }
      for (const s of served) {
        const l = await getLease(s.id);
        expect(l.status, `lease ${s.id}`).to.equal(LEASE_CLOSED);
        expect(l.closeReason, `lease ${s.id} close reason`).to.equal(1); // Completed
      }
      // Ports are freed once the agents log the end (stop waits for the workload's exit).
      const waitEnded = Date.now() + 30_000;
      for (;;) {
        const lines = (await Promise.all(dn.agents.map((a) => readLogLines(a.logFile)))).flat();
        const ended = new Set(lines.filter((x) => x.event === "agent_lease_ended").map((x) => String(x.leaseId)));
        if (served.every((s) => ended.has(String(s.id))) || Date.now() > waitEnded) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      for (const s of served) expect(await get(s.endpoint, s.credential).then((r) => r.status, () => "refused"), `lease ${s.id} after its end`).to.equal("refused");

      // A clean stop: every workload the agents started is gone afterwards.
      const pids = (await Promise.all(dn.agents.map((a) => readLogLines(a.logFile)))).flat().filter((x) => x.event === "agent_workload_started").map((x) => Number(x.pid));
      for (let i = 0; i < dn.agents.length; i++) expect(await dn.stopAgent(i, "SIGTERM")).to.equal(0);
      for (const pid of pids) {
        let alive = true;
        try {
          process.kill(pid, 0);
        } catch {
          alive = false;
        }
        expect(alive, `workload pid ${pid}`).to.equal(false);
      }
      const state = JSON.parse(await readFile(join(dn.agents[0]!.dir, "data", "agent-state.json"), "utf8")) as { leases: Record<string, { phase: string }> };
      expect(Object.values(state.leases).every((l) => l.phase === "ended")).to.equal(true);
    });
  });
});
