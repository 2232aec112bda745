/**
 * BLS figures (rows in bench/README.md). The scenario is the aggregator's: 100 registered operators sign the same
 * result digest; their G2 keys were decoded and subgroup-checked once at registration, so the fast engine's key
 * cache is warm except in `bls.verify100_batch_cold_ms`.
 */
import { keccak256, toBytes } from "viem";
import { SecretKey, aggregateG1, createBlsVerifier, verify, type Hex, type SignatureItem } from "../protocol/bls/index.js";

const SIGNERS = 100;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * CPU time (user + system) of this process in ms: the machine is shared, and wall time would count other
 * processes' turns on the core. On an idle core the two agree; GC helper threads make CPU time, if anything, larger.
 */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function time(fn: () => unknown): number {
  const t = cpuMs();
  fn();
  return cpuMs() - t;
}

const round = (v: number, digits = 3) => Number(v.toFixed(digits));

export default async function (): Promise<Record<string, number>> {
  const sks = Array.from({ length: SIGNERS }, () => SecretKey.generate());
  const pks = sks.map((k) => k.publicKeyG2());
  const digests: Hex[] = Array.from({ length: 4 }, (_, i) => keccak256(toBytes(`bench result ${i}`)));
  const batches: SignatureItem[][] = digests.map((digest) => sks.map((sk, i) => ({ pkG2: pks[i]!, digest, sig: sk.sign(digest) })));
  const batch = batches[0]!;

  const sign = median(Array.from({ length: 20 }, (_, i) => time(() => sks[i]!.sign(digests[1]!))));

  const fast = await createBlsVerifier("mcl");
  fast.verifyBatch(batch); // registration-time key decoding
  for (const it of batch.slice(0, 5)) if (!fast.verify(it.pkG2, it.digest, it.sig)) throw new Error("bench: fast verify failed");
  // Distinct digests, so each check includes hashToG1 (the verifier caches digests it has seen).
  const singles = Array.from({ length: 50 }, (_, i) => {
    const digest = keccak256(toBytes(`bench single ${i}`));
    return { pkG2: pks[i]!, digest, sig: sks[i]!.sign(digest) };
  });
  const verifyOne = median(singles.map((it) => time(() => fast.verify(it.pkG2, it.digest, it.sig))));

  const naive = median(
    Array.from({ length: 2 }, () =>
      time(() => {
        for (const it of batch) if (!verify(it.pkG2, it.digest, it.sig)) throw new Error("bench: noble verify failed");
      }),
    ),
  );

  const batchMs = median(
    Array.from({ length: 9 }, () =>
      time(() => {
        if (!fast.verifyBatch(batch)) throw new Error("bench: batch verify failed");
      }),
    ),
  );

  const cold = median(
    await Promise.all(
      Array.from({ length: 3 }, async () => {
        const v = await createBlsVerifier("mcl");
        return time(() => v.verifyBatch(batch));
      }),
    ),
  );

  const aggregate = median(Array.from({ length: 9 }, () => time(() => aggregateG1(batch.map((it) => it.sig)))));

  // Sustained rate for ~2 s: batches of 100 partials, each batch on its own digest (hashToG1 included).
  // The 4 digests repeat, so hashToG1 (≈ 0.3 ms per batch) is computed once each; so it is in the aggregator,
  // where all partials of a result share its digest.
  let verified = 0;
  const start = cpuMs();
  for (let i = 0; cpuMs() - start < 2000; i++) {
    if (!fast.verifyBatch(batches[i % batches.length]!)) throw new Error("bench: batch verify failed");
    verified += SIGNERS;
  }
  const perSecond = (verified * 1000) / (cpuMs() - start);

  return {
    "bls.sign_ms": round(sign),
    "bls.verify_ms": round(verifyOne),
    "bls.verify100_naive_ms": round(naive, 1),
    "bls.verify100_batch_ms": round(batchMs),
    "bls.verify100_batch_cold_ms": round(cold, 1),
    "bls.verify100_speedup": round(naive / batchMs, 1),
    "bls.aggregate100_ms": round(aggregate),
    "bls.partials_verified_per_s": Math.round(perSecond),
  };
}
