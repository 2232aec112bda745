/**
 * `matchnet renter quote | order create | order cancel | order list | refunds | withdraw` (leases: lease.ts). Prices
 * are per GPU-hour in the payment token; the escrow an order takes is max price × GPUs × hours.
 */
import { isAddressEqual, parseEventLogs, zeroAddress, type Address } from "viem";
import type { MatchnetCommand as Command } from "./command.js";
import { Option } from "commander";
import { marketplaceAbi } from "../protocol/chain/abi.js";
import { readOrders } from "../protocol/chain/reads.js";
import { OrderStatus } from "../protocol/market/types.js";
import { catalogModels, decimalsOf, ensureAllowance, findModel } from "./chain.js";
import { usage } from "./errors.js";
import { amount, enumName, parseAmount, parseId, parseInteger, parsePercentBps, parseRegions, parseTier, parseZone, percent, regionsOfMask, table, tierName, zoneName } from "./format.js";
import type { CliIo } from "./io.js";
import { action } from "./command.js";
import type { Context } from "./context.js";
import { quoteOrder, quoteText } from "./quote.js";
import type { OrderParams } from "../protocol/market/types.js";

const MAX_UINT32 = 2 ** 32 - 1;
/** Default lifetime of an order in blocks (≈ 1 h at 12 s; 5 min on the 1 s devnet). */
export const DEFAULT_EXPIRES_IN = 300;

function orderOptions(cmd: Command): Command {
  return cmd
    .option("--model <id|name>", "catalog model (id or name)")
    .option("--min-tier <tier>", "instead of --model: any model of this tier or higher (entry, low, medium, high, ultra)")
    .requiredOptionX("--gpus <n>", "GPUs, all on one offer")
    .requiredOptionX("--max-price <amount>", "most you pay per GPU-hour, in the payment token")
    .requiredOptionX("--hours <n>", "lease duration in hours")
    .option("--regions <list>", "allowed regions, comma-separated (default: any)")
    .option("--preferred-zone <zone>", "preferred zone (scores higher, not required)")
    .option("--min-uptime <percent>", "minimum provider uptime, e.g. 99.5", "0")
    .option("--min-reputation <percent>", "minimum provider reputation, e.g. 60", "0")
    .addOption(new Option("--max-slashes <n>", "most times the provider may have been slashed").default(String(MAX_UINT32), "any"))
    .option("--expires-in <blocks>", "blocks the order stays open", String(DEFAULT_EXPIRES_IN));
}

export async function orderParams(ctx: Context, opts: Record<string, unknown>): Promise<{ params: OrderParams; decimals: number; block: bigint; what: string }> {
  const c = await ctx.contracts();
  const client = await ctx.client();
  if ((opts.model === undefined) === (opts.minTier === undefined)) throw usage("--model/--min-tier: give exactly one of them");
  let modelId = 0;
  let minTier = 0;
  let gpu: string;
  if (opts.model !== undefined) {
    const model = findModel(await catalogModels(ctx), String(opts.model), "--model");
    modelId = model.id;
    gpu = model.name;
  } else {
    minTier = parseTier(String(opts.minTier), "--min-tier");
    gpu = `any ${tierName(minTier)}+ GPU`;
  }
  const decimals = await decimalsOf(ctx, c.paymentToken);
  const [block, lifetime] = await Promise.all([client.getBlockNumber(), client.readContract({ address: c.marketplace, abi: marketplaceAbi, functionName: "maxOrderLifetime" })]);
  const expiresIn = parseInteger(String(opts.expiresIn), "--expires-in", 1, Number(lifetime) - 1);
  const params: OrderParams = {
    modelId,
    minTier,
    gpuCount: parseInteger(String(opts.gpus), "--gpus", 1, MAX_UINT32),
    regionMask: opts.regions === undefined ? 0n : parseRegions(String(opts.regions), "--regions"),
    preferredZone: opts.preferredZone === undefined ? 0 : parseZone(String(opts.preferredZone), "--preferred-zone"),
    maxPricePerGpuHour: parseAmount(String(opts.maxPrice), decimals, "--max-price"),
    durationHours: parseInteger(String(opts.hours), "--hours", 1, MAX_UINT32),
    minUptimeBps: parsePercentBps(String(opts.minUptime), "--min-uptime"),
    minReputationBps: parsePercentBps(String(opts.minReputation), "--min-reputation"),
    maxTimesSlashed: parseInteger(String(opts.maxSlashes), "--max-slashes", 0, MAX_UINT32),
    // The transaction lands in the next block at the earliest; the contract wants expiresAt ≤ its block + lifetime.
    expiresAt: block + 1n + BigInt(expiresIn),
    paymentToken: c.paymentToken,
  };
  if (params.preferredZone !== 0 && params.regionMask !== 0n && ((params.regionMask >> BigInt(params.preferredZone >> 8)) & 1n) === 0n) {
    throw usage(`--preferred-zone: ${zoneName(params.preferredZone)} is outside --regions`);
  }
  const what = `${params.gpuCount} × ${gpu} for ${params.durationHours} h at most ${amount(params.maxPricePerGpuHour, decimals)}/GPU-hour`;
  return { params, decimals, block, what };
}

