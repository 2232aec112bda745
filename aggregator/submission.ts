/**
 * From a ready result to the arguments of ServiceManager.submitResult, and a local re-run of the contract's
 * signature check (BLSSignatureChecker.checkSignatures: signers' G1 key = apk(R_b) − Σ non-signer keys, then the
 * gamma-bound pairing check) so that a bad aggregate never costs gas.
 */
import { bn254 } from "@noble/curves/bn254.js";
import { encodePacked, keccak256 } from "viem";
import {
  BlsError,
  FR_MODULUS,
  aggregateG1,
  g1FromEvm,
  g1ToEvm,
  g2FromEvm,
  hashToG1Point,
  pairingCheck,
  type G1Point,
  type G2Point,
  type Hex,
  type NobleG1,
} from "../protocol/bls/index.js";
import type { Assignment } from "../protocol/market/types.js";
import { AggregatorError, AggregatorErrorCode } from "./errors.js";
import type { G2KeySummer } from "./keySum.js";
import type { ReadyResult } from "./pool.js";
import { assignmentsHash } from "../protocol/matching/encode.js";
import { candidateDigest, type ResultCandidate, type ResultContext, type SeedProof } from "./result.js";
import type { OperatorSetAtBlock } from "../protocol/chain/operatorSets.js";

export interface ResultSubmission {
  batch: bigint;
  referenceBlock: bigint;
  /** The signed digest. */
  resultHash: Hex;
  seed: Hex;
  seedProof: SeedProof;
  assignments: readonly Assignment[];
  assignmentsHash: Hex;
  /** G1 keys of the set members at R_b that did not sign this result, sorted by operator id ascending. */
  nonSignerPubkeys: G1Point[];
  nonSignerIds: Hex[];
  /** Σ signers' G2 keys. */
  apkG2: G2Point;
  /** Σ signers' signatures. */
  sigma: G1Point;
  signerIds: Hex[];
  signedStake: bigint;
  totalStake: bigint;
}

const byIdAscending = (a: { operatorId: Hex }, b: { operatorId: Hex }) => {
  const x = BigInt(a.operatorId);
  const y = BigInt(b.operatorId);
  return x < y ? -1 : x > y ? 1 : 0;
};

/**
 * Builds the submission. The candidate must hash to the signed digest (AggregatorError NoAssignmentList otherwise):
 * submitting a list the quorum did not sign would only revert.
 */
export function buildSubmission(ctx: ResultContext, ready: ReadyResult, candidate: ResultCandidate, g2: G2KeySummer): ResultSubmission {
  const digest = candidateDigest(ctx, ready.batch, candidate);
  if (digest !== ready.resultHash) {
    throw new AggregatorError(AggregatorErrorCode.NoAssignmentList, "the candidate list does not hash to the signed result", {
      meta: { batch: ready.batch.batch, signed: ready.resultHash, candidate: digest },
    });
  }
  const signers = [...ready.signers].sort((a, b) => byIdAscending(a.operator, b.operator));
  const signerIds = new Set(signers.map((s) => s.operator.operatorId));
  const nonSigners = ready.operatorSet.operators
    .filter((o) => o.stake > 0n && !signerIds.has(o.operatorId))
    .sort(byIdAscending);
  return {
    batch: ready.batch.batch,
    referenceBlock: ready.batch.referenceBlock,
    resultHash: ready.resultHash,
    seed: candidate.seed,
    seedProof: candidate.seedProof,
    assignments: candidate.assignments,
    assignmentsHash: assignmentsHash(candidate.assignments),
    nonSignerPubkeys: nonSigners.map((o) => o.pkG1),
    nonSignerIds: nonSigners.map((o) => o.operatorId),
    apkG2: g2.sum(signers.map((s) => s.operator.pkG2)),
    sigma: aggregateG1(signers.map((s) => s.signature)),
    signerIds: signers.map((s) => s.operator.operatorId),
    signedStake: ready.signedStake,
    totalStake: ready.totalStake,
  };
}

/** BLS.gamma of the contract: keccak256(msgHash ‖ apkG1 ‖ apkG2 ‖ sigma) mod r, G2 imaginary parts first. */
export function checkerGamma(msgHash: Hex, apkG1: G1Point, apkG2: G2Point, sigma: G1Point): bigint {
  const packed = encodePacked(
    ["bytes32", "uint256", "uint256", "uint256", "uint256", "uint256", "uint256", "uint256", "uint256"],
    [msgHash, apkG1.X, apkG1.Y, apkG2.X[0], apkG2.X[1], apkG2.Y[0], apkG2.Y[1], sigma.X, sigma.Y],
  );
  return BigInt(keccak256(packed)) % FR_MODULUS;
}

