/**
 * The `matchnet` command tree (commander): global flags here, one file per command group. `run(argv, io)` parses,
 * runs one command and returns its exit code; it never calls process.exit, so tests run it in-process.
 */
import { Command, CommanderError, Option } from "commander";
import { MatchnetCommand } from "./command.js";
import { BaseError } from "viem";
import { CliError, ExitCode, fromChainError } from "./errors.js";
import { toJson } from "./format.js";
import type { CliIo } from "./io.js";
import { addKeysCommands } from "./keys.js";
import { addCatalogCommands } from "./catalog.js";
import { addProviderCommands } from "./provider.js";
import { addOfferCommands } from "./offer.js";
import { addRenterCommands } from "./renter.js";
import { addLeaseCommands } from "./lease.js";
import { addAccessKeyCommands, addLeaseAccessCommand } from "./access.js";
import { addOperatorCommands } from "./operator.js";
import { addBatchCommands } from "./batch.js";
import { addFaucetCommands } from "./faucet.js";

export function buildProgram(io: CliIo): MatchnetCommand {
  const program = new MatchnetCommand("matchnet")
    .description("Providers, renters and operators of the matchnet GPU marketplace, from a terminal (docs/cli.md)")
    .addOption(new Option("--rpc <url>", "JSON-RPC endpoint of the chain").default(io.env.MATCHNET_RPC ?? "http://127.0.0.1:8545"))
    .addOption(new Option("--deployment <file>", "deployment file the devnet (or deploy) wrote").default(io.env.MATCHNET_DEPLOYMENT ?? "deployment.json"))
    .addOption(new Option("--account <file>", "account keystore (EIP-2335 layout; env MATCHNET_ACCOUNT)"))
    .addOption(new Option("--password-file <file>", "file whose first line is the keystore password (else MATCHNET_PASSWORD, else a prompt)"))
    .option("--json", "print exactly one JSON document on stdout", false)
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: () => {} });
  const sub = (parent: Command, name: string) => parent.commands.find((c) => c.name() === name) as MatchnetCommand;
  addKeysCommands(program, io);
  addCatalogCommands(program, io);
  addProviderCommands(program, io);
  addOfferCommands(sub(program, "provider").command("offer").description("the provider's GPU offers"), io);
  addRenterCommands(program, io);
  addLeaseCommands(sub(program, "renter"), io);
  addLeaseAccessCommand(sub(sub(program, "renter"), "lease"), io);
  addAccessKeyCommands(sub(program, "renter"), io);
  addOperatorCommands(program, io);
  addBatchCommands(program, io);
  addFaucetCommands(program, io);
  // Every subcommand refuses what it does not know, and reports instead of exiting.
  const harden = (c: Command) => {
    c.exitOverride().configureOutput({ writeOut: (s) => io.stdout(s), writeErr: () => {} }).allowExcessArguments(false);
    c.commands.forEach(harden);
  };
  program.commands.forEach(harden);
  return program;
}

/** Runs one command line (without node and script) and returns the exit code. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const json = argv.includes("--json");
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: "user" });
    return ExitCode.Ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version print and end the parse with an "error" that is not one.
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") return ExitCode.Ok;
      const message = err.message.replace(/^error: /, "");
      return report(io, json, new CliError("USAGE", message, { hint: "Run with --help for the flags of each command." }));
    }
    if (err instanceof CliError) return report(io, json, err);
    // A chain read that failed outside `send` (RPC down, timeout, revert of a view): a chain error, not a bug.
    if (err instanceof BaseError) return report(io, json, fromChainError(err, "reading the chain"));
    return report(io, json, new CliError("INTERNAL", `unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, { cause: err }));
  }
}

function report(io: CliIo, json: boolean, err: CliError): number {
  if (json) {
    io.stdout(
      toJson({
        error: {
          code: err.code,
          exitCode: err.exitCode,
          message: err.message,
          ...(err.extra.errorName !== undefined ? { errorName: err.extra.errorName, args: err.extra.args ?? [] } : {}),
          ...(err.extra.hint !== undefined ? { hint: err.extra.hint } : {}),
        },
      }) + "\n",
    );
  } else {
    io.stderr(`matchnet: ${err.message}\n`);
    if (err.extra.hint !== undefined) io.stderr(`  ${err.extra.hint}\n`);
  }
  return err.exitCode;
}
