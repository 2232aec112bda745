/**
 * Run by bench/matcher.bench.ts in a fresh process (`tsx bench/matcher-peak.ts [first|multizone]`), so that its
 * figures are the matcher's own and not those of a bench process which has run other benches before: generates
 * the 10 000 × 10 000 mixed-size instance of the timing bench (first generator, or the second with `multizone`),
 * times the FIRST matchBatch + assignmentsHash of the process (what an operator pays after a restart: nothing
 * compiled or warmed yet), runs two more, and prints the process's peak resident memory (VmHWM, MB) as one JSON
 * line. Not `process.resourceUsage().maxRSS`: Linux carries the parent's high-water mark into a child across fork
 * and exec, so a child of a big bench process reported the parent's peak. With a second argument N (> 3), it then
 * goes on to N matches in all and also reports the resident memory (VmRSS) after the first and after the N-th: what a
 * long-lived operator keeps per batch (matcher.rss_growth_20_mb).
 */
import { peakRssMb } from "../deploy/devnet/processes.js";
import { assignmentsHash } from "../protocol/matching/encode.js";
import { matchBatch } from "../protocol/matching/engine.js";
import { generateInstance, seedOf } from "../test/support/matching/generator.js";
import { generateMultizoneMarket, multizoneSeedOf } from "../test/support/matching/multizone-generator.js";

const second = process.argv[2] === "multizone";
const inputs = second
  ? generateMultizoneMarket({ seed: 401, orders: 10_000, offers: 10_000, sizes: "mixed", regime: "balanced" })
  : generateInstance({ seed: 401, orders: 10_000, offers: 10_000, sizes: "mixed", supply: "balanced" });
const seed = (i: number) => (second ? multizoneSeedOf(i) : seedOf(i));
const beforeMb = Math.round((await peakRssMb(process.pid)) ?? Number.NaN);
const cpu = (): number => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
const batches = Math.max(3, Number(process.argv[3] ?? 3));
const rssMb = (): number => Math.round(process.memoryUsage.rss() / 2 ** 20);
const w = performance.now();
const c = cpu();
assignmentsHash(matchBatch(inputs, seed(0)).assignments);
const coldMs = Math.round(performance.now() - w);
const coldCpuMs = Math.round(cpu() - c);
const rssAfterFirstMb = rssMb();
for (let i = 1; i < 3; i++) assignmentsHash(matchBatch(inputs, seed(i)).assignments);
const peakMb = Math.round((await peakRssMb(process.pid)) ?? Number.NaN);
for (let i = 3; i < batches; i++) assignmentsHash(matchBatch(inputs, seed(i)).assignments);
const rssAfterLastMb = rssMb();
process.stdout.write(`${JSON.stringify({ peakMb, beforeMatchMb: beforeMb, coldMs, coldCpuMs, batches, rssAfterFirstMb, rssAfterLastMb })}\n`);
