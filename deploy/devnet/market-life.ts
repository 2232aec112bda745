/**
 * A living market for the devnet (`--load`, docs/devnet.md "A living market"): between two batches the chain's clock
 * moves on by `hoursPerBatch` hours (`evm_increaseTime`, which hardhat node and anvil both serve), leases whose
 * time is up are completed and free their GPUs, some renters close leases early, providers now and then withdraw an
 * offer and list a new one, and renters place as many orders as the load asks for. So the market reaches a steady
 * state instead of filling up once and stalling.
 *
 * Load: the GPU-hours renters ask for per batch, as a percentage of the GPU-hours the offered capacity supplies per
 * batch. An order asks for E[gpus] × E[hours] GPU-hours on average (the order mix of setup.ts placeOrders: GPUs from
 * {1, 1, 2, 4, 8}, hours 1‥24), and the capacity supplies gpusOffered × hoursPerBatch per batch, so
 *   orders per batch = load / 100 × gpusOffered × hoursPerBatch / (E[gpus] × E[hours]).
 * At 100 % demand equals supply; the fill rate stays below 100 % even then, because part of the mix asks for models,
 * regions, prices or reputations nobody offers (the live view names the most common reason).
 */
import { parseEventLogs, type Address, type Log } from "viem";
import { marketplaceAbi, offerBookAbi } from "../../protocol/chain/abi.js";
import type { Deployment } from "../../protocol/chain/deployment.js";
import { GPU_CATALOG } from "../../protocol/market/catalog.js";
import { UnmatchedReason } from "../../protocol/matching/index.js";
import { mined, type DevnetChain } from "./chain.js";
import type { DevnetBatchReport } from "./batch.js";
import type { Prng } from "./prng.js";
import type { ProviderSetup } from "./setup.js";

/** E[gpus] × E[hours] of placeOrders' mix: (1+1+2+4+8)/5 × (1+24)/2 = 3.2 × 12.5 = 40 GPU-hours per order. */
const GPU_HOURS_PER_ORDER = 40;
/** Chance (%) per batch that one provider withdraws an offer and lists another. */
const OFFER_CHURN_PCT = 20;
/** Chance (%) per active lease per batch that its renter closes it early. */
const EARLY_CLOSE_PCT = 2;
/** Batches the fill rate of the live view is counted over. */
export const FILL_WINDOW = 20;

export interface MarketLifeOptions {
  /** Demand as a percentage of supply (see above); > 0. */
  load: number;
  /** Simulated hours between two batches (the chain's clock moves on by this much). */
  hoursPerBatch: number;
}

export interface MarketStep {
  ordersPlaced: number;
  leasesEnded: number;
  leasesClosedEarly: number;
  offersWithdrawn: number;
  offersCreated: number;
}

interface ActiveLease {
  renter: Address;
  endsAt: bigint;
}

export class MarketLife {
  private readonly active = new Map<bigint, ActiveLease>();
  /** Orders placed before each batch, in batch order (the fill rate's denominator). */
  readonly placedPerBatch: number[] = [];

  constructor(
    readonly opts: MarketLifeOptions,
    private readonly chain: DevnetChain,
    private readonly deployment: Deployment,
    private readonly rng: Prng,
    private readonly providers: ProviderSetup[],
    private readonly owner: Address,
  ) {
    if (!(opts.load > 0)) throw new Error(`devnet: --load must be > 0, got ${opts.load}`);
    if (!Number.isInteger(opts.hoursPerBatch) || opts.hoursPerBatch < 1) throw new Error(`devnet: --hours-per-batch must be a whole number ≥ 1, got ${opts.hoursPerBatch}`);
  }

  /** GPUs offered by the live offers the devnet knows of. */
  get gpusOffered(): number {
    return this.providers.reduce((n, p) => n + p.offers.reduce((m, o) => m + o.gpuCount, 0), 0);
  }

  /** Orders per batch for the load: see the module comment. */
  ordersPerBatch(): number {
    return Math.max(1, Math.round((this.opts.load * this.gpusOffered * this.opts.hoursPerBatch) / (100 * GPU_HOURS_PER_ORDER)));
  }

