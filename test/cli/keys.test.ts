import { expect } from "chai";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { privateKeyToAccount } from "viem/accounts";
import { run } from "../../cli/program.js";
import { CapturedIo } from "../../cli/io.js";
import { ExitCode } from "../../cli/errors.js";
import { unlockAccountKeystoreFile, unlockKeystoreFile } from "../../protocol/keystore/index.js";
import { operatorId } from "../../protocol/bls/index.js";
import { makeTempDir } from "../support/tempdir.js";

// Hardhat's first well-known development key: public, never used outside local chains.
const DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcaa1b2ea7a6e5f1b0";
const PASSWORD = "correct horse battery staple";

async function keysCli(dir: string, args: string[], opts: { env?: Record<string, string>; secrets?: string[] } = {}) {
  const io = new CapturedIo({ HOME: dir, ...(opts.env ?? {}) }, dir, undefined, { secrets: opts.secrets });
  const code = await run(args, io);
  return { code, out: io.out, err: io.err, json: () => JSON.parse(io.out) };
}

describe("matchnet keys create | import | list | show", () => {
  let dir: string;
  let remove: () => Promise<void>;
  beforeEach(async () => {
    ({ path: dir, remove } = await makeTempDir("cli-keys"));
  });
  afterEach(async () => remove());

  it("given a password prompt → create should ask twice, write a 0600 keystore in ~/.matchnet/keys that unlocks to the printed address", async () => {
    const r = await keysCli(dir, ["--json", "keys", "create", "--name", "alice", "--kdf-n", "1024"], { secrets: [PASSWORD, PASSWORD] });
    expect(r.code, r.out).to.equal(0);
    const info = r.json();
    expect(info.file).to.equal(join(dir, ".matchnet", "keys", "alice.json"));
    expect((await stat(info.file)).mode & 0o777).to.equal(0o600);
    expect((await unlockAccountKeystoreFile(info.file, PASSWORD)).address).to.equal(info.address);
    expect(await readFile(info.file, "utf8")).to.not.contain(PASSWORD);
    expect(r.out + r.err).to.not.contain(PASSWORD);
  });

  it("given two different passwords at the prompt → it should write nothing (exit 4)", async () => {
    const r = await keysCli(dir, ["keys", "create", "--name", "bob", "--kdf-n", "1024"], { secrets: [PASSWORD, PASSWORD + "x"] });
    expect(r.code).to.equal(ExitCode.Keystore);
    expect(r.err).to.equal("matchnet: the two passwords differ; nothing was written\n");
    const list = await keysCli(dir, ["--json", "keys", "list"]);
    expect(list.json().keys).to.deep.equal([]);
  });

  it("given no password source and no terminal → it should say where a password can come from (exit 4)", async () => {
    const r = await keysCli(dir, ["keys", "create", "--name", "carol", "--kdf-n", "1024"]);
    expect(r.code).to.equal(ExitCode.Keystore);
    expect(r.err).to.contain("give --password-file <file>, set MATCHNET_PASSWORD, or run in a terminal to be asked");
  });

  it("given MATCHNET_PASSWORD → create uses it; an existing name is refused (exit 4) and the first file is kept", async () => {
    const env = { MATCHNET_PASSWORD: PASSWORD };
    const first = await keysCli(dir, ["--json", "keys", "create", "--name", "dave", "--kdf-n", "1024"], { env });
    const before = await readFile(first.json().file, "utf8");
    const second = await keysCli(dir, ["keys", "create", "--name", "dave", "--kdf-n", "1024"], { env });
    expect(second.code).to.equal(ExitCode.Keystore);
    expect(second.err).to.contain("FileExists").and.contain("refusing to overwrite");
    expect(await readFile(first.json().file, "utf8")).to.equal(before);
  });

  it("given a private key in a file → import should encrypt it to its address; a bad key is refused naming --key-file", async () => {
    await writeFile(join(dir, "pk.txt"), DEV_KEY + "\n");
    await writeFile(join(dir, "pw.txt"), PASSWORD + "\n");
    const r = await keysCli(dir, ["--password-file", "pw.txt", "--json", "keys", "import", "--name", "dev0", "--key-file", "pk.txt", "--kdf-n", "1024"]);
    expect(r.code, r.out).to.equal(0);
    expect(r.json().address).to.equal(privateKeyToAccount(DEV_KEY).address);
    expect(await readFile(r.json().file, "utf8")).to.not.contain(DEV_KEY.slice(2));
    await writeFile(join(dir, "bad.txt"), "0x1234\n");
    const bad = await keysCli(dir, ["--password-file", "pw.txt", "keys", "import", "--name", "x", "--key-file", "bad.txt", "--kdf-n", "1024"]);
    expect(bad.code).to.equal(ExitCode.Usage);
    expect(bad.err).to.contain("--key-file: the private key must be 32 bytes of hex");
  });

  it("given a BLS key → create writes a BLS keystore whose operator id show prints; list shows both types", async () => {
    await writeFile(join(dir, "pw.txt"), PASSWORD + "\n");
    const bls = await keysCli(dir, ["--password-file", "pw.txt", "--json", "keys", "create", "--type", "bls", "--name", "op", "--kdf-n", "1024"]);
    expect(bls.code, bls.out).to.equal(0);
    const sk = await unlockKeystoreFile(bls.json().file, PASSWORD);
    expect(bls.json().operatorId).to.equal(operatorId(sk.publicKeyG1()));
    await keysCli(dir, ["--password-file", "pw.txt", "keys", "create", "--name", "acct", "--kdf-n", "1024"]);
    await writeFile(join(dir, ".matchnet", "keys", "junk.json"), "{}");
    const list = await keysCli(dir, ["--json", "keys", "list"]);
    expect(list.json().keys.map((k: { name: string; type: string }) => [k.name, k.type])).to.deep.equal([["acct", "account"], ["op", "bls"]]);
    expect(list.json().invalid).to.have.length(1);
    const show = await keysCli(dir, ["keys", "show", "op"]);
    expect(show.out).to.equal(`name         op\ntype         bls (BN254)\noperator id  ${bls.json().operatorId}\npubkey G1    ${bls.json().pubkey}\nfile         ${bls.json().file}\n`);
    const missing = await keysCli(dir, ["keys", "show", "nobody"]);
    expect(missing.code).to.equal(ExitCode.NotFound);
  });

  it("given bad flags → --type, --name and --kdf-n are named (exit 2)", async () => {
    const env = { MATCHNET_PASSWORD: PASSWORD };
    for (const [args, re] of [
      [["keys", "create", "--type", "ed25519", "--name", "a"], /--type: "ed25519" is not a key type/],
      [["keys", "create", "--name", "../evil"], /--name: "..\/evil" must be 1‥64 letters/],
      [["keys", "create", "--name", "a", "--kdf-n", "1000"], /--kdf-n: 1000 is not a power of two/],
      [["keys", "create", "--name", "a", "--kdf-n", "512"], /--kdf-n: 512 is not a power of two in 1024‥1048576/],
    ] as [string[], RegExp][]) {
      const r = await keysCli(dir, args, { env });
      expect(r.code, args.join(" ")).to.equal(ExitCode.Usage);
      expect(r.err).to.match(re);
    }
  });
});
