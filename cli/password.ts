/**
 * Passwords and secrets come from, in this order: --password-file (first line), the MATCHNET_PASSWORD environment
 * variable, or a prompt on the terminal that does not echo. Never from a flag's value (it would sit in the shell's
 * history and in `ps`), never printed.
 */
import { readFile } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import { CliError } from "./errors.js";
import type { CliIo } from "./io.js";

export const PASSWORD_ENV = "MATCHNET_PASSWORD";

export async function readPassword(io: CliIo, opts: { file?: string; what: string; confirm?: boolean }): Promise<string> {
  if (opts.file !== undefined) {
    const path = isAbsolute(opts.file) ? opts.file : resolve(io.cwd, opts.file);
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      throw new CliError("PASSWORD", `--password-file: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    const line = text.split(/\r?\n/)[0] ?? "";
    if (line === "") throw new CliError("PASSWORD", `--password-file: ${path} is empty`);
    return line;
  }
  const env = io.env[PASSWORD_ENV];
  if (env !== undefined && env !== "") return env;
  if (io.readSecret === undefined) {
    throw new CliError("PASSWORD", `no ${opts.what}: give --password-file <file>, set ${PASSWORD_ENV}, or run in a terminal to be asked`);
  }
  const first = await io.readSecret(`${opts.what[0]!.toUpperCase()}${opts.what.slice(1)}: `);
  if (first === "") throw new CliError("PASSWORD", `empty ${opts.what}`);
  if (opts.confirm) {
    const again = await io.readSecret("Repeat it: ");
    if (again !== first) throw new CliError("PASSWORD", "the two passwords differ; nothing was written");
  }
  return first;
}

/** Reads a line from a terminal without echoing it (raw mode; Backspace and Ctrl-C handled). */
export function promptHidden(prompt: string, input: NodeJS.ReadStream, output: NodeJS.WriteStream): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    output.write(prompt);
    let value = "";
    const wasRaw = input.isRaw;
    input.setRawMode(true);
    input.resume();
    input.setEncoding("utf8");
    const done = (err?: Error) => {
      input.setRawMode(wasRaw);
      input.pause();
      input.removeListener("data", onData);
      output.write("\n");
      if (err) reject(err);
      else resolvePromise(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003") return done(new CliError("DECLINED", "interrupted"));
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else value += ch;
      }
    };
    input.on("data", onData);
  });
}
