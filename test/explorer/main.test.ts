import { expect } from "chai";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { createServer, type AddressInfo, type Server } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DEPLOYMENT_VERSION } from "../../protocol/chain/deployment.js";
import { makeTempDir } from "../support/tempdir.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Runs `npm run explorer -- …`'s entry (tsx explorer/main.ts) and returns its exit code and output. */
function explorer(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((done) => {
    execFile(resolve(root, "node_modules/.bin/tsx"), ["explorer/main.ts", ...args], { cwd: root, timeout: 60_000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      done({ code: err === null ? 0 : ((err as { code?: number }).code ?? null), stderr, stdout });
    });
  });
}

describe("npm run explorer (CLI)", () => {
  it("given an --rpc that is not an http(s) URL → it should exit 1 naming the flag", async () => {
    const r = await explorer(["--rpc", "ws://127.0.0.1:8545", "--deployment", "deployment.json"]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('--rpc must be an http(s) URL, not "ws://127.0.0.1:8545"');
  });

  it("given a --port above 65535 → it should exit 1 naming the flag", async () => {
    const r = await explorer(["--rpc", "http://127.0.0.1:8545", "--deployment", "deployment.json", "--port", "65536"]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include("--port must be an integer in 0‥65535");
  });

  it("given a deployment file that does not exist → it should exit 1 naming the file", async () => {
    const missing = resolve(root, "no-such-dir/deployment.json");
    const r = await explorer(["--rpc", "http://127.0.0.1:1", "--deployment", missing, "--db", resolve(root, "no-such-dir/index.sqlite")]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include(missing);
  });

  describe("given a PostgreSQL index", () => {
    /** A deployment file in the right format (the database is opened before the chain is asked anything). */
    async function deployment(): Promise<{ file: string; remove(): Promise<void> }> {
      const dir = await makeTempDir("explorer-cli");
      const file = join(dir.path, "deployment.json");
      const a = (n: number) => `0x${n.toString(16).padStart(40, "0")}`;
      await writeFile(file, JSON.stringify({
        version: DEPLOYMENT_VERSION, chainId: 31337, deployBlock: 1,
        contracts: { paymentToken: a(1), stakeToken: a(2), catalog: a(3), providerRegistry: a(4), offerBook: a(5), marketplace: a(6) },
      }));
      return { file, remove: dir.remove };
    }

    it("given a malformed database URL → it should exit 1 naming what was wrong, without printing the URL", async () => {
      const r = await explorer(["--rpc", "http://127.0.0.1:1", "--deployment", "deployment.json", "--database-url", "postgres://me:hunter2@host:notaport/db"]);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.include("the PostgreSQL URL is malformed");
      expect(r.stderr + r.stdout).to.not.include("hunter2");
    });

    it("given --database-url that is not a postgres:// URL, or both --db and --database-url → it should exit 1 naming the flags", async () => {
      const notPg = await explorer(["--rpc", "http://127.0.0.1:1", "--deployment", "deployment.json", "--database-url", "mysql://x/y"]);
      expect(notPg.code).to.equal(1);
      expect(notPg.stderr).to.include("--database-url must be a postgres:// or postgresql:// URL");
      const both = await explorer(["--rpc", "http://127.0.0.1:1", "--deployment", "deployment.json", "--db", "x.sqlite", "--database-url", "postgres://h/db"]);
      expect(both.code).to.equal(1);
      expect(both.stderr).to.include("give either --db or --database-url, not both");
    });

    it("given a server that does not listen (TCP or unix socket) → it should exit 3 naming the server and database, never the password", async () => {
      const d = await deployment();
      try {
        const tcp = await explorer(["--rpc", "http://127.0.0.1:1", "--deployment", d.file], { MATCHNET_EXPLORER_DATABASE_URL: "postgresql://explorer:s3cret-pw@127.0.0.1:1/matchnet" });
        expect(tcp.code, tcp.stderr).to.equal(3);
        expect(tcp.stderr).to.include("cannot use PostgreSQL at postgres://explorer@127.0.0.1:1/matchnet: connect ECONNREFUSED");
        expect(tcp.stderr + tcp.stdout).to.not.include("s3cret-pw");
        const socket = await explorer(["--rpc", "http://127.0.0.1:1", "--deployment", d.file], { MATCHNET_EXPLORER_DATABASE_URL: "postgres://explorer:s3cret-pw@/matchnet?host=/nonexistent-socket-dir" });
        expect(socket.code, socket.stderr).to.equal(3);
        expect(socket.stderr).to.include("cannot use PostgreSQL at postgres://explorer@/nonexistent-socket-dir/matchnet");
        expect(socket.stderr + socket.stdout).to.not.include("s3cret-pw");
      } finally {
        await d.remove();
      }
    });
  });

  it("given an --operator-api that is not <operator>=<http(s) url> → it should exit 1 naming the flag", async () => {
    const r = await explorer(["--rpc", "http://127.0.0.1:1", "--deployment", "deployment.json", "--operator-api", "0x12=http://x"]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include("--operator-api takes <operator id or address>=<url>");
    const ws = await explorer(["--rpc", "http://127.0.0.1:1", "--deployment", "deployment.json", "--operator-api", `0x${"ab".repeat(20)}=ws://127.0.0.1:9`]);
    expect(ws.code).to.equal(1);
    expect(ws.stderr).to.include("the node API URL must be http(s), not ws://");
  });

  describe("given a --port another process listens on", () => {
    /** A TCP server on 127.0.0.1 holding a port, as another explorer or devnet would. */
    async function holdPort(): Promise<{ server: Server; port: number }> {
      const server = createServer();
      await new Promise<void>((done) => server.listen(0, "127.0.0.1", () => done()));
      return { server, port: (server.address() as AddressInfo).port };
    }

    it("→ it should exit 1 naming --port, the address and what to do, with no stack and no index file left", async () => {
      const { server, port } = await holdPort();
      const dir = await makeTempDir("explorer-port");
      try {
        const db = join(dir.path, "index.sqlite");
        const r = await explorer(["--rpc", "http://127.0.0.1:1", "--deployment", join(dir.path, "deployment.json"), "--db", db, "--port", String(port)]);
        expect(r.code, r.stderr).to.equal(1);
        expect(r.stderr).to.include(`--port ${port}: 127.0.0.1:${port} is already in use by another process`);
        expect(r.stderr).to.include("pick a free port with --port (0: any free port)");
        expect(r.stderr).to.not.match(/\n\s+at /);
        expect(existsSync(db)).to.equal(false);
      } finally {
        server.close();
        await dir.remove();
      }
    });

    it("given a port nobody holds → it should get past the port check and fail on the next thing (the missing deployment file)", async () => {
      const { server, port } = await holdPort();
      await new Promise<void>((done) => server.close(() => done())); // free again
      const dir = await makeTempDir("explorer-port");
      try {
        const missing = join(dir.path, "deployment.json");
        const r = await explorer(["--rpc", "http://127.0.0.1:1", "--deployment", missing, "--db", join(dir.path, "index.sqlite"), "--port", String(port)]);
        expect(r.code).to.equal(1);
        expect(r.stderr).to.not.include("already in use");
        expect(r.stderr).to.include(missing);
      } finally {
        await dir.remove();
      }
    });
  });
});
