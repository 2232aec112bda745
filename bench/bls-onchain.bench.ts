/**
 * Gas of the on-chain BLS and AVS code (contracts/libraries, contracts/avs), on Hardhat's simulated network.
 *
 * - bls.onchain_verify_gas: one aggregate signature (4 signers) verified by the gamma check BLS.verifyBound,
 *   measured inside the contract with gasleft() (no transaction or calldata overhead).
 * - gas.register_operator: transaction gas of OperatorRegistry.register for an operator joining a set of 4.
 * - gas.check_signatures_0_nonsigners_h<N> / gas.check_signatures_per_nonsigner_h<N>: checkSignatures with hints
 *   over a set of 12 operators, measured inside the contract with gasleft() the way eigenlayer-middleware's unit
 *   tests measure theirs, after N blocks of changes following R (each: one registration and a top-up of each of
 *   the 8 operators later listed as non-signers, recorded by OperatorRegistryHarness.churn exactly as register and
 *   topUp record them), so every history read (apk, total stake, each non-signer's stake) is N entries longer than
 *   at R; the slope is (gas with 8 non-signers − gas with 0) / 8.
 * - gas.check_signatures_with_seed_0_nonsigners: the same check (N = 0) plus one more operator signature (the
 *   leader's seed) folded into a single 3-pair multi-pairing (_checkSignaturesAndOne), including the registry read
 *   of the leader's G2 key.
 * - gas.commit_equivocation: transaction gas of the reporter's commitment to a proof.
 * - gas.slash_equivocation: transaction gas of the reveal that slashes (two gamma checks, commitment lookup, slash,
 *   bounty to the committed reporter).
 */
import hre from "hardhat";
import { keccak256, toBytes } from "viem";
import { aggregateG1, aggregateG2 } from "../protocol/bls/index.js";
import { deployAvs, hintsFor, makeOperator, popFor, register, sortedNonSignerKeys, STAKE_UNIT } from "../test/support/avs.js";

/** History lengths after R at which the check is measured. */
const HISTORY_LENGTHS = [0, 100, 10_000] as const;
const NON_SIGNERS = 8;

export default async function (): Promise<Record<string, number>> {
  // A bench may run from a clean checkout: compile first (a no-op when artifacts are fresh).
  await hre.tasks.getTask("build").run({ quiet: true });

  const avs = await deployAvs({ historyHarness: true });
  const harness = avs.historyHarness!;
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
  const blsHarness = await avs.viem.deployContract("BLSHarness");
  const four = ops.slice(0, 4);
  const [ok, , verifyGas] = await blsHarness.read.verifyBound([
    msg,
    aggregateG1(four.map((o) => o.pkG1)),
    aggregateG2(four.map((o) => o.pkG2)),
    aggregateG1(four.map((o) => o.sk.sign(msg))),
  ]);
  if (!ok) throw new Error("bench: aggregate signature did not verify");

  const checkGas = async (nonSigners: number): Promise<bigint> => {
    const signers = ops.slice(nonSigners);
    const keys = sortedNonSignerKeys(ops.slice(0, nonSigners));
    const [signed, total, gas] = await avs.avs.read.measureCheckSignatures([
      msg,
      R,
      {
        nonSignerPubkeys: keys,
        apkG2: aggregateG2(signers.map((o) => o.pkG2)),
        sigma: aggregateG1(signers.map((o) => o.sk.sign(msg))),
        hints: await hintsFor(avs, msg, R, keys),
      },
    ]);
    if (total !== 12n * 100n * STAKE_UNIT || signed !== total - BigInt(nonSigners) * 100n * STAKE_UNIT) {
      throw new Error("bench: unexpected signed or total stake");
    }
    return gas;
  };

  // The same check with the leader's seed signature folded into one 3-pair multi-pairing.
  const seedMsg = keccak256(toBytes("bench seed message"));
  const [, , gasWithSeed] = await avs.avs.read.checkSignaturesAndOne([
    msg,
    R,
    {
      nonSignerPubkeys: [],
      apkG2: aggregateG2(ops.map((o) => o.pkG2)),
      sigma: aggregateG1(ops.map((o) => o.sk.sign(msg))),
      hints: await hintsFor(avs, msg, R, []),
    },
    ops[3]!.id,
    seedMsg,
    ops[3]!.sk.sign(seedMsg),
  ]);

  const figures: Record<string, number> = {};
  const nonSignerIds = ops.slice(0, NON_SIGNERS).map((o) => o.id);
  let churned = 0;
  for (const n of HISTORY_LENGTHS) {
    // Grow every history the check reads by one entry per block, until N blocks of changes follow R.
    for (; churned < n; churned++) {
      await harness.write.churn([BigInt(1_000 + churned), nonSignerIds, STAKE_UNIT]);
    }
    const gas0 = await checkGas(0);
    const gasN = await checkGas(NON_SIGNERS);
    figures[`gas.check_signatures_0_nonsigners_h${n}`] = Number(gas0);
    figures[`gas.check_signatures_per_nonsigner_h${n}`] = Number(gasN - gas0) / NON_SIGNERS;
  }

  // Equivocation: operator 0 signs two results of batch 1.
  await avs.registry.write.setSlasher([avs.avs.address]);
  const seed = keccak256(toBytes("bench seed"));
  const signedResult = async (label: string) => {
    const assignmentsHash = keccak256(toBytes(label));
    const m = await avs.avs.read.resultMessageHash([1n, R, seed, assignmentsHash]);
    return { assignmentsHash, sigma: ops[0]!.sk.sign(m) };
  };
  // The reporter commits to the proof, then reveals it in a later block and is paid the bounty.
  const [resultA, resultB] = [await signedResult("result A"), await signedResult("result B")];
  const messageOf = (r: { assignmentsHash: `0x${string}` }) => avs.avs.read.resultMessageHash([1n, R, seed, r.assignmentsHash]);
  const [reporter] = await avs.viem.getWalletClients();
  const commitment = await avs.avs.read.equivocationCommitment([
    reporter!.account.address,
    ops[0]!.id,
    `0x${"1".padStart(64, "0")}`,
    { msgHash: await messageOf(resultA), sigma: resultA.sigma },
    { msgHash: await messageOf(resultB), sigma: resultB.sigma },
  ]);
  const commitHash = await avs.avs.write.commitEquivocation([commitment]);
  const commitGas = (await avs.publicClient.waitForTransactionReceipt({ hash: commitHash })).gasUsed;
  const slashHash = await avs.avs.write.slashEquivocation([ops[0]!.id, 1n, R, seed, resultA, resultB]);
  const slashGas = (await avs.publicClient.waitForTransactionReceipt({ hash: slashHash })).gasUsed;

  return {
    "bls.onchain_verify_gas": Number(verifyGas),
    "gas.register_operator": Number(registerGas),
    ...figures,
    "gas.check_signatures_with_seed_0_nonsigners": Number(gasWithSeed),
    "gas.commit_equivocation": Number(commitGas),
    "gas.slash_equivocation": Number(slashGas),
  };
}
