import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "chai";
import { stringify } from "yaml";
import {
  ConfigError,
  ConfigErrorCode,
  loadAggregatorConfig,
  loadOperatorConfig,
  parseConfig,
  readPasswordFile,
} from "../../protocol/config/load.js";
import { operatorConfigSchema } from "../../protocol/config/schema.js";
import { makeTempDir } from "../support/tempdir.js";

const PEER = "/ip4/127.0.0.1/tcp/9001/p2p/12D3KooWGzh9Bv3bxWq2ckgvtBgbFMsHo9VVyV6XWyFY9nmf5cAb";

const validOperator = () => ({
  rpcUrl: "http://127.0.0.1:8545",
  deploymentFile: "deployment.json",
  keystorePath: "keys/operator.json",
  passwordFile: "keys/password.txt",
  dataDir: "data",
  listen: "/ip4/0.0.0.0/tcp/9000",
  bootstrap: [PEER],
  api: { host: "127.0.0.1", port: 9010 },
  metrics: { host: "127.0.0.1", port: 9100 },
  logLevel: "debug",
});

function issuesOf(value: unknown): { path: string; message: string }[] {
  try {
    parseConfig("test.yaml", value, operatorConfigSchema);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    expect((err as ConfigError).code).to.equal(ConfigErrorCode.Invalid);
    return (err as ConfigError).issues;
  }
  expect.fail("expected the config to be refused");
}

