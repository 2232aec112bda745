/**
 * What a command touches outside itself, passed in so that tests run the real commands in-process against Hardhat's
 * in-process network (a viem transport over its EIP-1193 provider) and capture stdout and stderr; `main.ts` wires
 * the process's own streams, environment and terminal.
 */
import type { Transport } from "viem";

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Whether stderr is a terminal (progress lines) and stdin can prompt. */
  isTTY: boolean;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Reads a line without echoing it (password and private-key prompts). Absent: no terminal to ask. */
  readSecret?: (prompt: string) => Promise<string>;
  /** Asks a yes/no question. Absent: no terminal to ask. */
  confirm?: (question: string) => Promise<boolean>;
  /** Replaces the HTTP transport to --rpc (tests: Hardhat's in-process network). */
  transport?: Transport;
}

/** Collects everything a command printed (tests and the in-process runner). */
export class CapturedIo implements CliIo {
  out = "";
  err = "";
  isTTY = false;
  constructor(
    readonly env: Record<string, string | undefined> = {},
    readonly cwd: string = process.cwd(),
    readonly transport?: Transport,
    readonly answers: { secrets?: string[]; confirm?: boolean[] } = {},
  ) {
    if (answers.secrets !== undefined) this.readSecret = async () => {
      const next = answers.secrets!.shift();
      if (next === undefined) throw new Error("test: no more secrets to answer");
      return next;
    };
    if (answers.confirm !== undefined) this.confirm = async () => {
      const next = answers.confirm!.shift();
      if (next === undefined) throw new Error("test: no more confirmations to answer");
      return next;
    };
  }
  readSecret?: (prompt: string) => Promise<string>;
  confirm?: (question: string) => Promise<boolean>;
  stdout(text: string): void {
    this.out += text;
  }
  stderr(text: string): void {
    this.err += text;
  }
}
