/**
 * `matchnet batch list | show <b>`: what each batch did and, for every order it left open, why — computed by
 * re-running the operators' matcher (protocol/matching) on the batch's inputs read at its reference block R_b
 * (protocol/chain/reads.ts) with the batch's seed, so anyone with an RPC can check the explanation.
 */
import type { MatchnetCommand as Command } from "./command.js";
import { parseEventLogs, type Hex } from "viem";
import { marketplaceAbi, serviceManagerAbi } from "../protocol/chain/abi.js";
import { resultReceipts } from "../protocol/chain/batches.js";
import { OnChainBatchStatus } from "../protocol/chain/enums.js";
import { readMatchInputs, readOperatorSet } from "../protocol/chain/reads.js";
import { toOperatorId } from "../protocol/chain/ids.js";
import { nonSignerIds, readFinalizedSubmission, readResultSigners, type FinalizedSubmission } from "../protocol/chain/submissions.js";
import { systemAddresses } from "../protocol/chain/deployment.js";
import { assignmentsHash, matchBatch } from "../protocol/matching/index.js";
import { SkipReason } from "../protocol/market/types.js";
import { decimalsOf } from "./chain.js";
import { CliError } from "./errors.js";
import { amount, enumName, parseId, parseInteger, table } from "./format.js";
import type { CliIo } from "./io.js";
import { action } from "./command.js";
import type { Context } from "./context.js";
import { reasonName, reasonText } from "./quote.js";

async function batchHeader(ctx: Context, batch: bigint) {
  const { serviceManager } = await ctx.serviceManager();
  const client = await ctx.client();
  const count = await client.readContract({ address: serviceManager, abi: serviceManagerAbi, functionName: "batchCount" });
  if (batch < 1n || batch > count) throw new CliError("NOT_FOUND", `no batch ${batch} (there are ${count})`, { hint: "`matchnet batch list` shows the batches." });
  return client.readContract({ address: serviceManager, abi: serviceManagerAbi, functionName: "getBatch", args: [batch] });
}

export interface BatchShow {
  batch: bigint;
  status: string;
  referenceBlock: number;
  closedAt: number;
  finalizedAt: number | null;
  seed: Hex | null;
  tx: Hex | null;
  gasUsed: bigint | null;
  operators: { operatorId: Hex; stake: bigint; signed: boolean | null }[];
  signedStakeBps: number | null;
  applied: { orderId: bigint; offerVersionId: bigint; pricePerGpuHour: bigint; excessEscrow: bigint }[];
  skipped: { orderId: bigint; reason: number; reasonName: string }[];
  open: { orderId: bigint; reason: string; code: number | null; text: string }[];
  matcherAgrees: boolean | null;
}

export async function showBatch(ctx: Context, batch: bigint): Promise<BatchShow> {
  const b = await batchHeader(ctx, batch);
  const client = await ctx.client();
  const addrs = systemAddresses(await ctx.deployment(), ctx.path(ctx.opts.deployment));
  const rb = BigInt(b.referenceBlock);
  const [inputs, set] = await Promise.all([readMatchInputs(client, addrs, rb), readOperatorSet(client, addrs.operatorRegistry, rb)]);
  const show: BatchShow = {
    batch, status: enumName(OnChainBatchStatus, b.status), referenceBlock: b.referenceBlock, closedAt: b.closedAt,
    finalizedAt: b.status === OnChainBatchStatus.Final ? b.finalizedAt : null, seed: null, tx: null, gasUsed: null,
    operators: set.operators.map((o) => ({ operatorId: o.operatorId, stake: o.stake, signed: null })), signedStakeBps: null,
    applied: [], skipped: [], open: [], matcherAgrees: null,
  };
  if (b.status !== OnChainBatchStatus.Final) {
    const why = b.status === OnChainBatchStatus.Abandoned ? "batch abandoned (no quorum result in time): the order joins the next batch" : "batch not final yet";
    show.open = inputs.orders.map((o) => ({ orderId: o.orderId, reason: b.status === OnChainBatchStatus.Abandoned ? "BatchAbandoned" : "BatchPending", code: null, text: why }));
    return show;
  }
  const fin = await finalizedSubmission(ctx, batch);
  const nonSigners = fin.nonSignerPubkeys === null ? null : nonSignerIds(fin.nonSignerPubkeys);
  const receipts = await resultReceipts(client, addrs.serviceManager, batch, BigInt(b.finalizedAt), fin.transactionHash);
  const receipt = { logs: receipts.flatMap((r) => r.logs) };
  show.seed = fin.seed;
  show.tx = fin.transactionHash;
  show.gasUsed = receipts.reduce((sum, r) => sum + r.gasUsed, 0n);
  show.operators = show.operators.map((o) => ({ ...o, signed: nonSigners === null ? null : !nonSigners.has(toOperatorId(o.operatorId)) }));
  show.signedStakeBps = fin.totalStake === 0n ? 0 : Number((fin.signedStake * 10_000n) / fin.totalStake);
  // A receipt can hold other contracts' logs and, in principle, another batch's: keep this batch's rows.
  show.applied = parseEventLogs({ abi: marketplaceAbi, eventName: "AssignmentApplied", logs: receipt.logs })
    .filter((l) => l.args.batch === batch)
    .map((l) => ({ orderId: l.args.orderId, offerVersionId: l.args.offerVersionId, pricePerGpuHour: l.args.pricePerGpuHour, excessEscrow: l.args.excessEscrow }));
  show.skipped = parseEventLogs({ abi: marketplaceAbi, eventName: "AssignmentSkipped", logs: receipt.logs })
    .filter((l) => l.args.batch === batch)
    .map((l) => ({ orderId: l.args.orderId, reason: l.args.reason, reasonName: SkipReason[l.args.reason] ?? `Skip${l.args.reason}` }));
  const result = matchBatch(inputs, show.seed);
  show.matcherAgrees = assignmentsHash(result.assignments) === fin.assignmentsHash;
  const applied = new Set(show.applied.map((a) => a.orderId));
  const skipped = new Map(show.skipped.map((s) => [s.orderId, s]));
  const unmatched = new Map(result.unmatched.map((u) => [u.orderId, u.reason as number]));
  for (const o of inputs.orders) {
    if (applied.has(o.orderId)) continue;
    const s = skipped.get(o.orderId);
    if (s !== undefined) {
      show.open.push({ orderId: o.orderId, reason: `Skipped:${s.reasonName}`, code: null, text: `assigned, but the marketplace skipped it at application (${s.reasonName}): the state changed after R_b` });
      continue;
    }
    const r = unmatched.get(o.orderId);
    if (r !== undefined) show.open.push({ orderId: o.orderId, reason: reasonName(r), code: r, text: reasonText(r) });
  }
  return show;
}

