/**
 * The equivocation reporter against the real ServiceManager on an in-process chain: one operator's two signatures on
 * different results of a closed batch. The RPC in front of the chain can fail a given number of requests, and the
 * wallet's transport can land a competing proof just before ours is sent (the race between two reporters).
 */
import { expect } from "chai";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import { createPublicClient, createWalletClient, custom, keccak256, toHex, type Hex, type PublicClient, type WalletClient } from "viem";
import { resultMessageDigest } from "../../protocol/avs/messages.js";
import { createLogger } from "../../protocol/log/logger.js";
import { createMetrics } from "../../protocol/metrics/metrics.js";
import type { PartialSignatureMessage } from "../../protocol/p2p/messages.js";
import { EquivocationReporter, MAX_ATTEMPTS } from "../../operator/equivocation.js";
import { createOperatorMetrics } from "../../operator/metrics.js";
import { MemoryLines } from "../support/memory-stream.js";
import { deploySystem, type System } from "../support/serviceManager.js";

describe("operator EquivocationReporter (real ServiceManager)", function () {
  this.timeout(60_000);
  let connection: NetworkConnection;
  let s: System;

  beforeEach(async () => {
    connection = await network.create();
    s = await deploySystem(connection);
  });

  /** A closed batch and two partials of operator 2 on different results of it. */
  async function equivocation(): Promise<{ batch: bigint; closedAt: bigint; first: PartialSignatureMessage; second: PartialSignatureMessage; cheater: Hex }> {
    await s.serviceManager.write.closeBatch();
    const batch = await s.serviceManager.read.batchCount();
    const onChain = await s.serviceManager.read.getBatch([batch]);
    const ref = BigInt(onChain.referenceBlock);
    const op = s.ops[2]!;
    const seed = keccak256(toHex(`seed ${batch}`));
    const partial = (label: string): PartialSignatureMessage => {
      const resultHash = keccak256(toHex(label));
      const digest = resultMessageDigest({ chainId: s.chainId, serviceManager: s.serviceManager.address, batch, referenceBlock: ref, seed, assignmentsHash: resultHash });
      return { batch, resultHash, seed, operatorId: op.id, signature: op.sk.sign(digest), seedSigner: op.id, seedSignature: op.sk.sign(digest) };
    };
    return { batch, closedAt: BigInt(onChain.closedAt), first: partial("result A"), second: partial("result B"), cheater: op.id };
  }

  async function reporter(opts: { failRequests?: () => boolean; beforeSend?: () => Promise<void> }) {
    const client = createPublicClient({
      transport: custom({
        request: async ({ method, params }: { method: string; params?: unknown }) => {
          if (opts.failRequests?.()) throw new Error("connection refused");
          return connection.provider.request({ method, params: params as unknown[] });
        },
      }, { retryCount: 0 }),
    }) as PublicClient;
    const account = s.wallets[2]!.account;
    let hooked = false;
    const wallet = createWalletClient({
      account,
      chain: s.wallets[2]!.chain,
      transport: custom({
        request: async ({ method, params }: { method: string; params?: unknown }) => {
          if (!hooked && opts.beforeSend !== undefined && (method === "eth_estimateGas" || method === "eth_sendTransaction")) {
            hooked = true;
            await opts.beforeSend();
          }
          return connection.provider.request({ method, params: params as unknown[] });
        },
      }, { retryCount: 0 }),
    }) as unknown as WalletClient;
    const lines = new MemoryLines();
    const metrics = createOperatorMetrics(createMetrics());
    const slashingWindow = await s.serviceManager.read.slashingWindow();
    const r = new EquivocationReporter({ serviceManager: s.serviceManager.address, slashingWindow }, { client, wallet, logger: createLogger({ level: "debug", name: "test", destination: lines }), metrics });
    return { r, lines, metrics };
  }

  describe("given an RPC that fails while the proof is sent", () => {
    it("should keep the proof and send it on the retry", async () => {
      const e = await equivocation();
      let failing = true;
      const { r, lines } = await reporter({ failRequests: () => failing });
      const out = await r.report(e.cheater, e.batch, e.closedAt, e.first, e.second);
      expect(out.kind).to.equal("failed");
      expect(r.pendingRetries).to.equal(1);
      failing = false;
      const [retried] = await r.retryFailed();
      expect(retried!.kind).to.equal("submitted");
      expect(await s.serviceManager.read.equivocationSlashed([e.cheater, toHex(e.batch, { size: 32 })])).to.equal(true);
      expect(r.pendingRetries).to.equal(0);
      expect(lines.objects().map((o) => o.event)).to.deep.equal(["equivocation_proof_failed", "equivocation_proof_submitted"]);
    });

    it("should give up after MAX_ATTEMPTS failed attempts, and not before", async () => {
      const e = await equivocation();
      const { r, lines } = await reporter({ failRequests: () => true });
      await r.report(e.cheater, e.batch, e.closedAt, e.first, e.second);
      for (let i = 2; i < MAX_ATTEMPTS; i++) await r.retryFailed();
      expect(r.pendingRetries).to.equal(1);
      await r.retryFailed();
      expect(r.pendingRetries).to.equal(0);
      const failed = lines.objects().filter((o) => o.event === "equivocation_proof_failed");
      expect(failed.map((o) => [o.attempts, o.retry, o.level])).to.deep.equal([
        ...Array.from({ length: MAX_ATTEMPTS - 1 }, (_, i) => [i + 1, true, 40]),
        [MAX_ATTEMPTS, false, 50],
      ]);
      expect((await r.report(e.cheater, e.batch, e.closedAt, e.first, e.second)).kind).to.equal("duplicate");
    });
  });

  describe("given another reporter's proof that lands between our simulation and our transaction", () => {
    it("should report the lost race as already slashed, at info, with no retry", async () => {
      const e = await equivocation();
      const rival = await reporter({});
      const { r, lines, metrics } = await reporter({
        beforeSend: async () => {
          expect((await rival.r.report(e.cheater, e.batch, e.closedAt, e.first, e.second)).kind).to.equal("submitted");
        },
      });
      const out = await r.report(e.cheater, e.batch, e.closedAt, e.first, e.second);
      expect(out).to.deep.equal({ kind: "alreadySlashed", errorName: "EquivocationSlasherAlreadySlashed" });
      expect(r.pendingRetries).to.equal(0);
      expect(lines.objects().map((o) => [o.event, o.level])).to.deep.equal([["equivocation_already_slashed", 30]]);
      const proofs = (await metrics.equivocationProofs.get()).values;
      expect(proofs.map((v) => [v.labels.outcome, v.value])).to.deep.equal([["already_slashed", 1]]);
    });
  });

  describe("given an equivocation on a batch that is already over (abandoned)", () => {
    it("should commit to the proof, reveal it in a later block, and so be paid the bounty rather than have it withheld", async () => {
      const e = await equivocation();
      const timing = await s.serviceManager.read.batchTiming();
      await connection.provider.request({ method: "hardhat_mine", params: [toHex(BigInt(timing.batchTimeout) + 1n)] });
      await s.serviceManager.write.abandonBatch([e.batch]);
      expect((await s.serviceManager.read.getBatch([e.batch])).status).to.equal(3);
      const { r, lines } = await reporter({});
      expect((await r.report(e.cheater, e.batch, e.closedAt, e.first, e.second)).kind).to.equal("submitted");
      const dutyKey = toHex(e.batch, { size: 32 });
      expect(await s.serviceManager.read.equivocationSlashed([e.cheater, dutyKey])).to.equal(true);
      expect((await s.serviceManager.read.withheldBounty([e.cheater, dutyKey])).amount).to.equal(0n);
      const submitted = lines.objects().find((o) => o.event === "equivocation_proof_submitted")!;
      const committedAt = BigInt(submitted.committedAt as string | number);
      expect(committedAt > 0n).to.equal(true);
      const slashes = await s.serviceManager.getEvents.EquivocationSlashed({}, { fromBlock: 0n });
      expect(slashes.map((ev) => [ev.args.beneficiary?.toLowerCase(), ev.args.bounty! > 0n, ev.blockNumber > committedAt])).to.deep.equal([[s.wallets[2]!.account.address.toLowerCase(), true, true]]);
    });
  });

  describe("given a proof that landed", () => {
    it("should not send it again", async () => {
      const e = await equivocation();
      const { r } = await reporter({});
      expect((await r.report(e.cheater, e.batch, e.closedAt, e.first, e.second)).kind).to.equal("submitted");
      expect((await r.report(e.cheater, e.batch, e.closedAt, e.first, e.second)).kind).to.equal("duplicate");
    });
  });

  describe("given the batch's slashing window (closedAt + slashingWindow, the ServiceManager's own figure)", () => {
    /** Mines until the head is `closedAt + slashingWindow + offset`, the block the reporter reads before it sends. */
    async function headAt(e: { closedAt: bigint }, offset: bigint): Promise<bigint> {
      const deadline = e.closedAt + (await s.serviceManager.read.slashingWindow());
      const head = await s.publicClient.getBlockNumber();
      await connection.provider.request({ method: "hardhat_mine", params: [toHex(deadline + offset - head)] });
      expect(await s.publicClient.getBlockNumber()).to.equal(deadline + offset);
      return deadline;
    }

    for (const offset of [-1n, 0n]) {
      it(`at head = deadline ${offset === 0n ? "" : "− 1 "}→ it should send the proof and slash the operator, paying the bounty to the reporter`, async () => {
        const e = await equivocation();
        await headAt(e, offset);
        const { r, metrics } = await reporter({});
        const stakeBefore = (await s.operatorRegistry.read.getOperator([e.cheater])).stake;
        expect((await r.report(e.cheater, e.batch, e.closedAt, e.first, e.second)).kind).to.equal("submitted");
        expect(await s.serviceManager.read.equivocationSlashed([e.cheater, toHex(e.batch, { size: 32 })])).to.equal(true);
        expect((await s.operatorRegistry.read.getOperator([e.cheater])).stake < stakeBefore).to.equal(true);
        const slashes = await s.serviceManager.getEvents.EquivocationSlashed({}, { fromBlock: 0n });
        expect(slashes.map((ev) => [ev.args.beneficiary?.toLowerCase(), ev.args.bounty! > 0n])).to.deep.equal([[s.wallets[2]!.account.address.toLowerCase(), true]]);
        expect((await metrics.equivocationProofs.get()).values.map((v) => [v.labels.outcome, v.value])).to.deep.equal([["submitted", 1]]);
      });
    }

    it("at head = deadline + 1 → it should send nothing, and log and count the equivocation as out of window", async () => {
      const e = await equivocation();
      const deadline = await headAt(e, 1n);
      const { r, lines, metrics } = await reporter({});
      const sent = await s.publicClient.getTransactionCount({ address: s.wallets[2]!.account.address });
      expect(await r.report(e.cheater, e.batch, e.closedAt, e.first, e.second)).to.deep.equal({ kind: "outOfWindow", head: deadline + 1n, deadline });
      expect(await s.publicClient.getTransactionCount({ address: s.wallets[2]!.account.address })).to.equal(sent);
      expect(await s.serviceManager.read.equivocationSlashed([e.cheater, toHex(e.batch, { size: 32 })])).to.equal(false);
      expect(lines.objects().map((o) => [o.event, o.level, o.deadline])).to.deep.equal([["equivocation_out_of_window", 40, String(deadline)]]);
      expect((await metrics.equivocationProofs.get()).values.map((v) => [v.labels.outcome, v.value])).to.deep.equal([["out_of_window", 1]]);
      // Handled: not retried, and a second report is a duplicate.
      expect(r.pendingRetries).to.equal(0);
      expect((await r.report(e.cheater, e.batch, e.closedAt, e.first, e.second)).kind).to.equal("duplicate");
    });
  });
});
