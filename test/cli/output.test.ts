import { expect } from "chai";
import { network } from "hardhat";
import { custom } from "viem";
import { run } from "../../cli/program.js";
import { CapturedIo } from "../../cli/io.js";
import { cliWorld, type CliWorld } from "./fixture.js";

const connection = await network.create();

describe("matchnet CLI output: --json, progress line, exit codes", () => {
  let w: CliWorld;
  before(async () => {
    w = await cliWorld(connection);
  });
  after(async () => w.remove());

  async function withTty(args: string[]) {
    const io = new CapturedIo({ HOME: w.dir }, w.dir, custom(connection.provider as never));
    io.isTTY = true;
    const code = await run(["--deployment", w.deploymentFile, ...args], io);
    return { code, out: io.out, err: io.err };
  }

  it("given a terminal → a transaction should show a progress line on stderr, cleared at the end, and the result on stdout", async () => {
    const p = await w.account("tty", { stake: 10n ** 19n });
    const r = await withTty([...p.args, "provider", "register", "--zone", "us-east-1", "--stake", "1"]);
    expect(r.code, r.err).to.equal(0);
    expect(r.err).to.match(/\r. approve stake token: waiting for 0x[0-9a-f]{8}…/);
    expect(r.err).to.match(/provider register: waiting for 0x[0-9a-f]{8}…/);
    expect(r.err.endsWith("\r\x1b[2K")).to.equal(true);
    expect(r.out).to.match(/^registered provider/);
  });

  it("given a terminal and --json → no progress line: stderr stays empty and stdout is exactly one JSON document", async () => {
    const p = await w.account("tty-json", { stake: 10n ** 19n });
    const r = await withTty([...p.args, "--json", "provider", "register", "--zone", "us-east-1", "--stake", "1"]);
    expect(r.code).to.equal(0);
    expect(r.err).to.equal("");
    expect(r.out.trim().split("\n")[0]).to.equal("{");
    expect(JSON.parse(r.out)).to.include({ zoneName: "us-east-1" });
  });

  it("given no terminal → no progress line", async () => {
    const p = await w.account("notty", { stake: 10n ** 19n });
    const r = await w.cli([...p.args, "provider", "register", "--zone", "us-east-1", "--stake", "1"]);
    expect(r.err).to.equal("");
  });

  it("given --json on every read command → stdout parses as one document with no other text", async () => {
    const p = await w.account("reader", { stake: 10n ** 19n, usd: 100n * 1_000_000n });
    await w.cli([...p.args, "provider", "register", "--zone", "us-east-1", "--stake", "1"]);
    for (const args of [
      ["catalog", "list"], ["provider", "status"], ["provider", "offer", "list"], ["provider", "earnings"],
      ["renter", "order", "list"], ["renter", "lease", "list"], ["renter", "refunds"], ["batch", "list"],
      ["renter", "quote", "--model", "11", "--gpus", "1", "--max-price", "2", "--hours", "1"], ["keys", "list"],
    ]) {
      const r = await w.cli([...p.args, "--json", ...args]);
      expect(r.code, args.join(" ")).to.equal(0);
      expect(r.err, args.join(" ")).to.equal("");
      expect(() => JSON.parse(r.out), args.join(" ")).to.not.throw();
    }
  });

  it("given --help → it should print the command's flags and exit 0", async () => {
    const r = await w.cli(["renter", "order", "create", "--help"]);
    expect(r.code).to.equal(0);
    expect(r.out).to.contain("--max-price <amount>").and.contain("(required)").and.contain("--yes");
  });
});
