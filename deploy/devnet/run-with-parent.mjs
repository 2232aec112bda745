// Runs a program that cannot watch its parent itself (anvil, a native binary) as a child of this small Node process,
// in the same process group: when this process's parent pid changes — the devnet was killed with SIGKILL, which it
// cannot trap — the program gets SIGTERM, as the devnet's own stop would send it (supervisor.ts signals the whole
// group). Signals sent to this process are passed on; it exits with the program's code. Plain JavaScript: no loader.
import { spawn } from "node:child_process";

const [command, ...args] = process.argv.slice(2);
if (command === undefined) {
  process.stderr.write("run-with-parent: usage: node run-with-parent.mjs <command> [args]\n");
  process.exit(2);
}
const child = spawn(command, args, { stdio: "inherit" });
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(signal, () => child.kill(signal));
child.on("error", (err) => {
  process.stderr.write(`run-with-parent: ${command}: ${err.message}\n`);
  process.exit(127);
});
child.on("exit", (code, signal) => process.exit(code ?? (signal === null ? 1 : 128)));
const parent = process.ppid;
if (parent > 1) {
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      child.kill("SIGTERM");
    }
  }, 500);
  timer.unref();
}
