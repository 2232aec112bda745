/**
 * The fast verification engine: mcl-wasm on BN_SNARK1 (= alt_bn128; mcl's default "BN254" is another curve).
 *
 * Verification only. mcl's scalar multiplication is variable-time, so it never touches a secret: noble signs.
 * Its string format puts the real part of Fp2 first and its serialize() is compressed little-endian; neither is
 * the EVM's, so points cross over as decimal affine coordinates and are validated on the way in.
 */
import mcl from "mcl-wasm";
import { bn254 } from "@noble/curves/bn254.js";
import type { PairingBackend } from "./backend.js";
import { BlsError, BlsErrorCode } from "./errors.js";
import { G2_GENERATOR, g1Coordinates, g2Coordinates, type G1Point, type G2Point, type Hex } from "./encoding.js";
import { hashToG1 } from "./hashToG1.js";

export type MclG1 = InstanceType<typeof mcl.G1>;
export type MclG2 = InstanceType<typeof mcl.G2>;

let ready: Promise<void> | undefined;

/** Initialises mcl once per process on BN_SNARK1; refuses to share a process with mcl set up on another curve. */
export function initMcl(): Promise<void> {
  ready ??= (async () => {
    await mcl.init(mcl.BN_SNARK1);
    if (mcl.curveType !== mcl.BN_SNARK1) throw new Error("bls: mcl-wasm is initialised on a curve other than BN_SNARK1");
  })();
  return ready;
}

const { Fp2 } = bn254.fields;
const B2 = Fp2.div(Fp2.fromBigTuple([3n, 0n]), Fp2.fromBigTuple([9n, 1n]));

function toFr(v: bigint): InstanceType<typeof mcl.Fr> {
  const f = new mcl.Fr();
  f.setStr(v.toString(16), 16);
  return f;
}

function mclG1(p: G1Point): MclG1 {
  const { x, y } = g1Coordinates(p);
  const g = new mcl.G1();
  try {
    // mcl's setStr checks the curve equation; G1 has cofactor 1, so that is all there is to check.
    g.setStr(`1 ${x} ${y}`, 10);
  } catch (err) {
    throw new BlsError(BlsErrorCode.NotOnCurve, "G1 point is not on y² = x³ + 3", { cause: err });
  }
  return g;
}

function mclG2(p: G2Point): MclG2 {
  const { xIm, xRe, yIm, yRe } = g2Coordinates(p);
  const g = new mcl.G2();
  try {
    // Real part first in mcl's strings. With mcl's default verifyOrderG2(true), setStr checks the curve equation AND
    // the order-r subgroup (≈ 0.7 ms); mcl.mul gives wrong results outside the subgroup, so this is not optional.
    g.setStr(`1 ${xRe} ${xIm} ${yRe} ${yIm}`, 10);
  } catch (err) {
    // mcl reports one generic error: tell the two causes apart with a cheap curve-equation check.
    const x = Fp2.fromBigTuple([xRe, xIm]);
    const y = Fp2.fromBigTuple([yRe, yIm]);
    const onCurve = Fp2.eql(Fp2.sqr(y), Fp2.add(Fp2.mul(Fp2.sqr(x), x), B2));
    throw onCurve
      ? new BlsError(BlsErrorCode.NotInSubgroup, "G2 point is not in the order-r subgroup", { cause: err })
      : new BlsError(BlsErrorCode.NotOnCurve, "G2 point is not on the twist y² = x³ + 3/(9+u)", { cause: err });
  }
  if (!g.isValidOrder()) throw new BlsError(BlsErrorCode.NotInSubgroup, "G2 point is not in the order-r subgroup");
  return g;
}

/** Keys are decoded (with a 0.7 ms subgroup check) once and reused: the operator set changes rarely. */
const KEY_CACHE_SIZE = 8192;

