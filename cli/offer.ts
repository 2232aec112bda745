/** `matchnet provider offer create | update | withdraw | list`: the provider's offers in the OfferBook. */
import { parseEventLogs, type Address } from "viem";
import type { MatchnetCommand as Command } from "./command.js";
import { offerBookAbi } from "../protocol/chain/abi.js";
import { catalogModels, decimalsOf, findModel } from "./chain.js";
import { notFound, usage } from "./errors.js";
import { amount, parseAmount, parseId, parseInteger, table } from "./format.js";
import type { CliIo } from "./io.js";
import { action } from "./command.js";
import type { Context } from "./context.js";

const MAX_UINT32 = 2 ** 32 - 1;

export interface OfferRow {
  offerId: bigint;
  versionId: bigint;
  modelId: number;
  model: string;
  gpuCount: number;
  gpusLeased: number;
  pricePerGpuHour: bigint;
  active: boolean;
}

async function currentVersion(ctx: Context, offerId: bigint) {
  const client = await ctx.client();
  const c = await ctx.contracts();
  const count = await client.readContract({ address: c.offerBook, abi: offerBookAbi, functionName: "offerCount" });
  if (offerId > count) throw notFound(`no offer ${offerId} (there are ${count})`);
  const ids = await client.readContract({ address: c.offerBook, abi: offerBookAbi, functionName: "versionIdsOf", args: [offerId] });
  const last = ids[ids.length - 1];
  if (last === undefined) throw notFound(`offer ${offerId} has no version`);
  return client.readContract({ address: c.offerBook, abi: offerBookAbi, functionName: "getVersion", args: [last] });
}

export async function offersOf(ctx: Context, provider: Address): Promise<OfferRow[]> {
  const client = await ctx.client();
  const c = await ctx.contracts();
  const [ids, models] = await Promise.all([client.readContract({ address: c.offerBook, abi: offerBookAbi, functionName: "offerIdsOf", args: [provider] }), catalogModels(ctx)]);
  const rows: OfferRow[] = [];
  for (const id of ids) {
    const v = await currentVersion(ctx, id);
    rows.push({
      offerId: id, versionId: v.versionId, modelId: v.modelId, model: models.find((m) => m.id === v.modelId)?.name ?? `model ${v.modelId}`,
      gpuCount: v.gpuCount, gpusLeased: v.gpusLeased, pricePerGpuHour: v.pricePerGpuHour, active: v.activeUntil === 0n,
    });
  }
  return rows;
}

/** The subcommands of `provider offer` (the group itself is made by cli/program.ts). */
export function addOfferCommands(offer: Command, io: CliIo): void {
  action(
    offer.command("create").description("offer GPUs of one catalog model at a price per GPU-hour")
      .requiredOptionX("--model <id|name>", "catalog model (id or name)")
      .requiredOptionX("--gpus <n>", "GPUs offered")
      .requiredOptionX("--price <amount>", "ask per GPU-hour in the payment token (e.g. 2.5)"),
    io,
    async (ctx, _a, opts) => {
      const c = await ctx.contracts();
      const model = findModel(await catalogModels(ctx), String(opts.model), "--model");
      const gpus = parseInteger(String(opts.gpus), "--gpus", 1, MAX_UINT32);
      const dec = await decimalsOf(ctx, c.paymentToken);
      const price = parseAmount(String(opts.price), dec, "--price");
      const r = await ctx.send("offer create", { address: c.offerBook, abi: offerBookAbi, functionName: "createOffer", args: [model.id, gpus, price, c.paymentToken] });
      const [ev] = parseEventLogs({ abi: offerBookAbi, eventName: "OfferCreated", logs: r.logs });
      const offerId = ev?.args.offerId;
      ctx.result({ offerId, modelId: model.id, model: model.name, gpuCount: gpus, pricePerGpuHour: price, tx: r.transactionHash }, `created offer ${offerId}: ${gpus} × ${model.name} at ${amount(price, dec)}/GPU-hour (tx ${r.transactionHash})`);
    },
  );

  action(
    offer.command("update").description("change an offer's GPU count and/or price (a new version from this block)")
      .argument("<offerId>")
      .option("--gpus <n>", "GPUs offered (default: unchanged)")
      .option("--price <amount>", "ask per GPU-hour (default: unchanged)"),
    io,
    async (ctx, [id], opts) => {
      const offerId = parseId(id!, "<offerId>");
      if (opts.gpus === undefined && opts.price === undefined) throw usage("--gpus/--price: give at least one of them");
      const c = await ctx.contracts();
      const dec = await decimalsOf(ctx, c.paymentToken);
      const v = await currentVersion(ctx, offerId);
      const gpus = opts.gpus === undefined ? v.gpuCount : parseInteger(String(opts.gpus), "--gpus", 1, MAX_UINT32);
      const price = opts.price === undefined ? v.pricePerGpuHour : parseAmount(String(opts.price), dec, "--price");
      const r = await ctx.send("offer update", { address: c.offerBook, abi: offerBookAbi, functionName: "updateOffer", args: [offerId, gpus, price] });
      const nv = await currentVersion(ctx, offerId);
      ctx.result({ offerId, versionId: nv.versionId, gpuCount: gpus, pricePerGpuHour: price, tx: r.transactionHash }, `offer ${offerId} now ${gpus} GPUs at ${amount(price, dec)}/GPU-hour (version ${nv.versionId}, tx ${r.transactionHash})`);
    },
  );

  action(offer.command("withdraw").description("withdraw an offer (running leases go on)").argument("<offerId>"), io, async (ctx, [id]) => {
    const offerId = parseId(id!, "<offerId>");
    const c = await ctx.contracts();
    const r = await ctx.send("offer withdraw", { address: c.offerBook, abi: offerBookAbi, functionName: "withdrawOffer", args: [offerId] });
    ctx.result({ offerId, withdrawn: true, tx: r.transactionHash }, `withdrew offer ${offerId} (tx ${r.transactionHash})`);
  });

  action(offer.command("list").description("list a provider's offers").option("--provider <address>", "another provider (default: --account's)"), io, async (ctx, _a, opts) => {
    const c = await ctx.contracts();
    const address = typeof opts.provider === "string" ? (opts.provider as Address) : await ctx.address();
    if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw usage(`--provider: "${address}" is not an address`);
    const rows = await offersOf(ctx, address);
    const dec = await decimalsOf(ctx, c.paymentToken);
    ctx.result(
      { provider: address, offers: rows },
      rows.length === 0 ? `no offers for ${address}` : table(["offer", "version", "model", "GPUs", "leased", "price/GPU-h", "status"], rows.map((r) => [String(r.offerId), String(r.versionId), r.model, String(r.gpuCount), String(r.gpusLeased), amount(r.pricePerGpuHour, dec), r.active ? "active" : "withdrawn"])),
    );
  });
}
