/**
 * The explorer on PostgreSQL, against a real server: a throwaway cluster (test/support/postgres.ts, Debian's
 * binaries; .ci/run installs them) started before and removed after this file's tests. The indexer's cases run
 * exactly as on SQLite (test/support/explorer-indexer-cases.ts); the API must answer the same JSON as on SQLite for
 * the same chain; the CLI's database errors name the server, never the password, and exit with their codes.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { network } from "hardhat";
import pg from "pg";
import type { PublicClient } from "viem";
import { openIndex } from "../../explorer/db.js";
import { Indexer } from "../../explorer/indexer.js";
import { SCHEMA_VERSION } from "../../explorer/schema.js";
import { startExplorer } from "../../explorer/server.js";
import { describeIndexerCases, recordingClientOf } from "../support/explorer-indexer-cases.js";
import { postgresBinDir, startPostgresCluster, type PostgresCluster } from "../support/postgres.js";
import { buildSubmission, deploySystem, orders, providerOffer, USD } from "../support/serviceManager.js";
import { makeTempDir } from "../support/tempdir.js";

const connection = await network.create();
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

describe("the PostgreSQL test cluster's binaries", () => {
  it("given a root with no complete server → it should throw naming the path and the package; given initdb and pg_ctl → it should find the newest", async () => {
    const dir = await makeTempDir("pg-bins");
    try {
      expect(() => postgresBinDir(dir.path)).to.throw(`PostgreSQL server binaries not found (${dir.path}/*/bin/initdb and pg_ctl): install Debian's postgresql package`);
      await mkdir(join(dir.path, "16", "bin"), { recursive: true });
      await writeFile(join(dir.path, "16", "bin", "initdb"), "");
      expect(() => postgresBinDir(dir.path), "initdb without pg_ctl").to.throw(/not found/);
      await writeFile(join(dir.path, "16", "bin", "pg_ctl"), "");
      for (const v of ["9", "15"]) {
        await mkdir(join(dir.path, v, "bin"), { recursive: true });
        for (const f of ["initdb", "pg_ctl"]) await writeFile(join(dir.path, v, "bin", f), "");
      }
      expect(postgresBinDir(dir.path)).to.equal(join(dir.path, "16", "bin"));
    } finally {
      await dir.remove();
    }
  });
});

