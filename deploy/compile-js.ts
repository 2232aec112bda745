/**
 * Plain JavaScript for the long-running processes. `tsx` compiles each TypeScript module as it is loaded and keeps
 * what it compiled; an operator under tsx held ≈ 30 MB more than the same modules loaded as JavaScript, and took
 * ≈ 1.3 s longer to load them (measured here: 174 → 144 MB resident after loading, 1 454 → 223 ms). So `npm run
 * devnet`, `npm run operator` and `npm run aggregator` run the node code transpiled into `.cache/js/` by the
 * TypeScript compiler already in devDependencies (`transpileModule`: syntax only, no type check — `npm run
 * typecheck` and the tests do that), at every start, for each source newer than its output (a checkout or an edit
 * makes the source newer), so it is never stale and a warm start costs a few stat calls.
 *
 * The tree mirrors the repository (`.cache/js/operator/main.js` imports `../protocol/...` as the sources do);
 * packages resolve from the repository's node_modules, which is an ancestor directory. JSON data the sources import
 * (the GPU catalog) is copied beside them. A copy of package.json at the root of the tree keeps `"type": "module"`
 * and lets `operator/main` read its version as it does from source.
 */
import { copyFile, mkdir, readdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type ts from "typescript";

/** The source folders the operator, aggregator and provider agent processes load code from. */
const SOURCE_DIRS = ["protocol", "operator", "aggregator", "agent"];

export interface CompiledTree {
  outDir: string;
  /** Sources in the tree (TypeScript and JSON), and how many of them were transpiled or copied now (the others were up to date). */
  files: number;
  compiled: number;
}

/** `onProgress(done, total)` is called every 50 files transpiled or copied (a cold transpile of the tree takes tens of seconds). */
export async function compileJs(root: string, outDir = join(root, ".cache", "js"), onProgress?: (done: number, total: number) => void): Promise<CompiledTree> {
  const sources = (await Promise.all(SOURCE_DIRS.map((d) => sourceFiles(join(root, d))))).flat().sort();
  let compiled = 0;
  let tsc: typeof ts | undefined;
  for (const file of sources) {
    const target = join(outDir, relative(root, file)).replace(/\.ts$/, ".js");
    const built = await stat(target).catch(() => null);
    if (built !== null && built.mtimeMs >= (await stat(file)).mtimeMs) continue;
    const text = await readFile(file, "utf8");
    // JSON data is copied as it is; a module is transpiled (the compiler, a large module, loaded only when needed).
    const output = file.endsWith(".json") ? text : transpile(root, file, text, (tsc ??= (await import("typescript")).default));
    await mkdir(dirname(target), { recursive: true });
    // Written aside and renamed: a process starting meanwhile (another devnet, a test) never loads half a file.
    const temp = `${target}.${process.pid}.tmp`;
    await writeFile(temp, output);
    await rename(temp, target);
    compiled++;
    if (compiled % 50 === 0) onProgress?.(compiled, sources.length);
  }
  const pkgTemp = join(outDir, `package.json.${process.pid}.tmp`);
  await copyFile(join(root, "package.json"), pkgTemp);
  await rename(pkgTemp, join(outDir, "package.json"));
  return { outDir, files: sources.length, compiled };
}

/** `text` as JavaScript (syntax only, no type check); a syntax error names the file. */
function transpile(root: string, file: string, text: string, tsc: typeof ts): string {
  const out = tsc.transpileModule(text, {
    fileName: file,
    compilerOptions: {
      target: tsc.ScriptTarget.ES2023,
      module: tsc.ModuleKind.ESNext,
      sourceMap: false,
      esModuleInterop: true,
    },
    reportDiagnostics: true,
  });
  const errors = (out.diagnostics ?? []).filter((d) => d.category === tsc.DiagnosticCategory.Error);
  if (errors.length > 0) {
    throw new Error(`${relative(root, file)}: ${tsc.flattenDiagnosticMessageText(errors[0]!.messageText, "\n")}`);
  }
  return out.outputText;
}

/**
 * Node flags per process kind, measured on the devnet (docs/operator.md, "What remains for the node", item 2):
 * - `--max-semi-space-size=1`: a 1 MB young-generation semi-space (V8's default grows to 16 MB on 64-bit). The
 *   operator allocates little and rarely, so the more frequent scavenges cost nothing measurable; ≈ 25 MB less.
 * - `--heap-growing-percent=20`: after each full GC V8 lets the old generation grow to 1.2 × what survived before
 *   the next one, instead of its default factor of up to 4. Short-lived objects promoted by the small semi-space then
 *   no longer pile up: without it the operator's heap grew from 58 to 95 MB over 80 batches and its resident set
 *   to 210 MB; with it the heap stays at 47–53 MB and the resident set at 139 MB after 120 batches. It is a growth
 *   factor, not a cap: a batch that needs more memory still gets it.
 * scripts/run.sh starts `npm run operator` with these flags (printed by this file's command line).
 */
export const NODE_FLAGS: Record<"operator" | "aggregator", string[]> = {
  operator: ["--max-semi-space-size=1", "--heap-growing-percent=20"],
  aggregator: [],
};

/** The entry of a process kind inside a compiled tree. */
export function compiledEntry(tree: CompiledTree, kind: "operator" | "aggregator" | "agent"): string {
  return join(tree.outDir, kind, "main.js");
}

/** The TypeScript modules (declaration files left out) and JSON data files below `dir`. */
async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(path)));
    else if ((entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) || entry.name.endsWith(".json")) out.push(path);
  }
  return out;
}

// `tsx deploy/compile-js.ts <operator|aggregator>`: compile, then print the node flags and the entry, one per line
// (scripts/run.sh starts `node <those lines> <its own arguments>`).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const kind = process.argv[2];
  if (kind !== "operator" && kind !== "aggregator") {
    process.stderr.write("usage: tsx deploy/compile-js.ts operator|aggregator\n");
    process.exit(2);
  }
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  const entry = compiledEntry(await compileJs(root), kind);
  process.stdout.write(`${[...NODE_FLAGS[kind], entry].join("\n")}\n`);
}
