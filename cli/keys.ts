/**
 * `matchnet keys create | import | list | show`: Ethereum account keystores and BN254 BLS keystores, both in the
 * EIP-2335 layout of protocol/keystore (docs/keystore.md). Keys live in a directory (--dir, MATCHNET_KEYS_DIR or
 * ~/.matchnet/keys) as <name>.json, mode 0600; `list` and `show` never need the password.
 */
import { mkdir, readdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { getAddress, type Hex } from "viem";
import type { MatchnetCommand as Command } from "./command.js";
import { Option } from "commander";
import { operatorId, type G1Point } from "../protocol/bls/index.js";
import {
  DEFAULT_SCRYPT,
  KeystoreError,
  createAccountKeystore,
  createKeystore,
  encryptAccountKey,
  importSecretKey,
  parseAccountKeystore,
  parseKeystore,
  writeAccountKeystoreFile,
  writeKeystoreFile,
  type Keystore,
} from "../protocol/keystore/index.js";
import { CliError, usage } from "./errors.js";
import { table } from "./format.js";
import type { CliIo } from "./io.js";
import { readPassword } from "./password.js";
import { action } from "./command.js";
import type { Context } from "./context.js";

type KeyType = "account" | "bls";

export interface KeyInfo {
  name: string;
  file: string;
  type: KeyType;
  /** Account keys: the checksummed address. */
  address?: string;
  /** BLS keys: the G1 public key (X ‖ Y hex) and its operator id. */
  pubkey?: string;
  operatorId?: string;
}

function keysDir(ctx: Context, dir: unknown): string {
  if (typeof dir === "string") return ctx.path(dir);
  const env = ctx.io.env.MATCHNET_KEYS_DIR;
  if (env !== undefined && env !== "") return ctx.path(env);
  const home = ctx.io.env.HOME;
  if (home === undefined) throw usage("--dir: no keys directory (set --dir, MATCHNET_KEYS_DIR or HOME)");
  return join(home, ".matchnet", "keys");
}

function keyType(v: unknown): KeyType {
  if (v === "account" || v === "bls") return v;
  throw usage(`--type: "${String(v)}" is not a key type (account, bls)`);
}

function kdfN(v: unknown): number {
  if (v === undefined) return DEFAULT_SCRYPT.n;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1024 || n > 1 << 20 || (n & (n - 1)) !== 0) throw usage(`--kdf-n: ${String(v)} is not a power of two in 1024‥1048576`);
  return n;
}

function checkName(name: unknown): string {
  if (typeof name !== "string" || !/^[A-Za-z0-9._-]{1,64}$/.test(name) || name.startsWith(".")) {
    throw usage(`--name: "${String(name)}" must be 1‥64 letters, digits, '.', '_' or '-' (not starting with '.')`);
  }
  return name;
}

/** Describes a keystore file without decrypting it. */
export function describeKeystore(name: string, file: string, text: string): KeyInfo {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new CliError("KEYSTORE", `${file} is not JSON`);
  }
  const pubkey = typeof (raw as { pubkey?: unknown }).pubkey === "string" ? ((raw as { pubkey: string }).pubkey.replace(/^0x/, "")) : "";
  try {
    if (pubkey.length === 40) {
      const ks = parseAccountKeystore(raw);
      return { name, file, type: "account", address: getAddress(`0x${ks.pubkey}`) };
    }
    const ks = parseKeystore(raw);
    const pk: G1Point = { X: BigInt(`0x${ks.pubkey.slice(0, 64)}`), Y: BigInt(`0x${ks.pubkey.slice(64, 128)}`) };
    return { name, file, type: "bls", pubkey: `0x${ks.pubkey}`, operatorId: operatorId(pk) };
  } catch (err) {
    if (err instanceof KeystoreError) throw new CliError("KEYSTORE", `${file}: ${err.message}`, { cause: err });
    throw err;
  }
}

function describeLine(k: KeyInfo): string {
  return k.type === "account" ? `${k.name}  account  ${k.address}  ${k.file}` : `${k.name}  bls      operator id ${k.operatorId}  ${k.file}`;
}

async function writeKey(type: KeyType, file: string, ks: Keystore): Promise<void> {
  try {
    if (type === "account") await writeAccountKeystoreFile(file, ks);
    else await writeKeystoreFile(file, ks);
  } catch (err) {
    if (err instanceof KeystoreError) throw new CliError("KEYSTORE", err.message, { hint: "Choose another --name, or remove the old file yourself if you really mean to replace it.", cause: err });
    throw err;
  }
}

/** What `keys create` and `keys import` both take: the key type, where the file goes, and the scrypt cost. */
function newKeyOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("--type <type>", "account (Ethereum, secp256k1) or bls (operator, BN254)").default("account"))
    .option("--name <name>", "file name in the keys directory (<name>.json)")
    .option("--out <file>", "write to this file instead of the keys directory")
    .option("--dir <dir>", "keys directory (default MATCHNET_KEYS_DIR or ~/.matchnet/keys)")
    .option("--kdf-n <n>", "scrypt cost n, a power of two (default 262144, EIP-2335's)");
}

interface NewKey {
  type: KeyType;
  scrypt: { n: number; r: number; p: number };
}

/** Checks the options of `newKeyOptions` before anything is asked or read. */
function newKey(opts: Record<string, unknown>): NewKey {
  const type = keyType(opts.type);
  const n = kdfN(opts.kdfN);
  if (opts.out === undefined && opts.name === undefined) throw usage("--name: give a key name (or --out <file>)");
  return { type, scrypt: { n, r: DEFAULT_SCRYPT.r, p: DEFAULT_SCRYPT.p } };
}

