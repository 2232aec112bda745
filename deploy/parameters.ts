/**
 * The parameters file of `npm run deploy` (docs/deploy.md): every constructor argument and owner setting of the
 * system, validated here with zod before anything is sent. Each rule is the contract's own (the constructor's or the
 * owner setter's revert condition, cited next to it), so a value the chain would refuse is named here instead, after
 * no gas was spent. Amounts are integers in the token's base units, written as JSON numbers or decimal strings
 * (a uint256 does not fit in a JSON number).
 */
import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { getAddress, isAddress, type Address } from "viem";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ConfigError, ConfigErrorCode, parseConfig } from "../protocol/config/load.js";
import { MATCHNET_DEFAULTS } from "./MatchnetModule.js";
import { SERVICE_MANAGER_DEFAULTS } from "./service-manager-defaults.js";

const BPS = 10_000;
const UINT16 = 2 ** 16 - 1;
const UINT32 = 2 ** 32 - 1;
const UINT64 = 2n ** 64n - 1n;
const UINT256 = 2n ** 256n - 1n;
/** ServiceManager.MAX_REFERENCE_AGE: the slashing window is MAX_REFERENCE_AGE + 3 × batchTimeout. */
export const MAX_REFERENCE_AGE = 256n;
/** ServiceManager.MAX_FALLBACK_LENGTH: batchTimeout / seedTimeout + 1 must not exceed it. */
export const MAX_FALLBACK_LENGTH = 32n;

const address = z
  .string({ error: "must be an address (0x followed by 40 hex digits)" })
  .refine((s) => isAddress(s, { strict: false }), { error: "must be an address (0x followed by 40 hex digits)" })
  .refine((s) => BigInt(s) !== 0n, { error: "must not be the zero address" })
  .transform((s) => getAddress(s));

/** An unsigned integer up to `max`, from a JSON number (safe integers only) or a decimal string. */
function uint(max: bigint, what: string) {
  return z
    .union([z.number(), z.string()], { error: `must be an integer (a number or a decimal string) ≤ ${what}` })
    .transform((v, ctx) => {
      if (typeof v === "number" && !Number.isSafeInteger(v)) {
        ctx.addIssue({ code: "custom", message: "must be an integer; write a value above 2^53 as a decimal string" });
        return z.NEVER;
      }
      if (typeof v === "string" && !/^[0-9]+$/.test(v)) {
        ctx.addIssue({ code: "custom", message: "must be a decimal string of digits (no sign, point, exponent or 0x)" });
        return z.NEVER;
      }
      const n = BigInt(v);
      if (n < 0n) {
        ctx.addIssue({ code: "custom", message: "must be ≥ 0" });
        return z.NEVER;
      }
      if (n > max) {
        ctx.addIssue({ code: "custom", message: `must be ≤ ${what}` });
        return z.NEVER;
      }
      return n;
    });
}

const uint16 = z.number({ error: "must be an integer" }).int({ error: "must be an integer" }).min(0, { error: "must be ≥ 0" }).max(UINT16, { error: `must be ≤ ${UINT16}` });
const bps = uint16.max(BPS, { error: `must be ≤ ${BPS} (basis points)` });
const blocks32 = z.number({ error: "must be a whole number of blocks" }).int({ error: "must be a whole number of blocks" }).min(1, { error: "must be ≥ 1" }).max(UINT32, { error: `must be ≤ ${UINT32}` });

export { SERVICE_MANAGER_DEFAULTS };

