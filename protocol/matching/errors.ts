import { CodePrefixedError, type CodeOf } from "../errors.js";

/** Bad matcher input is reported as data: a code from this enum plus the offending detail. */
export const MatchingErrorCode = {
  BadSeed: "BAD_SEED",
  BadWeights: "BAD_WEIGHTS",
  DuplicateOrder: "DUPLICATE_ORDER",
  DuplicateOfferVersion: "DUPLICATE_OFFER_VERSION",
  DuplicateProvider: "DUPLICATE_PROVIDER",
  DuplicateModel: "DUPLICATE_MODEL",
  TwoActiveVersions: "TWO_ACTIVE_VERSIONS",
  UnknownProvider: "UNKNOWN_PROVIDER",
  OutOfRange: "OUT_OF_RANGE",
} as const;
export type MatchingErrorCode = CodeOf<typeof MatchingErrorCode>;

export class MatchingInputError extends CodePrefixedError<MatchingErrorCode> {
  constructor(
    code: MatchingErrorCode,
    readonly detail: string,
  ) {
    super(code, detail);
  }
}
