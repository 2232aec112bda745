/**
 * The devnet's data dir holds keystores and their passwords: `makePrivateDataDir` makes it 0700 whether it is a fresh
 * temp dir, a `--data-dir` that does not exist yet, or one that exists with wider rights.
 */
import { expect } from "chai";
import { chmod, mkdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { makePrivateDataDir } from "../../deploy/devnet/devnet.js";
import { makeTempDir } from "../support/tempdir.js";

const mode = async (dir: string) => ((await stat(dir)).mode & 0o777).toString(8);

describe("devnet: the data dir is private", () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  beforeEach(async () => (tmp = await makeTempDir("datadir")));
  afterEach(async () => tmp.remove());

  it("given no --data-dir → it should make a fresh temp dir with mode 0700", async () => {
    const dir = await makePrivateDataDir(undefined);
    try {
      expect(await mode(dir)).to.equal("700");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("given a --data-dir that does not exist → it should create it (and its parents) with mode 0700", async () => {
    const dir = join(tmp.path, "a", "devnet");
    expect(await makePrivateDataDir(dir)).to.equal(dir);
    expect(await mode(dir)).to.equal("700");
  });

  for (const wide of [0o755, 0o701, 0o710]) {
    it(`given an existing --data-dir with mode ${wide.toString(8)} → it should narrow it to 0700`, async () => {
      const dir = join(tmp.path, "existing");
      await mkdir(dir);
      await chmod(dir, wide);
      await makePrivateDataDir(dir);
      expect(await mode(dir)).to.equal("700");
    });
  }
});
