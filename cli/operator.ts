/**
 * `matchnet operator register | status | exit | withdraw-stake`: an operator's registration in the OperatorRegistry
 * with its BLS key (a BLS keystore, docs/keystore.md) and a proof of possession bound to the chain, the registry
 * and the account (protocol/bls/pop.ts).
 */
import { readFile } from "node:fs/promises";
import type { MatchnetCommand as Command } from "./command.js";
import { zeroHash } from "viem";
import { operatorRegistryAbi, stakeTokenAbi } from "../protocol/chain/abi.js";
import { OperatorStatus } from "../protocol/chain/enums.js";
import { operatorId, signProofOfPossession } from "../protocol/bls/index.js";
import { KeystoreError, unlockKeystore } from "../protocol/keystore/index.js";
import { decimalsOf, ensureAllowance } from "./chain.js";
import { CliError, usage } from "./errors.js";
import { amount, enumName, parseAmount } from "./format.js";
import type { CliIo } from "./io.js";
import { readPassword } from "./password.js";
import { action } from "./command.js";

export function addOperatorCommands(program: Command, io: CliIo): void {
  const operator = program.command("operator").description("AVS operators: registration and status");

  action(
    operator.command("register").description("register the account as an operator with a BLS key and a stake")
      .requiredOptionX("--bls-keystore <file>", "BLS keystore (matchnet keys create --type bls)")
      .option("--bls-password-file <file>", "password of the BLS keystore (default: the account's sources)")
      .requiredOptionX("--stake <amount>", "stake tokens to lock")
      .requiredOptionX("--socket <multiaddr>", "the operator's libp2p address, e.g. /ip4/203.0.113.5/tcp/9000/p2p/<peer id>"),
    io,
    async (ctx, _a, opts) => {
      const { operatorRegistry } = await ctx.serviceManager();
      const c = await ctx.contracts();
      const client = await ctx.client();
      const dec = await decimalsOf(ctx, c.stakeToken);
      const stake = parseAmount(String(opts.stake), dec, "--stake");
      const socket = String(opts.socket).trim();
      if (socket === "") throw usage("--socket: give the operator's multiaddr");
      const min = await client.readContract({ address: operatorRegistry, abi: operatorRegistryAbi, functionName: "minimumStake" });
      if (stake < min) throw usage(`--stake: ${amount(stake, dec)} is below the minimum operator stake ${amount(min, dec)}`);
      const file = ctx.path(String(opts.blsKeystore));
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch {
        throw new CliError("KEYSTORE", `BLS keystore ${file} not found`, { hint: "Create one with `matchnet keys create --type bls`." });
      }
      const account = await ctx.account();
      const password = await readPassword(ctx.io, { file: typeof opts.blsPasswordFile === "string" ? opts.blsPasswordFile : ctx.opts.passwordFile, what: `password for ${file}` });
      let sk;
      try {
        sk = await unlockKeystore(text, password);
      } catch (err) {
        if (err instanceof KeystoreError) throw new CliError(err.code === "WrongPassword" ? "PASSWORD" : "KEYSTORE", `${file}: ${err.message}`, { cause: err });
        throw err;
      }
      const pop = signProofOfPossession(sk, { chainId: BigInt((await ctx.deployment()).chainId), registry: operatorRegistry, operator: account.address });
      await ensureAllowance(ctx, c.stakeToken, operatorRegistry, stake, "stake token");
      const r = await ctx.send("operator register", {
        address: operatorRegistry, abi: operatorRegistryAbi, functionName: "register",
        args: [stake, sk.publicKeyG1(), sk.publicKeyG2(), pop, socket],
      });
      const id = operatorId(sk.publicKeyG1());
      ctx.result({ operator: account.address, operatorId: id, stake, socket, tx: r.transactionHash }, `registered operator ${id} (${account.address}) with stake ${amount(stake, dec)} at ${socket} (tx ${r.transactionHash})`);
    },
  );

  action(operator.command("status").description("the operator's status, stake and exit"), io, async (ctx) => {
    const { operatorRegistry } = await ctx.serviceManager();
    const c = await ctx.contracts();
    const client = await ctx.client();
    const me = await ctx.address();
    const id = await client.readContract({ address: operatorRegistry, abi: operatorRegistryAbi, functionName: "operatorIdOf", args: [me] });
    if (id === zeroHash) throw new CliError("NOT_FOUND", `${me} is not a registered operator`, { hint: "Register with `matchnet operator register`." });
    const [o, total, head] = await Promise.all([
      client.readContract({ address: operatorRegistry, abi: operatorRegistryAbi, functionName: "getOperator", args: [id] }),
      client.readContract({ address: operatorRegistry, abi: operatorRegistryAbi, functionName: "currentTotalStake" }),
      client.getBlockNumber(),
    ]);
    const dec = await decimalsOf(ctx, c.stakeToken);
    const status = enumName(OperatorStatus, o.status);
    const shareBps = total === 0n || o.status !== OperatorStatus.Active ? 0 : Number((o.stake * 10_000n) / total);
    const lines = [
      `operator    ${id}`,
      `account     ${o.operator}`,
      `status      ${status} (registered at block ${o.registeredAt})`,
      `stake       ${amount(o.stake, dec)} (${(shareBps / 100).toFixed(2)}% of the set)`,
      `socket      ${o.socket}`,
      `slashed     ${o.timesSlashed}×`,
    ];
    if (o.status === OperatorStatus.Exiting) lines.push(`exit        stake withdrawable from block ${o.exitableAt} (now ${head})`);
    ctx.result({ operatorId: id, operator: o.operator, status, registeredAt: o.registeredAt, exitableAt: o.exitableAt, stake: o.stake, stakeShareBps: shareBps, socket: o.socket, timesSlashed: o.timesSlashed, headBlock: head }, lines);
  });

  action(operator.command("exit").description("deregister: leave the set now, stake withdrawable after the exit delay"), io, async (ctx) => {
    const { operatorRegistry } = await ctx.serviceManager();
    const r = await ctx.send("operator exit", { address: operatorRegistry, abi: operatorRegistryAbi, functionName: "deregister" });
    const client = await ctx.client();
    const id = await client.readContract({ address: operatorRegistry, abi: operatorRegistryAbi, functionName: "operatorIdOf", args: [(await ctx.account()).address] });
    const o = await client.readContract({ address: operatorRegistry, abi: operatorRegistryAbi, functionName: "getOperator", args: [id] });
    ctx.result({ operatorId: id, exitableAt: o.exitableAt, tx: r.transactionHash }, `deregistered operator ${id}; run \`matchnet operator withdraw-stake\` from block ${o.exitableAt} (tx ${r.transactionHash})`);
  });

  action(operator.command("withdraw-stake").description("withdraw the stake after the exit delay"), io, async (ctx) => {
    const { operatorRegistry } = await ctx.serviceManager();
    const c = await ctx.contracts();
    const client = await ctx.client();
    const me = (await ctx.account()).address;
    const before = await client.readContract({ address: c.stakeToken, abi: stakeTokenAbi, functionName: "balanceOf", args: [me] });
    const r = await ctx.send("operator withdraw-stake", { address: operatorRegistry, abi: operatorRegistryAbi, functionName: "withdrawStake" });
    const after = await client.readContract({ address: c.stakeToken, abi: stakeTokenAbi, functionName: "balanceOf", args: [me] });
    const dec = await decimalsOf(ctx, c.stakeToken);
    ctx.result({ withdrawn: after - before, tx: r.transactionHash }, `withdrew ${amount(after - before, dec)} stake (tx ${r.transactionHash})`);
  });
}
