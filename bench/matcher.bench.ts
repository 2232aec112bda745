/**
 * Matcher benchmarks (docs/matching.md §11). Times are wall-clock medians of matchBatch + assignmentsHash (what an
 * operator runs per batch) after one warm-up run; the CPU-time twins show how much of it was this process's own
 * work on a shared machine. Quality is the engine's objective as a share of the exact optimum (unit orders,
 * min-cost flow) or of the Lagrangian upper bound (orders of 1–8 GPUs; docs §10), with the looser flow-relaxation
 * bound reported once for comparison.
 */
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { assignmentsHash } from "../protocol/matching/encode.js";
import { decide, matchBatch, objectiveOf } from "../protocol/matching/engine.js";
import { lagrangeBound } from "../protocol/matching/optimum/lagrange.js";
import { unitOptimum } from "../protocol/matching/optimum/reference.js";
import { buildCandidates, prepareBatch, ScratchPool } from "../protocol/matching/prepare.js";
import type { MatchInputs } from "../protocol/matching/types.js";
import { generateInstance, seedOf, type Supply } from "../test/support/matching/generator.js";

const cpuMs = (): number => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round1 = (x: number): number => Math.round(x * 10) / 10;

function timeMatch(inputs: MatchInputs, runs: number): { wall: number; cpu: number } {
  assignmentsHash(matchBatch(inputs, seedOf(0)).assignments); // warm-up (JIT, memory pool)
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 1; i <= runs; i++) {
    const w = performance.now();
    const c = cpuMs();
    assignmentsHash(matchBatch(inputs, seedOf(i)).assignments);
    cpus.push(cpuMs() - c);
    walls.push(performance.now() - w);
  }
  return { wall: Math.round(median(walls)), cpu: Math.round(median(cpus)) };
}

function quality(supply: Supply, sizes: "unit" | "mixed", n: number): { pct: number; flowPct: number; refMs: number; refCpuMs: number } {
  const b = prepareBatch(generateInstance({ seed: 500, orders: n, offers: n, sizes, supply }), seedOf(500));
  const cand = buildCandidates(b);
  const engine = Number(objectiveOf(b, cand, decide(b, cand).pair));
  const all = buildCandidates(b, new ScratchPool(), Infinity); // every feasible pair, no CANDIDATE_CAP
  const t = performance.now();
  const c = cpuMs();
  let reference: number;
  let flow: number;
  if (sizes === "unit") reference = flow = unitOptimum(b, all).value;
  else ({ value: reference, flow } = lagrangeBound(b, all));
  return {
    pct: round1((100 * engine) / reference),
    flowPct: round1((100 * engine) / flow),
    refMs: Math.round(performance.now() - t),
    refCpuMs: Math.round(cpuMs() - c),
  };
}

export default async function (): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const small = timeMatch(generateInstance({ seed: 400, orders: 1_000, offers: 1_000, sizes: "mixed", supply: "balanced" }), 5);
  out["matcher.1k_x_1k_ms"] = small.wall;
  out["matcher.1k_x_1k_cpu_ms"] = small.cpu;
  const big = generateInstance({ seed: 401, orders: 10_000, offers: 10_000, sizes: "mixed", supply: "balanced" });
  const t10 = timeMatch(big, 3);
  out["matcher.10k_x_10k_ms"] = t10.wall;
  out["matcher.10k_x_10k_cpu_ms"] = t10.cpu;
  // In a fresh process (bench/matcher-peak.ts): this one may have run other benches first.
  const here = dirname(fileURLToPath(import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", join(here, "matcher-peak.ts")], { cwd: join(here, "..") });
  const peak = JSON.parse(stdout.trim().split("\n").pop()!) as { peakMb: number; beforeMatchMb: number };
  out["matcher.peak_rss_mb"] = peak.peakMb;
  out["matcher.peak_rss_before_match_mb"] = peak.beforeMatchMb;

  // Exact optimum of a realistic 10 000 × 10 000 unit instance, and the engine's share of it.
  const unit = quality("balanced", "unit", 10_000);
  out["matcher.quality_unit_pct"] = unit.pct;
  out["matcher.optimum_ms"] = unit.refMs;
  out["matcher.optimum_cpu_ms"] = unit.refCpuMs;
  for (const supply of ["abundant", "scarce", "fragmented"] as const) out[`matcher.quality_unit_${supply}_pct`] = quality(supply, "unit", 2_000).pct;

  // Mixed sizes against the Lagrangian bound, per supply regime at 2 000 × 2 000; the headline is the worst of them.
  let worst = 100;
  for (const supply of ["abundant", "balanced", "scarce", "fragmented"] as const) {
    const q = quality(supply, "mixed", 2_000);
    out[`matcher.quality_mixed_${supply}_pct`] = q.pct;
    if (supply === "balanced") out["matcher.quality_mixed_balanced_vs_flow_pct"] = q.flowPct;
    worst = Math.min(worst, q.pct);
  }
  out["matcher.quality_mixed_pct"] = worst;
  return out;
}
