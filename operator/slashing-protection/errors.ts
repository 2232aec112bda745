import { CodedError, type CodeOf } from "../../protocol/errors.js";

export const SlashingProtectionErrorCode = {
  /** A different message was already recorded for this key and duty: signing it would be equivocation. */
  DoubleSign: "DoubleSign",
  /** The batch is at or below the low watermark left by pruning: its record is gone, so it is never signed again. */
  BelowWatermark: "BelowWatermark",
  /** An argument is not well formed (operator id or message hash not 32 bytes, batch not a uint64). */
  InvalidInput: "InvalidInput",
} as const;

/** Its `code` is one of SlashingProtectionErrorCode's values. */
export class SlashingProtectionError extends CodedError<CodeOf<typeof SlashingProtectionErrorCode>> {}
