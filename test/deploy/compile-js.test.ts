import { expect } from "chai";
import { mkdtemp, mkdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { compileJs } from "../../deploy/compile-js.js";

/** A repository in miniature: the four source folders, a module importing a JSON data file, and package.json. */
async function miniRepo(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "matchnet-compile-js-"));
  for (const d of ["protocol/market", "operator", "aggregator", "agent"]) await mkdir(join(root, d), { recursive: true });
  await writeFile(join(root, "package.json"), JSON.stringify({ type: "module" }));
  await writeFile(join(root, "protocol/market/models.json"), JSON.stringify([{ id: 1, name: "A" }]));
  await writeFile(join(root, "protocol/market/catalog.ts"),
    'import models from "./models.json" with { type: "json" };\nexport const NAMES: string[] = models.map((m: { name: string }) => m.name);\n');
  await writeFile(join(root, "protocol/market/types.d.ts"), "export type X = number;\n");
  return root;
}

describe("deploy/compile-js.ts", () => {
  it("given a module that imports a JSON data file → it should transpile the module, copy the JSON beside it, and the output should load", async () => {
    const root = await miniRepo();
    try {
      const tree = await compileJs(root, join(root, "out"));
      expect(tree.files, "catalog.ts and models.json; the .d.ts is left out").to.equal(2);
      expect(tree.compiled).to.equal(2);
      const mod = (await import(pathToFileURL(join(root, "out/protocol/market/catalog.js")).href)) as { NAMES: string[] };
      expect(mod.NAMES).to.deep.equal(["A"]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("given an up-to-date tree → it should copy nothing; given a JSON file edited since → it should copy that file alone", async () => {
    const root = await miniRepo();
    try {
      await compileJs(root, join(root, "out"));
      expect((await compileJs(root, join(root, "out"))).compiled).to.equal(0);
      const json = join(root, "protocol/market/models.json");
      await writeFile(json, JSON.stringify([{ id: 2, name: "B" }]));
      const later = new Date(Date.now() + 5_000);
      await utimes(json, later, later);
      expect((await compileJs(root, join(root, "out"))).compiled).to.equal(1);
      expect(JSON.parse(await readFile(join(root, "out/protocol/market/models.json"), "utf8"))).to.deep.equal([{ id: 2, name: "B" }]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
