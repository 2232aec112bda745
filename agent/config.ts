/**
 * The provider agent's config file (docs/agent.md "Config"): YAML or JSON, validated by zod like the operator's and
 * the aggregator's (protocol/config/schema.ts): strict objects, a secret in the file refused, relative paths resolved
 * against the file's directory.
 */
import { dirname, isAbsolute, resolve } from "node:path";
import { z } from "zod";
import { LOG_LEVELS } from "../protocol/log/logger.js";
import { loadConfig } from "../protocol/config/load.js";

const path = z.string({ error: "must be a path (string)" }).min(1, { error: "must not be empty" });
const port = z.number({ error: "must be a number" }).int({ error: "must be an integer" }).min(1, { error: "must be between 1 and 65535" }).max(65_535, { error: "must be between 1 and 65535" });

/**
 * Chain ids of local dev chains (Hardhat, anvil, the devnet; as docs/deploy.md's faucet rule): they have no reorgs
 * (a block is final when mined), so the agent acts on the head.
 */
export const LOCAL_CHAIN_IDS: readonly number[] = [31_337, 1_337];
/**
 * `confirmations` on any other chain (docs/agent.md "Confirmation depth"): 3 blocks cover the one- and two-block
 * reorgs of Ethereum's fork choice and of an L2 sequencer's unsafe head in normal operation, cost 3 blocks of
 * handoff latency (36 s at 12 s blocks, 6 s at 2 s), and leave 17 of the marketplace's default 20-block
 * handoffTimeout for the workload to start and `markLeaseReady` to land.
 */
export const DEFAULT_CONFIRMATIONS = 3;
/** The marketplace's largest handoffTimeout (Marketplace.MAX_HANDOFF_TIMEOUT, 7 200 blocks) less the block `markLeaseReady` needs to land. */
export const MAX_CONFIRMATIONS = 7_199;

/** The confirmation depth the agent uses: the configured one, else 0 on a local dev chain and DEFAULT_CONFIRMATIONS elsewhere. */
export function confirmationsFor(chainId: number, configured: number | undefined): number {
  return configured ?? (LOCAL_CHAIN_IDS.includes(chainId) ? 0 : DEFAULT_CONFIRMATIONS);
}

export const providerAgentConfigSchema = z
  .strictObject({
    rpcUrl: z.url({ protocol: /^(https?|wss?)$/, error: "must be an http(s):// or ws(s):// URL" }),
    deploymentFile: path,
    /** Keystore of the provider's Ethereum account (protocol/keystore/account.ts): it sends markLeaseReady. */
    accountKeystorePath: path,
    /** File holding the keystore password; without it the password comes from MATCHNET_AGENT_PASSWORD. */
    passwordFile: path.optional(),
    /** The agent's state (agent-state.json), created 0700. */
    dataDir: path,
    workload: z
      .strictObject({
        /** Address the workloads listen on. */
        host: z.string({ error: "must be a host address" }).min(1, { error: "must not be empty" }).default("127.0.0.1"),
        /** Host name or address the renter is told to connect to; defaults to `host`. */
        advertiseHost: z.string({ error: "must be a host name or address" }).min(1, { error: "must not be empty" }).optional(),
        /** Ports the workloads take, one per active lease: [first, last]. */
        portRange: z.tuple([port, port], { error: "must be [first, last]" }),
        /** Idle workload processes kept started, so that a new lease's workload listens at once (agent/workloads.ts). */
        spares: z.number({ error: "must be a number" }).int({ error: "must be an integer" }).min(0, { error: "must be between 0 and 16" }).max(16, { error: "must be between 0 and 16" }).default(1),
      })
      .refine((w) => w.portRange[0] <= w.portRange[1], { error: "first must be ≤ last", path: ["portRange"] }),
    /**
     * How deep a block must be before the agent acts on it: it reconciles against the chain at `head - confirmations`
     * (0 = the head itself). Omitted: 0 on a local dev chain, DEFAULT_CONFIRMATIONS elsewhere (confirmationsFor).
     * Bounded by the marketplace's largest handoffTimeout less one block; the deployment's own handoffTimeout is
     * checked at start (agent/agent.ts).
     */
    confirmations: z.number({ error: "must be a number" }).int({ error: "must be an integer" }).min(0, { error: `must be between 0 and ${MAX_CONFIRMATIONS}` }).max(MAX_CONFIRMATIONS, { error: `must be between 0 and ${MAX_CONFIRMATIONS}` }).optional(),
    /** How often the chain head is polled, in ms (a new block triggers a reconcile). */
    pollIntervalMs: z.number({ error: "must be a number" }).int({ error: "must be an integer" }).min(50, { error: "must be ≥ 50" }).max(60_000, { error: "must be ≤ 60000" }).default(250),
    logLevel: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(", ")}` }).default("info"),
  });

export type ProviderAgentConfig = z.infer<typeof providerAgentConfigSchema>;

export async function loadProviderAgentConfig(file: string): Promise<ProviderAgentConfig> {
  const config = await loadConfig(file, providerAgentConfigSchema);
  const base = dirname(resolve(file));
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  return {
    ...config,
    deploymentFile: abs(config.deploymentFile),
    accountKeystorePath: abs(config.accountKeystorePath),
    dataDir: abs(config.dataDir),
    ...(config.passwordFile !== undefined ? { passwordFile: abs(config.passwordFile) } : {}),
  };
}
