/**
 * `matchnet renter lease access <id>`: the endpoint and credential of a lease, from the sealed access its provider
 * published in `LeaseReady` (docs/agent.md), opened with the renter's account key (`--account`; the password from
 * --password-file, MATCHNET_PASSWORD or a prompt). The key is decrypted for this one use and wiped after it.
 *
 * A renter that is a contract account (a multisig, a smart wallet) has no key of its own: it names an access key on
 * the marketplace (`matchnet renter access-key set`, which sends `setAccessKey` or prints its calldata for the wallet
 * to execute), and opens its leases with `--access-key <keystore>` (an account keystore holding that key) instead of
 * `--account`.
 *
 * Refusals: not ready yet (exit 10, with the block from which the renter may close for a handoff timeout), lease
 * closed (exit 7), not the account's lease, a key other than the renter's access key, or a sealed access this key
 * cannot open (exit 4).
 */
import { readFile } from "node:fs/promises";
import { bytesToHex, encodeFunctionData, getAddress, hexToBytes, type Address } from "viem";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { privateKeyToAccount } from "viem/accounts";
import type { MatchnetCommand as Command } from "./command.js";
import { action } from "./command.js";
import { marketplaceAbi } from "../protocol/chain/abi.js";
import { HandoffError, decodeAccess, open } from "../protocol/handoff/ecies.js";
import { KeystoreError, decryptKeystoreSecret, parseAccountKeystore } from "../protocol/keystore/index.js";
import { CloseReason, LeaseStatus } from "../protocol/market/types.js";
import { CliError, fromChainError, revertOf } from "./errors.js";
import { enumName, parseId } from "./format.js";
import type { CliIo } from "./io.js";
import type { Context } from "./context.js";
import { readPassword } from "./password.js";

/** The secret key in an account keystore file, decrypted (password from --password-file, MATCHNET_PASSWORD or a prompt). */
async function keyOfKeystore(ctx: Context, io: CliIo, file: string): Promise<Uint8Array> {
  try {
    const ks = parseAccountKeystore(await readFile(file, "utf8"));
    const password = await readPassword(io, { file: ctx.opts.passwordFile, what: `password for ${file}` });
    return await decryptKeystoreSecret(ks, password);
  } catch (err) {
    if (err instanceof CliError) throw err;
    if (err instanceof KeystoreError) throw new CliError(err.code === "WrongPassword" ? "PASSWORD" : "KEYSTORE", `${file}: ${err.message}`, { cause: err });
    throw new CliError("KEYSTORE", `${file}: ${(err as Error).message}`, { cause: err });
  }
}

export function addAccessKeyCommands(renter: Command, io: CliIo): void {
  const ak = renter.command("access-key").description("the key your leases' access is sealed to, for a renter that is a contract account (docs/agent.md)");
  action(
    ak.command("set").description("name the public key of an account keystore as your access key (setAccessKey)").argument("<keystore>", "account keystore holding the access key")
      .option("--calldata", "print the call for a contract-account renter to execute instead of sending it from --account"),
    io,
    async (ctx, [file], opts) => {
      const c = await ctx.contracts();
      const secret = await keyOfKeystore(ctx, io, ctx.path(file!));
      let key: `0x${string}`;
      try {
        key = bytesToHex(secp256k1.getPublicKey(secret, true));
      } finally {
        secret.fill(0);
      }
      const data = encodeFunctionData({ abi: marketplaceAbi, functionName: "setAccessKey", args: [key] });
      if (opts.calldata === true) {
        ctx.result({ to: c.marketplace, data, accessKey: key }, [`access key  ${key}`, `to          ${c.marketplace}`, `data        ${data}`, "have the renter contract (multisig, smart wallet) call `to` with `data`"]);
        return;
      }
      const receipt = await ctx.send("setAccessKey", { address: c.marketplace, abi: marketplaceAbi, functionName: "setAccessKey", args: [key] });
      ctx.result({ renter: await ctx.address(), accessKey: key, tx: receipt.transactionHash, block: receipt.blockNumber }, [`access key ${key} named for ${await ctx.address()} (block ${receipt.blockNumber})`]);
    },
  );
}