/**
 * Asks for the new password, encrypts with `seal` (a KeystoreError becomes the CLI error `code`: a weak password on
 * create, a bad key on import), writes the key file and reports it as `verb`.
 */
async function sealAndWrite(
  ctx: Context,
  opts: Record<string, unknown>,
  key: NewKey,
  verb: "created" | "imported",
  code: "PASSWORD" | "KEYSTORE",
  seal: (password: string) => Promise<Keystore>,
): Promise<void> {
  const to = await target(ctx, opts);
  const what = verb === "created" ? `password for the new ${key.type} key` : `password for the imported ${key.type} key`;
  const password = await readPassword(ctx.io, { file: ctx.opts.passwordFile, what, confirm: true });
  let ks: Keystore;
  try {
    ks = await seal(password);
  } catch (err) {
    if (err instanceof KeystoreError) throw new CliError(code, err.message, { cause: err });
    throw err;
  }
  await writeKey(key.type, to.file, ks);
  const info = describeKeystore(to.name, to.file, JSON.stringify(ks));
  ctx.result(info, [`${verb} ${describeLine(info)}`]);
}

async function target(ctx: Context, opts: Record<string, unknown>): Promise<{ name: string; file: string }> {
  if (typeof opts.out === "string") {
    const file = ctx.path(opts.out);
    return { name: basename(file).replace(/\.json$/, ""), file };
  }
  const name = checkName(opts.name);
  const dir = keysDir(ctx, opts.dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return { name, file: join(dir, `${name}.json`) };
}

export function addKeysCommands(program: Command, io: CliIo): void {
  const keys = program.command("keys").description("create, import, list and show keystores");

  action(newKeyOptions(keys.command("create").description("generate a key and write it encrypted")), io, async (ctx, _args, opts) => {
    const key = newKey(opts);
    const { scrypt } = key;
    await sealAndWrite(ctx, opts, key, "created", "PASSWORD", async (password) =>
      key.type === "account" ? (await createAccountKeystore(password, { scrypt })).keystore : (await createKeystore(password, { scrypt })).keystore,
    );
  });

  action(
    newKeyOptions(keys.command("import").description("encrypt an existing private key (read from --key-file or a hidden prompt)")).option(
      "--key-file <file>",
      "file whose first line is the private key (32 bytes hex)",
    ),
    io,
    async (ctx, _args, opts) => {
      const key = newKey(opts);
      const { scrypt } = key;
      let secret: string;
      if (typeof opts.keyFile === "string") {
        try {
          secret = ((await readFile(ctx.path(opts.keyFile), "utf8")).split(/\r?\n/)[0] ?? "").trim();
        } catch (err) {
          throw usage(`--key-file: cannot read ${opts.keyFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
        }
      } else if (ctx.io.readSecret !== undefined) {
        secret = (await ctx.io.readSecret("Private key (hex, not echoed): ")).trim();
      } else {
        throw usage("--key-file: give the private key in a file (no terminal to ask)");
      }
      if (!/^(0x)?[0-9a-fA-F]{64}$/.test(secret)) throw usage("--key-file: the private key must be 32 bytes of hex");
      const hex = (secret.startsWith("0x") ? secret : `0x${secret}`) as Hex;
      await sealAndWrite(ctx, opts, key, "imported", "KEYSTORE", (password) =>
        key.type === "account" ? encryptAccountKey(hex, password, { scrypt }) : importSecretKey(hex, password, { scrypt }),
      );
    },
  );

  action(
    keys.command("list").description("list the keystores in the keys directory").option("--dir <dir>", "keys directory"),
    io,
    async (ctx, _args, opts) => {
      const dir = keysDir(ctx, opts.dir);
      let names: string[];
      try {
        names = (await readdir(dir)).filter((f) => f.endsWith(".json")).sort();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") names = [];
        else throw err;
      }
      const keysFound: KeyInfo[] = [];
      const broken: { file: string; problem: string }[] = [];
      for (const f of names) {
        const file = join(dir, f);
        try {
          keysFound.push(describeKeystore(f.replace(/\.json$/, ""), file, await readFile(file, "utf8")));
        } catch (err) {
          broken.push({ file, problem: (err as Error).message });
        }
      }
      const text =
        keysFound.length === 0
          ? [`no keystores in ${dir}`]
          : [table(["name", "type", "address / operator id"], keysFound.map((k) => [k.name, k.type, k.address ?? k.operatorId ?? ""]))];
      for (const b of broken) text.push(`not a keystore: ${b.problem}`);
      ctx.result({ dir, keys: keysFound, invalid: broken }, text);
    },
  );

  action(
    keys.command("show").description("show one keystore's type, address or public key (no password needed)").argument("<key>", "a name in the keys directory or a file path").option("--dir <dir>", "keys directory"),
    io,
    async (ctx, [key], opts) => {
      const candidates = key!.includes("/") || key!.endsWith(".json") ? [ctx.path(key!)] : [join(keysDir(ctx, opts.dir), `${key}.json`)];
      const file = candidates[0]!;
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch {
        throw new CliError("NOT_FOUND", `no keystore ${file}`, { hint: "`matchnet keys list` shows the keys you have." });
      }
      const info = describeKeystore(basename(file).replace(/\.json$/, ""), file, text);
      const lines = info.type === "account"
        ? [`name     ${info.name}`, `type     account (secp256k1)`, `address  ${info.address}`, `file     ${info.file}`]
        : [`name         ${info.name}`, `type         bls (BN254)`, `operator id  ${info.operatorId}`, `pubkey G1    ${info.pubkey}`, `file         ${info.file}`];
      ctx.result(info, lines);
    },
  );
}
