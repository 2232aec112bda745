/**
 * Resolves what the handlers of one block range asked for (explorer/handlers.ts `load`), with as few RPC calls as
 * possible: every new order of the range in one `getOrders` (an order's parameters never change after creation),
 * and per finalized batch its transaction, receipt, the operator set at R_b and the seed signer.
 */
import { isAddressEqual, type Address, type Hex, type PublicClient } from "viem";
import { marketplaceAbi, serviceManagerAbi } from "../protocol/chain/abi.js";
import { readOperatorSet, readOrders } from "../protocol/chain/reads.js";
import { toOperatorId } from "../protocol/chain/ids.js";
import { decodeNonSigners, nonSignerIds } from "../protocol/chain/submissions.js";
import type { Loaded, LoadedFinalization, Needs } from "./handlers.js";

/** How many orders one `getOrders` eth_call reads (bounded like the operators' order scans). */
const ORDER_PAGE = 500;

export class Loader implements Needs {
  private readonly orderIds = new Set<bigint>();
  private readonly finals = new Map<bigint, { tx: Hex; block: bigint }>();

  constructor(
    private readonly client: PublicClient,
    private readonly addrs: { marketplace: Address; operatorRegistry?: Address; serviceManager?: Address },
  ) {}

  order(id: bigint): void {
    this.orderIds.add(id);
  }

  finalization(batch: bigint, tx: Hex, block: bigint): void {
    this.finals.set(batch, { tx, block });
  }

  /**
   * `readAt` is the block whose state the orders are read from: one where every requested order exists and whose
   * state the node serves (the indexer gives the newest block of the range that has a log).
   */
  async resolve(readAt: bigint): Promise<Loaded> {
    const loaded: Loaded = { orders: new Map(), finalizations: new Map() };
    const ids = [...this.orderIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (let i = 0; i < ids.length; i += ORDER_PAGE) {
      const page = ids.slice(i, i + ORDER_PAGE);
      const rows = await readOrders(this.client, this.addrs.marketplace, page, readAt);
      rows.forEach((o, j) => loaded.orders.set(page[j]!, o));
    }
    for (const [batch, { tx, block }] of this.finals) loaded.finalizations.set(batch, await this.finalizationOf(batch, tx, block));
    return loaded;
  }

  private async finalizationOf(batch: bigint, txHash: Hex, block: bigint): Promise<LoadedFinalization> {
    const { serviceManager, operatorRegistry } = this.addrs;
    if (serviceManager === undefined || operatorRegistry === undefined) throw new Error("explorer: batch events without AVS contracts in the deployment");
    const [b, tx, receipt] = await Promise.all([
      this.client.readContract({ address: serviceManager, abi: serviceManagerAbi, functionName: "getBatch", args: [batch], blockNumber: block }),
      this.client.getTransaction({ hash: txHash }),
      this.client.getTransactionReceipt({ hash: txHash }),
    ]);
    // Read at the finalization block, not at R_b: the explorer keeps ids and stakes only, which the registry's
    // checkpoints give from any later block, and the node may no longer serve (or, inside a multi-block
    // `hardhat_mine`, never served) the state at R_b.
    const set = await readOperatorSet(this.client, operatorRegistry, BigInt(b.referenceBlock), { readAt: block });
    const leader = await this.client.readContract({ address: serviceManager, abi: serviceManagerAbi, functionName: "leaderOf", args: [batch, 0n], blockNumber: block });
    const nonSignerKeys = tx.to !== null && tx.to !== undefined && isAddressEqual(tx.to, serviceManager) ? decodeNonSigners(tx.input) : null;
    if (nonSignerKeys === null) {
      return {
        referenceBlock: b.referenceBlock, seedSignerIndex: null, seedSigner: null, leader, gasUsed: receipt.gasUsed,
        operators: set.operators.map((o) => ({ operatorId: o.operatorId, stake: o.stake, signed: null })),
      };
    }
    const seedSignerIndex = BigInt(b.seedSignerIndex);
    const nonSigners = nonSignerIds(nonSignerKeys);
    const seedSigner = await this.client.readContract({ address: serviceManager, abi: serviceManagerAbi, functionName: "leaderOf", args: [batch, seedSignerIndex], blockNumber: block });
    return {
      referenceBlock: b.referenceBlock,
      seedSignerIndex: Number(seedSignerIndex),
      seedSigner,
      leader,
      gasUsed: receipt.gasUsed,
      operators: set.operators.map((o) => ({ operatorId: o.operatorId, stake: o.stake, signed: !nonSigners.has(toOperatorId(o.operatorId)) })),
    };
  }
}
