/** JSON with bigints, for test vectors: a bigint is written as the string "<digits>n". */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? `${v.toString()}n` : v), 2) + "\n";
}

export function fromJson<T>(text: string): T {
  return JSON.parse(text, (_k, v: unknown) => (typeof v === "string" && /^[0-9]+n$/.test(v) ? BigInt(v.slice(0, -1)) : v)) as T;
}
