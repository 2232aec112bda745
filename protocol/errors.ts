/**
 * The base of matchnet's errors: every refusal carries a code (an enum or a string union per module), so callers
 * branch and count by code, never by message text, and `name` is the concrete class's name in logs and stack traces.
 */
export class CodedError<C extends string> extends Error {
  constructor(
    readonly code: C,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}
