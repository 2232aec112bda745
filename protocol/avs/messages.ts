/**
 * The two digests operators sign, byte-identical to what the ServiceManager contract recomputes (docs/protocol.md §3.2
 * and 3.4). Both are domain-separated by a fixed domain tag, the chain id, the service manager's address and the
 * batch number, so a signature can never be replayed on another chain, deployment or batch. abi.encode pads every
 * integer to 32 bytes, so the widths below need only be wide enough for the values.
 */
import { encodeAbiParameters, keccak256 } from "viem";
import { RESULT_DOMAIN, SEED_DOMAIN, type G1Point, type Hex } from "../bls/index.js";
import { toBytes32, type Bytes32 } from "../chain/ids.js";

export interface SeedMessageParams {
  chainId: bigint;
  serviceManager: Hex;
  batch: bigint;
  /** seed_{b-1}; the genesis seed for batch 1 is fixed at deployment. */
  previousSeed: Hex;
  /** blockhash(R_b). */
  referenceBlockHash: Hex;
}

/** keccak256(abi.encode(SEED_DOMAIN, chainId, serviceManager, b, seed_{b-1}, blockhash(R_b))); the leader signs it. */
export function seedMessageDigest(p: SeedMessageParams): Bytes32 {
  return toBytes32(
    keccak256(
      encodeAbiParameters(
        [{ type: "bytes32" }, { type: "uint256" }, { type: "address" }, { type: "uint64" }, { type: "bytes32" }, { type: "bytes32" }],
        [SEED_DOMAIN, p.chainId, p.serviceManager, p.batch, p.previousSeed, p.referenceBlockHash],
      ),
    ),
  );
}

/** seed_b = keccak256(abi.encode(sig.X, sig.Y)): a BLS signature by one key is unique, so the leader cannot grind it. */
export function seedFromSignature(signature: G1Point): Bytes32 {
  return toBytes32(keccak256(encodeAbiParameters([{ type: "uint256" }, { type: "uint256" }], [signature.X, signature.Y])));
}

export interface ResultMessageParams {
  chainId: bigint;
  serviceManager: Hex;
  batch: bigint;
  referenceBlock: bigint;
  seed: Hex;
  /** keccak256(abi.encode(Assignment[])), see protocol/matching. */
  assignmentsHash: Hex;
}

/** keccak256(abi.encode(RESULT_DOMAIN, chainId, serviceManager, b, R_b, seed_b, assignmentsHash)); every operator signs it. */
export function resultMessageDigest(p: ResultMessageParams): Bytes32 {
  return toBytes32(
    keccak256(
      encodeAbiParameters(
        [
          { type: "bytes32" },
          { type: "uint256" },
          { type: "address" },
          { type: "uint64" },
          { type: "uint64" },
          { type: "bytes32" },
          { type: "bytes32" },
        ],
        [RESULT_DOMAIN, p.chainId, p.serviceManager, p.batch, p.referenceBlock, p.seed, p.assignmentsHash],
      ),
    ),
  );
}
