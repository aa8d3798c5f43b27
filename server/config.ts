import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ServerError } from './errors.ts';

/** Arbiter's configuration: built once at start-up, validated, frozen. */
export interface Config {
  readonly host: string;
  readonly port: number;
  /** Where the embedded database, keys and tokens live. */
  readonly dataDir: string;
  /** PostgreSQL connection string; absent → the embedded PGlite database under dataDir. */
  readonly databaseUrl: string | undefined;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Largest accepted request body, in bytes. */
  readonly bodyLimit: number;
  /** How long a graceful shutdown waits for in-flight requests. */
  readonly shutdownTimeoutMs: number;
}

/** The environment variables Arbiter reads, with what each accepts. The README's reference is this table. */
export const CONFIG_VARIABLES = {
  ARBITER_HOST: 'interface to listen on (default 127.0.0.1)',
  ARBITER_PORT: 'TCP port, an integer 0–65535 (default 8080; 0 picks a free port)',
  ARBITER_DATA_DIR: 'folder for the embedded database, keys and tokens (default ./.arbiter)',
  DATABASE_URL: 'postgres:// or postgresql:// connection string; unset → embedded PGlite in the data dir',
  ARBITER_LOG_LEVEL: 'fatal | error | warn | info | debug | trace | silent (default info)',
  ARBITER_BODY_LIMIT: 'largest request body in bytes, an integer 1024–1073741824 (default 1048576)',
  ARBITER_SHUTDOWN_TIMEOUT_MS: 'grace period for in-flight requests on shutdown, 0–600000 ms (default 10000)',
  ARBITER_CONFIG: 'optional YAML or JSON file holding any of these variables by name',
} as const;

type VariableName = keyof typeof CONFIG_VARIABLES;

const intInRange = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, { message: 'not an integer' })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { message: 'out of range' });

const schema = z.object({
  ARBITER_HOST: z.string().trim().min(1).default('127.0.0.1'),
  ARBITER_PORT: intInRange(0, 65535).default(8080),
  ARBITER_DATA_DIR: z.string().trim().min(1).default('./.arbiter'),
  DATABASE_URL: z
    .string()
    .trim()
    .refine((v) => /^postgres(ql)?:\/\/\S+$/.test(v), { message: 'not a postgres:// URL' })
    .optional(),
  ARBITER_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ARBITER_BODY_LIMIT: intInRange(1024, 1024 ** 3).default(1024 * 1024),
  ARBITER_SHUTDOWN_TIMEOUT_MS: intInRange(0, 600_000).default(10_000),
});

/** Reads ARBITER_CONFIG (YAML or JSON) into variables; its values sit below the environment's. */
function readConfigFile(file: string): Record<string, string> {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ServerError('CONFIG_INVALID', `ARBITER_CONFIG: cannot read ${file}: ${(err as Error).message}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ServerError('CONFIG_INVALID', `ARBITER_CONFIG: ${file} must hold a mapping of variable names`);
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(doc)) {
    if (!(key in CONFIG_VARIABLES) || key === 'ARBITER_CONFIG') {
      throw new ServerError(
        'CONFIG_INVALID',
        `ARBITER_CONFIG: ${file} names unknown variable ${key}; allowed: ${Object.keys(CONFIG_VARIABLES).join(', ')}`,
      );
    }
    out[key] = String(value);
  }
  return out;
}

/**
 * Builds the configuration from the environment (and ARBITER_CONFIG's file, below it), then `overrides`
 * (command-line flags, above it). Throws ServerError CONFIG_INVALID naming every wrong variable and what
 * it allows.
 */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>>,
  overrides: Partial<Record<VariableName, string>> = {},
): Config {
  const fromFile = env.ARBITER_CONFIG ? readConfigFile(env.ARBITER_CONFIG) : {};
  const raw: Record<string, string> = { ...fromFile };
  for (const name of Object.keys(CONFIG_VARIABLES)) {
    const value = overrides[name as VariableName] ?? env[name];
    if (value !== undefined && value !== '') raw[name] = value;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]) as VariableName;
      return `${name}=${JSON.stringify(raw[name])}: ${issue.message}; allowed: ${CONFIG_VARIABLES[name]}`;
    });
    throw new ServerError('CONFIG_INVALID', `invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const v = parsed.data;
  return Object.freeze({
    host: v.ARBITER_HOST,
    port: v.ARBITER_PORT,
    dataDir: path.resolve(v.ARBITER_DATA_DIR),
    databaseUrl: v.DATABASE_URL,
    logLevel: v.ARBITER_LOG_LEVEL,
    bodyLimit: v.ARBITER_BODY_LIMIT,
    shutdownTimeoutMs: v.ARBITER_SHUTDOWN_TIMEOUT_MS,
  });
}
