/**
 * Why each order open at a batch's R_b was left unmatched: the deterministic matcher re-run on the inputs at R_b
 * (protocol/chain/reads.ts `readMatchInputs`, the same reads operators sign over) with the batch's seed, exactly as
 * the devnet checks each batch. Only for final batches (the seed is known); answers are cached, since neither the
 * inputs at R_b nor the seed can change. Needs an RPC that serves state at old blocks (an archive node, or
 * `hardhat node`); when the reads fail the page says the reasons are unavailable.
 */
import type { PublicClient } from "viem";
import type { SystemAddresses } from "../protocol/chain/reads.js";
import { readMatchInputs } from "../protocol/chain/reads.js";
import { matchBatch, UnmatchedReason } from "../protocol/matching/index.js";
import type { OpenOrderExplainer } from "./api.js";
import type { SqlDb } from "./db.js";

/** Re-runs kept in memory (each holds one batch's unmatched list). */
const CACHE_SIZE = 64;

export class MatcherExplainer implements OpenOrderExplainer {
  private readonly cache = new Map<number, Promise<{ orderId: number; reason: string }[] | null>>();

  constructor(
    private readonly modules: { client: PublicClient; db: SqlDb; addrs: SystemAddresses; logger?: { warn(obj: object, msg: string): void } },
  ) {}

  explain(batch: number): Promise<{ orderId: number; reason: string }[] | null> {
    const hit = this.cache.get(batch);
    if (hit !== undefined) return hit;
    const run = this.run(batch);
    this.cache.set(batch, run);
    void run.then((r) => {
      if (r === null) this.cache.delete(batch); // not final yet, or reads failed: try again next time
    });
    while (this.cache.size > CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
    return run;
  }

  private async run(batch: number): Promise<{ orderId: number; reason: string }[] | null> {
    const b = await this.modules.db.get<{ status: string; reference_block: number; seed: `0x${string}` | null }>(
      "SELECT status, reference_block, seed FROM batches WHERE id = ?",
      [batch],
    );
    if (b === undefined || b.status !== "final" || b.seed === null) return null;
    try {
      const inputs = await readMatchInputs(this.modules.client, this.modules.addrs, BigInt(b.reference_block));
      const result = matchBatch(inputs, b.seed);
      return result.unmatched.map((u) => ({ orderId: Number(u.orderId), reason: UnmatchedReason[u.reason] ?? `reason ${u.reason}` }));
    } catch (err) {
      this.modules.logger?.warn({ batch, err: err instanceof Error ? err.message : String(err) }, "explorer: matcher re-run failed");
      return null;
    }
  }
}
