/** Reads several commands share: token decimals, the catalog, allowance top-ups before a transfer. */
import type { Address } from "viem";
import { gpuCatalogAbi, paymentTokenAbi } from "../protocol/chain/abi.js";
import type { GpuModel } from "../protocol/market/types.js";
import type { Context } from "./context.js";
import { usage } from "./errors.js";

export async function decimalsOf(ctx: Context, token: Address): Promise<number> {
  const client = await ctx.client();
  return client.readContract({ address: token, abi: paymentTokenAbi, functionName: "decimals" });
}

export async function catalogModels(ctx: Context): Promise<GpuModel[]> {
  const client = await ctx.client();
  const models = await client.readContract({ address: (await ctx.contracts()).catalog, abi: gpuCatalogAbi, functionName: "getModels" });
  return models.map((m) => ({ id: m.id, name: m.name, vramGb: m.vramGb, listPriceUsd: m.listPriceUsd, tier: m.tier }));
}

/** A model by id or by name (case-insensitive, "NVIDIA " optional), against the on-chain catalog. */
export function findModel(models: readonly GpuModel[], text: string, flag: string): GpuModel {
  const t = text.trim().toLowerCase();
  const byId = /^\d+$/.test(t) ? models.find((m) => m.id === Number(t)) : undefined;
  const norm = (s: string) => s.toLowerCase().replace(/^nvidia\s+/, "").replace(/\s+/g, " ");
  const found = byId ?? models.find((m) => norm(m.name) === norm(t));
  if (found === undefined) throw usage(`${flag}: "${text}" is not a catalog model (run \`matchnet catalog list\`)`);
  return found;
}

/** Approves `spender` for `amount` of `token` when the allowance is lower (one more transaction). */
export async function ensureAllowance(ctx: Context, token: Address, spender: Address, amount: bigint, what: string): Promise<void> {
  const client = await ctx.client();
  const owner = (await ctx.account()).address;
  const allowance = await client.readContract({ address: token, abi: paymentTokenAbi, functionName: "allowance", args: [owner, spender] });
  if (allowance >= amount) return;
  await ctx.send(`approve ${what}`, { address: token, abi: paymentTokenAbi, functionName: "approve", args: [spender, amount] });
}
