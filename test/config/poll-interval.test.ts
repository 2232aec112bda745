/** The operator config's `pollIntervalMs` (the head poll of the chain follower), at its bounds. */
import { expect } from "chai";
import { ConfigError, parseConfig } from "../../protocol/config/load.js";
import { operatorConfigSchema } from "../../protocol/config/schema.js";
import { devnetPollIntervalMs } from "../../deploy/devnet/setup.js";

const base = {
  rpcUrl: "http://127.0.0.1:8545",
  deploymentFile: "deployment.json",
  keystorePath: "keys/operator.json",
  passwordFile: "keys/password.txt",
  dataDir: "data",
  listen: "/ip4/0.0.0.0/tcp/9000",
  api: { host: "127.0.0.1", port: 9010 },
  metrics: { host: "127.0.0.1", port: 9100 },
};

function issue(pollIntervalMs: unknown): string | null {
  try {
    parseConfig("test.json", { ...base, pollIntervalMs }, operatorConfigSchema);
    return null;
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`).join("; ");
  }
}

describe("operator config pollIntervalMs", () => {
  it("given no value → it should default to 250 ms", () => {
    expect(parseConfig("test.json", base, operatorConfigSchema).pollIntervalMs).to.equal(250);
  });

  it("given 49 / 50 / 60000 / 60001 and 100.5 → it should accept 50‥60000 whole milliseconds only", () => {
    expect(issue(49)).to.equal("pollIntervalMs: must be ≥ 50");
    expect(issue(50)).to.equal(null);
    expect(issue(60_000)).to.equal(null);
    expect(issue(60_001)).to.equal("pollIntervalMs: must be ≤ 60000");
    expect(issue(100.5)).to.equal("pollIntervalMs: must be an integer");
  });

  it("given 16 / 17 / 32 / 64 / 128 devnet operators → it should poll every 250 ms up to 16, keep the sum near 64 polls a second above, and never exceed 1 s", () => {
    expect(devnetPollIntervalMs(4)).to.equal(250);
    expect(devnetPollIntervalMs(16)).to.equal(250);
    expect(devnetPollIntervalMs(17)).to.equal(266);
    expect(devnetPollIntervalMs(32)).to.equal(500);
    expect(devnetPollIntervalMs(64)).to.equal(1_000);
    expect(devnetPollIntervalMs(128)).to.equal(1_000);
  });
});
