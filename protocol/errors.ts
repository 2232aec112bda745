/**
 * The base of matchnet's errors: every refusal carries a code (a code table or a string union per module), so
 * callers branch and count by code, never by message text, and `name` is the concrete class's name in logs and stack
 * traces.
 *
 * A module states its codes once, as a table `export const XErrorCode = { Name: "VALUE", … } as const` with a doc
 * comment on each code, and its class as `class XError extends CodedError<CodeOf<typeof XErrorCode>> {}`, or
 * `extends CodePrefixedError<…>` when its messages start with their code ("CODE: message"); the union of its codes
 * is then `XError["code"]`. A module that passes codes around on their own (gossip validation, the matcher) also
 * names the union: `export type XErrorCode = CodeOf<typeof XErrorCode>`. Metadata beyond the code goes in `meta`.
 */
/** The union of a code table's values (`export type X = CodeOf<typeof X>` beside `export const X = {…} as const`). */
export type CodeOf<T extends Record<string, string | number>> = T[keyof T];

export class CodedError<C extends string, M extends object = Record<string, unknown>> extends Error {
  /** Whether every message of this class starts with its code (set by CodePrefixedError). */
  static readonly codeInMessage: boolean = false;
  readonly meta: M;

  constructor(
    readonly code: C,
    message: string,
    options: { cause?: unknown; meta?: M } = {},
  ) {
    super((new.target as typeof CodedError).codeInMessage ? `${code}: ${message}` : message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.meta = options.meta ?? ({} as M);
  }
}

/** A CodedError whose message starts with its code ("CODE: message"), so a log line names it without the structured field. */
export class CodePrefixedError<C extends string, M extends object = Record<string, unknown>> extends CodedError<C, M> {
  static override readonly codeInMessage: boolean = true;
}
