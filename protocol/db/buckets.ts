import type { CodeOf } from "../errors.js";
/**
 * One-byte key prefix per data type. A number, once released, is never reused for another type: an old database
 * would otherwise decode one type's bytes as another's. Retire a bucket by commenting it out, keeping its number.
 */
export const Bucket = {
  /** (operatorId, batch) → the result message this operator signed (or is about to sign) for the batch. */
  SlashingProtectionResult: 1,
  /** (operatorId, batch) → the seed message this operator signed as the batch's leader. */
  SlashingProtectionSeed: 2,
  /** batch → the operator's decision for the batch (seed used and assignment list), for re-gossip after a restart. */
  OperatorDecision: 3,
  /** (duty, operatorId) → the slashing-protection low watermark: no batch at or below it is ever signed again. */
  SlashingProtectionWatermark: 4,
  /** (kind, peer id or IP) → until when the peer or address is refused (protocol/p2p/banStore.ts). */
  PeerBan: 5,
  /** batch → R_b and the close block of a batch whose partials are kept as evidence (protocol/p2p/partialEvidence.ts). */
  EvidenceBatch: 6,
  /** (batch, operatorId) → the operator's first valid partial for the batch, and whether a conflict was accepted. */
  EvidencePartial: 7,
  /** Reserved for the test suite's own repositories; never written by the node. */
  TestOnly: 255,
} as const;
export type Bucket = CodeOf<typeof Bucket>;
