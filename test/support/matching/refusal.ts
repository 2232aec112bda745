import { expect } from "chai";
import { MatchingInputError } from "../../../protocol/matching/errors.js";

/** The MatchingInputError `fn` throws; fails the test if it returns or throws anything else. */
export function refusal(fn: () => unknown): MatchingInputError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(MatchingInputError);
    return err as MatchingInputError;
  }
  return expect.fail("expected a MatchingInputError");
}
