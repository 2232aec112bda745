import { expect } from "chai";
import * as abis from "../../protocol/chain/abi.js";
import { FALLBACK_HINT, hasHint, hintFor } from "../../cli/hints.js";

describe("matchnet CLI revert hints", () => {
  it("given every custom error of the generated ABIs → each should have its own one-sentence hint", () => {
    const names = new Set<string>();
    for (const abi of Object.values(abis)) for (const item of abi as readonly { type: string; name?: string }[]) if (item.type === "error") names.add(item.name!);
    expect(names.size).to.be.greaterThan(80);
    const missing = [...names].filter((n) => !hasHint(n));
    expect(missing, "errors without a hint in cli/hints.ts").to.deep.equal([]);
    for (const n of names) expect(hintFor(n), n).to.match(/^[A-Z`].*\.$/);
  });
  it("given an error name the table does not know (a regenerated ABI) → it should still give a sentence", () => {
    expect(hintFor("SomeNewContractError")).to.equal(FALLBACK_HINT);
  });
});
