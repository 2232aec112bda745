/**
 * `matchnet provider register | status | top-up | maintenance on|off | exit | withdraw-stake | earnings | withdraw |
 * detect-gpu` (offers: offer.ts). Stake is in stake tokens (18 decimals), earnings in the payment token.
 */
import type { MatchnetCommand as Command } from "./command.js";
import { marketplaceAbi, offerBookAbi, providerRegistryAbi, stakeTokenAbi } from "../protocol/chain/abi.js";
import { GPU_CATALOG } from "../protocol/market/catalog.js";
import { ProviderStatus, reputationBps, type GpuModel } from "../protocol/market/types.js";
import { catalogModels, decimalsOf, ensureAllowance } from "./chain.js";
import { CliError, usage } from "./errors.js";
import { amount, enumName, parseAmount, parseZone, percent, table, zoneName } from "./format.js";
import { matchModel, parseNvidiaSmi, runNvidiaSmi, type DetectedCard } from "./gpu.js";
import type { CliIo } from "./io.js";
import { action } from "./command.js";

export function addProviderCommands(program: Command, io: CliIo): void {
  const provider = program.command("provider").description("GPU providers: stake, status, offers, earnings");

  action(
    provider.command("register").description("register as a provider with a stake").requiredOption("--zone <zone>", "zone, e.g. us-east-1").requiredOption("--stake <amount>", "stake tokens to lock"),
    io,
    async (ctx, _a, opts) => {
      const zone = parseZone(String(opts.zone), "--zone");
      const c = await ctx.contracts();
      const stake = parseAmount(String(opts.stake), await decimalsOf(ctx, c.stakeToken), "--stake");
      const client = await ctx.client();
      const min = await client.readContract({ address: c.providerRegistry, abi: providerRegistryAbi, functionName: "minProviderStake" });
      const dec = await decimalsOf(ctx, c.stakeToken);
      if (stake < min) throw usage(`--stake: ${amount(stake, dec)} is below the minimum provider stake ${amount(min, dec)}`);
      await ensureAllowance(ctx, c.stakeToken, c.providerRegistry, stake, "stake token");
      const r = await ctx.send("provider register", { address: c.providerRegistry, abi: providerRegistryAbi, functionName: "register", args: [zone, stake] });
      const address = (await ctx.account()).address;
      ctx.result({ provider: address, zone, zoneName: zoneName(zone), stake, tx: r.transactionHash, block: r.blockNumber }, `registered provider ${address} in ${zoneName(zone)} with stake ${amount(stake, dec)} (tx ${r.transactionHash})`);
    },
  );

  action(provider.command("status").description("the provider's status, stake, counters and exit").option("--provider <address>", "another provider (default: --account's)"), io, async (ctx, _a, opts) => {
    const c = await ctx.contracts();
    const client = await ctx.client();
    const address = typeof opts.provider === "string" ? (opts.provider as `0x${string}`) : await ctx.address();
    if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw usage(`--provider: "${address}" is not an address`);
    const [p, readyAt, min, offers, earned, head, leased] = await Promise.all([
      client.readContract({ address: c.providerRegistry, abi: providerRegistryAbi, functionName: "getProvider", args: [address] }),
      client.readContract({ address: c.providerRegistry, abi: providerRegistryAbi, functionName: "exitReadyAt", args: [address] }),
      client.readContract({ address: c.providerRegistry, abi: providerRegistryAbi, functionName: "minProviderStake" }),
      client.readContract({ address: c.offerBook, abi: offerBookAbi, functionName: "offerIdsOf", args: [address] }),
      client.readContract({ address: c.marketplace, abi: marketplaceAbi, functionName: "earningsOf", args: [c.paymentToken, address] }),
      client.getBlockNumber(),
      // withdraw-stake also needs every leased GPU back (ProviderRegistryActiveLeases), whatever the exit delay says.
      client.readContract({ address: c.offerBook, abi: offerBookAbi, functionName: "hasLeasedCapacity", args: [address] }),
    ]);
    const [sdec, pdec] = await Promise.all([decimalsOf(ctx, c.stakeToken), decimalsOf(ctx, c.paymentToken)]);
    const status = enumName(ProviderStatus, p.status, `status-${p.status}`);
    const rep = reputationBps(p);
    const data = {
      provider: address, status, stake: p.stake, minProviderStake: min, zone: p.zone, zoneName: p.status === ProviderStatus.None && p.zone === 0 ? null : zoneName(p.zone),
      uptimeBps: p.uptimeBps, reputationBps: rep, leasesCompleted: p.leasesCompleted, leasesFailed: p.leasesFailed, timesSlashed: p.timesSlashed,
      offers: offers.length, earnings: earned, hasLeasedCapacity: leased, exitReadyAt: readyAt === 0n ? null : readyAt, headBlock: head,
    };
    const lines = [
      `provider    ${address}`,
      `status      ${status}`,
      `stake       ${amount(p.stake, sdec)} (minimum ${amount(min, sdec)})`,
    ];
    if (p.status !== ProviderStatus.None || p.zone !== 0) lines.push(`zone        ${zoneName(p.zone)}`);
    lines.push(
      `uptime      ${percent(p.uptimeBps)}   reputation ${percent(rep)}   leases ${p.leasesCompleted} completed / ${p.leasesFailed} failed   slashed ${p.timesSlashed}×`,
      `offers      ${offers.length}`,
      `earnings    ${amount(earned, pdec)} withdrawable`,
    );
    if (p.status === ProviderStatus.Exiting) {
      const when = leased ? ", once no GPU of the provider is leased (some are now: their leases must end or be closed first)" : head >= readyAt ? ": run `matchnet provider withdraw-stake`" : "";
      lines.push(`exit        stake withdrawable from block ${readyAt} (now ${head})${when}`);
    }
    ctx.result(data, lines);
  });

  action(provider.command("top-up").description("add stake").requiredOption("--amount <amount>", "stake tokens to add"), io, async (ctx, _a, opts) => {
    const c = await ctx.contracts();
    const dec = await decimalsOf(ctx, c.stakeToken);
    const value = parseAmount(String(opts.amount), dec, "--amount");
    await ensureAllowance(ctx, c.stakeToken, c.providerRegistry, value, "stake token");
    const r = await ctx.send("provider top-up", { address: c.providerRegistry, abi: providerRegistryAbi, functionName: "topUp", args: [value] });
    const p = await (await ctx.client()).readContract({ address: c.providerRegistry, abi: providerRegistryAbi, functionName: "getProvider", args: [(await ctx.account()).address] });
    ctx.result({ added: value, stake: p.stake, tx: r.transactionHash }, `added ${amount(value, dec)} stake; stake now ${amount(p.stake, dec)} (tx ${r.transactionHash})`);
  });

  action(provider.command("maintenance").description("enter or leave maintenance (never matched while in it)").argument("<on|off>"), io, async (ctx, [mode]) => {
    if (mode !== "on" && mode !== "off") throw usage(`<on|off>: "${mode}" is neither on nor off`);
    const c = await ctx.contracts();
    const want = mode === "on" ? ProviderStatus.Maintenance : ProviderStatus.Active;
    const me = (await ctx.account()).address;
    const now = await (await ctx.client()).readContract({ address: c.providerRegistry, abi: providerRegistryAbi, functionName: "getProvider", args: [me] });
    if (now.status === want) {
      ctx.result({ maintenance: mode === "on", tx: null }, `maintenance already ${mode}: nothing sent`);
      return;
    }
    const r = await ctx.send(`provider maintenance ${mode}`, { address: c.providerRegistry, abi: providerRegistryAbi, functionName: "setMaintenance", args: [mode === "on"] });
    ctx.result({ maintenance: mode === "on", tx: r.transactionHash }, `maintenance ${mode} (tx ${r.transactionHash})`);
  });

  action(provider.command("exit").description("request the exit: never matched again; stake withdrawable after the exit delay"), io, async (ctx) => {
    const c = await ctx.contracts();
    const r = await ctx.send("provider exit", { address: c.providerRegistry, abi: providerRegistryAbi, functionName: "requestExit" });
    const client = await ctx.client();
    const me = (await ctx.account()).address;
    const [readyAt, leased] = await Promise.all([
      client.readContract({ address: c.providerRegistry, abi: providerRegistryAbi, functionName: "exitReadyAt", args: [me] }),
      client.readContract({ address: c.offerBook, abi: offerBookAbi, functionName: "hasLeasedCapacity", args: [me] }),
    ]);
    const once = leased ? " once the leases running on your offers have ended" : "";
    ctx.result({ exitReadyAt: readyAt, hasLeasedCapacity: leased, tx: r.transactionHash }, `exit requested; run \`matchnet provider withdraw-stake\` from block ${readyAt}${once} (tx ${r.transactionHash})`);
  });

  action(provider.command("withdraw-stake").description("complete the exit and take the stake back"), io, async (ctx) => {
    const c = await ctx.contracts();
    const client = await ctx.client();
    const me = (await ctx.account()).address;
    const before = await client.readContract({ address: c.stakeToken, abi: stakeTokenAbi, functionName: "balanceOf", args: [me] });
    const r = await ctx.send("provider withdraw-stake", { address: c.providerRegistry, abi: providerRegistryAbi, functionName: "completeExit" });
    const after = await client.readContract({ address: c.stakeToken, abi: stakeTokenAbi, functionName: "balanceOf", args: [me] });
    const dec = await decimalsOf(ctx, c.stakeToken);
    ctx.result({ withdrawn: after - before, tx: r.transactionHash }, `stake withdrawn: ${amount(after - before, dec)} (tx ${r.transactionHash})`);
  });

  action(provider.command("earnings").description("earnings settled and withdrawable").option("--provider <address>", "another provider (default: --account's)"), io, async (ctx, _a, opts) => {
    const c = await ctx.contracts();
    const address = typeof opts.provider === "string" ? (opts.provider as `0x${string}`) : await ctx.address();
    if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw usage(`--provider: "${address}" is not an address`);
    const earned = await (await ctx.client()).readContract({ address: c.marketplace, abi: marketplaceAbi, functionName: "earningsOf", args: [c.paymentToken, address] });
    const dec = await decimalsOf(ctx, c.paymentToken);
    ctx.result({ provider: address, token: c.paymentToken, earnings: earned }, `earnings ${amount(earned, dec)} withdrawable (run \`matchnet provider withdraw\`)`);
  });

  action(provider.command("withdraw").description("withdraw the settled earnings"), io, async (ctx) => {
    const c = await ctx.contracts();
    const client = await ctx.client();
    const me = (await ctx.account()).address;
    const earned = await client.readContract({ address: c.marketplace, abi: marketplaceAbi, functionName: "earningsOf", args: [c.paymentToken, me] });
    const r = await ctx.send("provider withdraw", { address: c.marketplace, abi: marketplaceAbi, functionName: "withdrawEarnings", args: [c.paymentToken] });
    const dec = await decimalsOf(ctx, c.paymentToken);
    ctx.result({ withdrawn: earned, tx: r.transactionHash }, `withdrew ${amount(earned, dec)} earnings (tx ${r.transactionHash})`);
  });

  action(provider.command("detect-gpu").description("read nvidia-smi and print the `offer create` lines for this machine's cards"), io, async (ctx) => {
    const out = await runNvidiaSmi(ctx.io.env);
    let catalog: readonly GpuModel[];
    let source = "on-chain catalog";
    try {
      catalog = await catalogModels(ctx);
    } catch (err) {
      if (!(err instanceof CliError) || (err.code !== "CHAIN" && err.code !== "DEPLOYMENT")) throw err;
      catalog = GPU_CATALOG;
      source = "built-in catalog (the chain is not reachable: check ids with `matchnet catalog list`)";
    }
    const cards: DetectedCard[] = parseNvidiaSmi(out).map((c) => {
      const m = matchModel(c, catalog);
      return { ...c, model: m === null ? null : { id: m.id, name: m.name } };
    });
    const groups = new Map<number, { model: GpuModel; count: number }>();
    for (const card of cards) {
      if (card.model === null) continue;
      const g = groups.get(card.model.id);
      if (g) g.count++;
      else groups.set(card.model.id, { model: catalog.find((m) => m.id === card.model!.id)!, count: 1 });
    }
    // Suggested ask: list price / 10 000 per GPU-hour (the devnet's market is priced near it), in whole cents.
    const commands = [...groups.values()].map(({ model, count }) => {
      const cents = Math.max(1, Math.round(model.listPriceUsd / 100));
      const price = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}`;
      return { modelId: model.id, model: model.name, gpus: count, price, command: `matchnet provider offer create --model ${model.id} --gpus ${count} --price ${price}` };
    });
    const unknown = cards.filter((c) => c.model === null);
    const lines = cards.length === 0 ? ["nvidia-smi lists no GPU"] : [table(["#", "card", "memory", "bus id", "catalog model"], cards.map((c) => [String(c.index), c.name, `${c.memoryMiB} MiB`, c.busId, c.model === null ? "not in the catalog" : `${c.model.id} ${c.model.name}`]))];
    if (commands.length > 0) lines.push("", `run (price: list price / 10 000 per GPU-hour; set your own):`, ...commands.map((c) => `  ${c.command}`));
    if (unknown.length > 0) lines.push("", `${unknown.length} card(s) match no model of the ${source}; they cannot be offered until the catalog has them`);
    ctx.result({ catalog: source, cards, commands }, lines);
  });
}
