/**
 * Gossip validation outcomes as data (Lodestar's pattern): a validator throws `GossipValidationError` with the
 * gossipsub action and a code; one wrapper turns it into the verdict and counts it by code.
 *
 * IGNORE: the message may be honest but is of no use now (stale, duplicate, not yet verifiable) — dropped, not
 * forwarded, sender not penalized. REJECT: the message is invalid whoever sent it — dropped and the propagating
 * peer's score lowered.
 */
import { CodedError, type CodeOf } from "../errors.js";

export type GossipAction = CodeOf<typeof GossipAction>;
export type GossipErrorCode = CodeOf<typeof GossipErrorCode>;

export const GossipAction = {
  Ignore: "ignore",
  Reject: "reject",
} as const;

export const GossipErrorCode = {
  /** More bytes than the topic's hard limit. */
  TooLarge: "TooLarge",
  /** Wrong length or field values out of range for the topic's encoding. */
  Malformed: "Malformed",
  /** Encoding version byte unknown to this node. */
  UnknownVersion: "UnknownVersion",
  /** A G1 point not on the curve, with a coordinate ≥ p, or at infinity. */
  InvalidPoint: "InvalidPoint",
  /** Assignments not in canonical order (orderId strictly ascending). */
  NotCanonical: "NotCanonical",
  /** The batch is not known to this node (not closed yet as far as it sees, or pruned). */
  BatchUnknown: "BatchUnknown",
  /** The batch is further ahead than any chain view could be. */
  FutureBatch: "FutureBatch",
  /** The batch is final or abandoned: signatures for it are of no use any more. */
  BatchFinal: "BatchFinal",
  /** The same content (or the same sender and batch, beyond the one conflict kept as evidence) was seen. */
  AlreadySeen: "AlreadySeen",
  /** The seed signer is not in the batch's leader fallback order. */
  NotLeader: "NotLeader",
  /** The seed signer is in the fallback order, but its turn has not come (seedTimeout not yet passed). */
  LeaderTurnNotYet: "LeaderTurnNotYet",
  /** The sender is not a registered operator at the batch's reference block. */
  UnknownOperator: "UnknownOperator",
  /** The seed a partial names is not (yet) verified here, so its signed result message cannot be computed. */
  SeedUnknown: "SeedUnknown",
  /** The BLS signature does not verify. */
  InvalidSignature: "InvalidSignature",
  /** The assignment list does not hash to the result hash it claims. */
  ResultHashMismatch: "ResultHashMismatch",
  /** The propagating peer is banned (too many rejects): its messages are dropped without any check. */
  PeerBanned: "PeerBanned",
  /** The propagating peer has more messages waiting for validation than its budget (protocol/p2p/peerGuard.ts). */
  PeerBusy: "PeerBusy",
  /** The validator itself failed (a bug or a failing dependency): ignored, never blamed on the sender. */
  ValidatorFailed: "ValidatorFailed",
} as const;

export class GossipValidationError extends CodedError<GossipErrorCode> {
  constructor(
    readonly action: GossipAction,
    code: GossipErrorCode,
    message: string = code,
    meta: Record<string, unknown> = {},
  ) {
    super(code, message, { meta });
  }
}

export const ignore = (code: GossipErrorCode, message?: string, meta?: Record<string, unknown>) =>
  new GossipValidationError(GossipAction.Ignore, code, message, meta);
export const reject = (code: GossipErrorCode, message?: string, meta?: Record<string, unknown>) =>
  new GossipValidationError(GossipAction.Reject, code, message, meta);
