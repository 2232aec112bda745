/**
 * The devnet's data dir holds keystores and their passwords: `makePrivateDataDir` makes it 0700 whether it is a fresh
 * temp dir, a `--data-dir` that does not exist yet, or one that exists with wider rights.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makePrivateDataDir, sweepAbandonedDataDirs } from "../../deploy/devnet/devnet.js";
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

  it("given temp data dirs of a dead owner, a live owner and none (kept) → the sweep should remove only the dead owner's", async () => {
    const dead = spawnSync(process.execPath, ["-e", "console.log(process.pid)"]).stdout.toString().trim();
    const dirs = { dead: join(tmp.path, "matchnet-devnet-dead"), live: join(tmp.path, "matchnet-devnet-live"), kept: join(tmp.path, "matchnet-devnet-kept"), other: join(tmp.path, "other-dead") };
    for (const d of Object.values(dirs)) await mkdir(d);
    await writeFile(join(dirs.dead, "devnet.pid"), `${dead}\n`);
    await writeFile(join(dirs.live, "devnet.pid"), `${process.pid}\n`);
    await writeFile(join(dirs.other, "devnet.pid"), `${dead}\n`);
    expect(await sweepAbandonedDataDirs(tmp.path)).to.deep.equal([dirs.dead]);
    expect([dirs.dead, dirs.live, dirs.kept, dirs.other].map((d) => existsSync(d))).to.deep.equal([false, true, true, true]);
  });
});
