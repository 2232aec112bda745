/**
 * EVM encodings of BN254 points and their validated conversion to and from noble points.
 *
 * G1 is (X, Y) as two uint256; G2 is ([X.im, X.re], [Y.im, Y.re]): imaginary part first, the order the pairing
 * precompile 0x08 (EIP-197) expects and EigenLayer's `BN254.G2Point` stores. Infinity has no encoding except
 * (0,0), and it is never accepted from outside: a key and a signature both at infinity pass a raw pairing check.
 */
import { bn254 } from "@noble/curves/bn254.js";
import type { WeierstrassPoint } from "@noble/curves/abstract/weierstrass.js";
import type { Fp2 } from "@noble/curves/abstract/tower.js";
import { BlsError, BlsErrorCode } from "./errors.js";

export type Hex = `0x${string}`;

/** Affine G1 point, matching Solidity `BN254.G1Point { uint256 X; uint256 Y; }`. */
export interface G1Point {
  X: bigint;
  Y: bigint;
}

/** Affine G2 point, [imaginary, real] per coordinate, matching Solidity `BN254.G2Point { uint256[2] X; uint256[2] Y; }`. */
export interface G2Point {
  X: readonly [bigint, bigint];
  Y: readonly [bigint, bigint];
}

export type NobleG1 = WeierstrassPoint<bigint>;
export type NobleG2 = WeierstrassPoint<Fp2>;

/** Base field modulus p of alt_bn128. */
export const FP_MODULUS = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
/** Group order r of alt_bn128 (the scalar field). */
export const FR_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

const { Fp, Fp2 } = bn254.fields;
const G1 = bn254.G1.Point;
const G2 = bn254.G2.Point;
// b for E: y² = x³ + 3; b' for the D-type twist: 3 / (9 + u).
const B1 = 3n;
const B2: Fp2 = Fp2.div(Fp2.fromBigTuple([3n, 0n]), Fp2.fromBigTuple([9n, 1n]));

if (Fp.ORDER !== FP_MODULUS || bn254.fields.Fr.ORDER !== FR_MODULUS) {
  // Guards against a library update that silently changes curve (mcl's default BN254 is another curve, too).
  throw new Error("bls: @noble/curves bn254 does not have the alt_bn128 moduli");
}

function checkCoordinate(v: unknown, what: string): bigint {
  if (typeof v !== "bigint") throw new BlsError(BlsErrorCode.Malformed, `${what} is not a bigint`);
  if (v < 0n || v >= FP_MODULUS) throw new BlsError(BlsErrorCode.CoordinateTooLarge, `${what} is not in [0, p)`);
  return v;
}

/**
 * The coordinates of a G1 point in EVM form, each a canonical field element, (0,0) refused: the checks every
 * backend runs before its own curve check (noble here, mcl in mclBackend.ts).
 */
export function g1Coordinates(p: G1Point): { x: bigint; y: bigint } {
  if (p === null || typeof p !== "object") throw new BlsError(BlsErrorCode.Malformed, "G1 point is not an object");
  const x = checkCoordinate(p.X, "G1.X");
  const y = checkCoordinate(p.Y, "G1.Y");
  if (x === 0n && y === 0n) throw new BlsError(BlsErrorCode.Infinity, "G1 point is (0,0), the point at infinity");
  return { x, y };
}

/** The same for a G2 point in EVM form ([im, re] per coordinate). */
export function g2Coordinates(p: G2Point): { xIm: bigint; xRe: bigint; yIm: bigint; yRe: bigint } {
  if (p === null || typeof p !== "object" || !Array.isArray(p.X) || !Array.isArray(p.Y) || p.X.length !== 2 || p.Y.length !== 2) {
    throw new BlsError(BlsErrorCode.Malformed, "G2 point is not { X: [im, re], Y: [im, re] }");
  }
  const xIm = checkCoordinate(p.X[0], "G2.X[0]");
  const xRe = checkCoordinate(p.X[1], "G2.X[1]");
  const yIm = checkCoordinate(p.Y[0], "G2.Y[0]");
  const yRe = checkCoordinate(p.Y[1], "G2.Y[1]");
  if (xIm === 0n && xRe === 0n && yIm === 0n && yRe === 0n) {
    throw new BlsError(BlsErrorCode.Infinity, "G2 point is (0,0), the point at infinity");
  }
  return { xIm, xRe, yIm, yRe };
}