  /**
   * Before a batch: learns the leases the last batch started, moves the clock on, ends the leases whose time is up
   * (and a few early), churns an offer now and then, and returns how many orders to place.
   */
  async beforeBatch(last: DevnetBatchReport | null): Promise<MarketStep & { ordersToPlace: number }> {
    const pc = this.chain.publicClient;
    const c = this.deployment.contracts;
    for (const a of last?.applied ?? []) {
      const lease = await pc.readContract({ address: c.marketplace, abi: marketplaceAbi, functionName: "getLease", args: [a.orderId] });
      this.active.set(a.orderId, { renter: lease.renter, endsAt: lease.endsAt });
    }
    // The new time only holds from the next block on, and gas estimation runs against the latest block: mine one
    // (evm_mine, served by both nodes) so that completeLease is estimated at the new time. Without it anvil's
    // estimate reverts (the lease has not ended yet at the old time) and its fallback gas limit, the block's,
    // breaks the 2²⁴ per-transaction cap.
    await pc.request({ method: "evm_increaseTime", params: [this.opts.hoursPerBatch * 3_600] } as never);
    await pc.request({ method: "evm_mine", params: [] } as never);
    const owner = this.chain.wallet(this.owner);
    const now = (await pc.getBlock({ blockTag: "latest" })).timestamp;
    let leasesEnded = 0;
    let leasesClosedEarly = 0;
    for (const [leaseId, l] of [...this.active]) {
      if (l.endsAt <= now) {
        await mined(this.chain, await owner.writeContract({ account: this.owner, chain: this.chain.chain, address: c.marketplace, abi: marketplaceAbi, functionName: "completeLease", args: [leaseId] }), `completeLease ${leaseId}`);
        this.active.delete(leaseId);
        leasesEnded++;
      } else if (this.rng.chance(EARLY_CLOSE_PCT)) {
        const w = this.chain.wallet(l.renter);
        await mined(this.chain, await w.writeContract({ account: l.renter, chain: this.chain.chain, address: c.marketplace, abi: marketplaceAbi, functionName: "closeLease", args: [leaseId] }), `closeLease ${leaseId}`);
        this.active.delete(leaseId);
        leasesClosedEarly++;
      }
    }
    let offersWithdrawn = 0;
    let offersCreated = 0;
    if (this.rng.chance(OFFER_CHURN_PCT)) {
      const p = this.rng.pick(this.providers);
      const w = this.chain.wallet(p.address);
      if (p.offers.length > 1) {
        const i = this.rng.below(p.offers.length);
        const gone = p.offers[i]!;
        await mined(this.chain, await w.writeContract({ account: p.address, chain: this.chain.chain, address: c.offerBook, abi: offerBookAbi, functionName: "withdrawOffer", args: [gone.offerId] }), "withdrawOffer");
        p.offers.splice(i, 1);
        offersWithdrawn++;
      }
      const model = this.rng.pick(GPU_CATALOG);
      const gpuCount = this.rng.pick([8, 16, 32, 64]);
      const pricePerGpuHour = (BigInt(model.listPriceUsd) * 100n * BigInt(this.rng.between(80, 120))) / 100n;
      const receipt = await mined(
        this.chain,
        await w.writeContract({ account: p.address, chain: this.chain.chain, address: c.offerBook, abi: offerBookAbi, functionName: "createOffer", args: [model.id, gpuCount, pricePerGpuHour, c.paymentToken] }),
        "createOffer",
      );
      const offerId = offerIdFromReceipt(receipt.logs);
      p.offers.push({ offerId, modelId: model.id, gpuCount, pricePerGpuHour });
      offersCreated++;
    }
    const ordersToPlace = this.ordersPerBatch();
    this.placedPerBatch.push(ordersToPlace);
    return { ordersToPlace, ordersPlaced: ordersToPlace, leasesEnded, leasesClosedEarly, offersWithdrawn, offersCreated };
  }
}

function offerIdFromReceipt(logs: Log[]): bigint {
  const [ev] = parseEventLogs({ abi: offerBookAbi, eventName: "OfferCreated", logs });
  if (ev === undefined) throw new Error("devnet: createOffer emitted no OfferCreated");
  return ev.args.offerId;
}

/** The figures of the live view over the last reports. */
export interface MarketFigures {
  utilizationBps: number;
  gpusLeased: number;
  gpusOffered: number;
  /** matched / placed over the last FILL_WINDOW batches, in basis points (null before any order). */
  fillBps: number | null;
  /** The most common reason an order open at the last batch's R_b stayed open, and how many orders had it. */
  topReason: { reason: UnmatchedReason; count: number } | null;
  openAfter: number;
}

export function marketFigures(reports: readonly DevnetBatchReport[], placed: readonly number[]): MarketFigures {
  const last = reports[reports.length - 1];
  const from = Math.max(0, reports.length - FILL_WINDOW);
  const matched = reports.slice(from).reduce((n, r) => n + r.matched, 0);
  const asked = placed.slice(from, reports.length).reduce((n, k) => n + k, 0);
  const counts = new Map<UnmatchedReason, number>();
  for (const u of last?.unmatched ?? []) counts.set(u.reason, (counts.get(u.reason) ?? 0) + 1);
  let topReason: MarketFigures["topReason"] = null;
  // Ties go to the smaller reason code, so the line does not flicker between equal counts.
  for (const [reason, count] of [...counts].sort((a, b) => a[0] - b[0])) if (topReason === null || count > topReason.count) topReason = { reason, count };
  const gpusOffered = last?.gpusOffered ?? 0;
  const gpusLeased = last?.gpusLeased ?? 0;
  return {
    utilizationBps: gpusOffered === 0 ? 0 : Math.floor((gpusLeased * 10_000) / gpusOffered),
    gpusLeased,
    gpusOffered,
    fillBps: asked === 0 ? null : Math.floor((matched * 10_000) / asked),
    topReason,
    openAfter: (last?.ordersOpen ?? 0) - (last?.matched ?? 0),
  };
}

/** The live view's market line under each batch. */
export function formatMarketLine(f: MarketFigures, step: MarketStep, reasonText: (r: UnmatchedReason) => string): string {
  const pct = (bps: number) => `${(bps / 100).toFixed(1)} %`;
  const reason = f.topReason === null ? "none" : `${UnmatchedReason[f.topReason.reason]} (${f.topReason.count} orders): ${reasonText(f.topReason.reason)}`;
  return (
    `    market: utilization ${pct(f.utilizationBps)} (${f.gpusLeased}/${f.gpusOffered} GPUs at R_b)   fill ${f.fillBps === null ? "—" : pct(f.fillBps)} (last ${FILL_WINDOW} batches)   ` +
    `placed ${step.ordersPlaced}, leases ended ${step.leasesEnded} (+${step.leasesClosedEarly} early), offers −${step.offersWithdrawn}/+${step.offersCreated}\n` +
    `    open after: ${f.openAfter}; most common reason: ${reason}`
  );
}
