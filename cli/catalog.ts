/** `matchnet catalog list`: the on-chain GPU catalog (model id, name, VRAM, list price, tier). */
import type { MatchnetCommand as Command } from "./command.js";
import { catalogModels } from "./chain.js";
import { table, tierName } from "./format.js";
import type { CliIo } from "./io.js";
import { action } from "./command.js";

export function addCatalogCommands(program: Command, io: CliIo): void {
  const catalog = program.command("catalog").description("the GPU catalog");
  action(catalog.command("list").description("list the catalog's models"), io, async (ctx) => {
    const models = await catalogModels(ctx);
    ctx.result(
      { models: models.map((m) => ({ ...m, tierName: tierName(m.tier) })) },
      table(["id", "model", "VRAM", "list price", "tier"], models.map((m) => [String(m.id), m.name, `${m.vramGb} GB`, `$${m.listPriceUsd.toLocaleString("en-US")}`, tierName(m.tier)])),
    );
  });
}