export function addLeaseAccessCommand(lease: Command, io: CliIo): void {
  action(
    lease.command("access").description("endpoint and credential of a ready lease, decrypted with the account's key (or the renter's access key)").argument("<leaseId>")
      .option("--access-key <keystore>", "open with this access key (a contract-account renter's, named by `renter access-key set`) instead of --account"),
    io,
    async (ctx, [id], opts) => {
    const leaseId = parseId(id!, "<leaseId>");
    const c = await ctx.contracts();
    const d = await ctx.deployment();
    const client = await ctx.client();
    const accessKeyFile = opts.accessKey as string | undefined;
    const me: Address | null = accessKeyFile === undefined ? await ctx.address() : null;
    let l;
    try {
      l = await client.readContract({ address: c.marketplace, abi: marketplaceAbi, functionName: "getLease", args: [leaseId] });
    } catch (err) {
      if (revertOf(err)?.errorName === "MarketplaceUnknownLease") throw new CliError("NOT_FOUND", `no lease ${leaseId}`, { hint: "`matchnet renter lease list` shows your leases (a lease's id is its order's id)." });
      throw fromChainError(err, `lease ${leaseId}`);
    }
    if (me !== null && getAddress(l.renter) !== getAddress(me)) {
      throw new CliError("KEYSTORE", `lease ${leaseId} is not yours: its renter is ${getAddress(l.renter)}, the account is ${getAddress(me)}`, { hint: "Its access is sealed to the renter's key; pass that renter's keystore with --account." });
    }
    if (l.status === LeaseStatus.Closed) {
      const reason = enumName(CloseReason, l.closeReason);
      throw new CliError("NOT_FOUND", `lease ${leaseId} is closed (${reason}): there is nothing to access`);
    }
    if (l.readyAt === 0n) {
      const timeout = await client.readContract({ address: c.marketplace, abi: marketplaceAbi, functionName: "handoffTimeout" });
      const head = await client.getBlockNumber();
      const from = l.startBlock + timeout + 1n;
      throw new CliError("NOT_READY", `lease ${leaseId} is not ready yet: its provider has not handed it over (started in block ${l.startBlock}, now ${head})`, {
        hint: head >= from
          ? `The handoff timeout has passed: you may close it now with a full refund (the marketplace's closeLeaseForHandoffTimeout).`
          : `Try again in a few blocks; from block ${from} on you may close it with a full refund (closeLeaseForHandoffTimeout).`,
      });
    }
    const logs = await client.getContractEvents({ address: c.marketplace, abi: marketplaceAbi, eventName: "LeaseReady", args: { leaseId }, fromBlock: l.readyAt, toBlock: l.readyAt, strict: true });
    const ready = logs[0];
    if (ready === undefined) throw new CliError("CHAIN", `lease ${leaseId} is ready since block ${l.readyAt} but the node returned no LeaseReady log for it`, { hint: "Is --rpc a node that keeps logs (not a pruned one)?" });

    const file = ctx.path(accessKeyFile ?? ctx.opts.account ?? io.env.MATCHNET_ACCOUNT ?? "");
    const named = accessKeyFile === undefined ? null : await client.readContract({ address: c.marketplace, abi: marketplaceAbi, functionName: "accessKeyOf", args: [l.renter], blockNumber: l.readyAt });
    const secret = await keyOfKeystore(ctx, io, file);
    try {
      if (me !== null && getAddress(privateKeyToAccount(`0x${Buffer.from(secret).toString("hex")}`).address) !== getAddress(me)) {
        throw new CliError("KEYSTORE", `${file}: decrypted key does not control ${me}`);
      }
      if (named !== null && named !== bytesToHex(secp256k1.getPublicKey(secret, true))) {
        throw new CliError("KEYSTORE", `${file}: not the access key renter ${getAddress(l.renter)} had named when lease ${leaseId} was handed over (${named === "0x" ? "none" : named})`, {
          hint: named === "0x" ? "The renter named no access key: open it with --account (the renter's own key)." : "Pass the keystore of the key `renter access-key set` named.",
        });
      }
      const access = decodeAccess(open(secret, { chainId: d.chainId, marketplace: c.marketplace, leaseId }, hexToBytes(ready.args.sealedAccess)));
      ctx.result(
        { leaseId, provider: getAddress(l.provider), readyAt: l.readyAt, endpoint: access.endpoint, credential: access.credential },
        [`lease       ${leaseId} (ready since block ${l.readyAt}, provider ${getAddress(l.provider)})`, `endpoint    ${access.endpoint}`, `credential  ${access.credential}`, `try         curl -H 'Authorization: Bearer <credential>' ${access.endpoint}`],
      );
    } catch (err) {
      if (err instanceof HandoffError) {
        throw new CliError("KEYSTORE", `lease ${leaseId}: the sealed access does not open with this ${named === null ? "account's" : "access"} key (${err.code})`, { hint: "It was sealed to another key, or altered; ask the provider.", cause: err });
      }
      throw err;
    } finally {
      secret.fill(0);
    }
  });
}