/** Decodes and validates a G1 point from its EVM form; throws BlsError on anything but a finite curve point. */
export function g1FromEvm(p: G1Point): NobleG1 {
  const { x, y } = g1Coordinates(p);
  if (Fp.sqr(y) !== Fp.add(Fp.mul(Fp.sqr(x), x), B1)) {
    throw new BlsError(BlsErrorCode.NotOnCurve, "G1 point is not on y² = x³ + 3");
  }
  // G1 has cofactor 1: every curve point is in the group.
  return G1.fromAffine({ x, y });
}

/** Decodes and validates a G2 point from its EVM form ([im, re]); also checks membership of the order-r subgroup. */
export function g2FromEvm(p: G2Point): NobleG2 {
  const { xIm, xRe, yIm, yRe } = g2Coordinates(p);
  const x = Fp2.fromBigTuple([xRe, xIm]);
  const y = Fp2.fromBigTuple([yRe, yIm]);
  if (!Fp2.eql(Fp2.sqr(y), Fp2.add(Fp2.mul(Fp2.sqr(x), x), B2))) {
    throw new BlsError(BlsErrorCode.NotOnCurve, "G2 point is not on the twist y² = x³ + 3/(9+u)");
  }
  const point = G2.fromAffine({ x, y });
  // The twist has a huge cofactor; a point outside the subgroup would make pairings (and mcl's mul) meaningless.
  if (!point.isTorsionFree()) throw new BlsError(BlsErrorCode.NotInSubgroup, "G2 point is not in the order-r subgroup");
  return point;
}

/** EVM form of a finite noble G1 point; infinity throws (it has no EVM encoding that anyone would accept). */
export function g1ToEvm(p: NobleG1): G1Point {
  if (p.is0()) throw new BlsError(BlsErrorCode.Infinity, "G1 point at infinity has no EVM encoding");
  const a = p.toAffine();
  return { X: a.x, Y: a.y };
}

/** EVM form of a finite noble G2 point, imaginary part first. */
export function g2ToEvm(p: NobleG2): G2Point {
  if (p.is0()) throw new BlsError(BlsErrorCode.Infinity, "G2 point at infinity has no EVM encoding");
  const a = p.toAffine();
  return { X: [a.x.c1, a.x.c0], Y: [a.y.c1, a.y.c0] };
}

/** The G1 generator (1, 2) in EVM form. */
export const G1_GENERATOR: G1Point = Object.freeze({ X: 1n, Y: 2n });
/** The G2 generator of EIP-197 in EVM form. */
export const G2_GENERATOR: G2Point = Object.freeze(g2ToEvm(G2.BASE));

/** Solidity `abi.encode(G1Point)`: X ‖ Y, 32 bytes big-endian each. */
export function encodeG1(p: G1Point): Hex {
  return `0x${word(p.X)}${word(p.Y)}`;
}

/** Solidity `abi.encode(G2Point)`: X[0] ‖ X[1] ‖ Y[0] ‖ Y[1] (imaginary part first). */
export function encodeG2(p: G2Point): Hex {
  return `0x${word(p.X[0])}${word(p.X[1])}${word(p.Y[0])}${word(p.Y[1])}`;
}

/** Inverse of encodeG1 (64 bytes); the point is not validated here: pass it to g1FromEvm. */
export function decodeG1(bytes: Hex): G1Point {
  const w = words(bytes, 2, "G1");
  return { X: w[0]!, Y: w[1]! };
}

/** Inverse of encodeG2 (128 bytes, imaginary part first); the point is not validated here: pass it to g2FromEvm. */
export function decodeG2(bytes: Hex): G2Point {
  const w = words(bytes, 4, "G2");
  return { X: [w[0]!, w[1]!], Y: [w[2]!, w[3]!] };
}

function words(bytes: Hex, n: number, what: string): bigint[] {
  if (typeof bytes !== "string" || !new RegExp(`^0x[0-9a-fA-F]{${64 * n}}$`).test(bytes)) {
    throw new BlsError(BlsErrorCode.Malformed, `${what} encoding must be 0x followed by ${32 * n} bytes of hex`);
  }
  return Array.from({ length: n }, (_, i) => BigInt(`0x${bytes.slice(2 + 64 * i, 66 + 64 * i)}`));
}

function word(v: bigint): string {
  if (v < 0n || v >= 1n << 256n) throw new BlsError(BlsErrorCode.Malformed, "value does not fit in a uint256");
  return v.toString(16).padStart(64, "0");
}

/** Parses a bytes32 digest; anything but exactly 32 bytes of hex is refused. */
export function parseDigest(digest: Hex): bigint {
  if (typeof digest !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(digest)) {
    throw new BlsError(BlsErrorCode.InvalidDigest, "digest must be 0x followed by 64 hex digits (a bytes32)");
  }
  return BigInt(digest);
}
