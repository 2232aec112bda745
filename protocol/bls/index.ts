/**
 * BLS signatures on BN254 (alt_bn128), EigenLayer-compatible: secret in Fr, keys sk·G1 and sk·G2, signature
 * sk·hashToG1(digest) in G1, verified by e(sig, G2) == e(H(m), pkG2). The noble implementation here is the
 * reference and the only signer. See docs/bls.md.
 */
export { BlsError, BlsErrorCode } from "./errors.js";
export {
  FP_MODULUS,
  FR_MODULUS,
  G1_GENERATOR,
  G2_GENERATOR,
  decodeG1,
  decodeG2,
  encodeG1,
  encodeG2,
  g1FromEvm,
  g1ToEvm,
  g2FromEvm,
  g2ToEvm,
  parseDigest,
  type G1Point,
  type G2Point,
  type Hex,
  type NobleG1,
  type NobleG2,
} from "./encoding.js";
export { hashToG1, hashToG1Point } from "./hashToG1.js";
export { SecretKey } from "./keys.js";
export { aggregateG1, aggregateG2, pairingCheck, verify } from "./signature.js";
export {
  POP_DOMAIN,
  RESULT_DOMAIN,
  SEED_DOMAIN,
  operatorId,
  popGamma,
  popMessageHash,
  signProofOfPossession,
  verifyProofOfPossession,
  type PopParams,
} from "./pop.js";
export {
  createBlsVerifier,
  csprngWeights,
  type BlsEngine,
  type BlsVerifier,
  type BlsVerifierOptions,
  type SignatureItem,
} from "./verifier.js";
export { initMcl, mclG1ToEvm, mclG2ToEvm } from "./mclBackend.js";
