#!/usr/bin/env node
/** The `matchnet` executable: wires the process's streams, environment and terminal to `run` (program.ts). */
import { createInterface } from "node:readline/promises";
import { run } from "./program.js";
import { promptHidden } from "./password.js";
import type { CliIo } from "./io.js";

const interactive = process.stdin.isTTY === true && process.stderr.isTTY === true;
const io: CliIo = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  isTTY: process.stderr.isTTY === true,
  env: process.env,
  cwd: process.cwd(),
  ...(interactive
    ? {
        readSecret: (prompt: string) => promptHidden(prompt, process.stdin, process.stderr),
        confirm: async (question: string) => {
          const rl = createInterface({ input: process.stdin, output: process.stderr });
          try {
            return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
          } finally {
            rl.close();
          }
        },
      }
    : {}),
};

const code = await run(process.argv.slice(2), io);
// Let stdout drain (a pipe may be slower than us) before leaving with the code.
process.exitCode = code;
