/**
 * The one logger factory (pino, JSON lines). Components receive a `Logger` (a child with their module name) rather
 * than creating one, so tests can capture output and the node sets the level once.
 *
 * Secrets are never logged: values under secret-like keys are replaced by "[redacted]" at any of the first three
 * nesting levels, a safety net behind the rule that secrets are simply not passed to the logger.
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from "pino";

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type Logger = PinoLogger;

/** Keys whose values are secrets wherever they appear. */
export const SECRET_KEYS = [
  "password",
  "passphrase",
  "secret",
  "secretKey",
  "privateKey",
  "sk",
  "mnemonic",
  "seedPhrase",
  "apiKey",
  "token",
  "authorization",
] as const;

export const REDACTED = "[redacted]";

/** pino's redaction takes explicit paths; `*` matches one level, so list depth 0, 1 and 2. */
export const REDACT_PATHS: string[] = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

export interface LoggerOpts {
  level: LogLevel;
  /** Component or process name, written as `name` on every line. */
  name?: string;
  /** Where lines go; stdout, written synchronously, when absent. */
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOpts): Logger {
  const options = {
    level: opts.level,
    name: opts.name,
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    // Numbers in logs are often uint256 amounts; pino cannot serialise bigint, so print them as decimal strings.
    formatters: { log: (obj: Record<string, unknown>) => bigintsToStrings(obj) as Record<string, unknown> },
  };
  // Synchronous writes: pino's default stdout stream buffers, and a node killed (OOM, SIGKILL, power) would lose the
  // very lines that say what it did last — for an operator, the signature it just stored. Nodes log a few lines a
  // batch, so the cost is nil.
  return pino(options, opts.destination ?? pino.destination({ dest: 1, sync: true }));
}

function bigintsToStrings(value: unknown, depth = 0): unknown {
  if (typeof value === "bigint") return value.toString();
  if (depth > 4 || value === null || typeof value !== "object" || value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((v) => bigintsToStrings(v, depth + 1));
  if (value instanceof Uint8Array) return `0x${Buffer.from(value).toString("hex")}`;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = bigintsToStrings(v, depth + 1);
  return out;
}

/** A logger that writes nothing, for components run without one. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
