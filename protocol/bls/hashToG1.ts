/**
 * EigenLayer's try-and-increment hash onto G1 (`BN254.hashToG1` in eigenlayer-middleware), reproduced bit for bit
 * so a signature made here verifies in the contract:
 *
 *   x = digest mod p
 *   loop: beta = x³ + 3; y = beta^((p+1)/4) mod p      (p ≡ 3 mod 4, so this is a square root when one exists)
 *         if y² == beta return (x, y)                   (y is the exponentiation's result: no sign normalization)
 *         x = x + 1 mod p
 *
 * It is not a random oracle onto the group (it is not constant-time and its image is ~half the x values), which is
 * acceptable because only keccak256 outputs are ever signed. Digests 0, 1 and p all land on the generator (1, 2):
 * a caller that signed attacker-chosen raw digests would be signing `sk·G1`, i.e. revealing its public key relation.
 */
import { bn254 } from "@noble/curves/bn254.js";
import { FP_MODULUS, parseDigest, type G1Point, type Hex, type NobleG1 } from "./encoding.js";

const { Fp } = bn254.fields;
const SQRT_EXPONENT = (FP_MODULUS + 1n) / 4n;

/** Maps a bytes32 digest onto G1 exactly as EigenLayer's Solidity `BN254.hashToG1(bytes32)` does. */
export function hashToG1(digest: Hex): G1Point {
  let x = parseDigest(digest) % FP_MODULUS;
  for (;;) {
    const beta = Fp.add(Fp.mul(Fp.sqr(x), x), 3n);
    const y = Fp.pow(beta, SQRT_EXPONENT);
    if (Fp.sqr(y) === beta) return { X: x, Y: y };
    x = Fp.add(x, 1n);
  }
}

/** hashToG1 as a noble point (the result is on the curve by construction, so it skips re-validation). */
export function hashToG1Point(digest: Hex): NobleG1 {
  const h = hashToG1(digest);
  return bn254.G1.Point.fromAffine({ x: h.X, y: h.Y });
}
