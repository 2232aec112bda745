/**
 * The pieces every command file uses: commander's Command with required options checked after the unknown-option
 * check, and `action`, which builds the command's Context from the global flags and runs its handler.
 */
import { Command, Option } from "commander";
import { CliError } from "./errors.js";
import { Context, type GlobalOptions } from "./context.js";
import type { CliIo } from "./io.js";

export type CommandHandler = (ctx: Context, args: string[], opts: Record<string, unknown>) => Promise<void>;

const REQUIRED = new WeakMap<Command, { flags: string; key: string }[]>();

/**
 * A required option, checked by the action wrapper rather than by commander: commander reports a missing required
 * option before an unknown one, so a mistyped `--gpu` would be reported as "--gpus not specified".
 */
export function required(cmd: Command, flags: string, description: string): Command {
  const opt = new Option(flags, `${description} (required)`);
  REQUIRED.set(cmd, [...(REQUIRED.get(cmd) ?? []), { flags, key: opt.attributeName() }]);
  return cmd.addOption(opt);
}

/** commander's Command with `requiredOptionX` (see `required`); its subcommands are of the same class. */
export class MatchnetCommand extends Command {
  override createCommand(name?: string): MatchnetCommand {
    return new MatchnetCommand(name);
  }
  requiredOptionX(flags: string, description: string): this {
    required(this, flags, description);
    return this;
  }
}

/** Attaches a handler; the runner catches what it throws. */
export function action(cmd: Command, io: CliIo, handler: CommandHandler): Command {
  return cmd.action(async (...params: unknown[]) => {
    const self = params[params.length - 1] as Command;
    for (const r of REQUIRED.get(self) ?? []) {
      if (self.opts()[r.key] === undefined) throw new CliError("USAGE", `required option '${r.flags}' not specified`, { hint: `Run \`matchnet ${commandPath(self)} --help\` for its flags.` });
    }
    const all = self.optsWithGlobals() as Record<string, unknown>;
    const global: GlobalOptions = {
      rpc: String(all.rpc),
      deployment: String(all.deployment),
      account: all.account as string | undefined,
      json: all.json === true,
      passwordFile: all.passwordFile as string | undefined,
    };
    const args = params.slice(0, -2).map((a) => a as string);
    await handler(new Context(io, global), args, self.opts() as Record<string, unknown>);
  });
}

function commandPath(c: Command): string {
  const names: string[] = [];
  for (let x: Command | null = c; x !== null && x.parent !== null; x = x.parent) names.unshift(x.name());
  return names.join(" ");
}

