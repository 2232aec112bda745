/** The devnet's readable output: one block per batch while it runs, and a summary table at the end. */
import type { Hex } from "viem";
import type { DevnetBatchReport } from "./batch.js";

export type Names = (operatorId: Hex | null) => string;

const short = (h: Hex | null) => (h === null ? "—" : `${h.slice(0, 8)}…${h.slice(-4)}`);
const pct = (bps: number) => `${(bps / 100).toFixed(1)} %`;
const int = (n: bigint | number | null) => (n === null ? "—" : Number(n).toLocaleString("en-US"));

export function leaderText(r: DevnetBatchReport, names: Names): string {
  if (r.seedSignerIndex === null || r.seedSignerIndex === 0n) return names(r.leaderId);
  return `${names(r.seedSignerId)} (fallback ${r.seedSignerIndex}; ${names(r.leaderId)} silent)`;
}

export function formatBatch(r: DevnetBatchReport, names: Names): string {
  const head = `batch ${r.batch}  closed #${r.closedAt} (R_b #${r.referenceBlock})  leader ${leaderText(r, names)}`;
  if (r.status !== "final") {
    return `${head}\n  ✗ ABANDONED after batchTimeout: no quorum submitted; its ${r.ordersOpen} open orders join the next batch`;
  }
  return (
    `${head}\n` +
    `  ✓ final at #${r.finalizedAt}: ${r.blocks} block(s), ${((r.ms ?? 0) / 1000).toFixed(2)} s after the close   seed ${short(r.seed)}\n` +
    `    orders open ${r.ordersOpen} / matched ${r.matched} / skipped ${r.skipped}   signers ${r.signers}/${r.operators} ` +
    `(${pct(r.signedStakeBps)} of stake)   gas ${int(r.gasUsed)}   matcher ${r.matcherAgrees ? "✓ same result as the TypeScript matcher" : "✗ DIFFERS from the TypeScript matcher"}`
  );
}

export function summaryTable(reports: readonly DevnetBatchReport[], names: Names): string {
  const header = ["batch", "status", "leader", "seed", "open", "matched", "skipped", "signers", "stake", "gas", "blocks", "seconds", "matcher"];
  const rows = reports.map((r) => [
    String(r.batch),
    r.status,
    r.seedSignerId === null ? names(r.leaderId) : names(r.seedSignerId),
    short(r.seed),
    String(r.ordersOpen),
    String(r.matched),
    String(r.skipped),
    r.status === "final" ? `${r.signers}/${r.operators}` : "—",
    r.status === "final" ? pct(r.signedStakeBps) : "—",
    int(r.gasUsed),
    r.blocks === null ? "—" : String(r.blocks),
    r.ms === null ? "—" : (r.ms / 1000).toFixed(2),
    r.matcherAgrees === null ? "—" : r.matcherAgrees ? "✓" : "✗",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  const final = reports.filter((r) => r.status === "final");
  const med = (xs: number[]) => {
    if (xs.length === 0) return null;
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const mBlocks = med(final.map((r) => r.blocks!));
  const mMs = med(final.map((r) => r.ms!));
  return [
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
    "",
    `${final.length}/${reports.length} batches final; ${final.reduce((s, r) => s + r.matched, 0)} leases started` +
      (mBlocks === null ? "" : `; median close→final ${mBlocks} block(s), ${(mMs! / 1000).toFixed(2)} s`),
  ].join("\n");
}
