/**
 * Config file schemas (zod 4) for the operator node and the aggregator. Both share the chain, storage, network,
 * metrics and logging parts; each adds its own. Objects are strict: an unknown field is an error (a typo would
 * otherwise silently fall back to a default), and a secret in the file (`password`, `privateKey`, …) is refused
 * with a pointer to `passwordFile` — the password is only ever read from that file.
 */
import { z } from "zod";
import { LOG_LEVELS } from "../log/logger.js";

/** TCP listen address: /ip4/<addr>/tcp/<port> or /ip6/<addr>/tcp/<port> (port 0 = any free port). */
const LISTEN_MULTIADDR = /^\/ip[46]\/[^/]+\/tcp\/\d{1,5}$/;
/** A peer to dial: a TCP address (ip or dns name) ending in the peer's id. */
const PEER_MULTIADDR = /^\/(ip4|ip6|dns4|dns6|dns)\/[^/]+\/tcp\/\d{1,5}\/p2p\/[1-9A-HJ-NP-Za-km-z]{46,}$/;

const path = z.string({ error: "must be a path (string)" }).min(1, { error: "must not be empty" });

const port = z
  .number({ error: "must be a number" })
  .int({ error: "must be an integer" })
  .min(0, { error: "must be between 0 and 65535" })
  .max(65_535, { error: "must be between 0 and 65535" });

const endpoint = z.strictObject({
  host: z.string({ error: "must be a host name or address" }).min(1, { error: "must not be empty" }).default("127.0.0.1"),
  port,
});

const listen = z.string({ error: "must be a multiaddr string" }).regex(LISTEN_MULTIADDR, {
  error: "must be a TCP multiaddr like /ip4/0.0.0.0/tcp/9000",
});

const allowEntry = z.string({ error: "must be a multiaddr string" }).regex(/^\/(ip4|ip6)\/[^/]+(\/.*)?$/, {
  error: "must start with /ip4/<addr> or /ip6/<addr>, like /ip4/10.0.0.7",
});

const bootstrapPeer = z.string({ error: "must be a multiaddr string" }).regex(PEER_MULTIADDR, {
  error: "must be a peer multiaddr ending in /p2p/<peer id>, like /ip4/10.0.0.2/tcp/9000/p2p/12D3KooW…",
});

/**
 * Blocks the follower may lag the chain head and still be healthy (docs/operator.md, "Health"). The follower polls
 * the head every pollIntervalMs and then reads each new block's events, so between two polls it is normally a few
 * blocks behind: on the devnet, which mines a block per transaction as well as one a second, a burst of order
 * transactions put it 3 blocks behind in 1–2 answers of 10. Eight blocks covers such bursts; a follower that is
 * really stuck falls further behind with every block and is reported within seconds on a devnet (a minute and a
 * half at Ethereum's 12 s blocks).
 */
export const DEFAULT_HEALTH_MAX_BLOCKS_BEHIND = 8;

/** Default of `rpcWaitMs`: long enough for a chain node started at the same time to come up. */
export const DEFAULT_RPC_WAIT_MS = 30_000;

