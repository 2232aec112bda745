/**
 * `npm run operator` and `npm run aggregator` go through scripts/run.sh, which asks deploy/compile-js.ts for the
 * node flags and the compiled entry (one per line) and starts `node <flags> <entry> <arguments>`. A `node` first on
 * PATH records each invocation and hands over to the real one, so the test sees the exact command line.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { NODE_FLAGS } from "../../deploy/compile-js.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

interface ScriptRun {
  code: number;
  stderr: string;
  /** Every node command line run.sh started, arguments one per line, invocations separated by "--- node". */
  invocations: string[][];
}

async function runScript(dir: string, args: string[]): Promise<ScriptRun> {
  const log = join(dir, "node-invocations.txt");
  await writeFile(log, "");
  const wrapper = join(dir, "node");
  await writeFile(wrapper, `#!/bin/sh\n{ echo "--- node"; printf '%s\\n' "$@"; } >> '${log}'\nexec '${process.execPath}' "$@"\n`);
  await chmod(wrapper, 0o755);
  const { code, stderr } = await new Promise<{ code: number; stderr: string }>((done) => {
    execFile("sh", [join(root, "scripts/run.sh"), ...args], { cwd: root, env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } }, (err, _out, stderr) =>
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr }),
    );
  });
  const invocations = (await readFile(log, "utf8"))
    .split("--- node\n")
    .filter((s) => s.length > 0)
    .map((s) => s.replace(/\n$/, "").split("\n"));
  return { code, stderr, invocations };
}

describe("npm run operator / aggregator (scripts/run.sh → compiled JavaScript)", function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), "matchnet-launch-"))));
  after(async () => rm(dir, { recursive: true, force: true }));

  for (const kind of ["operator", "aggregator"] as const) {
    it(`given ${kind} and a config path with a space → it should start node with NODE_FLAGS.${kind}, the compiled entry and the arguments unsplit, and report the missing file`, async () => {
      const config = join(dir, "no such dir", `${kind}.json`);
      const run = await runScript(dir, [kind, "--config", config]);
      const entry = join(root, ".cache/js", kind, "main.js");
      const started = run.invocations.find((argv) => argv.includes(entry));
      expect(started, `no node invocation of ${entry} among:\n${run.invocations.map((a) => a.join(" ")).join("\n")}`).to.not.equal(undefined);
      expect(started).to.deep.equal([...NODE_FLAGS[kind], entry, "--config", config]);
      expect(run.code).to.not.equal(0);
      expect(run.stderr).to.contain(`cannot read config ${config}`);
    });
  }
});
