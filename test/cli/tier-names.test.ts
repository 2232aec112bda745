import { expect } from "chai";
import { CliError } from "../../cli/errors.js";
import { parseTier, tierName } from "../../cli/format.js";
import { Tier } from "../../protocol/market/types.js";

describe("cli/format.ts tier names (the contract's Tier members)", () => {
  it("given the first and the last tier, in any case and with spaces → it should parse them to their on-chain values", () => {
    expect(parseTier("entry", "--min-tier")).to.equal(Tier.Entry);
    expect(parseTier(" Ultra ", "--min-tier")).to.equal(Tier.Ultra);
    expect(parseTier("MEDIUM", "--min-tier")).to.equal(Tier.Medium);
  });

  it("given a name no tier has → it should refuse it naming the flag and every tier, in value order", () => {
    let err: unknown;
    try {
      parseTier("mega", "--min-tier");
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(CliError);
    expect((err as CliError).message).to.equal('--min-tier: "mega" is not a tier (entry, low, medium, high, ultra)');
  });

  it("given a value one past the last tier → tierName should say so instead of a name", () => {
    expect(tierName(Tier.Ultra)).to.equal("ultra");
    expect(tierName(Tier.Ultra + 1)).to.equal(`tier-${Tier.Ultra + 1}`);
  });
});