export interface CheckedSubmission {
  /** apk(R_b) − Σ non-signer keys, as the contract derives it. */
  signersApkG1: G1Point;
  signedStake: bigint;
  totalStake: bigint;
}

/**
 * The contract's checkSignatures, re-run with the noble reference: non-signers strictly ascending and members of
 * the set; signers' G1 key by subtraction from apk(R_b); signed stake; the threshold; and
 * e(σ + γ·apkG1, −G2) · e(H(m) + γ·G1, apkG2) == 1, which proves both that σ signs m under apkG2 and that apkG2 and
 * the subtracted apkG1 hold the same secret. Throws AggregatorError on any failure.
 */
export function checkSubmission(sub: ResultSubmission, set: OperatorSetAtBlock, quorumThresholdBps: number): CheckedSubmission {
  const fail = (code: AggregatorError["code"], msg: string, meta: Record<string, unknown> = {}, cause?: unknown) =>
    new AggregatorError(code, msg, { meta: { batch: sub.batch, resultHash: sub.resultHash, ...meta }, cause });
  const members = set.operators.filter((o) => o.stake > 0n);
  const byId = new Map(members.map((o) => [BigInt(o.operatorId), o]));

  let apk: NobleG1 = bn254.G1.Point.ZERO;
  for (const o of members) apk = apk.add(g1FromEvm(o.pkG1));
  if (set.apkG1 !== undefined && !apk.equals(g1FromEvm(set.apkG1))) {
    throw fail(AggregatorErrorCode.ApkMismatch, "apk(R_b) is not the sum of the set's G1 keys");
  }

  let signers = apk;
  let nonSignerStake = 0n;
  let previous = -1n;
  for (let i = 0; i < sub.nonSignerPubkeys.length; i++) {
    const key = sub.nonSignerPubkeys[i]!;
    const id = BigInt(keccak256(encodePacked(["uint256", "uint256"], [key.X, key.Y])));
    if (id <= previous) throw fail(AggregatorErrorCode.AggregateCheckFailed, "non-signers are not sorted by operator id strictly ascending", { index: i });
    previous = id;
    const o = byId.get(id);
    if (o === undefined) throw fail(AggregatorErrorCode.AggregateCheckFailed, "a non-signer is not in the set at R_b", { index: i });
    nonSignerStake += o.stake;
    signers = signers.subtract(g1FromEvm(key));
  }
  if (signers.equals(bn254.G1.Point.ZERO)) throw fail(AggregatorErrorCode.AggregateCheckFailed, "every operator is a non-signer");
  const signedStake = set.totalStake - nonSignerStake;
  if (signedStake !== sub.signedStake) {
    throw fail(AggregatorErrorCode.AggregateCheckFailed, "signed stake by subtraction differs from the tally", { bySubtraction: signedStake, tally: sub.signedStake });
  }
  if (signedStake * 10_000n < set.totalStake * BigInt(quorumThresholdBps)) {
    throw fail(AggregatorErrorCode.AggregateCheckFailed, "signed stake is below the quorum threshold", { signedStake, totalStake: set.totalStake });
  }

  const signersApkG1 = g1ToEvm(signers);
  let ok: boolean;
  try {
    const sigma = g1FromEvm(sub.sigma);
    const apkG2 = g2FromEvm(sub.apkG2);
    const gamma = checkerGamma(sub.resultHash, signersApkG1, sub.apkG2, sub.sigma);
    const G1 = bn254.G1.Point.BASE;
    ok = pairingCheck([
      { g1: sigma.add(signers.multiply(gamma)), g2: bn254.G2.Point.BASE.negate() },
      { g1: hashToG1Point(sub.resultHash).add(G1.multiply(gamma)), g2: apkG2 },
    ]);
  } catch (err) {
    if (!(err instanceof BlsError)) throw err;
    throw fail(AggregatorErrorCode.AggregateCheckFailed, `an aggregate point is invalid (${err.code})`, {}, err);
  }
  if (!ok) throw fail(AggregatorErrorCode.AggregateCheckFailed, "the aggregate signature does not verify against the signers' keys");
  return { signersApkG1, signedStake, totalStake: set.totalStake };
}
