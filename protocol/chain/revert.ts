/**
 * Reverts are classified by their decoded custom-error name (viem's ContractFunctionRevertedError.data.errorName),
 * never by message text. viem decodes a revert only against the ABI the call was given: a write must carry the
 * contract's whole ABI (not only the function's item, as simulateContract's `request` does) for an error raised in
 * gas estimation to have a name.
 */
import { BaseError, ContractFunctionRevertedError } from "viem";

/** The custom-error name of a contract revert inside a viem error chain, or null if there is none. */
export function revertErrorName(err: unknown): string | null {
  if (!(err instanceof BaseError)) return null;
  const reverted = err.walk((e) => e instanceof ContractFunctionRevertedError);
  if (!(reverted instanceof ContractFunctionRevertedError)) return null;
  return reverted.data?.errorName ?? null;
}
