/** `matchnet renter lease list | show | extend | close`: the renter's leases (a lease's id is its order's id). */
import { parseEventLogs } from "viem";
import type { MatchnetCommand as Command } from "./command.js";
import { marketplaceAbi } from "../protocol/chain/abi.js";
import { CloseReason, LeaseStatus, OrderStatus } from "../protocol/market/types.js";
import { decimalsOf, ensureAllowance } from "./chain.js";
import { CliError, fromChainError, revertOf } from "./errors.js";
import { amount, enumName, parseId, parseInteger, table } from "./format.js";
import { memberEntry } from "../protocol/chain/enumNames.js";
import type { CliIo } from "./io.js";
import { action } from "./command.js";
import type { Context } from "./context.js";
import { renterOrders } from "./renter.js";

const MAX_UINT32 = 2 ** 32 - 1;
/** What each close reason (CloseReason in protocol/market/types.ts) meant for the renter, in one sentence (`lease show`). */
const CLOSE_REASON_TEXT: Record<keyof typeof CloseReason, string> = {
  None: "",
  Completed: "ran to its paid end",
  RenterClosed: "closed by the renter; the unused time was refunded",
  ProviderClosed: "the provider ended it early; the unused time was refunded",
  ProviderFault: "closed for a provider fault; the unused time was refunded",
  HandoffTimeout: "the provider never handed it over; everything paid for it was refunded",
};

async function readLease(ctx: Context, leaseId: bigint) {
  const c = await ctx.contracts();
  const client = await ctx.client();
  try {
    const [lease, unsettled] = await Promise.all([
      client.readContract({ address: c.marketplace, abi: marketplaceAbi, functionName: "getLease", args: [leaseId] }),
      client.readContract({ address: c.marketplace, abi: marketplaceAbi, functionName: "unsettledEarnings", args: [leaseId] }),
    ]);
    return { lease, unsettled };
  } catch (err) {
    if (revertOf(err)?.errorName === "MarketplaceUnknownLease") throw new CliError("NOT_FOUND", `no lease ${leaseId}`, { hint: "`matchnet renter lease list` shows your leases (a lease's id is its order's id)." });
    throw fromChainError(err, `lease ${leaseId}`);
  }
}

type LeaseOnChain = Awaited<ReturnType<typeof readLease>>["lease"];

/**
 * Where a lease stands in the handoff (docs/contracts.md, "Leases"): ready at a block, or waiting for the provider
 * until `deadline` (startBlock + handoffTimeout), after which the renter may close it for a full refund.
 */
export interface Readiness {
  ready: boolean;
  readyAt: bigint;
  /** The last block in which the provider may still mark it ready before the renter may close for a timeout. */
  deadline: bigint;
  /**
   * The deadline block is past: the timeout close is allowed in the latest block, where the CLI simulates it, and
   * so in the block it lands in.
   */
  timedOut: boolean;
}

async function handoffTimeout(ctx: Context): Promise<bigint> {
  const c = await ctx.contracts();
  return (await ctx.client()).readContract({ address: c.marketplace, abi: marketplaceAbi, functionName: "handoffTimeout" });
}

export function readinessOf(l: LeaseOnChain, timeout: bigint, head: bigint): Readiness {
  const deadline = l.startBlock + timeout;
  return { ready: l.readyAt !== 0n, readyAt: l.readyAt, deadline, timedOut: l.readyAt === 0n && head > deadline };
}

function readinessText(r: Readiness, status: number): string {
  if (r.ready) return `handed over at block ${r.readyAt}`;
  if (status !== LeaseStatus.Active) return "never handed over";
  return r.timedOut
    ? `not handed over; the provider's deadline (block ${r.deadline}) has passed: \`matchnet renter lease close\` refunds everything`
    : `not handed over yet; the provider has until block ${r.deadline}`;
}

const hoursLeft = (l: LeaseOnChain, now: bigint) => (Number(l.endsAt - now) / 3600);

