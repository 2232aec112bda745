/**
 * Run by bench/matcher.bench.ts in a fresh process, so that `matcher.peak_rss_mb` is the matcher's own peak and not
 * that of a bench process which has run other benches (a chain, libp2p nodes) before: generates the 10 000 × 10 000
 * instance of the timing bench, matches and hashes it three times, and prints the process's peak resident memory
 * (VmHWM, MB) as one JSON line. Not `process.resourceUsage().maxRSS`: Linux carries the parent's high-water mark
 * into a child across fork and exec, so a child of a big bench process reported the parent's peak.
 */
import { peakRssMb } from "../deploy/devnet/processes.js";
import { assignmentsHash } from "../protocol/matching/encode.js";
import { matchBatch } from "../protocol/matching/engine.js";
import { generateInstance, seedOf } from "../test/support/matching/generator.js";

const inputs = generateInstance({ seed: 401, orders: 10_000, offers: 10_000, sizes: "mixed", supply: "balanced" });
const beforeMb = Math.round((await peakRssMb(process.pid)) ?? Number.NaN);
for (let i = 0; i < 3; i++) assignmentsHash(matchBatch(inputs, seedOf(i)).assignments);
process.stdout.write(`${JSON.stringify({ peakMb: Math.round((await peakRssMb(process.pid)) ?? Number.NaN), beforeMatchMb: beforeMb })}\n`);
