/**
 * Child process for the crash-safety test: opens the slashing-protection store at argv[2], records or signs
 * (argv[3] = "insert" | "sign") the message hash argv[4] for batch 7 of a fixed operator, prints "done", and then
 * waits to be killed with SIGKILL. Runs only as an entry point (the test runner imports every file under test/).
 */
import { pathToFileURL } from "node:url";
import type { Hex } from "viem";
import { LevelDbController } from "../../protocol/db/controller.js";
import { silentLogger } from "../../protocol/log/logger.js";
import { SigningDuty, SlashingProtection } from "../../operator/slashing-protection/slashingProtection.js";
import { g1Multiple } from "./g1.js";

export const CHILD_OPERATOR: Hex = `0x${"ab".repeat(32)}`;
export const CHILD_BATCH = 7n;
export const CHILD_SIGNATURE = 11n;

async function main(): Promise<void> {
  const [path, mode, hash] = process.argv.slice(2) as [string, string, Hex];
  const db = await LevelDbController.open({ path });
  const sp = new SlashingProtection({}, { db, logger: silentLogger(), metrics: null });
  const key = { operatorId: CHILD_OPERATOR, batch: CHILD_BATCH };
  if (mode === "insert") await sp.checkAndInsert(SigningDuty.Result, key, hash);
  else await sp.sign(SigningDuty.Result, key, hash, () => g1Multiple(CHILD_SIGNATURE));
  process.stdout.write("done\n");
  setInterval(() => {}, 60_000);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  });
}
