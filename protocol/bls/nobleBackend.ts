/** The reference engine: @noble/curves bn254, audited pure TypeScript, ~5× slower than mcl per pairing. */
import { bn254 } from "@noble/curves/bn254.js";
import { pippenger } from "@noble/curves/abstract/curve.js";
import type { PairingBackend } from "./backend.js";
import { g1FromEvm, g2FromEvm, type NobleG1, type NobleG2 } from "./encoding.js";
import { hashToG1Point } from "./hashToG1.js";
import { pairingCheck } from "./signature.js";

export const nobleBackend: PairingBackend<NobleG1, NobleG2> = {
  name: "noble",
  decodeG1: g1FromEvm,
  decodeG2: g2FromEvm,
  hashToG1: hashToG1Point,
  msmG1: (points, scalars) => pippenger(bn254.G1.Point, points as NobleG1[], scalars as bigint[]),
  msmG2: (points, scalars) => pippenger(bn254.G2.Point, points as NobleG2[], scalars as bigint[]),
  negG2Generator: bn254.G2.Point.BASE.negate(),
  pairingProductIsOne(pairs) {
    // noble's pairing refuses infinity (fail-closed); mathematically e(O, Q) = e(P, O) = 1, so such pairs drop out.
    return pairingCheck(pairs.filter(([a, b]) => !a.is0() && !b.is0()).map(([g1, g2]) => ({ g1, g2 })));
  },
};
