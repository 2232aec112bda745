import { expect } from "chai";
import { network } from "hardhat";
import { ExitCode } from "../../cli/errors.js";
import { buildSubmission, OPERATOR_STAKES, type System } from "../support/serviceManager.js";
import { cliWorld } from "./fixture.js";

const connection = await network.create();

/** Finalizes the next batch with a row for an order that never existed (wrong at R_b), signed by operators 1–3. */
async function invalidBatch(s: System): Promise<bigint> {
  await s.serviceManager.write.closeBatch();
  const batch = await s.serviceManager.read.batchCount();
  const row = { orderId: 4_242n, offerVersionId: 1n, gpuCount: 1, pricePerGpuHour: 1n };
  const sub = await buildSubmission(s, batch, [row], { signers: s.ops.slice(1) });
  await s.serviceManager.write.submitResult(sub.args as never);
  return batch;
}

describe("matchnet batch slash-invalid against the real service manager", () => {
  it("given a batch whose result was proven wrong at R_b → it should slash each signer once, leave the non-signer, and refuse a second run's signers", async () => {
    const w = await cliWorld(connection);
    try {
      const batch = await invalidBatch(w.s);
      const caller = await w.account("watcher");
      const r = await w.cli([...caller.args, "--json", "batch", "slash-invalid", String(batch), "--yes"]);
      expect(r.code, r.err).to.equal(0);
      const report = r.json();
      expect(report.slashed.map((x: { operatorId: string }) => x.operatorId)).to.have.members(w.s.ops.slice(1).map((o) => o.id));
      expect(report.alreadySlashed).to.deep.equal([]);
      for (const [i, o] of w.s.ops.entries()) {
        const op = await w.s.operatorRegistry.read.getOperator([o.id]);
        expect(op.stake, `operator ${i}`).to.equal(i === 0 ? OPERATOR_STAKES[0]! : OPERATOR_STAKES[i]! / 2n);
      }
      const again = await w.cli([...caller.args, "--json", "batch", "slash-invalid", String(batch), "--yes"]);
      expect(again.code, again.err).to.equal(0);
      expect(again.json().slashed).to.deep.equal([]);
      expect(again.json().alreadySlashed).to.have.members(w.s.ops.slice(1).map((o) => o.id));
    } finally {
      await w.remove();
    }
  });

  it("given a batch the matcher's own result finalized → it should exit 7 and slash nobody", async () => {
    const w = await cliWorld(connection);
    try {
      const { batch } = await w.runBatch();
      const caller = await w.account("watcher");
      const r = await w.cli([...caller.args, "batch", "slash-invalid", String(batch), "--yes"]);
      expect(r.code).to.equal(ExitCode.NotFound);
      expect(r.err).to.contain("was not proven invalid");
      for (const [i, o] of w.s.ops.entries()) expect((await w.s.operatorRegistry.read.getOperator([o.id])).stake).to.equal(OPERATOR_STAKES[i]!);
    } finally {
      await w.remove();
    }
  });

  it("given a proof older than batchTimeout blocks → it should exit 7 naming the deadline, before asking or sending", async () => {
    const w = await cliWorld(connection);
    try {
      const batch = await invalidBatch(w.s);
      const b = await w.s.serviceManager.read.getBatch([batch]);
      const head = Number(await w.s.publicClient.getBlockNumber());
      await connection.networkHelpers.mine(b.invalidAt + 40 - head);
      const caller = await w.account("watcher");
      const r = await w.cli([...caller.args, "batch", "slash-invalid", String(batch)]);
      expect(r.code).to.equal(ExitCode.NotFound);
      expect(r.err).to.contain(`until block ${b.invalidAt + 40}`);
    } finally {
      await w.remove();
    }
  });
});