export async function renterOrders(ctx: Context, renter: Address) {
  const c = await ctx.contracts();
  const client = await ctx.client();
  const d = await ctx.deployment();
  const logs = await client.getContractEvents({ address: c.marketplace, abi: marketplaceAbi, eventName: "OrderCreated", args: { renter }, fromBlock: BigInt(d.deployBlock), toBlock: "latest" });
  const ids = logs.map((l) => l.args.orderId!);
  if (ids.length === 0) return [];
  return readOrders(client, c.marketplace, ids);
}

export function addRenterCommands(program: Command, io: CliIo): void {
  const renter = program.command("renter").description("renters: quotes, orders, leases, refunds");

  action(orderOptions(renter.command("quote").description("would this order match now? (runs the operators' matcher on the latest block; no money moves)")), io, async (ctx, _a, opts) => {
    const { params, decimals } = await orderParams(ctx, opts);
    const who = ctx.opts.account !== undefined || ctx.io.env.MATCHNET_ACCOUNT ? await ctx.address() : zeroAddress;
    const q = await quoteOrder(ctx, params, who);
    ctx.result({ ...q, order: params }, quoteText(q, decimals, params));
  });

  const order = renter.command("order").description("orders");
  action(orderOptions(order.command("create").description("place an order, escrowing max price × GPUs × hours")).option("--yes", "do not ask before taking the escrow"), io, async (ctx, _a, opts) => {
    const c = await ctx.contracts();
    const { params, decimals, what } = await orderParams(ctx, opts);
    const escrow = params.maxPricePerGpuHour * BigInt(params.gpuCount) * BigInt(params.durationHours);
    ctx.note(`order: ${what}; escrow ${amount(escrow, decimals)} (the unused part is refunded)`);
    await ctx.confirm(`Escrow ${amount(escrow, decimals)} of ${c.paymentToken} for this order?`, opts.yes === true);
    await ensureAllowance(ctx, c.paymentToken, c.marketplace, escrow, "payment token");
    const r = await ctx.send("order create", { address: c.marketplace, abi: marketplaceAbi, functionName: "createOrder", args: [params] });
    const [ev] = parseEventLogs({ abi: marketplaceAbi, eventName: "OrderCreated", logs: r.logs });
    const orderId = ev!.args.orderId;
    ctx.result({ orderId, escrow, expiresAt: params.expiresAt, order: params, tx: r.transactionHash }, `created order ${orderId}: ${what}; escrowed ${amount(escrow, decimals)}; open until block ${params.expiresAt} (tx ${r.transactionHash})`);
  });

  action(order.command("cancel").description("cancel an open order (or one past its expiry block); its escrow becomes refundable").argument("<orderId>"), io, async (ctx, [id]) => {
    const orderId = parseId(id!, "<orderId>");
    const c = await ctx.contracts();
    const r = await ctx.send("order cancel", { address: c.marketplace, abi: marketplaceAbi, functionName: "cancelOrder", args: [orderId] });
    const [ev] = parseEventLogs({ abi: marketplaceAbi, eventName: "OrderCancelled", logs: r.logs });
    const dec = await decimalsOf(ctx, c.paymentToken);
    ctx.result({ orderId, refund: ev?.args.refund, tx: r.transactionHash }, `cancelled order ${orderId}; ${amount(ev?.args.refund ?? 0n, dec)} refundable (run \`matchnet renter withdraw\`) (tx ${r.transactionHash})`);
  });

  action(order.command("list").description("the account's orders").option("--open", "only open orders"), io, async (ctx, _a, opts) => {
    const c = await ctx.contracts();
    const me = await ctx.address();
    const head = await (await ctx.client()).getBlockNumber();
    let orders = [...(await renterOrders(ctx, me))];
    const open = (o: (typeof orders)[number]) => o.status === OrderStatus.Open && head < o.expiresAt;
    if (opts.open === true) orders = orders.filter(open);
    const dec = await decimalsOf(ctx, c.paymentToken);
    const status = (o: (typeof orders)[number]) => (o.status === OrderStatus.Open && !open(o) ? "expired" : enumName(OrderStatus, o.status));
    ctx.result(
      { renter: me, orders: orders.map((o) => ({ ...o, statusName: status(o) })) },
      orders.length === 0 ? `no orders for ${me}` : table(
        ["order", "status", "model", "GPUs", "max/GPU-h", "hours", "regions", "min uptime", "expires"],
        orders.map((o) => [String(o.orderId), status(o), o.modelId === 0 ? `${tierName(o.minTier)}+` : String(o.modelId), String(o.gpuCount), amount(o.maxPricePerGpuHour, dec), String(o.durationHours), regionsOfMask(o.regionMask).join(","), percent(o.minUptimeBps), String(o.expiresAt)]),
      ),
    );
  });

  action(renter.command("refunds").description("refundable balance (cancelled, expired, unused escrow), and escrow still held by expired orders"), io, async (ctx) => {
    const c = await ctx.contracts();
    const me = await ctx.address();
    const client = await ctx.client();
    const [v, head, orders] = await Promise.all([
      client.readContract({ address: c.marketplace, abi: marketplaceAbi, functionName: "refundableOf", args: [c.paymentToken, me] }),
      client.getBlockNumber(),
      renterOrders(ctx, me),
    ]);
    // An order past its expiry block keeps its escrow until someone calls expireOrder (anyone) or cancelOrder (the
    // renter): until then it is not in refundableOf, so it is listed apart with the command that releases it.
    const expired = orders.filter((o) => o.status === OrderStatus.Open && head >= o.expiresAt && isAddressEqual(o.paymentToken, c.paymentToken)).map((o) => ({ orderId: o.orderId, escrow: o.maxPricePerGpuHour * BigInt(o.gpuCount) * BigInt(o.durationHours) }));
    const held = expired.reduce((a, o) => a + o.escrow, 0n);
    const dec = await decimalsOf(ctx, c.paymentToken);
    const lines = [`refundable ${amount(v, dec)}${v > 0n ? " (run `matchnet renter withdraw`)" : ""}`];
    if (expired.length > 0) {
      const ids = expired.map((o) => o.orderId).join(", ");
      lines.push(`${amount(held, dec)} more is held by expired order${expired.length > 1 ? "s" : ""} ${ids}: \`matchnet renter order cancel <id>\` makes it refundable`);
    }
    ctx.result({ renter: me, token: c.paymentToken, refundable: v, heldByExpiredOrders: held, expiredOrders: expired }, lines.join("\n"));
  });

  action(renter.command("withdraw").description("withdraw the refundable balance"), io, async (ctx) => {
    const c = await ctx.contracts();
    const me = (await ctx.account()).address;
    const v = await (await ctx.client()).readContract({ address: c.marketplace, abi: marketplaceAbi, functionName: "refundableOf", args: [c.paymentToken, me] });
    const r = await ctx.send("renter withdraw", { address: c.marketplace, abi: marketplaceAbi, functionName: "withdrawRefund", args: [c.paymentToken] });
    const dec = await decimalsOf(ctx, c.paymentToken);
    ctx.result({ withdrawn: v, tx: r.transactionHash }, `withdrew ${amount(v, dec)} (tx ${r.transactionHash})`);
  });
}

