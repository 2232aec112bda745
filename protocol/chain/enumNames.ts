/**
 * The name of an on-chain enum's value (protocol/chain/enums.ts) as the CLI prints it and the explorer stores and
 * serves it: the contract's member name in kebab case (`CloseReason.RenterClosed` → "renter-closed",
 * `OperatorStatus.Exiting` → "exiting"), so one value has one name everywhere off-chain.
 */
export function enumName(e: { readonly [value: number]: string }, value: number, fallback = String(value)): string {
  const name = e[value];
  return name === undefined ? fallback : name.replace(/(?<=[a-z0-9])(?=[A-Z])/g, "-").toLowerCase();
}