const shared = {
  rpcUrl: z.url({ protocol: /^(https?|wss?)$/, error: "must be an http(s):// or ws(s):// URL" }),
  /** The deployment file (contract addresses and chain id) written by the deploy step. */
  deploymentFile: path,
  /** LevelDB directory: slashing protection and node state. */
  dataDir: path,
  listen,
  bootstrap: z.array(bootstrapPeer, { error: "must be a list of peer multiaddrs" }).default([]),
  /**
   * Addresses given reserved connection slots and exempt from per-IP limits (docs/operator.md, "Hostile peers"):
   * for an operator, the aggregators it expects; bootstrap peers and registered operators are added by the node.
   */
  allow: z.array(allowEntry, { error: "must be a list of /ip4/<addr> or /ip6/<addr> multiaddrs" }).optional(),
  metrics: endpoint,
  /**
   * How long start-up waits for the chain RPC to answer before giving up (ms): a progress line every 5 s meanwhile,
   * and no single request waits longer than that, so an RPC that accepts and never answers is reported within it.
   */
  rpcWaitMs: z.number({ error: "must be a number" }).int({ error: "must be an integer" }).min(1_000, { error: "must be ≥ 1000 (ms)" }).max(3_600_000, { error: "must be ≤ 3600000 (one hour)" }).default(DEFAULT_RPC_WAIT_MS),
  logLevel: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(", ")}` }).default("info"),
};

/** Keys that would hold secrets; refused anywhere at the top level with a specific message. */
export const FORBIDDEN_SECRET_KEYS = ["password", "passphrase", "privateKey", "secretKey", "mnemonic"] as const;

export const operatorConfigSchema = z
  .strictObject({
    ...shared,
    /** EIP-2335-style keystore holding the operator's BLS key. */
    keystorePath: path,
    /**
     * Keystore of the operator's Ethereum account (secp256k1, same encrypted layout, protocol/keystore/account.ts),
     * used to send equivocation proofs; without it the node reports equivocations but sends nothing.
     */
    accountKeystorePath: path.optional(),
    /** File whose content (one trailing newline ignored) is the password of both keystores. */
    passwordFile: path,
    api: endpoint,
    health: z
      .strictObject({
        /**
         * Blocks the node's chain follower may be behind the chain head while /eigen/node/health still answers 200;
         * beyond it the answer is 206 (syncing). The default tolerates the follower's normal polling lag
         * (DEFAULT_HEALTH_MAX_BLOCKS_BEHIND).
         */
        maxBlocksBehind: z.number({ error: "must be a number" }).int({ error: "must be an integer" }).min(0, { error: "must be ≥ 0" }).default(DEFAULT_HEALTH_MAX_BLOCKS_BEHIND),
      })
      .default({ maxBlocksBehind: DEFAULT_HEALTH_MAX_BLOCKS_BEHIND }),
    /**
     * How often the node polls the chain head, in ms. A close is seen at most this long after its block; each poll is
     * one RPC call, which many operators on one machine (the devnet's 32 or 64) pay in CPU together.
     */
    pollIntervalMs: z.number({ error: "must be a number of milliseconds" }).int({ error: "must be an integer" }).min(50, { error: "must be ≥ 50" }).max(60_000, { error: "must be ≤ 60000" }).default(250),
  })
  .superRefine((config, ctx) => {
    const { api, metrics } = config;
    if (api.port !== 0 && api.port === metrics.port && api.host === metrics.host) {
      ctx.addIssue({ code: "custom", message: `must differ from api.port (${api.port})`, path: ["metrics", "port"] });
    }
  });

export const aggregatorConfigSchema = z
  .strictObject({
    ...shared,
    /** Keystore of the Ethereum account that pays for submissions (protocol/keystore/account.ts). */
    keystorePath: path,
    passwordFile: path,
    aggregation: z
      .strictObject({
        /** Blocks to keep collecting after quorum is reached (fewer non-signers = less gas), 0 = submit at once. */
        quorumWaitBlocks: z.number({ error: "must be a number" }).int({ error: "must be an integer" }).min(0, { error: "must be ≥ 0" }).default(1),
        /** How long a partial for a batch not yet seen closed is held before it is dropped. */
        earlyPartialHoldMs: z.number({ error: "must be a number" }).int({ error: "must be an integer" }).min(0, { error: "must be ≥ 0" }).default(5_000),
      })
      .default({ quorumWaitBlocks: 1, earlyPartialHoldMs: 5_000 }),
    /** The enforcement duty (aggregator/enforcer.ts, docs/aggregator.md "Enforcement"): on unless switched off here. */
    enforcement: z
      .strictObject({
        /** Slash every signer of a result proven invalid (slashInvalidResultSigner), within its window. */
        slashInvalidResults: z.boolean({ error: "must be true or false" }).default(true),
        /** Eject operators that missed a duty in each of the last `streak` final batches (ejectInactive). */
        ejectInactive: z.boolean({ error: "must be true or false" }).default(true),
      })
      .default({ slashInvalidResults: true, ejectInactive: true }),
  });

export type OperatorConfig = z.infer<typeof operatorConfigSchema>;
export type AggregatorConfig = z.infer<typeof aggregatorConfigSchema>;
