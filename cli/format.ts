/** Value formatting shared by the commands: token amounts, regions and zones, JSON with bigints as strings. */
import { formatUnits, parseUnits } from "viem";
import { REGIONS } from "../protocol/market/catalog.js";
import { enumName, enumValues } from "../protocol/chain/enumNames.js";
import { Tier } from "../protocol/market/types.js";
import { usage } from "./errors.js";

export { enumName };

/** JSON with bigints as decimal strings (exact; JSON numbers are doubles). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2);
}

export function amount(value: bigint, decimals: number): string {
  return formatUnits(value, decimals);
}

/** A decimal amount of a token, e.g. "2.5" → 2 500 000 for 6 decimals; `flag` names the flag in the error. */
export function parseAmount(text: string, decimals: number, flag: string, opts: { allowZero?: boolean } = {}): bigint {
  if (!/^\d+(\.\d+)?$/.test(text.trim())) throw usage(`${flag}: "${text}" is not a decimal amount (e.g. 2.5)`);
  const [, frac = ""] = text.trim().split(".");
  if (frac.length > decimals) throw usage(`${flag}: "${text}" has more than ${decimals} decimals`);
  const v = parseUnits(text.trim(), decimals);
  if (v === 0n && !opts.allowZero) throw usage(`${flag}: must be above zero`);
  return v;
}

export function parseInteger(text: string, flag: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim())) throw usage(`${flag}: "${text}" is not a whole number`);
  const v = Number(text.trim());
  if (!Number.isSafeInteger(v) || v < min || v > max) throw usage(`${flag}: ${text} is outside ${min}‥${max}`);
  return v;
}

export function parseId(text: string, flag: string): bigint {
  if (!/^\d+$/.test(text.trim())) throw usage(`${flag}: "${text}" is not an id (a whole number)`);
  const v = BigInt(text.trim());
  if (v < 1n || v >= 1n << 64n) throw usage(`${flag}: ${text} is outside 1‥2^64-1`);
  return v;
}

/** A percentage like "95" or "99.5" or "95%" as basis points (0‥10 000). */
export function parsePercentBps(text: string, flag: string): number {
  const t = text.trim().replace(/%$/, "");
  if (!/^\d+(\.\d{1,2})?$/.test(t)) throw usage(`${flag}: "${text}" is not a percentage with at most two decimals (e.g. 95 or 99.5)`);
  const [whole, frac = ""] = t.split(".");
  const bps = Number(whole) * 100 + Number(frac.padEnd(2, "0"));
  if (bps > 10_000) throw usage(`${flag}: ${text} is above 100%`);
  return bps;
}

export const percent = (bps: number): string => `${(bps / 100).toFixed(2).replace(/\.?0+$/, "")}%`;

export function regionName(region: number): string {
  return REGIONS.find((r) => r.id === region)?.name ?? `region-${region}`;
}

export function zoneName(zone: number): string {
  return `${regionName(zone >> 8)}-${zone & 0xff}`;
}

/** A zone: "<region name>-<n>" (e.g. us-east-1) or a number (decimal or 0x hex). */
export function parseZone(text: string, flag: string): number {
  const t = text.trim().toLowerCase();
  let zone: number;
  const m = /^([a-z][a-z-]*[a-z])-(\d+)$/.exec(t);
  if (m !== null) {
    const region = REGIONS.find((r) => r.name === m[1]);
    if (region === undefined) throw usage(`${flag}: unknown region "${m[1]}" (known: ${REGIONS.map((r) => r.name).join(", ")})`);
    zone = (region.id << 8) | Number(m[2]);
  } else if (/^(0x[0-9a-f]+|\d+)$/.test(t)) {
    zone = Number(t);
  } else {
    throw usage(`${flag}: "${text}" is not a zone (e.g. us-east-1, or a number)`);
  }
  if (!Number.isSafeInteger(zone) || zone < 0 || zone > 0xffff || (zone & 0xff) === 0 || zone >> 8 > 63) {
    throw usage(`${flag}: ${text} is not a valid zone (region 0‥63, local zone 1‥255)`);
  }
  return zone;
}

/** A comma-separated list of region names or numbers as the order's 64-bit region mask. */
export function parseRegions(text: string, flag: string): bigint {
  let mask = 0n;
  for (const part of text.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s.length > 0)) {
    const byName = REGIONS.find((r) => r.name === part);
    const id = byName?.id ?? (/^\d+$/.test(part) ? Number(part) : NaN);
    if (!Number.isInteger(id) || id < 0 || id > 63) throw usage(`${flag}: unknown region "${part}" (known: ${REGIONS.map((r) => r.name).join(", ")}, or 0‥63)`);
    mask |= 1n << BigInt(id);
  }
  if (mask === 0n) throw usage(`${flag}: give at least one region`);
  return mask;
}

export function regionsOfMask(mask: bigint): string[] {
  if (mask === 0n) return ["any"];
  const out: string[] = [];
  for (let r = 0; r < 64; r++) if ((mask >> BigInt(r)) & 1n) out.push(regionName(r));
  return out;
}

const TIERS: readonly Tier[] = enumValues(Tier);
export const tierName = (t: number): string => enumName(Tier, t, `tier-${t}`);

export function parseTier(text: string, flag: string): Tier {
  const name = text.trim().toLowerCase();
  const tier = TIERS.find((t) => tierName(t) === name);
  if (tier === undefined) throw usage(`${flag}: "${text}" is not a tier (${TIERS.map(tierName).join(", ")})`);
  return tier;
}

/** Left-aligned columns for text tables. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}
