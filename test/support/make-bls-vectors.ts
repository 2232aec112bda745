/**
 * Generates test/vectors/bls.json, the fixed BLS vectors both test suites check (TypeScript: test/bls/vectors.test.ts;
 * Solidity: the contract cross-verification tests). Deterministic: secrets are keccak256 of labels, so a re-run
 * writes the same bytes, and the TypeScript test fails if the file and this generator ever disagree.
 *
 *   sh scripts/run.sh exec node_modules/.bin/tsx test/support/make-bls-vectors.ts
 *
 * Encoding: coordinates are decimal strings (uint256), bytes32/addresses 0x-hex; G2 is imaginary part first.
 * Importing this module has no side effects (mocha loads every file under test/).
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { keccak256, toBytes, toHex } from "viem";
import {
  BlsError,
  FP_MODULUS,
  FR_MODULUS,
  SecretKey,
  aggregateG1,
  aggregateG2,
  g1FromEvm,
  g1ToEvm,
  g2FromEvm,
  hashToG1,
  operatorId,
  popGamma,
  popMessageHash,
  signProofOfPossession,
  verify,
  type G1Point,
  type G2Point,
  type Hex,
} from "../../protocol/bls/index.js";
import { offCurveG2, wrongSubgroupG2 } from "./bls.js";

export interface G1Json {
  X: string;
  Y: string;
}
export interface G2Json {
  X: [string, string];
  Y: [string, string];
}

export interface BlsVectors {
  description: string;
  encoding: string;
  hashToG1: { digest: Hex; point: G1Json; note: string }[];
  keys: { name: string; secret: Hex; pkG1: G1Json; pkG2: G2Json; operatorId: Hex }[];
  signatures: { key: string; message: string; digest: Hex; hash: G1Json; signature: G1Json }[];
  aggregates: { digest: Hex; signers: string[]; apkG1: G1Json; apkG2: G2Json; signature: G1Json }[];
  proofsOfPossession: {
    key: string;
    chainId: string;
    registry: Hex;
    operator: Hex;
    messageHash: Hex;
    messagePoint: G1Json;
    signature: G1Json;
    gamma: string;
  }[];
  invalid: {
    name: string;
    pkG2: G2Json;
    digest: Hex;
    signature: G1Json;
    /** The BlsErrorCode decoding refuses the signature or key with, or null when both decode and only the pairing fails. */
    decodeError: string | null;
  }[];
}

export const g1Json = (p: G1Point): G1Json => ({ X: p.X.toString(), Y: p.Y.toString() });
export const g2Json = (p: G2Point): G2Json => ({ X: [p.X[0].toString(), p.X[1].toString()], Y: [p.Y[0].toString(), p.Y[1].toString()] });
export const g1FromJson = (p: G1Json): G1Point => ({ X: BigInt(p.X), Y: BigInt(p.Y) });
export const g2FromJson = (p: G2Json): G2Point => ({ X: [BigInt(p.X[0]), BigInt(p.X[1])], Y: [BigInt(p.Y[0]), BigInt(p.Y[1])] });

/** A deterministic secret in [1, r-1] from a label. */
export function vectorSecret(label: string): SecretKey {
  const v = (BigInt(keccak256(toBytes(`matchnet/bls-vector/${label}`))) % (FR_MODULUS - 1n)) + 1n;
  return SecretKey.fromBytes(toBytes(v, { size: 32 }));
}

const word = (v: bigint): Hex => toHex(v, { size: 32 });

function decodeError(pk: G2Point, sig: G1Point): string | null {
  for (const f of [() => g2FromEvm(pk), () => g1FromEvm(sig)]) {
    try {
      f();
    } catch (err) {
      if (err instanceof BlsError) return err.code;
      throw err;
    }
  }
  return null;
}