export const deployParametersSchema = z
  .strictObject({
    /** Owner of every contract once deployed; the deploying account when absent. */
    owner: address.optional(),
    /** Receives slashed operator stake minus bounties (OperatorRegistry); the owner when absent. */
    treasury: address.optional(),
    /**
     * "faucet": deploy PaymentToken and StakeToken, whose faucet anyone may call (local chains only).
     * Otherwise the addresses of existing ERC-20s: payment (orders, leases, earnings) and stake (providers, operators).
     */
    tokens: z.union([z.literal("faucet"), z.strictObject({ payment: address, stake: address })], { error: 'must be "faucet" or { "payment": <address>, "stake": <address> }' }).default("faucet"),
    /** ProviderRegistry: minimum provider stake (stake-token base units). */
    minProviderStake: uint(UINT256, "2^256 − 1").default(MATCHNET_DEFAULTS.minProviderStake),
    /** ProviderRegistry: blocks between a provider's exit request and the release of its stake (uint64). */
    providerExitDelay: uint(UINT64, "2^64 − 1").default(MATCHNET_DEFAULTS.exitDelay),
    /** Marketplace: an order expires at most this many blocks after creation (uint64; fixed for the contract's life). */
    maxOrderLifetime: uint(UINT64, "2^64 − 1")
      .refine((n) => n > 0n, { error: "must be ≥ 1 (no order could be placed)" })
      .default(MATCHNET_DEFAULTS.maxOrderLifetime),
    /** Marketplace: the smallest escrow an order may lock, in payment-token base units (0: none). */
    minimumEscrow: uint(UINT256, "2^256 − 1").default(0n),
    /** OperatorRegistry: minimum operator stake (stake-token base units). */
    minOperatorStake: uint(UINT256, "2^256 − 1").default(MATCHNET_DEFAULTS.minOperatorStake),
    /** OperatorRegistry: blocks between an operator's deregistration and its withdrawal (uint32). */
    operatorExitDelay: uint(BigInt(UINT32), "2^32 − 1").default(MATCHNET_DEFAULTS.operatorExitDelay),
    batchTiming: z
      .strictObject({ batchInterval: blocks32, seedTimeout: blocks32, batchTimeout: blocks32 })
      .default({ ...SERVICE_MANAGER_DEFAULTS.batchTiming }),
    /** More than half of the stake, at most all of it (ServiceManager._setQuorum). */
    quorumThresholdBps: bps
      .min(BPS / 2 + 1, { error: `must be > ${BPS / 2} (more than half of the stake)` })
      .default(SERVICE_MANAGER_DEFAULTS.quorumThresholdBps),
    matchingWeights: z
      .strictObject({ region: bps, price: bps, uptime: bps, reputation: bps, availability: bps, slashing: bps, stake: bps, random: bps })
      .default({ ...SERVICE_MANAGER_DEFAULTS.matchingWeights }),
    slashFractions: z
      .strictObject({ equivocationSlashBps: bps, equivocationBountyBps: bps.max(BPS - 1, { error: `must be < ${BPS}: a bounty of the whole cut lets an offender report itself and lose nothing` }), invalidResultSlashBps: bps })
      .default({ ...SERVICE_MANAGER_DEFAULTS.slashFractions }),
    /** Missed duties in a row before an operator can be ejected, and the ejection rate (ServiceManager._setEjection). */
    ejection: z
      .strictObject({
        streak: uint16.min(2, { error: "must be ≥ 2" }).max(64, { error: "must be ≤ 64" }),
        rateBps: bps,
        window: blocks32,
      })
      .default({ ...SERVICE_MANAGER_DEFAULTS.ejection }),
    /** Blocks a provider has to hand a new lease over before its renter may close it with a full refund (2 … 7 200). */
    handoffTimeout: z.number({ error: "must be a whole number of blocks" }).int({ error: "must be a whole number of blocks" }).min(2, { error: "must be ≥ 2" }).max(7_200, { error: "must be ≤ 7200" }).default(SERVICE_MANAGER_DEFAULTS.handoffTimeout),
  })
  .superRefine((p, ctx) => {
    const t = p.batchTiming;
    // ServiceManager._setTiming: seedTimeout < batchTimeout, at most MAX_FALLBACK_LENGTH leaders in a batch's life.
    if (t.batchTimeout <= t.seedTimeout) {
      ctx.addIssue({ code: "custom", path: ["batchTiming", "batchTimeout"], message: `must be > seedTimeout (${t.seedTimeout})` });
    } else if (BigInt(Math.floor(t.batchTimeout / t.seedTimeout)) + 1n > MAX_FALLBACK_LENGTH) {
      ctx.addIssue({ code: "custom", path: ["batchTiming", "seedTimeout"], message: `must be ≥ batchTimeout / ${MAX_FALLBACK_LENGTH - 1n} (${Math.ceil((t.batchTimeout + 1) / Number(MAX_FALLBACK_LENGTH)) } for batchTimeout ${t.batchTimeout}): at most ${MAX_FALLBACK_LENGTH} leaders per batch` });
    }
    // ServiceManager._setTiming: an operator may not leave before every proof against it can land.
    const window = slashingWindow(BigInt(t.batchTimeout));
    if (p.operatorExitDelay < window) {
      ctx.addIssue({ code: "custom", path: ["operatorExitDelay"], message: `must be ≥ the slashing window ${window} blocks (${MAX_REFERENCE_AGE} + 3 × batchTiming.batchTimeout ${t.batchTimeout})` });
    }
    const w = p.matchingWeights;
    const sum = w.region + w.price + w.uptime + w.reputation + w.availability + w.slashing + w.stake + w.random;
    if (sum !== BPS) ctx.addIssue({ code: "custom", path: ["matchingWeights"], message: `must sum to ${BPS}, they sum to ${sum}` });
  });

export type DeployParameters = z.output<typeof deployParametersSchema>;

/** ServiceManager._slashingWindow. */
export function slashingWindow(batchTimeout: bigint): bigint {
  return MAX_REFERENCE_AGE + 3n * batchTimeout;
}

/** Validates parameters already parsed (as from a file); throws ConfigError naming each bad field. */
export function parseDeployParameters(source: string, value: unknown): DeployParameters {
  try {
    return parseConfig(source, value ?? {}, deployParametersSchema);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const lines = err.issues.map((i) => `  - ${i.path || "(top level)"}: ${i.message}`);
    throw new ConfigError(err.code, `invalid deploy parameters in ${source}; nothing was sent:\n${lines.join("\n")}`, err.issues);
  }
}

/** Reads and validates a parameters file (.json, .yaml or .yml). */
export async function loadDeployParameters(file: string): Promise<DeployParameters> {
  const ext = extname(file).toLowerCase();
  if (![".json", ".yaml", ".yml"].includes(ext)) throw new ConfigError(ConfigErrorCode.UnknownFormat, `parameters file ${file}: unknown format "${ext}" (use .json, .yaml or .yml)`);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new ConfigError(ConfigErrorCode.FileUnreadable, `cannot read parameters file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let value: unknown;
  try {
    value = ext === ".json" ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(ConfigErrorCode.ParseFailed, `parameters file ${file}: not valid ${ext === ".json" ? "JSON" : "YAML"} (${(err as Error).message})`);
  }
  return parseDeployParameters(file, value);
}

/** The external tokens, or null for faucet tokens. */
export function externalTokens(p: DeployParameters): { payment: Address; stake: Address } | null {
  return p.tokens === "faucet" ? null : p.tokens;
}
