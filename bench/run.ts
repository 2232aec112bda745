/**
 * `npm run bench`: runs every `bench/*.bench.ts` (or only those whose name contains an argument), each exporting
 * `default async function (): Promise<Record<string, number>>`, merges their figures into `bench/results.json`
 * (a flat object of named numbers, documented in bench/README.md) and prints them as a table. Figures of benches
 * that were not run this time are kept from the previous file, so one bench can be re-run alone.
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

type BenchFn = () => Promise<Record<string, number>>;

const here = dirname(fileURLToPath(import.meta.url));
const resultsPath = join(here, "results.json");
const filters = process.argv.slice(2);

const files = (await readdir(here))
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error(`bench: no bench/*.bench.ts matches ${filters.join(", ") || "(any)"}`);
  process.exit(2);
}

let previous: Record<string, number> = {};
try {
  previous = JSON.parse(await readFile(resultsPath, "utf8")) as Record<string, number>;
} catch {
  // no earlier results: start afresh
}

const fresh: Record<string, number> = {};
let failed = 0;
for (const file of files) {
  const started = performance.now();
  process.stderr.write(`bench: ${file} …\n`);
  try {
    const mod = (await import(pathToFileURL(join(here, file)).href)) as { default: BenchFn };
    const figures = await mod.default();
    for (const [key, value] of Object.entries(figures)) {
      if (typeof value !== "number" || !Number.isFinite(value)) throw new Error(`figure ${key} is not a finite number: ${value}`);
      fresh[key] = value;
    }
    process.stderr.write(`bench: ${file} done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  } catch (err) {
    failed++;
    console.error(`bench: ${file} failed:`, err);
  }
}

const merged = Object.fromEntries(Object.entries({ ...previous, ...fresh }).sort(([a], [b]) => a.localeCompare(b)));
await writeFile(resultsPath, JSON.stringify(merged, null, 2) + "\n");

const width = Math.max(...Object.keys(merged).map((k) => k.length));
console.log(`${"figure".padEnd(width)}  value`);
for (const [key, value] of Object.entries(merged)) {
  const mark = key in fresh ? " " : "*";
  console.log(`${key.padEnd(width)} ${mark}${Number.isInteger(value) ? value : value.toFixed(3)}`);
}
console.log(`(* = kept from an earlier run; written to ${resultsPath})`);
process.exit(failed === 0 ? 0 : 1);
