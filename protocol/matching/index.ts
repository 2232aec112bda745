export { matchBatch, DEFAULT_LOAD, type MatchOptions } from "./engine.js";
export { encodeAssignments, assignmentsHash } from "./encode.js";
export { MatchingErrorCode, MatchingInputError } from "./errors.js";
export { UnmatchedReason, type MatchInputs, type MatchResult, type MatchQuality, type Unmatched, type ProviderShare, type Seed } from "./types.js";