export function buildBlsVectors(): BlsVectors {
  const keyNames = ["alice", "bob", "carol", "dave", "erin"];
  const keys = new Map(keyNames.map((n) => [n, vectorSecret(n)] as const));
  // Small known secrets too, so a reader can check them by hand: 1 gives the generators.
  keys.set("one", SecretKey.fromBytes(toBytes(1n, { size: 32 })));
  keys.set("r-minus-1", SecretKey.fromBytes(toBytes(FR_MODULUS - 1n, { size: 32 })));

  const messages = ["matchnet vector 0", "matchnet vector 1", "batch 7 result"];
  const signatures: BlsVectors["signatures"] = [];
  for (const [name, sk] of keys) {
    for (const message of messages) {
      const digest = keccak256(toBytes(message));
      signatures.push({ key: name, message, digest, hash: g1Json(hashToG1(digest)), signature: g1Json(sk.sign(digest)) });
    }
  }

  const aggDigest = keccak256(toBytes("batch 7 result"));
  const signers = ["alice", "bob", "carol", "dave"];
  const aggregates: BlsVectors["aggregates"] = [
    {
      digest: aggDigest,
      signers,
      apkG1: g1Json(aggregateG1(signers.map((s) => keys.get(s)!.publicKeyG1()))),
      apkG2: g2Json(aggregateG2(signers.map((s) => keys.get(s)!.publicKeyG2()))),
      signature: g1Json(aggregateG1(signers.map((s) => keys.get(s)!.sign(aggDigest)))),
    },
  ];

  const popParams = { chainId: 31337n, registry: "0x5FbDB2315678afecb367f032d93F642f64180aa3", operator: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" } as const;
  const proofsOfPossession: BlsVectors["proofsOfPossession"] = ["alice", "bob"].map((name) => {
    const sk = keys.get(name)!;
    const messageHash = popMessageHash(popParams);
    const signature = signProofOfPossession(sk, popParams);
    const messagePoint = hashToG1(messageHash);
    return {
      key: name,
      chainId: popParams.chainId.toString(),
      registry: popParams.registry,
      operator: popParams.operator,
      messageHash,
      messagePoint: g1Json(messagePoint),
      signature: g1Json(signature),
      gamma: popGamma(sk.publicKeyG1(), sk.publicKeyG2(), messagePoint, signature).toString(),
    };
  });

  const alice = keys.get("alice")!;
  const bob = keys.get("bob")!;
  const d0 = keccak256(toBytes(messages[0]!));
  const d1 = keccak256(toBytes(messages[1]!));
  const sig = alice.sign(d0);
  const tampered = g1ToEvm(g1FromEvm(sig).add(g1FromEvm({ X: 1n, Y: 2n })));
  const raw: { name: string; pkG2: G2Point; digest: Hex; signature: G1Point }[] = [
    { name: "tampered signature (valid point)", pkG2: alice.publicKeyG2(), digest: d0, signature: tampered },
    { name: "wrong key", pkG2: bob.publicKeyG2(), digest: d0, signature: sig },
    { name: "wrong message", pkG2: alice.publicKeyG2(), digest: d1, signature: sig },
    { name: "negated signature", pkG2: alice.publicKeyG2(), digest: d0, signature: { X: sig.X, Y: FP_MODULUS - sig.Y } },
    { name: "off-curve signature", pkG2: alice.publicKeyG2(), digest: d0, signature: { X: sig.X, Y: (sig.Y + 1n) % FP_MODULUS } },
    { name: "signature coordinate not below p", pkG2: alice.publicKeyG2(), digest: d0, signature: { X: sig.X + FP_MODULUS, Y: sig.Y } },
    { name: "off-curve G2 key", pkG2: offCurveG2(), digest: d0, signature: sig },
    { name: "G2 key outside the order-r subgroup", pkG2: wrongSubgroupG2(), digest: d0, signature: sig },
    { name: "key and signature at infinity", pkG2: { X: [0n, 0n], Y: [0n, 0n] }, digest: d0, signature: { X: 0n, Y: 0n } },
    { name: "signature at infinity", pkG2: alice.publicKeyG2(), digest: d0, signature: { X: 0n, Y: 0n } },
  ];
  const invalid = raw.map((c) => {
    if (verify(c.pkG2, c.digest, c.signature)) throw new Error(`vector "${c.name}" unexpectedly verifies`);
    return { name: c.name, pkG2: g2Json(c.pkG2), digest: c.digest, signature: g1Json(c.signature), decodeError: decodeError(c.pkG2, c.signature) };
  });

  return {
    description:
      "BLS on BN254 (alt_bn128), EigenLayer-compatible: sig = sk·hashToG1(digest) in G1, keys sk·G1 and sk·G2, " +
      "verified by e(sig, G2) == e(hashToG1(digest), pkG2). Generated by test/support/make-bls-vectors.ts.",
    encoding:
      "Coordinates are decimal uint256 strings; G2 is { X: [im, re], Y: [im, re] } (EIP-197 precompile order); " +
      "digests, hashes and addresses are 0x-hex. operatorId = keccak256(abi.encodePacked(pkG1.X, pkG1.Y)).",
    hashToG1: [
      { digest: word(0n), point: g1Json(hashToG1(word(0n))), note: "0 → x=0 has no y, x=1 gives the generator" },
      { digest: word(1n), point: g1Json(hashToG1(word(1n))), note: "1 → the generator" },
      { digest: word(FP_MODULUS), point: g1Json(hashToG1(word(FP_MODULUS))), note: "p ≡ 0 → the generator" },
      { digest: word((1n << 256n) - 1n), point: g1Json(hashToG1(word((1n << 256n) - 1n))), note: "2^256-1, reduced mod p" },
      ...messages.map((m) => ({ digest: keccak256(toBytes(m)), point: g1Json(hashToG1(keccak256(toBytes(m)))), note: `keccak256("${m}")` })),
    ],
    keys: [...keys].map(([name, sk]) => ({
      name,
      secret: toHex(sk.toBytes()),
      pkG1: g1Json(sk.publicKeyG1()),
      pkG2: g2Json(sk.publicKeyG2()),
      operatorId: operatorId(sk.publicKeyG1()),
    })),
    signatures,
    aggregates,
    proofsOfPossession,
    invalid,
  };
}

export const VECTORS_PATH = fileURLToPath(new URL("../vectors/bls.json", import.meta.url));

export function serializeVectors(v: BlsVectors): string {
  return JSON.stringify(v, null, 2) + "\n";
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(VECTORS_PATH, serializeVectors(buildBlsVectors()));
  console.log(`wrote ${VECTORS_PATH}`);
}
