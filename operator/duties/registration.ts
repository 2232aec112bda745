/**
 * Registration as the node sees it: whether its BLS key is an active operator with stake (a node that is not
 * follows without signing, health 206), whether the account keystore belongs to the same operator, and the
 * sockets of operators that joined since start (added to the peers the network keeps dialling).
 */
import type { WalletClient } from "viem";
import { operatorRegistryAbi } from "../../protocol/chain/abi.js";
import { OperatorStatus } from "../../protocol/chain/enums.js";
import type { DutyContext } from "./context.js";
import { toOperatorId } from "../../protocol/chain/ids.js";

export interface RegistrationView {
  registered: boolean;
  stake: bigint;
  /** IOperatorRegistry.OperatorStatus. */
  status: number;
  otherOperators: number;
}

export class Registration {
  private view: RegistrationView = { registered: false, stake: 0n, status: OperatorStatus.None, otherOperators: 0 };

  constructor(private readonly ctx: DutyContext) {}

  get current(): RegistrationView {
    return this.view;
  }

  async refresh(): Promise<void> {
    const { client, addresses, operatorId } = this.ctx;
    const reg = addresses.operatorRegistry;
    const stake = await client.readContract({ address: reg, abi: operatorRegistryAbi, functionName: "currentStake", args: [operatorId] });
    let status: number = OperatorStatus.None;
    if (stake > 0n) {
      const op = await client.readContract({ address: reg, abi: operatorRegistryAbi, functionName: "getOperator", args: [operatorId] });
      status = op.status;
    }
    const count = await client.readContract({ address: reg, abi: operatorRegistryAbi, functionName: "operatorCount" });
    // A jailed or exiting operator is not asked to sign.
    const registered = stake > 0n && status === OperatorStatus.Active;
    this.view = { registered, stake, status, otherOperators: Math.max(0, Number(count) - (registered ? 1 : 0)) };
    this.ctx.metrics.registeredStakes.set({ quorum_number: "0", quorum_name: "stake" }, tokens(stake));
  }

  /** Warns when the account keystore is registered to another operator id than the BLS keystore's. */
  async checkAccount(wallet: WalletClient | null): Promise<void> {
    if (!wallet?.account) return;
    const idOfAccount = await this.ctx.client.readContract({
      address: this.ctx.addresses.operatorRegistry,
      abi: operatorRegistryAbi,
      functionName: "operatorIdOf",
      args: [wallet.account.address],
    });
    if (BigInt(idOfAccount) !== 0n && toOperatorId(idOfAccount) !== this.ctx.operatorId) {
      this.ctx.log.warn(
        { event: "account_mismatch", account: wallet.account.address, accountOperatorId: idOfAccount, blsOperatorId: this.ctx.operatorId },
        "the account keystore belongs to another operator than the BLS keystore",
      );
    }
  }

  /**
   * Makes the network's chain peers the sockets of the operator set at `block`: operators that joined are dialled
   * and get reserved connection slots, those that left lose them (protocol/p2p/network.ts, setChainPeers).
   */
  async refreshBootstrap(block: bigint): Promise<void> {
    const network = this.ctx.network();
    if (!network) return;
    const set = await this.ctx.operatorSets.load(block);
    network.setChainPeers(set.operators.map((o) => o.socket ?? ""));
  }
}

/** Stake in whole tokens (18 decimals) for a float gauge; exact up to 2^53 wei per token fraction lost. */
function tokens(wei: bigint): number {
  return Number(wei / 10n ** 12n) / 1e6;
}
