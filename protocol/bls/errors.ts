/**
 * Errors are data: every refusal of the BLS layer carries a code from this enum, so callers (gossip validators,
 * the aggregator, tests) branch and count by code, never by message text.
 */
import { CodePrefixedError, type CodeOf } from "../errors.js";

export const BlsErrorCode = {
  /** A coordinate is not a canonical field element (>= p): the EVM precompiles would reject it too. */
  CoordinateTooLarge: "CoordinateTooLarge",
  /** The point does not satisfy the curve equation. */
  NotOnCurve: "NotOnCurve",
  /** A G2 point on the twist but outside the order-r subgroup (G1 has cofactor 1, so this is G2 only). */
  NotInSubgroup: "NotInSubgroup",
  /** (0,0), the only EVM encoding of the point at infinity: never a valid key or signature. */
  Infinity: "Infinity",
  /** A digest that is not exactly 32 bytes of hex. */
  InvalidDigest: "InvalidDigest",
  /** A secret key that is not 32 bytes or not in [1, r-1]. */
  InvalidSecretKey: "InvalidSecretKey",
  /** Aggregation of nothing. */
  EmptyAggregate: "EmptyAggregate",
  /** A malformed value that is none of the above (wrong type, bad hex). */
  Malformed: "Malformed",
} as const;

/** Its `code` is one of BlsErrorCode's values. */
export class BlsError extends CodePrefixedError<CodeOf<typeof BlsErrorCode>> {}
