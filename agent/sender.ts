/**
 * The agent's transactions (`markLeaseReady`, `completeLease`): simulated, signed and sent without waiting for one
 * another. Waiting for each receipt before the next send cost a lease handed over in the same block as others one
 * round of receipt polling per lease ahead of it; here every send of a block goes out at once, and the receipts are
 * watched in the background (docs/agent.md "Reconciling against the chain").
 *
 * - **Simulated first**: `eth_estimateGas` runs the call against the head state, so a call that would revert
 *   (`MarketplaceLeaseAlreadyReady`, …) throws here with its decoded custom-error name and is never sent.
 * - **Nonces managed here**: the next nonce is read from the chain (`pending`) once, then counted locally, so the
 *   sends of one block take consecutive nonces without a round trip each. Any failed send makes the next one read
 *   the chain again (a nonce the node refused, or a transaction another tool sent from the same account).
 * - **Fees** from the head block's base fee (twice it, as viem's default, plus the node's suggested tip), the gas
 *   limit the estimate plus a fifth (the sealed access is calldata; storage costs do not vary between the estimate
 *   and the inclusion).
 */
import { encodeFunctionData, type Address, type Hex, type PrivateKeyAccount, type PublicClient, type TransactionReceipt } from "viem";
import { marketplaceAbi } from "../protocol/chain/abi.js";

export type AgentCall = { functionName: "markLeaseReady"; args: readonly [bigint, Hex] } | { functionName: "completeLease"; args: readonly [bigint] };

export interface Fees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

/** How long a receipt is waited for in the background before the send is considered lost (it is then sent again). */
export const RECEIPT_TIMEOUT_MS = 120_000;

export class TxSender {
  private nonce: number | null = null;
  /** Serialises nonce assignment and sending, so nonces leave this process in order. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: PublicClient,
    private readonly account: PrivateKeyAccount,
    private readonly chainId: number,
    private readonly marketplace: Address,
  ) {}

  /** Reads the account's next nonce ahead of the first send (one round trip less when the first lease comes). */
  async prime(): Promise<void> {
    await (this.queue = this.queue.then(async () => {
      this.nonce ??= await this.client.getTransactionCount({ address: this.account.address, blockTag: "pending" });
    }).catch(() => {}));
  }

  /** Makes the next send read the nonce from the chain again (after a reorg dropped or re-queued sends). */
  resetNonce(): void {
    this.queue = this.queue.then(() => {
      this.nonce = null;
    });
  }

  /** Fees for sends at a head whose base fee is `baseFeePerGas` (null before London: a legacy-style cap). */
  async fees(baseFeePerGas: bigint | null): Promise<Fees> {
    const tip = await this.client.estimateMaxPriorityFeePerGas().catch(() => 1_000_000_000n);
    return { maxPriorityFeePerGas: tip, maxFeePerGas: (baseFeePerGas ?? 0n) * 2n + tip };
  }

  /** Simulates `call` against the head; throws (with the revert decoded) if it would fail. Resolves with its gas. */
  simulate(call: AgentCall): Promise<bigint> {
    return this.client.estimateContractGas({ account: this.account, address: this.marketplace, abi: marketplaceAbi, ...call } as never);
  }

  /** Signs `call` with the next nonce and sends it; resolves with its hash once the node accepted it. */
  send(call: AgentCall, gas: bigint, fees: Fees): Promise<Hex> {
    const next = this.queue.then(async () => {
      try {
        this.nonce ??= await this.client.getTransactionCount({ address: this.account.address, blockTag: "pending" });
        const signed = await this.account.signTransaction({
          type: "eip1559",
          chainId: this.chainId,
          nonce: this.nonce,
          to: this.marketplace,
          data: encodeFunctionData({ abi: marketplaceAbi, ...call } as never),
          gas: gas + gas / 5n,
          ...fees,
        });
        const hash = await this.client.sendRawTransaction({ serializedTransaction: signed });
        this.nonce++;
        return hash;
      } catch (err) {
        this.nonce = null;
        throw err;
      }
    });
    this.queue = next.catch(() => {});
    return next;
  }

  /** The receipt of `hash`, or null if none came within RECEIPT_TIMEOUT_MS (the transaction is then presumed lost). */
  async receipt(hash: Hex): Promise<TransactionReceipt | null> {
    try {
      return await this.client.waitForTransactionReceipt({ hash, pollingInterval: 100, timeout: RECEIPT_TIMEOUT_MS });
    } catch {
      this.nonce = null;
      return null;
    }
  }
}