export interface MclBackendOptions {
  /** How many decoded G2 keys to keep (by EVM encoding); 0 disables the cache. */
  keyCacheSize?: number;
}

let tables: { negG2: MclG2; negG2Pre: InstanceType<typeof mcl.PrecomputedG2> } | undefined;

// mcl has no usable generator accessors on pairing curves (getBasePointG1 throws, no G2 one): set them from EIP-197.
// The precomputed line coefficients live in WASM memory and are never freed, so they are made once per process.
function generatorTables() {
  if (tables === undefined) {
    const negG2 = mcl.neg(mclG2(G2_GENERATOR));
    tables = { negG2, negG2Pre: new mcl.PrecomputedG2(negG2) };
  }
  return tables;
}

/** Builds the mcl backend; `initMcl()` must have resolved. */
export function createMclBackend(opts: MclBackendOptions = {}): PairingBackend<MclG1, MclG2> {
  if (mcl.curveType !== mcl.BN_SNARK1) throw new Error("bls: call initMcl() before createMclBackend()");
  const cacheSize = opts.keyCacheSize ?? KEY_CACHE_SIZE;
  const keyCache = new Map<string, MclG2>();

  const { negG2, negG2Pre } = generatorTables();

  return {
    name: "mcl",
    decodeG1: mclG1,
    decodeG2(p) {
      // Only well-typed inputs may hit the cache, so that a malformed one gets the same error as in noble.
      const wellTyped = Array.isArray(p?.X) && Array.isArray(p?.Y) && [...p.X, ...p.Y].every((c) => typeof c === "bigint");
      if (cacheSize === 0 || !wellTyped) return mclG2(p);
      const key = `${p.X[0]},${p.X[1]},${p.Y[0]},${p.Y[1]}`;
      const hit = keyCache.get(key);
      if (hit) return hit;
      const g = mclG2(p);
      if (keyCache.size >= cacheSize) keyCache.delete(keyCache.keys().next().value!);
      keyCache.set(key, g);
      return g;
    },
    hashToG1(digest: Hex) {
      const h = hashToG1(digest);
      const g = new mcl.G1();
      g.setStr(`1 ${h.X} ${h.Y}`, 10);
      return g;
    },
    msmG1: (points, scalars) => mcl.mulVec(points as MclG1[], scalars.map(toFr)),
    msmG2: (points, scalars) => mcl.mulVec(points as MclG2[], scalars.map(toFr)),
    negG2Generator: negG2,
    pairingProductIsOne(pairs) {
      let acc: InstanceType<typeof mcl.GT> | undefined;
      for (const [a, b] of pairs) {
        if (a.isZero() || b.isZero()) continue;
        const ml = b === negG2 ? mcl.precomputedMillerLoop(a, negG2Pre) : mcl.millerLoop(a, b);
        acc = acc === undefined ? ml : mcl.mul(acc, ml);
      }
      return acc === undefined || mcl.finalExp(acc).isOne();
    },
  };
}

/** EVM form of an mcl G1 point (tests compare engines with it). */
export function mclG1ToEvm(g: MclG1): G1Point {
  const n = mcl.normalize(g);
  const [flag, x, y] = n.getStr(10).split(" ");
  if (flag !== "1") throw new BlsError(BlsErrorCode.Infinity, "G1 point at infinity has no EVM encoding");
  return { X: BigInt(x!), Y: BigInt(y!) };
}

/** EVM form of an mcl G2 point: mcl strings are real-first, the EVM is imaginary-first. */
export function mclG2ToEvm(g: MclG2): G2Point {
  const n = mcl.normalize(g);
  const [flag, xRe, xIm, yRe, yIm] = n.getStr(10).split(" ");
  if (flag !== "1") throw new BlsError(BlsErrorCode.Infinity, "G2 point at infinity has no EVM encoding");
  return { X: [BigInt(xIm!), BigInt(xRe!)], Y: [BigInt(yIm!), BigInt(yRe!)] };
}
