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
  async function equivocation(): Promise<{ batch: bigint; first: PartialSignatureMessage; second: PartialSignatureMessage; cheater: Hex }> {
    await s.serviceManager.write.closeBatch();
    const batch = await s.serviceManager.read.batchCount();
    const ref = BigInt((await s.serviceManager.read.getBatch([batch])).referenceBlock);
    const op = s.ops[2]!;
    const seed = keccak256(toHex(`seed ${batch}`));
    const partial = (label: string): PartialSignatureMessage => {
      const resultHash = keccak256(toHex(label));
      const digest = resultMessageDigest({ chainId: s.chainId, serviceManager: s.serviceManager.address, batch, referenceBlock: ref, seed, assignmentsHash: resultHash });
      return { batch, resultHash, seed, operatorId: op.id, signature: op.sk.sign(digest), seedSigner: op.id, seedSignature: op.sk.sign(digest) };
    };
    return { batch, first: partial("result A"), second: partial("result B"), cheater: op.id };
  }

  function reporter(opts: { failRequests?: () => boolean; beforeSend?: () => Promise<void> }) {
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
    const r = new EquivocationReporter({ serviceManager: s.serviceManager.address }, { client, wallet, logger: createLogger({ level: "debug", name: "test", destination: lines }), metrics });
    return { r, lines, metrics };
  }

  describe("given an RPC that fails while the proof is sent", () => {
    it("should keep the proof and send it on the retry", async () => {
      const e = await equivocation();
      let failing = true;
      const { r, lines } = reporter({ failRequests: () => failing });
      const out = await r.report(e.cheater, e.batch, e.first, e.second);
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
      const { r, lines } = reporter({ failRequests: () => true });
      await r.report(e.cheater, e.batch, e.first, e.second);
      for (let i = 2; i < MAX_ATTEMPTS; i++) await r.retryFailed();
      expect(r.pendingRetries).to.equal(1);
      await r.retryFailed();
      expect(r.pendingRetries).to.equal(0);
      const failed = lines.objects().filter((o) => o.event === "equivocation_proof_failed");
      expect(failed.map((o) => [o.attempts, o.retry, o.level])).to.deep.equal([
        ...Array.from({ length: MAX_ATTEMPTS - 1 }, (_, i) => [i + 1, true, 40]),
        [MAX_ATTEMPTS, false, 50],
      ]);
      expect((await r.report(e.cheater, e.batch, e.first, e.second)).kind).to.equal("duplicate");
    });
  });

  describe("given another reporter's proof that lands between our simulation and our transaction", () => {
    it("should report the lost race as already slashed, at info, with no retry", async () => {
      const e = await equivocation();
      const rival = reporter({});
      const { r, lines, metrics } = reporter({
        beforeSend: async () => {
          expect((await rival.r.report(e.cheater, e.batch, e.first, e.second)).kind).to.equal("submitted");
        },
      });
      const out = await r.report(e.cheater, e.batch, e.first, e.second);
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
      const { r, lines } = reporter({});
      expect((await r.report(e.cheater, e.batch, e.first, e.second)).kind).to.equal("submitted");
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
      const { r } = reporter({});
      expect((await r.report(e.cheater, e.batch, e.first, e.second)).kind).to.equal("submitted");
      expect((await r.report(e.cheater, e.batch, e.first, e.second)).kind).to.equal("duplicate");
    });
  });
});
