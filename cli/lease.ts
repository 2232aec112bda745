/** `matchnet renter lease list | show | close`: the renter's leases (a lease's id is its order's id). */
import { parseEventLogs } from "viem";
import type { MatchnetCommand as Command } from "./command.js";
import { marketplaceAbi } from "../protocol/chain/abi.js";
import { CloseReason, LeaseStatus, OrderStatus } from "../protocol/market/types.js";
import { decimalsOf } from "./chain.js";
import { CliError, fromChainError, revertOf } from "./errors.js";
import { amount, parseId, table } from "./format.js";
import type { CliIo } from "./io.js";
import { action } from "./command.js";
import type { Context } from "./context.js";
import { renterOrders } from "./renter.js";

export const LEASE_STATUS = ["none", "active", "closed"] as const;
/** What each close reason means for the renter (CloseReason in protocol/market/types.ts). */
export const CLOSE_REASON: Record<number, { name: string; text: string }> = {
  [CloseReason.None]: { name: "none", text: "" },
  [CloseReason.Completed]: { name: "completed", text: "ran to its paid end" },
  [CloseReason.RenterClosed]: { name: "closed-by-renter", text: "closed by the renter; the unused time was refunded" },
  [CloseReason.ProviderClosed]: { name: "closed-by-provider", text: "the provider ended it early; the unused time was refunded" },
  [CloseReason.ProviderFault]: { name: "provider-fault", text: "closed for a provider fault; the unused time was refunded" },
  [CloseReason.HandoffTimeout]: { name: "handoff-timeout", text: "the provider never handed it over; everything paid for it was refunded" },
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

export function addLeaseCommands(renter: Command, io: CliIo): void {
  const lease = renter.command("lease").description("leases");

  action(lease.command("list").description("the account's leases").option("--active", "only active leases"), io, async (ctx, _a, opts) => {
    const c = await ctx.contracts();
    const me = await ctx.address();
    const matched = (await renterOrders(ctx, me)).filter((o) => o.status === OrderStatus.Matched);
    const dec = await decimalsOf(ctx, c.paymentToken);
    let rows = await Promise.all(matched.map(async (o) => (await readLease(ctx, o.orderId)).lease));
    if (opts.active === true) rows = rows.filter((l) => l.status === LeaseStatus.Active);
    const now = (await (await ctx.client()).getBlock()).timestamp;
    ctx.result(
      { renter: me, leases: rows.map((l) => ({ ...l, statusName: LEASE_STATUS[l.status], closeReasonName: CLOSE_REASON[l.closeReason]?.name ?? String(l.closeReason) })) },
      rows.length === 0 ? `no leases for ${me}` : table(
        ["lease", "status", "offer", "provider", "GPUs", "price/GPU-h", "ends", "reason"],
        rows.map((l) => [String(l.leaseId), LEASE_STATUS[l.status] ?? String(l.status), String(l.offerId), l.provider, String(l.gpuCount), amount(l.pricePerGpuHour, dec), l.status === LeaseStatus.Active ? `in ${((Number(l.endsAt - now) / 3600)).toFixed(1)} h` : new Date(Number(l.closedAt) * 1000).toISOString(), l.status === LeaseStatus.Active ? "-" : (CLOSE_REASON[l.closeReason]?.name ?? String(l.closeReason))]),
      ),
    );
  });

  action(lease.command("show").description("one lease: terms, time left, accrued cost, close reason").argument("<leaseId>"), io, async (ctx, [id]) => {
    const leaseId = parseId(id!, "<leaseId>");
    const c = await ctx.contracts();
    const { lease: l, unsettled } = await readLease(ctx, leaseId);
    const dec = await decimalsOf(ctx, c.paymentToken);
    const now = (await (await ctx.client()).getBlock()).timestamp;
    const total = l.pricePerGpuHour * BigInt(l.gpuCount) * ((l.endsAt - l.startedAt) / 3600n);
    const reason = CLOSE_REASON[l.closeReason] ?? { name: String(l.closeReason), text: "" };
    const lines = [
      `lease     ${l.leaseId} (${LEASE_STATUS[l.status]})`,
      `offer     ${l.offerId} version ${l.offerVersionId} of ${l.provider}`,
      `GPUs      ${l.gpuCount} at ${amount(l.pricePerGpuHour, dec)}/GPU-hour (total ${amount(total, dec)})`,
      `started   ${new Date(Number(l.startedAt) * 1000).toISOString()}`,
      `ends      ${new Date(Number(l.endsAt) * 1000).toISOString()}${l.status === LeaseStatus.Active ? ` (in ${(Number(l.endsAt - now) / 3600).toFixed(2)} h)` : ""}`,
      `paid out  ${amount(l.paidOut, dec)} settled to the provider, ${amount(unsettled, dec)} accrued since`,
    ];
    if (l.status === LeaseStatus.Closed) lines.push(`closed    ${new Date(Number(l.closedAt) * 1000).toISOString()}: ${reason.name} — ${reason.text}`);
    ctx.result({ ...l, statusName: LEASE_STATUS[l.status], closeReasonName: reason.name, closeReasonText: reason.text, unsettledEarnings: unsettled, totalCost: total }, lines);
  });

  action(lease.command("close").description("close a lease early; the unused time becomes refundable").argument("<leaseId>"), io, async (ctx, [id]) => {
    const leaseId = parseId(id!, "<leaseId>");
    const c = await ctx.contracts();
    await readLease(ctx, leaseId);
    const r = await ctx.send("lease close", { address: c.marketplace, abi: marketplaceAbi, functionName: "closeLease", args: [leaseId] });
    const [ev] = parseEventLogs({ abi: marketplaceAbi, eventName: "LeaseClosed", logs: r.logs });
    const dec = await decimalsOf(ctx, c.paymentToken);
    ctx.result({ leaseId, refund: ev?.args.refund, reason: "closed-by-renter", tx: r.transactionHash }, `closed lease ${leaseId}; ${amount(ev?.args.refund ?? 0n, dec)} refundable (tx ${r.transactionHash})`);
  });
}
