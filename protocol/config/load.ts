/**
 * Reading a config file: YAML (.yaml/.yml) or JSON (.json), validated against a schema. Every failure is a
 * `ConfigError` whose message names the file and, per problem, the field path and what is wrong, e.g.
 * `api.port: must be between 0 and 65535`. Relative paths inside the file are resolved against the file's
 * directory, so a config works from any working directory.
 */
import { readFile } from "node:fs/promises";
import { dirname, extname, isAbsolute, resolve } from "node:path";
import type { z } from "zod";
import { CodedError, type CodeOf } from "../errors.js";
import { FORBIDDEN_SECRET_KEYS, aggregatorConfigSchema, operatorConfigSchema, type AggregatorConfig, type OperatorConfig } from "./schema.js";

export const ConfigErrorCode = {
  FileUnreadable: "FileUnreadable",
  UnknownFormat: "UnknownFormat",
  ParseFailed: "ParseFailed",
  Invalid: "Invalid",
  PasswordFileUnreadable: "PasswordFileUnreadable",
  PasswordEmpty: "PasswordEmpty",
} as const;
export type ConfigErrorCode = CodeOf<typeof ConfigErrorCode>;

export interface ConfigIssue {
  /** Dotted path of the field, e.g. "api.port" or "bootstrap.1"; "" for the file's top level. */
  path: string;
  message: string;
}

export class ConfigError extends CodedError<ConfigErrorCode> {
  constructor(
    code: ConfigErrorCode,
    message: string,
    readonly issues: ConfigIssue[] = [],
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

export async function loadOperatorConfig(file: string): Promise<OperatorConfig> {
  const config = await loadConfig(file, operatorConfigSchema);
  return resolvePaths(file, config, ["deploymentFile", "dataDir", "keystorePath", "accountKeystorePath", "passwordFile"]);
}

export async function loadAggregatorConfig(file: string): Promise<AggregatorConfig> {
  const config = await loadConfig(file, aggregatorConfigSchema);
  return resolvePaths(file, config, ["deploymentFile", "dataDir", "keystorePath", "passwordFile"]);
}

/** Validates an already parsed value (as from a file) and returns the typed config or throws ConfigError. */
export function parseConfig<S extends z.ZodType>(source: string, value: unknown, schema: S): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues: ConfigIssue[] = result.error.issues.flatMap((issue) => {
    const at = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({
        path: at ? `${at}.${key}` : key,
        message: (FORBIDDEN_SECRET_KEYS as readonly string[]).includes(key)
          ? "secrets must not be in the config file; put the password in the file named by passwordFile"
          : "unknown field",
      }));
    }
    if (issue.code === "invalid_type" && valueAt(value, issue.path) === undefined) return [{ path: at, message: "is required" }];
    return [{ path: at, message: issue.message }];
  });
  const lines = issues.map((i) => `  - ${i.path || "(top level)"}: ${i.message}`);
  throw new ConfigError(ConfigErrorCode.Invalid, `invalid config ${source}:\n${lines.join("\n")}`, issues);
}

/**
 * The keystore password: the file's content without one trailing newline. The content never appears in an
 * error or a log line.
 */
export async function readPasswordFile(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new ConfigError(ConfigErrorCode.PasswordFileUnreadable, `cannot read password file ${file}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
  }
  const password = text.replace(/\r?\n$/, "");
  if (password.length === 0) throw new ConfigError(ConfigErrorCode.PasswordEmpty, `password file ${file} is empty`);
  return password;
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let v = root;
  for (const key of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** Reads and validates a config file (YAML or JSON) against `schema`; every failure is a ConfigError. */
export async function loadConfig<S extends z.ZodType>(file: string, schema: S): Promise<z.infer<S>> {
  const ext = extname(file).toLowerCase();
  if (![".yaml", ".yml", ".json"].includes(ext)) {
    throw new ConfigError(ConfigErrorCode.UnknownFormat, `config ${file}: unknown format "${ext}" (use .yaml, .yml or .json)`);
  }
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new ConfigError(ConfigErrorCode.FileUnreadable, `cannot read config ${file}: ${(err as NodeJS.ErrnoException).code ?? "error"}`, [], { cause: err });
  }
  let value: unknown;
  try {
    // The YAML parser is loaded only for YAML files: ≈ 10 MB resident an operator with a JSON config never needs.
    value = ext === ".json" ? JSON.parse(text) : (await import("yaml")).parse(text);
  } catch (err) {
    throw new ConfigError(ConfigErrorCode.ParseFailed, `config ${file} is not valid ${ext === ".json" ? "JSON" : "YAML"}: ${(err as Error).message}`);
  }
  return parseConfig(file, value, schema);
}

function resolvePaths<T extends Record<string, unknown>>(file: string, config: T, keys: (keyof T & string)[]): T {
  const base = dirname(resolve(file));
  const out: Record<string, unknown> = { ...config };
  for (const key of keys) {
    const value = out[key];
    if (typeof value === "string" && !isAbsolute(value)) out[key] = resolve(base, value);
  }
  return out as T;
}