/** The submission that finalized the batch (protocol/chain/submissions.ts). */
async function finalizedSubmission(ctx: Context, batch: bigint): Promise<FinalizedSubmission> {
  const { serviceManager } = await ctx.serviceManager();
  const sub = await readFinalizedSubmission(await ctx.client(), serviceManager, batch).catch((err: unknown) => {
    throw new CliError("CHAIN", (err as Error).message);
  });
  if (sub === null) throw new CliError("NOT_FOUND", `batch ${batch} is not final`);
  return sub;
}

export interface SlashInvalidReport {
  batch: bigint;
  provenAt: number;
  deadline: number;
  slashed: { operatorId: Hex; tx: Hex }[];
  alreadySlashed: Hex[];
}

/**
 * Slashes every signer of a batch whose result a page proved wrong at R_b (docs/protocol.md §5): the operators with
 * stake at R_b that the accepted submission did not list as non-signers, one `slashInvalidResultSigner` each.
 */
async function slashInvalid(ctx: Context, batch: bigint, yes: boolean): Promise<SlashInvalidReport> {
  const b = await batchHeader(ctx, batch);
  if (b.invalidAt === 0) {
    throw new CliError("NOT_FOUND", `batch ${batch}'s result was not proven invalid: no page held an assignment already wrong at R_b`, {
      hint: "`matchnet batch show` lists its skipped assignments; a skip explained by a change after R_b is no fault.",
    });
  }
  const { serviceManager, operatorRegistry } = await ctx.serviceManager();
  const client = await ctx.client();
  const timing = await client.readContract({ address: serviceManager, abi: serviceManagerAbi, functionName: "batchTiming" });
  const deadline = b.invalidAt + timing.batchTimeout;
  const signers = await readResultSigners(client, { serviceManager, operatorRegistry }, batch).catch((err: unknown) => {
    throw new CliError("CHAIN", (err as Error).message);
  });
  const report: SlashInvalidReport = { batch, provenAt: b.invalidAt, deadline, slashed: [], alreadySlashed: [] };
  const head = await client.getBlockNumber();
  if (head >= BigInt(deadline)) {
    throw new CliError("NOT_FOUND", `batch ${batch}'s signers could be slashed until block ${deadline}; the chain is at ${head}`, {
      hint: "Invalid-result proofs land within batchTimeout blocks of the proof (docs/protocol.md §5).",
    });
  }
  const slashedEvents = await client.getContractEvents({ address: serviceManager, abi: serviceManagerAbi, eventName: "InvalidResultSignerSlashed", args: { batch }, fromBlock: BigInt(b.invalidAt) });
  const done = new Set(slashedEvents.map((l) => toOperatorId(l.args.operatorId!)));
  for (const id of signers.signers) {
    if (done.has(id)) {
      report.alreadySlashed.push(id);
      continue;
    }
    if (report.slashed.length === 0) await ctx.confirm(`slash the signers of batch ${batch}'s invalid result`, yes);
    const r = await ctx.send(`slash signer ${id}`, {
      address: serviceManager, abi: serviceManagerAbi, functionName: "slashInvalidResultSigner", args: [batch, id, signers.nonSignerPubkeys],
    });
    report.slashed.push({ operatorId: id, tx: r.transactionHash });
  }
  return report;
}

