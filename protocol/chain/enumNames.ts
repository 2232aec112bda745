/**
 * The name of an on-chain enum's value (protocol/chain/enums.ts) as the CLI prints it and the explorer stores and
 * serves it: the contract's member name in kebab case (`CloseReason.RenterClosed` → "renter-closed",
 * `OperatorStatus.Exiting` → "exiting"), so one value has one name everywhere off-chain.
 */
export function enumName(e: { readonly [value: number]: string }, value: number, fallback = String(value)): string {
  const name = e[value];
  return name === undefined ? fallback : name.replace(/(?<=[a-z0-9])(?=[A-Z])/g, "-").toLowerCase();
}

/**
 * The entry of `table` for `value`: `table` has one entry per member of `e`, keyed by member name (so a member
 * added to the enum without its entry fails to compile), and a value `e` does not have gives `fallback`.
 */
export function memberEntry<E extends { readonly [value: number]: string }, V>(e: E, table: Readonly<Record<Exclude<keyof E, number>, V>>, value: number, fallback: NoInfer<V>): V {
  const name = e[value] as Exclude<keyof E, number> | undefined;
  return name === undefined ? fallback : table[name];
}

/** The values of a numeric enum (its number-valued entries; the others are the reverse mapping), ascending. */
export function enumValues<E extends Record<string, string | number>>(e: E): Array<Extract<E[keyof E], number>> {
  return Object.values(e)
    .filter((v): v is Extract<E[keyof E], number> => typeof v === "number")
    .sort((a, b) => a - b);
}
