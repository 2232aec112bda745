/**
 * What a stop test asserts about the processes of a run: which are alive, which still mention the run in their
 * command line (read from /proc, so that a child nobody printed is found too), and a launcher that drives a command
 * inside a real pseudo-terminal (python's pty module), where Ctrl-C is the terminal's SIGINT to the whole foreground
 * process group. No side effects at import.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { createServer } from "node:net";

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids (other than this test's own) whose command line contains `needle`, zombies excluded. */
export async function pidsMentioning(needle: string): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, "utf8")).replace(/\0/g, " ");
      if (!cmdline.includes(needle)) continue;
      const state = /^State:\s+(\S)/m.exec(await readFile(`/proc/${entry}/status`, "utf8"))?.[1];
      if (state !== "Z") out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Resolves once none of `pids` is alive, or rejects naming the survivors after `timeoutMs`. */
export async function waitGone(pids: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = pids.filter(alive);
    if (left.length === 0) return;
    if (Date.now() > deadline) throw new Error(`processes still alive after ${timeoutMs} ms: ${left.join(", ")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** True when nothing listens on host:port. */
export function portIsFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

// The pty driver: runs argv in a new session whose controlling terminal is a pty, copies the terminal's output to
// stdout, and writes the terminal's interrupt character (^C) when a line "ctrl-c" arrives on stdin. Exits with the
// command's exit status (128 + signal when it was killed).
const PTY_DRIVER = `
import os, pty, select, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
buf = b""
while True:
    r, _, _ = select.select([fd, 0], [], [])
    if fd in r:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if not data:
            break
        sys.stdout.buffer.write(data); sys.stdout.flush()
    if 0 in r:
        line = sys.stdin.buffer.readline()
        if line.strip() == b"ctrl-c":
            os.write(fd, b"\\x03")
_, status = os.waitpid(pid, 0)
sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
`;

/** `argv` started in a pseudo-terminal; `ctrlC()` types Ctrl-C into it. */
export function spawnInPty(argv: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): { child: ChildProcess; ctrlC(): void } {
  const child = spawn("python3", ["-c", PTY_DRIVER, ...argv], { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
  return { child, ctrlC: () => child.stdin!.write("ctrl-c\n") };
}