export function addLeaseCommands(renter: Command, io: CliIo): void {
  const lease = renter.command("lease").description("leases");

  action(lease.command("list").description("the account's leases").option("--active", "only active leases"), io, async (ctx, _a, opts) => {
    const c = await ctx.contracts();
    const me = await ctx.address();
    const matched = (await renterOrders(ctx, me)).filter((o) => o.status === OrderStatus.Matched);
    const dec = await decimalsOf(ctx, c.paymentToken);
    let rows = await Promise.all(matched.map(async (o) => (await readLease(ctx, o.orderId)).lease));
    if (opts.active === true) rows = rows.filter((l) => l.status === LeaseStatus.Active);
    const block = await (await ctx.client()).getBlock();
    const timeout = await handoffTimeout(ctx);
    const ready = (l: LeaseOnChain) => readinessOf(l, timeout, block.number);
    const readyCell = (l: LeaseOnChain) => (l.readyAt !== 0n ? "yes" : l.status !== LeaseStatus.Active ? "never" : ready(l).timedOut ? "timed out" : `by ${ready(l).deadline}`);
    ctx.result(
      { renter: me, leases: rows.map((l) => ({ ...l, statusName: enumName(LeaseStatus, l.status), closeReasonName: enumName(CloseReason, l.closeReason), readiness: ready(l) })) },
      rows.length === 0 ? `no leases for ${me}` : table(
        ["lease", "status", "ready", "offer", "provider", "GPUs", "price/GPU-h", "ends", "reason"],
        rows.map((l) => [String(l.leaseId), enumName(LeaseStatus, l.status), readyCell(l), String(l.offerId), l.provider, String(l.gpuCount), amount(l.pricePerGpuHour, dec), l.status === LeaseStatus.Active ? `in ${hoursLeft(l, block.timestamp).toFixed(1)} h` : new Date(Number(l.closedAt) * 1000).toISOString(), l.status === LeaseStatus.Active ? "-" : enumName(CloseReason, l.closeReason)]),
      ),
    );
  });

  action(lease.command("show").description("one lease: terms, handoff, time left, accrued cost, close reason").argument("<leaseId>"), io, async (ctx, [id]) => {
    const leaseId = parseId(id!, "<leaseId>");
    const c = await ctx.contracts();
    const { lease: l, unsettled } = await readLease(ctx, leaseId);
    const dec = await decimalsOf(ctx, c.paymentToken);
    const block = await (await ctx.client()).getBlock();
    const readiness = readinessOf(l, await handoffTimeout(ctx), block.number);
    const total = l.pricePerGpuHour * BigInt(l.gpuCount) * ((l.endsAt - l.startedAt) / 3600n);
    const reason = { name: enumName(CloseReason, l.closeReason), text: memberEntry(CloseReason, CLOSE_REASON_TEXT, l.closeReason, "") };
    const lines = [
      `lease     ${l.leaseId} (${enumName(LeaseStatus, l.status)})`,
      `offer     ${l.offerId} version ${l.offerVersionId} of ${l.provider}`,
      `GPUs      ${l.gpuCount} at ${amount(l.pricePerGpuHour, dec)}/GPU-hour (total ${amount(total, dec)})`,
      `started   ${new Date(Number(l.startedAt) * 1000).toISOString()} (block ${l.startBlock})`,
      `ready     ${readinessText(readiness, l.status)}`,
      `ends      ${new Date(Number(l.endsAt) * 1000).toISOString()}${l.status === LeaseStatus.Active ? ` (in ${hoursLeft(l, block.timestamp).toFixed(2)} h)` : ""}`,
      `paid out  ${amount(l.paidOut, dec)} settled to the provider, ${amount(unsettled, dec)} accrued since`,
    ];
    if (l.status === LeaseStatus.Closed) lines.push(`closed    ${new Date(Number(l.closedAt) * 1000).toISOString()}: ${reason.name} — ${reason.text}`);
    ctx.result({ ...l, statusName: enumName(LeaseStatus, l.status), closeReasonName: reason.name, closeReasonText: reason.text, readiness, unsettledEarnings: unsettled, totalCost: total }, lines);
  });

  action(
    lease.command("extend").description("buy more hours of an active lease at its price (asks before paying)").argument("<leaseId>")
      .requiredOptionX("--hours <n>", "hours to add")
      .option("--yes", "do not ask before paying"),
    io,
    async (ctx, [id], opts) => {
      const leaseId = parseId(id!, "<leaseId>");
      const hours = parseInteger(String(opts.hours), "--hours", 1, MAX_UINT32);
      const c = await ctx.contracts();
      const { lease: l } = await readLease(ctx, leaseId);
      const dec = await decimalsOf(ctx, c.paymentToken);
      const pay = l.pricePerGpuHour * BigInt(l.gpuCount) * BigInt(hours);
      const newEnd = l.endsAt + BigInt(hours) * 3600n;
      ctx.note(`extend lease ${leaseId} by ${hours} h: ${l.gpuCount} GPUs × ${amount(l.pricePerGpuHour, dec)}/GPU-hour × ${hours} h = ${amount(pay, dec)}; new end ${new Date(Number(newEnd) * 1000).toISOString()}`);
      await ctx.confirm(`Pay ${amount(pay, dec)} of ${c.paymentToken} to extend lease ${leaseId} by ${hours} h?`, opts.yes === true);
      await ensureAllowance(ctx, c.paymentToken, c.marketplace, pay, "payment token");
      const r = await ctx.send("lease extend", { address: c.marketplace, abi: marketplaceAbi, functionName: "extendLease", args: [leaseId, hours] });
      const [ev] = parseEventLogs({ abi: marketplaceAbi, eventName: "LeaseExtended", logs: r.logs });
      const endsAt = ev!.args.endsAt;
      ctx.result({ leaseId, hours, paid: ev!.args.paid, endsAt, tx: r.transactionHash }, `extended lease ${leaseId} by ${hours} h for ${amount(ev!.args.paid, dec)}; it now ends ${new Date(Number(endsAt) * 1000).toISOString()} (tx ${r.transactionHash})`);
    },
  );

  action(lease.command("close").description("close a lease early: the unused time is refunded, everything if the provider never handed it over in time").argument("<leaseId>"), io, async (ctx, [id]) => {
    const leaseId = parseId(id!, "<leaseId>");
    const c = await ctx.contracts();
    const { lease: l } = await readLease(ctx, leaseId);
    const readiness = readinessOf(l, await handoffTimeout(ctx), await (await ctx.client()).getBlockNumber());
    // Past the provider's deadline with no handoff, the timeout close is the one that counts against the provider.
    const timeout = l.status === LeaseStatus.Active && readiness.timedOut;
    const functionName = timeout ? "closeLeaseForHandoffTimeout" : "closeLease";
    const r = await ctx.send("lease close", { address: c.marketplace, abi: marketplaceAbi, functionName, args: [leaseId] });
    const [ev] = parseEventLogs({ abi: marketplaceAbi, eventName: "LeaseClosed", logs: r.logs });
    const dec = await decimalsOf(ctx, c.paymentToken);
    const refund = ev?.args.refund ?? 0n;
    const reason = enumName(CloseReason, timeout ? CloseReason.HandoffTimeout : CloseReason.RenterClosed);
    const text = timeout
      ? `closed lease ${leaseId} for a handoff timeout: the provider never handed it over by block ${readiness.deadline}; everything paid for it, ${amount(refund, dec)}, is refundable and the provider is charged a failure`
      : `closed lease ${leaseId}; ${amount(refund, dec)} refundable${readiness.ready ? "" : " (not handed over yet: the provider earned nothing)"}`;
    ctx.result({ leaseId, refund, reason, call: functionName, readiness, tx: r.transactionHash }, `${text} (tx ${r.transactionHash})`);
  });
}
