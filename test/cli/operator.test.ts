import { expect } from "chai";
import { network } from "hardhat";
import { ExitCode } from "../../cli/errors.js";
import { cliWorld, type CliWorld } from "./fixture.js";

const connection = await network.create();
const STAKE = 10n ** 18n;

describe("matchnet operator register | status | exit | withdraw-stake against the real registry", () => {
  let w: CliWorld;
  before(async () => {
    w = await cliWorld(connection);
  });
  after(async () => w.remove());

  it("given a BLS keystore and a funded account → it should register with a valid proof of possession, show the status, exit and withdraw", async () => {
    const acct = await w.account("op5", { stake: 10n * STAKE });
    const bls = await w.cli(["--password-file", w.passwordFile, "--json", "keys", "create", "--type", "bls", "--name", "op5-bls", "--kdf-n", "1024"]);
    const blsFile = bls.json().file as string;
    let r = await w.cli([...acct.args, "operator", "register", "--bls-keystore", blsFile, "--stake", "2", "--socket", "/ip4/127.0.0.1/tcp/9999"]);
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.equal(`registered operator ${bls.json().operatorId} (${acct.address}) with stake 2 at /ip4/127.0.0.1/tcp/9999 (tx ${/tx (0x[0-9a-f]+)/.exec(r.out)![1]})\n`);
    expect(await w.s.operatorRegistry.read.operatorIdOf([acct.address])).to.equal(bls.json().operatorId);

    r = await w.cli([...acct.args, "--json", "operator", "status"]);
    expect(r.json()).to.include({ operatorId: bls.json().operatorId, status: "active", stake: (2n * STAKE).toString(), socket: "/ip4/127.0.0.1/tcp/9999" });
    expect(r.json().stakeShareBps).to.equal(Number((2n * 10_000n) / (100n + 200n + 300n + 400n + 2n)));

    const again = await w.cli([...acct.args, "operator", "register", "--bls-keystore", blsFile, "--stake", "2", "--socket", "/ip4/127.0.0.1/tcp/9999"]);
    expect(again.code).to.equal(ExitCode.Reverted);
    expect(again.err).to.contain("OperatorRegistryAlreadyRegistered");

    r = await w.cli([...acct.args, "--json", "operator", "exit"]);
    expect(r.code, r.out).to.equal(0);
    const exitableAt = Number(r.json().exitableAt);
    r = await w.cli([...acct.args, "operator", "withdraw-stake"]);
    expect(r.code).to.equal(ExitCode.Reverted);
    expect(r.err).to.contain("OperatorRegistryExitDelayNotPassed");
    const head = Number(await w.s.publicClient.getBlockNumber());
    await connection.networkHelpers.mine(exitableAt - head);
    r = await w.cli([...acct.args, "--json", "operator", "withdraw-stake"]);
    expect(r.code, r.out).to.equal(0);
    expect(r.json().withdrawn).to.equal((2n * STAKE).toString());
  });

  it("given a wrong BLS password → exit 4 and nothing registered", async () => {
    const acct2 = await w.account("op7", { stake: 10n * STAKE });
    const bls2 = (await w.cli(["--password-file", w.passwordFile, "--json", "keys", "create", "--type", "bls", "--name", "op7-bls", "--kdf-n", "1024"])).json();
    const { writeFile } = await import("node:fs/promises");
    await writeFile(`${w.dir}/wrong.txt`, "wrong\n");
    const bad = await w.cli([...acct2.args, "operator", "register", "--bls-keystore", bls2.file, "--bls-password-file", `${w.dir}/wrong.txt`, "--stake", "2", "--socket", "/ip4/127.0.0.1/tcp/2"]);
    expect(bad.code).to.equal(ExitCode.Keystore);
    expect(bad.err).to.contain("WrongPassword");
    expect(await w.s.operatorRegistry.read.operatorIdOf([acct2.address])).to.equal(`0x${"0".repeat(64)}`);
  });

  it("given an account that is not an operator → status exits 7", async () => {
    const acct = await w.account("not-op");
    const r = await w.cli([...acct.args, "operator", "status"]);
    expect(r.code).to.equal(ExitCode.NotFound);
    expect(r.err).to.equal(`matchnet: ${acct.address} is not a registered operator\n  Register with \`matchnet operator register\`.\n`);
  });

  it("given a wrong account password → any transaction exits 4 with WrongPassword and sends nothing", async () => {
    const acct = await w.account("locked", { stake: 10n * STAKE });
    const { writeFile } = await import("node:fs/promises");
    await writeFile(`${w.dir}/wrong2.txt`, "nope\n");
    const r = await w.cli(["--account", acct.file, "--password-file", `${w.dir}/wrong2.txt`, "provider", "register", "--zone", "us-east-1", "--stake", "1"]);
    expect(r.code).to.equal(ExitCode.Keystore);
    expect(r.err).to.contain("WrongPassword");
    expect(await w.s.publicClient.getTransactionCount({ address: acct.address })).to.equal(0);
  });
});
