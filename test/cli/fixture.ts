/**
 * The CLI's tests run its real command tree in-process (`run` from cli/program.ts) against the real contracts on
 * Hardhat's in-process network: the CLI's viem clients talk to the network's EIP-1193 provider through a `custom`
 * transport, so nothing but the HTTP hop is left out (test/cli/subprocess.test.ts runs the executable itself).
 * Batches are closed and finalized for real with the four test operators' BLS keys and the operators' matcher.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { NetworkConnection } from "hardhat/types/network";
import { custom, parseEther, type Address, type Hex } from "viem";
import { run } from "../../cli/program.js";
import { CapturedIo } from "../../cli/io.js";
import { writeDeployment } from "../../protocol/chain/deployment.js";
import { readMatchInputs, type SystemAddresses } from "../../protocol/chain/reads.js";
import { matchBatch, type MatchInputs, type MatchResult } from "../../protocol/matching/index.js";
import { buildSubmission, deploySystem, seedOf, type System } from "../support/serviceManager.js";
import { makeTempDir } from "../support/tempdir.js";

export const PASSWORD = "correct horse battery staple";

export interface CliRun {
  code: number;
  out: string;
  err: string;
  json<T = any>(): T;
}

export interface CliWorld {
  s: System;
  connection: NetworkConnection;
  dir: string;
  deploymentFile: string;
  passwordFile: string;
  addrs: SystemAddresses;
  /** Runs `matchnet <args>` in-process with the deployment and the in-process chain; env and answers optional. */
  cli(args: string[], opts?: { env?: Record<string, string>; secrets?: string[]; confirm?: boolean[]; global?: boolean }): Promise<CliRun>;
  /** Creates an account keystore with the CLI, funds it with ETH, payment and stake tokens; returns file and address. */
  account(name: string, fund?: { usd?: bigint; stake?: bigint }): Promise<{ file: string; address: Address; args: string[] }>;
  /** Closes the next batch and finalizes it with every operator's signature over the matcher's result at R_b. */
  runBatch(): Promise<{ batch: bigint; referenceBlock: bigint; seed: Hex; inputs: MatchInputs; result: MatchResult; assignments: { orderId: bigint; offerVersionId: bigint }[] }>;
  remove(): Promise<void>;
}

export async function cliWorld(connection: NetworkConnection): Promise<CliWorld> {
  const s = await deploySystem(connection);
  const tmp = await makeTempDir("cli");
  const deploymentFile = join(tmp.path, "deployment.json");
  await writeDeployment(deploymentFile, s.deployment);
  const passwordFile = join(tmp.path, "password.txt");
  await writeFile(passwordFile, PASSWORD + "\n", { mode: 0o600 });
  const addrs: SystemAddresses = {
    serviceManager: s.serviceManager.address, operatorRegistry: s.operatorRegistry.address, marketplace: s.marketplace.address,
    offerBook: s.offerBook.address, providerRegistry: s.registry.address, catalog: s.catalog.address,
  };
  const transport = custom(connection.provider as never);
  const cli: CliWorld["cli"] = async (args, opts = {}) => {
    const io = new CapturedIo({ HOME: tmp.path, ...(opts.env ?? {}) }, tmp.path, transport, { secrets: opts.secrets, confirm: opts.confirm });
    const global = opts.global === false ? [] : ["--deployment", deploymentFile, "--rpc", "http://in-process.invalid"];
    const code = await run([...global, ...args], io);
    return { code, out: io.out, err: io.err, json: () => JSON.parse(io.out) };
  };
  const owner = s.wallets[0]!;
  const account: CliWorld["account"] = async (name, fund = {}) => {
    const r = await cli(["--password-file", passwordFile, "--json", "keys", "create", "--name", name, "--kdf-n", "1024"]);
    if (r.code !== 0) throw new Error(`keys create failed: ${r.out}${r.err}`);
    const { file, address } = r.json<{ file: string; address: Address }>();
    await owner.sendTransaction({ to: address, value: parseEther("10") });
    if (fund.usd) await s.paymentToken.write.mint([address, fund.usd]);
    if (fund.stake) await s.stakeToken.write.mint([address, fund.stake]);
    return { file, address, args: ["--account", file, "--password-file", passwordFile] };
  };
  /** Mines block by block (Hardhat's multi-block mine keeps no state inside its range) up to the earliest close. */
  const closeWhenAllowed = async (): Promise<bigint> => {
    const timing = await s.serviceManager.read.batchTiming();
    const count = await s.serviceManager.read.batchCount();
    let earliest = (await s.publicClient.getBlockNumber()) + 1n;
    if (count > 0n) {
      const prev = await s.serviceManager.read.getBatch([count]);
      const a = BigInt(prev.closedAt + timing.batchInterval);
      const b = BigInt(prev.pagesDoneAt) + 1n;
      earliest = a > b ? a : b;
    }
    while ((await s.publicClient.getBlockNumber()) + 1n < earliest) await connection.provider.request({ method: "evm_mine", params: [] });
    await s.serviceManager.write.closeBatch();
    return s.serviceManager.read.batchCount();
  };
  /**
   * The next batch that sees everything done so far: R_b is the block before the earliest allowed close
   * (docs/protocol.md §3.1), so when that block is already past, a batch with an empty result goes first.
   */
  const runBatch: CliWorld["runBatch"] = async () => {
    const head = await s.publicClient.getBlockNumber();
    let batch = await closeWhenAllowed();
    if (BigInt((await s.serviceManager.read.getBatch([batch])).referenceBlock) < head) {
      await s.serviceManager.write.submitResult((await buildSubmission(s, batch, [])).args as never);
      batch = await closeWhenAllowed();
    }
    const b = await s.serviceManager.read.getBatch([batch]);
    const leaderId = await s.serviceManager.read.leaderOf([batch, 0n]);
    const leader = s.ops.find((o) => o.id === leaderId)!;
    const seed = seedOf(leader.sk.sign(await s.serviceManager.read.seedMessageHash([batch])));
    const inputs = await readMatchInputs(s.publicClient as never, addrs, BigInt(b.referenceBlock));
    const result = matchBatch(inputs, seed);
    const rows = result.assignments;
    const { args } = await buildSubmission(s, batch, rows);
    await s.serviceManager.write.submitResult(args as never);
    return { batch, referenceBlock: BigInt(b.referenceBlock), seed, inputs, result, assignments: rows.map((r) => ({ orderId: r.orderId, offerVersionId: r.offerVersionId })) };
  };
  return { s, connection, dir: tmp.path, deploymentFile, passwordFile, addrs, cli, account, runBatch, remove: tmp.remove };
}
