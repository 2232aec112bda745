/**
 * The deploy parameters file (deploy/parameters.ts): each rule at its boundary — the value itself, one below, one
 * above — as the contracts' constructors and owner setters would judge it, so that a refused value costs no gas.
 */
import { expect } from "chai";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../../protocol/config/load.js";
import { loadDeployParameters, parseDeployParameters, slashingWindow, SERVICE_MANAGER_DEFAULTS } from "../../deploy/parameters.js";
import { MATCHNET_DEFAULTS } from "../../deploy/MatchnetModule.js";

function problems(value: unknown): string[] {
  try {
    parseDeployParameters("test", value);
    return [];
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
}

const A = "0x1111111111111111111111111111111111111111";

describe("deploy parameters (zod, before anything is sent)", () => {
  it("given an empty file → it should give the contracts' defaults and faucet tokens", () => {
    const p = parseDeployParameters("test", {});
    expect(p.tokens).to.equal("faucet");
    expect(p.minOperatorStake).to.equal(MATCHNET_DEFAULTS.minOperatorStake);
    expect(p.operatorExitDelay).to.equal(MATCHNET_DEFAULTS.operatorExitDelay);
    expect(p.batchTiming).to.deep.equal(SERVICE_MANAGER_DEFAULTS.batchTiming);
    expect(p.quorumThresholdBps).to.equal(6_667);
    expect(p.owner).to.equal(undefined);
  });

  it("given quorumThresholdBps 5000 / 5001 / 10000 / 10001 → it should refuse half and more than all, accept the rest", () => {
    expect(problems({ quorumThresholdBps: 5_000 })).to.deep.equal(["quorumThresholdBps: must be > 5000 (more than half of the stake)"]);
    expect(problems({ quorumThresholdBps: 5_001 })).to.deep.equal([]);
    expect(problems({ quorumThresholdBps: 10_000 })).to.deep.equal([]);
    expect(problems({ quorumThresholdBps: 10_001 })).to.deep.equal(["quorumThresholdBps: must be ≤ 10000 (basis points)"]);
  });

  it("given operatorExitDelay one below / at / above the slashing window of the batch timing → it should refuse only below", () => {
    const window = slashingWindow(60n); // 256 + 3 × 60 = 436
    expect(window).to.equal(436n);
    const t = { batchInterval: 5, seedTimeout: 6, batchTimeout: 60 };
    expect(problems({ batchTiming: t, operatorExitDelay: 435 })).to.deep.equal(["operatorExitDelay: must be ≥ the slashing window 436 blocks (256 + 3 × batchTiming.batchTimeout 60)"]);
    expect(problems({ batchTiming: t, operatorExitDelay: 436 })).to.deep.equal([]);
    expect(problems({ batchTiming: t, operatorExitDelay: 437 })).to.deep.equal([]);
  });

  it("given batchTimeout equal to / one above seedTimeout → it should refuse equal", () => {
    expect(problems({ batchTiming: { batchInterval: 1, seedTimeout: 8, batchTimeout: 8 } })).to.deep.equal(["batchTiming.batchTimeout: must be > seedTimeout (8)"]);
    expect(problems({ batchTiming: { batchInterval: 1, seedTimeout: 8, batchTimeout: 9 } })).to.deep.equal([]);
  });

  it("given batchTimeout / seedTimeout + 1 at 31 / 32 / 33 leaders → it should refuse more than MAX_FALLBACK_LENGTH (32)", () => {
    expect(problems({ batchTiming: { batchInterval: 1, seedTimeout: 1, batchTimeout: 30 } })).to.deep.equal([]);
    expect(problems({ batchTiming: { batchInterval: 1, seedTimeout: 1, batchTimeout: 31 } })).to.deep.equal([]);
    expect(problems({ batchTiming: { batchInterval: 1, seedTimeout: 1, batchTimeout: 32 } })[0]).to.match(/^batchTiming\.seedTimeout: must be ≥ batchTimeout \/ 31/);
  });

  it("given a zero batchInterval → it should refuse it", () => {
    expect(problems({ batchTiming: { batchInterval: 0, seedTimeout: 5, batchTimeout: 40 } })).to.deep.equal(["batchTiming.batchInterval: must be ≥ 1"]);
  });

  it("given matching weights summing to 9999 / 10000 / 10001 → it should accept only 10000", () => {
    const w = { ...SERVICE_MANAGER_DEFAULTS.matchingWeights };
    expect(problems({ matchingWeights: { ...w, random: 999 } })).to.deep.equal(["matchingWeights: must sum to 10000, they sum to 9999"]);
    expect(problems({ matchingWeights: w })).to.deep.equal([]);
    expect(problems({ matchingWeights: { ...w, random: 1_001 } })).to.deep.equal(["matchingWeights: must sum to 10000, they sum to 10001"]);
  });

  it("given an equivocation bounty of 9999 / 10000 bps and a protocol fee of 1000 / 1001 → it should refuse the whole cut and a fee above 10 %", () => {
    const s = { ...SERVICE_MANAGER_DEFAULTS.slashFractions };
    expect(problems({ slashFractions: { ...s, equivocationBountyBps: 9_999 } })).to.deep.equal([]);
    expect(problems({ slashFractions: { ...s, equivocationBountyBps: 10_000 } })[0]).to.match(/^slashFractions\.equivocationBountyBps: must be < 10000/);
    expect(problems({ ejection: { streak: 2, rateBps: 10_000, window: 1 } })).to.deep.equal([]);
    expect(problems({ ejection: { streak: 1, rateBps: 0, window: 1 } })).to.deep.equal(["ejection.streak: must be ≥ 2"]);
    expect(problems({ ejection: { streak: 65, rateBps: 10_001, window: 0 } })).to.deep.equal(["ejection.streak: must be ≤ 64", "ejection.rateBps: must be ≤ 10000 (basis points)", "ejection.window: must be ≥ 1"]);
    expect(problems({ handoffTimeout: 2 })).to.deep.equal([]);
    expect(problems({ handoffTimeout: 7_200 })).to.deep.equal([]);
    expect(problems({ handoffTimeout: 1 })).to.deep.equal(["handoffTimeout: must be ≥ 2"]);
    expect(problems({ handoffTimeout: 7_201 })).to.deep.equal(["handoffTimeout: must be ≤ 7200"]);
  });

  it("given amounts as decimal strings up to 2^256 − 1, and one above → it should keep them exact and refuse the overflow", () => {
    const max = (2n ** 256n - 1n).toString();
    expect(parseDeployParameters("test", { minOperatorStake: max }).minOperatorStake).to.equal(2n ** 256n - 1n);
    expect(problems({ minOperatorStake: (2n ** 256n).toString() })).to.deep.equal(["minOperatorStake: must be ≤ 2^256 − 1"]);
    expect(problems({ minOperatorStake: 1e21 })).to.deep.equal(["minOperatorStake: must be an integer; write a value above 2^53 as a decimal string"]);
    expect(problems({ minOperatorStake: "1e21" })).to.deep.equal(["minOperatorStake: must be a decimal string of digits (no sign, point, exponent or 0x)"]);
    expect(problems({ operatorExitDelay: 2 ** 32 })).to.deep.equal(["operatorExitDelay: must be ≤ 2^32 − 1"]);
  });

  it("given maxOrderLifetime 0 / 1 → it should refuse 0", () => {
    expect(problems({ maxOrderLifetime: 0 })).to.deep.equal(["maxOrderLifetime: must be ≥ 1 (no order could be placed)"]);
    expect(problems({ maxOrderLifetime: 1 })).to.deep.equal([]);
  });

  it("given bad addresses, an unknown token mode and an unknown field → it should name each one", () => {
    expect(problems({ owner: "0x12", treasury: "0x0000000000000000000000000000000000000000", tokens: "mint", extra: 1 })).to.have.members([
      "owner: must be an address (0x followed by 40 hex digits)",
      "treasury: must not be the zero address",
      'tokens: must be "faucet" or { "payment": <address>, "stake": <address> }',
      "extra: unknown field",
    ]);
    const p = parseDeployParameters("test", { owner: A.toLowerCase(), tokens: { payment: A, stake: A } });
    expect(p.owner).to.equal(A);
  });

  it("given a YAML file, a file of another format and a file that does not parse → it should read the first and name the problem of the others", async () => {
    const dir = await mkdtemp(join(tmpdir(), "matchnet-params-"));
    try {
      await writeFile(join(dir, "p.yaml"), "quorumThresholdBps: 8000\nbatchTiming:\n  batchInterval: 2\n  seedTimeout: 8\n  batchTimeout: 40\n");
      expect((await loadDeployParameters(join(dir, "p.yaml"))).quorumThresholdBps).to.equal(8_000);
      await writeFile(join(dir, "p.toml"), "");
      expect(((await loadDeployParameters(join(dir, "p.toml")).catch((e: unknown) => e)) as Error).message).to.contain('unknown format ".toml"');
      await writeFile(join(dir, "bad.json"), "{ not json");
      expect(((await loadDeployParameters(join(dir, "bad.json")).catch((e: unknown) => e)) as Error).message).to.contain("not valid JSON");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
