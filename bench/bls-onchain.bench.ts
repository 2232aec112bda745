/**
 * Gas of the on-chain BLS and AVS code (contracts/libraries, contracts/avs), on Hardhat's simulated network.
 *
 * - bls.onchain_verify_gas: one aggregate signature (4 signers) verified by the gamma check BLS.verifyBound,
 *   measured inside the contract with gasleft() (no transaction or calldata overhead).
 * - gas.register_operator: transaction gas of OperatorRegistry.register for an operator joining a set of 4.
 * - gas.check_signatures_0_nonsigners / gas.check_signatures_per_nonsigner: BLSSignatureChecker.checkSignatures
 *   over a set of 12 operators, measured inside the contract with gasleft() the way eigenlayer-middleware's unit
 *   tests measure theirs; the slope is (gas with 8 non-signers − gas with 0) / 8.
 * - gas.check_signatures_with_seed_0_nonsigners: the same check plus one more operator signature (the leader's
 *   seed) folded into a single 3-pair multi-pairing (_checkSignaturesAndOne), including the registry read of the
 *   leader's G2 key.
 * - gas.slash_equivocation: transaction gas of a successful equivocation slash (two gamma checks, slash, bounty).
 */
import hre from "hardhat";
import { keccak256, toBytes } from "viem";
import { aggregateG1, aggregateG2 } from "../protocol/bls/index.js";
import { deployAvs, makeOperator, popFor, register, sortedNonSignerKeys, STAKE_UNIT } from "../test/support/avs.js";

export default async function (): Promise<Record<string, number>> {
  // A bench may run from a clean checkout: compile first (a no-op when artifacts are fresh).
  await hre.tasks.getTask("build").run({ quiet: true });

  const avs = await deployAvs();
  const ops = Array.from({ length: 12 }, (_, i) => makeOperator(avs, i));
  for (const op of ops.slice(0, 4)) await register(avs, op, 100n * STAKE_UNIT);

  // Registration of a fifth operator into a set of four (transaction gas).
  const fifth = ops[4]!;
  await avs.token.write.mint([fifth.address, 100n * STAKE_UNIT]);
  await avs.token.write.approve([avs.registry.address, 100n * STAKE_UNIT], { account: fifth.wallet.account });
  const regHash = await avs.registry.write.register(
    [100n * STAKE_UNIT, fifth.pkG1, fifth.pkG2, popFor(avs, fifth.sk, fifth.address), fifth.socket],
    { account: fifth.wallet.account },
  );
  const registerGas = (await avs.publicClient.waitForTransactionReceipt({ hash: regHash })).gasUsed;

  for (const op of ops.slice(5)) await register(avs, op, 100n * STAKE_UNIT);
  const R = Number(await avs.publicClient.getBlockNumber());
  await avs.networkHelpers.mine(1);

  const msg = keccak256(toBytes("bench batch 1 result"));
  const harness = await avs.viem.deployContract("BLSHarness");
  const four = ops.slice(0, 4);
  const [ok, verifyGas] = await harness.read.measureVerifyBound([
    msg,
    aggregateG1(four.map((o) => o.pkG1)),
    aggregateG2(four.map((o) => o.pkG2)),
    aggregateG1(four.map((o) => o.sk.sign(msg))),
  ]);
  if (!ok) throw new Error("bench: aggregate signature did not verify");

  const checkGas = async (nonSigners: number): Promise<bigint> => {
    const signers = ops.slice(nonSigners);
    const [signed, total, gas] = await avs.avs.read.measureCheckSignatures([
      msg,
      R,
      sortedNonSignerKeys(ops.slice(0, nonSigners)),
      aggregateG2(signers.map((o) => o.pkG2)),
      aggregateG1(signers.map((o) => o.sk.sign(msg))),
    ]);
    if (signed !== total - BigInt(nonSigners) * 100n * STAKE_UNIT) throw new Error("bench: unexpected signed stake");
    return gas;
  };
  const gas0 = await checkGas(0);
  const gas8 = await checkGas(8);

  // The same check with the leader's seed signature folded into one 3-pair multi-pairing.
  const seedMsg = keccak256(toBytes("bench seed message"));
  const [, , gasWithSeed] = await avs.avs.read.checkSignaturesAndOne([
    msg,
    R,
    [],
    aggregateG2(ops.map((o) => o.pkG2)),
    aggregateG1(ops.map((o) => o.sk.sign(msg))),
    ops[3]!.id,
    seedMsg,
    ops[3]!.sk.sign(seedMsg),
  ]);

  // Equivocation: operator 0 signs two results of batch 1.
  await avs.registry.write.setSlasher([avs.avs.address]);
  const seed = keccak256(toBytes("bench seed"));
  const signedResult = async (label: string) => {
    const assignmentsHash = keccak256(toBytes(label));
    const m = await avs.avs.read.resultMessageHash([1n, R, seed, assignmentsHash]);
    return { assignmentsHash, sigma: ops[0]!.sk.sign(m) };
  };
  const slashHash = await avs.avs.write.slashEquivocation([
    ops[0]!.id,
    1n,
    R,
    seed,
    await signedResult("result A"),
    await signedResult("result B"),
  ]);
  const slashGas = (await avs.publicClient.waitForTransactionReceipt({ hash: slashHash })).gasUsed;

  return {
    "bls.onchain_verify_gas": Number(verifyGas),
    "gas.register_operator": Number(registerGas),
    "gas.check_signatures_0_nonsigners": Number(gas0),
    "gas.check_signatures_per_nonsigner": Number(gas8 - gas0) / 8,
    "gas.check_signatures_with_seed_0_nonsigners": Number(gasWithSeed),
    "gas.slash_equivocation": Number(slashGas),
  };
}