describe("explorer on PostgreSQL (a throwaway cluster)", function () {
  this.timeout(180_000);
  let cluster: PostgresCluster | null = null;
  let databases = 0;

  before(function () {
    this.timeout(120_000);
    cluster = startPostgresCluster(); // throws, failing every test here, when the binaries are absent
  });

  after(() => {
    cluster?.stop();
    cluster = null;
  });

  function server(): PostgresCluster {
    if (cluster === null) throw new Error("no PostgreSQL cluster (see the before-all hook's error)");
    return cluster;
  }

  async function freshDatabase(): Promise<{ target: string; remove(): Promise<void> }> {
    databases += 1;
    const name = `explorer_${process.pid}_${databases}`;
    const target = await server().createDatabase(name);
    return {
      target,
      async remove() {
        const c = new pg.Client({ connectionString: server().url("postgres") });
        await c.connect();
        try {
          await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        } finally {
          await c.end();
        }
      },
    };
  }

  describeIndexerCases("PostgreSQL", {
    fresh: freshDatabase,
    async openWriter(target) {
      const index = await openIndex(target);
      await index.reader.close();
      return index.writer;
    },
  }, connection);

  describe("given the same chain indexed into SQLite and into PostgreSQL", () => {
    it("→ every API answer should be the same JSON on both", async () => {
      const s = await deploySystem(connection);
      const versionId = await providerOffer(s, 0);
      const ids = await orders(s, 4);
      await s.serviceManager.write.closeBatch();
      const sub = await buildSubmission(s, 1n, [
        { orderId: ids[0]!, offerVersionId: versionId, gpuCount: 2, pricePerGpuHour: 2n * USD },
        { orderId: ids[1]!, offerVersionId: versionId, gpuCount: 5, pricePerGpuHour: 2n * USD }, // skipped
        { orderId: ids[2]!, offerVersionId: versionId, gpuCount: 2, pricePerGpuHour: 2n * USD },
      ], { signers: s.ops.slice(1) });
      await s.serviceManager.write.submitResult(sub.args);
      const dir = await makeTempDir("explorer-same-json");
      const db = await freshDatabase();
      const start = (target: string) =>
        startExplorer({ rpc: "in-process", deployment: s.deployment, db: target, port: 0, pollIntervalMs: 60_000, client: s.publicClient as PublicClient });
      const lite = await start(join(dir.path, "index.sqlite"));
      const post = await start(db.target);
      try {
        expect(post.index).to.not.include(server().password);
        expect(post.indexer.indexedBlock).to.equal(lite.indexer.indexedBlock);
        const provider = s.wallets[5]!.account.address.toLowerCase();
        const renter = (await s.marketplace.read.getOrder([ids[0]!])).renter.toLowerCase();
        const paths = [
          "status", "market", "batches", "batches?limit=1", "batches/1", "batches/2", "orders", "orders?status=open",
          ...ids.map((id) => `orders/${id}`), "providers", `providers/${provider}`, "operators",
          ...s.ops.map((o) => `operators/${o.id}`), `operators/${s.ops[1]!.address}`, `renters/${renter}`,
          "search?q=1", `search?q=${provider}`, `search?q=${s.ops[2]!.id}`, "orders/999",
        ];
        for (const path of paths) {
          const [a, b] = await Promise.all([lite.url, post.url].map(async (base) => {
            const res = await fetch(`${base}api/${path}`);
            return { status: res.status, body: (await res.json()) as unknown };
          }));
          expect(b, path).to.deep.equal(a);
        }
        // The comparison is of real answers: the batch and an order carry the indexed data.
        const batch = (await (await fetch(`${post.url}api/batches/1`)).json()) as { applied: number; skippedAssignments: unknown[]; operators: unknown[] };
        expect(batch.applied).to.equal(2);
        expect(batch.skippedAssignments).to.deep.equal([{ order_id: Number(ids[1]!), reason: "GpuCountMismatch" }]);
        expect(batch.operators.length).to.equal(4);
      } finally {
        await post.stop();
        await lite.stop();
        await db.remove();
        await dir.remove();
      }
    });
  });

  describe("given `npm run explorer` pointed at PostgreSQL", () => {
    /** Runs explorer/main.ts; resolves with the exit code and both outputs once it exits or is stopped. */
    function explorer(args: string[], env: Record<string, string> = {}, stopWhen?: RegExp): Promise<{ code: number | null; out: string }> {
      return new Promise((done) => {
        const child = execFile(resolve(root, "node_modules/.bin/tsx"), ["explorer/main.ts", ...args], { cwd: root, timeout: 90_000, env: { ...process.env, ...env } }, (err) => {
          done({ code: err === null ? 0 : ((err as { code?: number }).code ?? null), out });
        });
        let out = "";
        const onData = (d: Buffer) => {
          out += d.toString();
          if (stopWhen !== undefined && stopWhen.test(out)) child.kill("SIGTERM");
        };
        child.stdout!.on("data", onData);
        child.stderr!.on("data", onData);
      });
    }

    async function deploymentFile(dir: string, d: unknown): Promise<string> {
      const file = join(dir, "deployment.json");
      await writeFile(file, JSON.stringify(d));
      return file;
    }

    it("→ a wrong password should exit 3 naming the server and database, never the password", async () => {
      const s = await deploySystem(connection);
      const dir = await makeTempDir("explorer-pg-cli");
      const db = await freshDatabase();
      try {
        const wrong = "not-the-password-4711";
        const url = server().url(db.target.split("/").pop()!.split("?")[0]!, { password: wrong });
        const r = await explorer(["--rpc", "http://127.0.0.1:1", "--deployment", await deploymentFile(dir.path, s.deployment)], { MATCHNET_EXPLORER_DATABASE_URL: url });
        expect(r.code, r.out).to.equal(3);
        expect(r.out).to.match(/cannot use PostgreSQL at postgres:\/\/matchnet@\S+\/explorer_\d+_\d+: password authentication failed/);
        expect(r.out).to.not.include(wrong);
        expect(r.out).to.not.include(encodeURIComponent(wrong));
      } finally {
        await db.remove();
        await dir.remove();
      }
    });

    it("→ an index of another schema version should exit 4 naming both versions", async () => {
      const s = await deploySystem(connection);
      const dir = await makeTempDir("explorer-pg-cli");
      const db = await freshDatabase();
      try {
        const index = await openIndex(db.target);
        const indexer = new Indexer(s.deployment, { client: recordingClientOf(connection).client, db: index.writer });
        await indexer.open();
        await index.writer.run("UPDATE meta SET value = ? WHERE key = 'schema_version'", [String(SCHEMA_VERSION + 1)]);
        await index.writer.close();
        await index.reader.close();
        const r = await explorer(["--rpc", "http://127.0.0.1:1", "--deployment", await deploymentFile(dir.path, s.deployment)], { MATCHNET_EXPLORER_DATABASE_URL: db.target });
        expect(r.code, r.out).to.equal(4);
        expect(r.out).to.include(`holds an index of schema version ${SCHEMA_VERSION + 1}; this explorer reads version ${SCHEMA_VERSION}`);
        expect(r.out).to.not.include(server().password);
      } finally {
        await db.remove();
        await dir.remove();
      }
    });

    it("→ a URL with a password on the command line should open the index, warn that ps shows it, and never print it", async () => {
      const s = await deploySystem(connection);
      await providerOffer(s, 0);
      await orders(s, 2);
      const dir = await makeTempDir("explorer-pg-cli");
      const db = await freshDatabase();
      // The index opens before the chain is asked: with an RPC that does not answer, the run creates the index, then
      // exits 1 naming the RPC.
      try {
        const r = await explorer(["--rpc", "http://127.0.0.1:1", "--deployment", await deploymentFile(dir.path, s.deployment), "--database-url", db.target]);
        expect(r.code, r.out).to.equal(1);
        expect(r.out).to.include("the database URL on the command line holds a password");
        expect(r.out).to.include("MATCHNET_EXPLORER_DATABASE_URL");
        expect(r.out).to.not.include(server().password);
        expect(r.out).to.not.include(encodeURIComponent(server().password));
        // The database checks passed: the index was created and is for this deployment.
        const c = new pg.Client({ connectionString: db.target });
        await c.connect();
        try {
          const meta = await c.query<{ key: string; value: string }>("SELECT key, value FROM meta WHERE key = 'chain_id'");
          expect(meta.rows).to.deep.equal([{ key: "chain_id", value: String(s.deployment.chainId) }]);
        } finally {
          await c.end();
        }
      } finally {
        await db.remove();
        await dir.remove();
      }
    });
  });
});
