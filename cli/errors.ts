/**
 * The CLI's refusals: every one carries an exit code (docs/cli.md lists them) and, for a contract revert, the
 * decoded custom-error name and one sentence of what to do. Scripts branch on the exit code and, with --json, on
 * `error.code`; never on message text.
 */
import { BaseError, ContractFunctionRevertedError } from "viem";
import { CodedError, type CodeOf } from "../protocol/errors.js";
import { hintFor } from "./hints.js";

/** Exit codes (docs/cli.md "Exit codes"). Never renumbered. */
export const ExitCode = {
  Ok: 0,
  /** A bug: an error the CLI did not expect. */
  Internal: 1,
  /** A bad flag, argument or value (the message names it). */
  Usage: 2,
  /** The chain or the deployment file: RPC unreachable, wrong chain id, invalid deployment file. */
  Chain: 3,
  /** A keystore or its password: missing, wrong, malformed, or a file that would be overwritten. */
  Keystore: 4,
  /** A contract refused the call (custom error decoded) or a transaction reverted. */
  Reverted: 5,
  /** The user declined a confirmation, or one was needed and no terminal could ask (use --yes). */
  Declined: 6,
  /** The order, lease, offer, batch or operator asked for does not exist (or is not the account's). */
  NotFound: 7,
  /** `provider detect-gpu`: nvidia-smi is not installed or failed. */
  NoNvidiaSmi: 8,
  /** The account has too little ETH to pay for the transaction's gas. */
  NoGas: 9,
  /** `renter lease access`: the provider has not marked the lease ready yet (try again, or close after the timeout). */
  NotReady: 10,
} as const;
export type ExitCode = CodeOf<typeof ExitCode>;

export type CliErrorCode =
  | "USAGE"
  | "CHAIN"
  | "DEPLOYMENT"
  | "KEYSTORE"
  | "PASSWORD"
  | "REVERTED"
  | "DECLINED"
  | "NOT_FOUND"
  | "NO_NVIDIA_SMI"
  | "NO_GAS"
  | "NOT_READY"
  | "INTERNAL";

const EXIT_OF: Record<CliErrorCode, ExitCode> = {
  USAGE: ExitCode.Usage,
  CHAIN: ExitCode.Chain,
  DEPLOYMENT: ExitCode.Chain,
  KEYSTORE: ExitCode.Keystore,
  PASSWORD: ExitCode.Keystore,
  REVERTED: ExitCode.Reverted,
  DECLINED: ExitCode.Declined,
  NOT_FOUND: ExitCode.NotFound,
  NO_NVIDIA_SMI: ExitCode.NoNvidiaSmi,
  NO_GAS: ExitCode.NoGas,
  NOT_READY: ExitCode.NotReady,
  INTERNAL: ExitCode.Internal,
};

export class CliError extends CodedError<CliErrorCode> {
  readonly exitCode: ExitCode;
  constructor(
    code: CliErrorCode,
    message: string,
    readonly extra: { hint?: string; errorName?: string; args?: readonly unknown[]; cause?: unknown } = {},
  ) {
    super(code, message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.exitCode = EXIT_OF[code];
  }
}

export const usage = (message: string): CliError => new CliError("USAGE", message);
export const notFound = (message: string): CliError => new CliError("NOT_FOUND", message);

/** The decoded custom error of a revert anywhere in viem's error chain, if any. */
export function revertOf(err: unknown): { errorName: string; args: readonly unknown[] } | null {
  if (!(err instanceof BaseError)) return null;
  const reverted = err.walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
  if (reverted === null) return null;
  const name = reverted.data?.errorName ?? (reverted.reason !== undefined ? "Error" : reverted.signature ?? "UnknownError");
  return { errorName: name, args: reverted.data?.args ?? (reverted.reason !== undefined ? [reverted.reason] : []) };
}

/** Turns a viem error from a contract call into a CliError: decoded revert, or an RPC problem. */
export function fromChainError(err: unknown, what: string): CliError {
  if (err instanceof CliError) return err;
  const rev = revertOf(err);
  if (rev !== null) {
    const args = rev.args.length > 0 ? `(${rev.args.map(String).join(", ")})` : "";
    return new CliError("REVERTED", `${what} reverted: ${rev.errorName}${args}`, { errorName: rev.errorName, args: rev.args, hint: hintFor(rev.errorName), cause: err });
  }
  if (err instanceof BaseError) {
    const short = err.shortMessage;
    // geth: "insufficient funds for gas * price + value"; Hardhat: "Sender doesn't have enough funds to send tx".
    if (/insufficient funds|doesn't have enough funds/i.test(err.message)) {
      return new CliError("NO_GAS", `${what}: the account has too little ETH to pay for gas`, { hint: "Send ETH to the account (on the devnet: from one of Hardhat's dev accounts) and run the command again.", cause: err });
    }
    if (/HTTP request failed|fetch failed|ECONNREFUSED|timed out|took too long/i.test(err.message)) {
      return new CliError("CHAIN", `${what}: the RPC did not answer (${short})`, { hint: "Check --rpc (is the devnet or node running?).", cause: err });
    }
    // viem's short message for an RPC refusal is generic ("Missing or invalid parameters"); the node's own words
    // are in `details`.
    return new CliError("CHAIN", `${what}: ${err.details && err.details !== short ? err.details : short}`, { cause: err });
  }
  return new CliError("INTERNAL", `${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
