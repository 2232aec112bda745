/**
 * Operator identity and proof of possession (EigenLayer `BLSApkRegistry` style).
 *
 * The PoP message binds a domain tag, the chain, the registry contract and the operator's address, so a PoP can
 * be replayed neither on another chain, nor on another registry, nor for another operator. Checking it together with
 * G1/G2 key equality stops rogue-key attacks on aggregate keys: nobody can register a key they cannot sign with.
 */
import { bn254 } from "@noble/curves/bn254.js";
import { encodeAbiParameters, encodePacked, isAddress, keccak256, toBytes } from "viem";
import { BlsError, BlsErrorCode } from "./errors.js";
import { FR_MODULUS, g1FromEvm, g2FromEvm, type G1Point, type G2Point, type Hex, type NobleG1, type NobleG2 } from "./encoding.js";
import { hashToG1, hashToG1Point } from "./hashToG1.js";
import { pairingCheck } from "./signature.js";
import type { SecretKey } from "./keys.js";

/** keccak256("matchnet/pop/v1"): domain of registration proofs of possession. */
export const POP_DOMAIN: Hex = keccak256(toBytes("matchnet/pop/v1"));
/** keccak256("matchnet/seed/v1"): domain of per-batch seed signatures. */
export const SEED_DOMAIN: Hex = keccak256(toBytes("matchnet/seed/v1"));
/** keccak256("matchnet/result/v1"): domain of matching-result signatures. */
export const RESULT_DOMAIN: Hex = keccak256(toBytes("matchnet/result/v1"));

export interface PopParams {
  chainId: bigint;
  /** The operator registry contract the key is registered with. */
  registry: Hex;
  /** The operator's Ethereum address. */
  operator: Hex;
}

/** keccak256(abi.encode(bytes32 POP_DOMAIN, uint256 chainId, address registry, address operator)). */
export function popMessageHash(p: PopParams): Hex {
  if (!isAddress(p.registry, { strict: false }) || !isAddress(p.operator, { strict: false })) {
    throw new BlsError(BlsErrorCode.Malformed, "registry and operator must be 20-byte addresses");
  }
  return keccak256(
    encodeAbiParameters(
      [{ type: "bytes32" }, { type: "uint256" }, { type: "address" }, { type: "address" }],
      [POP_DOMAIN, p.chainId, p.registry, p.operator],
    ),
  );
}

/** sk·hashToG1(popMessageHash(p)). */
export function signProofOfPossession(sk: SecretKey, p: PopParams): G1Point {
  return sk.sign(popMessageHash(p));
}

/** keccak256(abi.encodePacked(uint256 X, uint256 Y)) of the G1 key, as EigenLayer's `BN254.hashG1Point`. */
export function operatorId(pkG1: G1Point): Hex {
  return keccak256(encodePacked(["uint256", "uint256"], [pkG1.X, pkG1.Y]));
}

/**
 * EigenLayer registry's gamma: keccak256(abi.encodePacked(sig.X, sig.Y, pkG1.X, pkG1.Y, pkG2.X[0], pkG2.X[1],
 * pkG2.Y[0], pkG2.Y[1], H.X, H.Y)) mod r. A Fiat–Shamir challenge fixed after every input, so one pairing check
 * e(sig + γ·pkG1, -G2) · e(H + γ·G1, pkG2) == 1 implies both e(sig, G2) = e(H, pkG2) and e(pkG1, G2) = e(G1, pkG2),
 * except with probability ~1/r.
 */
export function popGamma(pkG1: G1Point, pkG2: G2Point, messagePoint: G1Point, sig: G1Point): bigint {
  const packed = encodePacked(
    ["uint256", "uint256", "uint256", "uint256", "uint256", "uint256", "uint256", "uint256", "uint256", "uint256"],
    [sig.X, sig.Y, pkG1.X, pkG1.Y, pkG2.X[0], pkG2.X[1], pkG2.Y[0], pkG2.Y[1], messagePoint.X, messagePoint.Y],
  );
  return BigInt(keccak256(packed)) % FR_MODULUS;
}

/**
 * Registration check: the signature is valid under pkG2 on popMessageHash(p) AND pkG1, pkG2 hold the same secret.
 * The same single randomized pairing check the registry contract runs. Invalid points → false.
 */
export function verifyProofOfPossession(pkG1: G1Point, pkG2: G2Point, p: PopParams, sig: G1Point): boolean {
  const digest = popMessageHash(p);
  let g1: NobleG1, g2: NobleG2, s: NobleG1;
  try {
    g1 = g1FromEvm(pkG1);
    g2 = g2FromEvm(pkG2);
    s = g1FromEvm(sig);
  } catch (err) {
    if (err instanceof BlsError) return false;
    throw err;
  }
  const h = hashToG1(digest);
  const gamma = popGamma(pkG1, pkG2, h, sig);
  // gamma = 0 would drop the key-equality half of the check; it happens with probability 1/r, refuse it anyway.
  if (gamma === 0n) return false;
  const left = s.add(g1.multiply(gamma));
  const right = hashToG1Point(digest).add(bn254.G1.Point.BASE.multiply(gamma));
  if (left.is0() || right.is0()) return false;
  return pairingCheck([
    { g1: left, g2: bn254.G2.Point.BASE.negate() },
    { g1: right, g2 },
  ]);
}
