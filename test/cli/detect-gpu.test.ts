import { expect } from "chai";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { network } from "hardhat";
import { ExitCode } from "../../cli/errors.js";
import { run } from "../../cli/program.js";
import { CapturedIo } from "../../cli/io.js";
import { makeTempDir } from "../support/tempdir.js";
import { cliWorld, type CliWorld } from "./fixture.js";

const connection = await network.create();
const FIXTURES = fileURLToPath(new URL("./fixtures/nvidia-smi/", import.meta.url));

/** A directory holding an `nvidia-smi` that checks its arguments and prints `fixture` (or fails like a dead driver). */
async function fakeNvidiaSmi(dir: string, fixture: string | { fail: string }): Promise<string> {
  const bin = join(dir, `bin-${Math.random().toString(36).slice(2)}`);
  await mkdir(bin);
  const body =
    typeof fixture === "string"
      ? `[ "$1" = "--query-gpu=name,memory.total,pci.bus_id" ] && [ "$2" = "--format=csv,noheader" ] || { echo "unexpected arguments: $*" >&2; exit 64; }\nexec /bin/cat '${join(FIXTURES, fixture)}'\n`
      : `printf '%s\\n' "${fixture.fail}"\nexit 9\n`;
  await writeFile(join(bin, "nvidia-smi"), `#!/bin/sh\n${body}`);
  await chmod(join(bin, "nvidia-smi"), 0o755);
  return bin;
}

describe("matchnet provider detect-gpu on recorded nvidia-smi outputs", () => {
  let w: CliWorld;
  before(async () => {
    w = await cliWorld(connection);
  });
  after(async () => w.remove());

  const detect = async (fixture: string) => {
    const r = await w.cli(["--json", "provider", "detect-gpu"], { env: { PATH: await fakeNvidiaSmi(w.dir, fixture) } });
    expect(r.code, r.out).to.equal(0);
    return r.json() as { catalog: string; cards: { name: string; memoryMiB: number; busId: string; model: { id: number } | null }[]; commands: { command: string }[] };
  };

  const cases: [string, (number | null)[], string[]][] = [
    ["h100-sxm-8x.csv", Array(8).fill(11), ["matchnet provider offer create --model 11 --gpus 8 --price 3.00"]],
    ["h100-pcie.csv", [null], []],
    ["a100-40gb-2x.csv", [9, 9], ["matchnet provider offer create --model 9 --gpus 2 --price 1.00"]],
    ["a100-80gb-pcie.csv", [10], ["matchnet provider offer create --model 10 --gpus 1 --price 1.50"]],
    ["a100-80gb-sxm.csv", [10], ["matchnet provider offer create --model 10 --gpus 1 --price 1.50"]],
    ["l40s-4x.csv", [8, 8, 8, 8], ["matchnet provider offer create --model 8 --gpus 4 --price 0.80"]],
    ["rtx-4090.csv", [5], ["matchnet provider offer create --model 5 --gpus 1 --price 0.19"]],
    ["mixed.csv", [5, 5, 8, null], ["matchnet provider offer create --model 5 --gpus 2 --price 0.19", "matchnet provider offer create --model 8 --gpus 1 --price 0.80"]],
    ["unknown-v100.csv", [null], []],
    ["none.csv", [], []],
  ];
  for (const [fixture, models, commands] of cases) {
    it(`given ${fixture} → it should map the cards to ${JSON.stringify(models)} and print ${commands.length} offer line(s)`, async () => {
      const d = await detect(fixture);
      expect(d.catalog).to.equal("on-chain catalog");
      expect(d.cards.map((c) => c.model?.id ?? null)).to.deep.equal(models);
      expect(d.commands.map((c) => c.command)).to.deep.equal(commands);
    });
  }

  it("given the mixed machine in text → it should print a table, the lines to run and the unknown card", async () => {
    const r = await w.cli(["provider", "detect-gpu"], { env: { PATH: await fakeNvidiaSmi(w.dir, "mixed.csv") } });
    expect(r.out).to.contain("NVIDIA RTX 6000 Ada Generation  49140 MiB  00000000:61:00.0  not in the catalog");
    expect(r.out).to.contain("  matchnet provider offer create --model 5 --gpus 2 --price 0.19\n  matchnet provider offer create --model 8 --gpus 1 --price 0.80\n");
    expect(r.out).to.contain("1 card(s) match no model of the on-chain catalog");
  });

  it("given a printed line → running it should create that offer", async () => {
    const d = await detect("l40s-4x.csv");
    const p = await w.account("gpu-host", { stake: 10n ** 19n });
    expect((await w.cli([...p.args, "provider", "register", "--zone", "us-west-1", "--stake", "1"])).code).to.equal(0);
    const argv = d.commands[0]!.command.split(" ").slice(1);
    const r = await w.cli([...p.args, "--json", ...argv]);
    expect(r.code, r.out).to.equal(0);
    expect(r.json()).to.include({ modelId: 8, gpuCount: 4, pricePerGpuHour: "800000" });
  });

  it("given no nvidia-smi on PATH → it should say so and exit 8", async () => {
    const empty = join(w.dir, "empty-bin");
    await mkdir(empty, { recursive: true });
    const r = await w.cli(["provider", "detect-gpu"], { env: { PATH: empty } });
    expect(r.code).to.equal(ExitCode.NoNvidiaSmi);
    expect(r.err).to.equal("matchnet: nvidia-smi not found: no NVIDIA driver on this machine (or it is not on PATH)\n  Install the NVIDIA driver, or create offers by hand with `matchnet provider offer create`.\n");
    const j = await w.cli(["--json", "provider", "detect-gpu"], { env: { PATH: empty } });
    expect(j.json().error).to.include({ code: "NO_NVIDIA_SMI", exitCode: 8 });
  });

  it("given an nvidia-smi whose driver is not loaded → it should report its message and exit 8", async () => {
    const bin = await fakeNvidiaSmi(w.dir, { fail: "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver." });
    const r = await w.cli(["provider", "detect-gpu"], { env: { PATH: bin } });
    expect(r.code).to.equal(ExitCode.NoNvidiaSmi);
    expect(r.err).to.contain("nvidia-smi failed: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.");
  });

  it("given no reachable chain → it should map against the built-in catalog and say so", async () => {
    const { path, remove } = await makeTempDir("cli-gpu");
    try {
      const io = new CapturedIo({ PATH: await fakeNvidiaSmi(path, "rtx-4090.csv") }, path);
      const code = await run(["--json", "--deployment", join(path, "missing.json"), "provider", "detect-gpu"], io);
      expect(code).to.equal(0);
      const d = JSON.parse(io.out);
      expect(d.catalog).to.match(/^built-in catalog/);
      expect(d.cards[0].model.id).to.equal(5);
    } finally {
      await remove();
    }
  });
});
