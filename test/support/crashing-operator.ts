/**
 * The operator process with a crash injected, for the crash-safety test in test/e2e/network.test.ts:
 *   node --import tsx test/support/crashing-operator.ts --crash-after-sign-batch <b> --config <file>
 * runs operator/main.ts's `main` with an `afterSign` hook that kills the process with SIGKILL right after it stores
 * a fresh result signature for batch b or a later one, before gossiping it ("or later" because a node may sit a
 * batch out, e.g. when it missed the seed). The production entry has no such hook.
 */
import { pathToFileURL } from "node:url";
import { main } from "../../operator/main.js";

const FLAG = "--crash-after-sign-batch";

/** Splits the crash flag off the operator's own flags; throws on a missing or malformed batch number. */
export function parseCrashFlag(argv: string[]): { crashAfter: bigint; rest: string[] } {
  const at = argv.indexOf(FLAG);
  const value = at < 0 ? undefined : argv[at + 1];
  if (value === undefined || !/^\d+$/.test(value)) throw new Error(`${FLAG} <batch> is required (a decimal batch number), got ${value ?? "nothing"}`);
  return { crashAfter: BigInt(value), rest: [...argv.slice(0, at), ...argv.slice(at + 2)] };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { crashAfter, rest } = parseCrashFlag(process.argv.slice(2));
  const afterSign = (batch: bigint) => {
    if (batch < crashAfter) return;
    process.stdout.write(JSON.stringify({ level: 40, time: Date.now(), event: "crash_hook", batch: batch.toString(), msg: "crash hook: killing this process after storing the signature, before gossip" }) + "\n");
    process.kill(process.pid, "SIGKILL");
  };
  main(rest, { afterSign }).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`crashing-operator: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