export function addBatchCommands(program: Command, io: CliIo): void {
  const batch = program.command("batch").description("matching batches");

  action(batch.command("list").description("the latest batches").option("--last <n>", "how many", "10"), io, async (ctx, _a, opts) => {
    const last = parseInteger(String(opts.last), "--last", 1, 1000);
    const { serviceManager } = await ctx.serviceManager();
    const client = await ctx.client();
    const count = await client.readContract({ address: serviceManager, abi: serviceManagerAbi, functionName: "batchCount" });
    const rows = [];
    for (let b = count; b >= 1n && count - b < BigInt(last); b--) {
      const h = await client.readContract({ address: serviceManager, abi: serviceManagerAbi, functionName: "getBatch", args: [b] });
      // Applied assignments, counted from the PageApplied events of the batch's pages.
      let assignments: bigint | null = null;
      if (h.status === OnChainBatchStatus.Final) {
        const pages = await client.getContractEvents({ address: serviceManager, abi: serviceManagerAbi, eventName: "PageApplied", args: { batch: b }, fromBlock: BigInt(h.finalizedAt) });
        assignments = pages.reduce((sum, l) => sum + (l.args.assignments ?? 0n), 0n);
      }
      rows.push({ batch: b, status: enumName(OnChainBatchStatus, h.status), referenceBlock: h.referenceBlock, closedAt: h.closedAt, finalizedAt: h.status === OnChainBatchStatus.Final ? h.finalizedAt : null, assignments });
    }
    ctx.result(
      { batchCount: count, batches: rows },
      rows.length === 0 ? "no batch yet" : table(["batch", "status", "R_b", "closed", "final", "assignments"], rows.map((r) => [String(r.batch), r.status, String(r.referenceBlock), String(r.closedAt), r.finalizedAt === null ? "-" : String(r.finalizedAt), r.assignments === null ? "-" : String(r.assignments)])),
    );
  });

  action(batch.command("show").description("assignments, skips, signers, gas, and why each open order stayed open").argument("<batch>"), io, async (ctx, [id]) => {
    const b = parseId(id!, "<batch>");
    const s = await showBatch(ctx, b);
    const dec = await decimalsOf(ctx, (await ctx.contracts()).paymentToken);
    const lines = [
      `batch ${s.batch}: ${s.status}; R_b ${s.referenceBlock}, closed at ${s.closedAt}${s.finalizedAt !== null ? `, final at ${s.finalizedAt} (${s.finalizedAt - s.closedAt} block${s.finalizedAt - s.closedAt === 1 ? "" : "s"})` : ""}`,
    ];
    if (s.tx !== null) lines.push(`result tx ${s.tx}, gas ${s.gasUsed}, seed ${s.seed}`, `matcher re-run at R_b ${s.matcherAgrees ? "gives the submitted result" : "DIFFERS from the submitted result"}`);
    lines.push(`operators at R_b: ${s.operators.length}${s.signedStakeBps !== null ? `, signed stake ${(s.signedStakeBps / 100).toFixed(2)}%` : ""}`);
    for (const o of s.operators) lines.push(`  ${o.operatorId}  ${o.signed === null ? "" : o.signed ? "signed" : "did not sign"}`);
    lines.push(`assigned (${s.applied.length}):`);
    if (s.applied.length > 0) lines.push(table(["  order", "offer version", "price/GPU-h", "excess escrow"], s.applied.map((a) => [`  ${a.orderId}`, String(a.offerVersionId), amount(a.pricePerGpuHour, dec), amount(a.excessEscrow, dec)])));
    lines.push(`skipped at application (${s.skipped.length}):`);
    for (const k of s.skipped) lines.push(`  order ${k.orderId}: ${k.reasonName}`);
    lines.push(`left open (${s.open.length}):`);
    for (const o of s.open) lines.push(`  order ${o.orderId}: ${o.reason}${o.code !== null ? ` (${o.code})` : ""} — ${o.text}`);
    ctx.result(s, lines);
  });

  action(
    batch.command("slash-invalid").description("slash every signer of a batch whose result was proven wrong at R_b").argument("<batch>").option("--yes", "do not ask"),
    io,
    async (ctx, [id], opts) => {
      const b = parseId(id!, "<batch>");
      const r = await slashInvalid(ctx, b, Boolean(opts.yes));
      const lines = [`batch ${r.batch}: result proven invalid at block ${r.provenAt}; signers can be slashed until block ${r.deadline}`];
      for (const x of r.slashed) lines.push(`  slashed ${x.operatorId} (tx ${x.tx})`);
      for (const x of r.alreadySlashed) lines.push(`  ${x} was already slashed`);
      if (r.slashed.length === 0 && r.alreadySlashed.length === 0) lines.push("  no signer with stake at R_b");
      ctx.result(r, lines);
    },
  );
}
