/**
 * A throwaway PostgreSQL cluster for the explorer's PostgreSQL tests: Debian's server binaries
 * (/usr/lib/postgresql/<version>/bin, installed by .ci/run), `initdb` into a temp dir, `pg_ctl start` listening only
 * on a unix socket in that dir (no TCP port to collide with), password authentication for the one role. Run as an
 * unprivileged user when the tests run as root (initdb refuses root). `stop()` stops the server and removes the dir;
 * a process that exits without calling it stops the server on its way out.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

const PG_ROOT = "/usr/lib/postgresql";

/** The newest installed server's bin dir; throws (never skips) when the binaries are absent. */
export function postgresBinDir(root = PG_ROOT): string {
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, "bin", "initdb")) && existsSync(join(root, v, "bin", "pg_ctl")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(`PostgreSQL server binaries not found (${root}/*/bin/initdb and pg_ctl): install Debian's postgresql package (.ci/run does: apt-get install postgresql)`);
  }
  return join(root, versions[0]!, "bin");
}

export interface PostgresCluster {
  /** The socket directory (the URL's ?host=). */
  socketDir: string;
  user: string;
  password: string;
  /** postgres:// URL of `database` with the password. */
  url(database: string, opts?: { password?: string }): string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): void;
}

/** uid/gid of the unprivileged account initdb and the server run as when the tests run as root. */
function unprivileged(): { uid: number; gid: number; name: string } | null {
  if (process.getuid?.() !== 0) return null;
  for (const name of ["postgres", "nobody"]) {
    const r = spawnSync("id", ["-u", name], { encoding: "utf8" });
    if (r.status === 0) {
      const gid = Number(spawnSync("id", ["-g", name], { encoding: "utf8" }).stdout.trim());
      return { uid: Number(r.stdout.trim()), gid, name };
    }
  }
  throw new Error("running as root and neither a postgres nor a nobody account exists to run initdb as (initdb refuses root)");
}

export function startPostgresCluster(): PostgresCluster {
  const bin = postgresBinDir();
  const as = unprivileged();
  const dir = mkdtempSync(join(tmpdir(), "matchnet-pg-"));
  const data = join(dir, "data");
  const user = "matchnet";
  // A password with characters that need URL encoding: the tests check it never shows up in output.
  const password = `pw-${randomBytes(9).toString("base64url")}/+@secret`;
  const run = (cmd: string, args: string[]) => {
    const argv = as === null ? [cmd, ...args] : ["runuser", "-u", as.name, "--", cmd, ...args];
    const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", cwd: dir });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`);
  };
  let started = false;
  const stop = () => {
    process.off("exit", stop);
    if (started) {
      started = false;
      const argv = [join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"];
      spawnSync(as === null ? argv[0]! : "runuser", as === null ? argv.slice(1) : ["-u", as.name, "--", ...argv], { stdio: "ignore" });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("exit", stop);
  try {
    const pwfile = join(dir, "pwfile");
    writeFileSync(pwfile, password + "\n", { mode: 0o600 });
    if (as !== null) {
      chownSync(dir, as.uid, as.gid);
      chownSync(pwfile, as.uid, as.gid);
    }
    run(join(bin, "initdb"), ["-D", data, "-U", user, `--pwfile=${pwfile}`, "--auth=scram-sha-256", "--locale=C", "-E", "UTF8", "--no-sync"]);
    rmSync(pwfile);
    // Unix socket in the temp dir only; fsync off: a throwaway cluster.
    run(join(bin, "pg_ctl"), ["-D", data, "-l", join(dir, "server.log"), "-w", "-t", "60", "-o", `-c listen_addresses='' -k ${dir} -c fsync=off -c max_connections=100`, "start"]);
    started = true;
  } catch (err) {
    stop();
    throw err;
  }
  const url = (database: string, opts: { password?: string } = {}) =>
    `postgresql://${user}:${encodeURIComponent(opts.password ?? password)}@localhost/${database}?host=${encodeURIComponent(dir)}`;
  return {
    socketDir: dir,
    user,
    password,
    url,
    async createDatabase(name: string) {
      const c = new pg.Client({ connectionString: url("postgres") });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      return url(name);
    },
    stop,
  };
}
