/**
 * `matchnet faucet`: the devnet tokens' own faucets (PaymentToken and StakeToken mint up to FAUCET_MAX to the
 * caller), so that a fresh account on the devnet gets tokens without a script. Gas (ETH) it cannot give.
 */
import { paymentTokenAbi, stakeTokenAbi } from "../protocol/chain/abi.js";
import { decimalsOf } from "./chain.js";
import { usage } from "./errors.js";
import { amount, parseAmount } from "./format.js";
import type { CliIo } from "./io.js";
import { action, type MatchnetCommand as Command } from "./command.js";

export function addFaucetCommands(program: Command, io: CliIo): void {
  action(
    program.command("faucet").description("devnet only: mint payment tokens and/or stake tokens to the account").option("--usd <amount>", "payment tokens").option("--stake <amount>", "stake tokens"),
    io,
    async (ctx, _a, opts) => {
      if (opts.usd === undefined && opts.stake === undefined) throw usage("--usd/--stake: give at least one of them");
      const c = await ctx.contracts();
      const out: Record<string, bigint> = {};
      const lines: string[] = [];
      for (const [flag, key, token, abi] of [["--usd", "usd", c.paymentToken, paymentTokenAbi], ["--stake", "stake", c.stakeToken, stakeTokenAbi]] as const) {
        const text = opts[key];
        if (text === undefined) continue;
        const dec = await decimalsOf(ctx, token);
        const value = parseAmount(String(text), dec, flag);
        await ctx.send(`faucet ${key}`, { address: token, abi, functionName: "faucet", args: [value] });
        const balance = await (await ctx.client()).readContract({ address: token, abi, functionName: "balanceOf", args: [(await ctx.account()).address] });
        out[key] = value;
        out[`${key}Balance`] = balance;
        lines.push(`minted ${amount(value, dec)} ${key === "usd" ? "payment" : "stake"} tokens; balance ${amount(balance, dec)}`);
      }
      ctx.result(out, lines);
    },
  );
}