describe("protocol/config", () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  beforeEach(async () => (dir = await makeTempDir("config")));
  afterEach(() => dir.remove());

  describe("given a valid operator config", () => {
    it("should load YAML, apply defaults and resolve relative paths against the file's directory", async () => {
      const file = join(dir.path, "operator.yaml");
      const { logLevel: _omitted, bootstrap: _b, ...rest } = validOperator();
      await writeFile(file, stringify(rest));
      const config = await loadOperatorConfig(file);
      expect(config.logLevel).to.equal("info");
      expect(config.bootstrap).to.deep.equal([]);
      expect(config.dataDir).to.equal(join(dir.path, "data"));
      expect(config.passwordFile).to.equal(join(dir.path, "keys/password.txt"));
      expect(config.api).to.deep.equal({ host: "127.0.0.1", port: 9010 });
    });

    it("should default rpcWaitMs to 30 s and health.maxBlocksBehind to 8, and accept each at its bounds", () => {
      const defaults = parseConfig("test.yaml", validOperator(), operatorConfigSchema);
      expect(defaults.rpcWaitMs).to.equal(30_000);
      expect(defaults.health).to.deep.equal({ maxBlocksBehind: 8 });
      for (const rpcWaitMs of [1_000, 1_001, 3_599_999, 3_600_000]) expect(parseConfig("test.yaml", { ...validOperator(), rpcWaitMs }, operatorConfigSchema).rpcWaitMs).to.equal(rpcWaitMs);
      for (const maxBlocksBehind of [0, 1]) expect(parseConfig("test.yaml", { ...validOperator(), health: { maxBlocksBehind } }, operatorConfigSchema).health.maxBlocksBehind).to.equal(maxBlocksBehind);
    });

    it("should load the same from JSON and keep absolute paths", async () => {
      const file = join(dir.path, "operator.json");
      await writeFile(file, JSON.stringify({ ...validOperator(), dataDir: "/var/lib/matchnet" }));
      const config = await loadOperatorConfig(file);
      expect(config.dataDir).to.equal("/var/lib/matchnet");
      expect(config.bootstrap).to.deep.equal([PEER]);
      expect(config.logLevel).to.equal("debug");
    });
  });

  describe("given the optional account keystore", () => {
    it("should be absent by default and resolved against the file's directory when given", async () => {
      const file = join(dir.path, "operator.yaml");
      await writeFile(file, stringify(validOperator()));
      expect((await loadOperatorConfig(file)).accountKeystorePath).to.equal(undefined);
      await writeFile(file, stringify({ ...validOperator(), accountKeystorePath: "keys/account.json" }));
      expect((await loadOperatorConfig(file)).accountKeystorePath).to.equal(join(dir.path, "keys/account.json"));
    });
  });

  describe("given one bad field → it should name the field path and the problem", () => {
    const cases: [string, (c: Record<string, unknown>) => void, string, string][] = [
      ["rpcUrl not a URL", (c) => (c.rpcUrl = "localhost:8545"), "rpcUrl", "must be an http(s):// or ws(s):// URL"],
      ["rpcUrl with another scheme", (c) => (c.rpcUrl = "ftp://127.0.0.1"), "rpcUrl", "must be an http(s):// or ws(s):// URL"],
      ["deploymentFile missing", (c) => delete c.deploymentFile, "deploymentFile", "is required"],
      ["keystorePath empty", (c) => (c.keystorePath = ""), "keystorePath", "must not be empty"],
      ["passwordFile a number", (c) => (c.passwordFile = 5), "passwordFile", "must be a path (string)"],
      ["accountKeystorePath empty", (c) => (c.accountKeystorePath = ""), "accountKeystorePath", "must not be empty"],
      ["dataDir missing", (c) => delete c.dataDir, "dataDir", "is required"],
      ["listen not a multiaddr", (c) => (c.listen = "0.0.0.0:9000"), "listen", "must be a TCP multiaddr like /ip4/0.0.0.0/tcp/9000"],
      ["bootstrap peer without /p2p/", (c) => (c.bootstrap = [PEER, "/ip4/1.2.3.4/tcp/9000"]), "bootstrap.1", "must be a peer multiaddr ending in /p2p/<peer id>"],
      ["allow entry without /ip4/ or /ip6/", (c) => (c.allow = ["/ip4/10.0.0.7", "10.0.0.8"]), "allow.1", "must start with /ip4/<addr> or /ip6/<addr>"],
      ["api.port out of range", (c) => (c.api = { host: "127.0.0.1", port: 70_000 }), "api.port", "must be between 0 and 65535"],
      ["api.port not an integer", (c) => (c.api = { host: "127.0.0.1", port: 80.5 }), "api.port", "must be an integer"],
      ["metrics.port equal to api.port", (c) => (c.metrics = { host: "127.0.0.1", port: 9010 }), "metrics.port", "must differ from api.port (9010)"],
      ["api missing", (c) => delete c.api, "api", "is required"],
      ["rpcWaitMs below 1000", (c) => (c.rpcWaitMs = 999), "rpcWaitMs", "must be ≥ 1000 (ms)"],
      ["rpcWaitMs above an hour", (c) => (c.rpcWaitMs = 3_600_001), "rpcWaitMs", "must be ≤ 3600000 (one hour)"],
      ["health.maxBlocksBehind negative", (c) => (c.health = { maxBlocksBehind: -1 }), "health.maxBlocksBehind", "must be ≥ 0"],
      ["health.maxBlocksBehind not an integer", (c) => (c.health = { maxBlocksBehind: 2.5 }), "health.maxBlocksBehind", "must be an integer"],
      ["logLevel unknown", (c) => (c.logLevel = "verbose"), "logLevel", "must be one of trace, debug, info, warn, error, fatal, silent"],
      ["an unknown field (typo)", (c) => (c.dataDirectory = "x"), "dataDirectory", "unknown field"],
      ["an unknown nested field", (c) => (c.api = { host: "127.0.0.1", port: 1, tls: true }), "api.tls", "unknown field"],
    ];
    for (const [name, mutate, path, message] of cases) {
      it(name, () => {
        const config: Record<string, unknown> = validOperator();
        mutate(config);
        const issues = issuesOf(config);
        expect(issues).to.have.length(1);
        expect(issues[0]!.path).to.equal(path);
        expect(issues[0]!.message).to.include(message);
      });
    }
  });

  describe("given a secret in the config file", () => {
    it("should refuse it, point to passwordFile, and not repeat the secret in the error", async () => {
      const file = join(dir.path, "operator.yaml");
      await writeFile(file, stringify({ ...validOperator(), password: "correct horse battery staple" }));
      try {
        await loadOperatorConfig(file);
        expect.fail("expected ConfigError");
      } catch (err) {
        const e = err as ConfigError;
        expect(e.issues).to.deep.equal([{ path: "password", message: "secrets must not be in the config file; put the password in the file named by passwordFile" }]);
        expect(e.message).to.include(file).and.include("password: secrets must not be in the config file");
        expect(e.message).to.not.include("correct horse");
      }
    });
  });

  describe("given an unusable file", () => {
    const codeOf = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (err) {
        return (err as ConfigError).code;
      }
      return "loaded";
    };
    it("should report a missing file, an unknown extension and broken YAML, each with its code", async () => {
      expect(await codeOf(loadOperatorConfig(join(dir.path, "absent.yaml")))).to.equal(ConfigErrorCode.FileUnreadable);
      await writeFile(join(dir.path, "operator.toml"), "x = 1");
      expect(await codeOf(loadOperatorConfig(join(dir.path, "operator.toml")))).to.equal(ConfigErrorCode.UnknownFormat);
      await writeFile(join(dir.path, "broken.yaml"), "api: [unclosed");
      expect(await codeOf(loadOperatorConfig(join(dir.path, "broken.yaml")))).to.equal(ConfigErrorCode.ParseFailed);
      await writeFile(join(dir.path, "list.yaml"), "- 1\n- 2\n");
      expect(await codeOf(loadOperatorConfig(join(dir.path, "list.yaml")))).to.equal(ConfigErrorCode.Invalid);
    });
  });

  describe("given an aggregator config", () => {
    const validAggregator = () => {
      const { api: _api, ...rest } = validOperator();
      return rest;
    };
    it("should accept the shared fields and default the aggregation settings", async () => {
      const file = join(dir.path, "aggregator.yaml");
      await writeFile(file, stringify(validAggregator()));
      const config = await loadAggregatorConfig(file);
      expect(config.aggregation).to.deep.equal({ quorumWaitBlocks: 1, earlyPartialHoldMs: 5_000 });
      expect(config.keystorePath).to.equal(join(dir.path, "keys/operator.json"));
    });
    it("should name a bad aggregation field", async () => {
      const file = join(dir.path, "aggregator.json");
      await writeFile(file, JSON.stringify({ ...validAggregator(), aggregation: { quorumWaitBlocks: -1 } }));
      try {
        await loadAggregatorConfig(file);
        expect.fail("expected ConfigError");
      } catch (err) {
        expect((err as ConfigError).issues).to.deep.equal([{ path: "aggregation.quorumWaitBlocks", message: "must be ≥ 0" }]);
      }
    });
    it("should switch enforcement on by default, take each switch, and name a switch that is not a boolean or unknown", async () => {
      const file = join(dir.path, "aggregator-enforcement.json");
      await writeFile(file, JSON.stringify(validAggregator()));
      expect((await loadAggregatorConfig(file)).enforcement).to.deep.equal({ slashInvalidResults: true, ejectInactive: true });
      await writeFile(file, JSON.stringify({ ...validAggregator(), enforcement: { ejectInactive: false } }));
      expect((await loadAggregatorConfig(file)).enforcement).to.deep.equal({ slashInvalidResults: true, ejectInactive: false });
      for (const [enforcement, issue] of [
        [{ ejectInactive: "yes" }, { path: "enforcement.ejectInactive", message: "must be true or false" }],
        [{ slashInvalid: true }, { path: "enforcement.slashInvalid", message: "unknown field" }],
      ] as const) {
        await writeFile(file, JSON.stringify({ ...validAggregator(), enforcement }));
        const err = await loadAggregatorConfig(file).then(() => null, (e: unknown) => e);
        expect(err).to.be.instanceOf(ConfigError);
        expect((err as ConfigError).issues).to.deep.equal([issue]);
      }
    });
  });

  describe("given a password file", () => {
    it("should return its content without one trailing newline", async () => {
      const file = join(dir.path, "pw");
      await writeFile(file, "s3cret with spaces \n");
      expect(await readPasswordFile(file)).to.equal("s3cret with spaces ");
    });
    it("should refuse an empty or missing file without revealing content", async () => {
      await writeFile(join(dir.path, "empty"), "\n");
      for (const [name, code] of [["empty", ConfigErrorCode.PasswordEmpty], ["missing", ConfigErrorCode.PasswordFileUnreadable]] as const) {
        try {
          await readPasswordFile(join(dir.path, name));
          expect.fail("expected ConfigError");
        } catch (err) {
          expect((err as ConfigError).code).to.equal(code);
          expect((err as ConfigError).message).to.include(join(dir.path, name));
        }
      }
    });
  });
});
