import { expect } from "chai";
import { readFile } from "node:fs/promises";
import { renderAbiModule, renderEnumModule } from "../../scripts/gen-abi.js";

describe("protocol/chain/abi.ts and enums.ts", () => {
  it("given the compiled contracts → it should equal what scripts/gen-abi.ts generates from them (regenerate if not)", async () => {
    const committed = await readFile("protocol/chain/abi.ts", "utf8");
    expect(committed === (await renderAbiModule(process.cwd())), "protocol/chain/abi.ts is stale: run scripts/gen-abi.ts").to.equal(true);
  });

  it("given the compiled contracts → protocol/chain/enums.ts should equal what scripts/gen-abi.ts generates from them", async () => {
    const committed = await readFile("protocol/chain/enums.ts", "utf8");
    expect(committed === (await renderEnumModule(process.cwd())), "protocol/chain/enums.ts is stale: run scripts/gen-abi.ts").to.equal(true);
  });
});
