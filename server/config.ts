import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parse as parseConnectionString } from 'pg-connection-string';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseUnits } from 'ethers';
import {
  DEFAULT_ANCHOR_CONFIRMATIONS,
  DEFAULT_ANCHOR_MAX_FEE_PER_GAS,
  DEFAULT_ANCHOR_TIMEOUT_MS,
} from '../ledger/index.ts';
import { ServerError } from './errors.ts';
import { loadOidcSettings, type OidcSettings } from './auth/oidc-config.ts';

/** Arbiter's configuration: built once at start-up, validated, frozen. */
export interface Config {
  readonly host: string;
  readonly port: number;
  /** Where the embedded database, keys and tokens live. */
  readonly dataDir: string;
  /** PostgreSQL connection string; absent → the embedded PGlite database under dataDir. */
  readonly databaseUrl: string | undefined;
  /** Whether PostgreSQL connections run frequent statements as prepared statements (no effect on PGlite). */
  readonly preparedStatements: boolean;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Largest accepted request body, in bytes. */
  readonly bodyLimit: number;
  /**
   * The reverse proxies in front (addresses, CIDR ranges, or loopback/linklocal/uniquelocal) whose
   * X-Forwarded-For names the client; absent → the connecting address is the client.
   */
  readonly trustProxy: readonly string[] | undefined;
  /** How long a graceful shutdown waits for in-flight requests. */
  readonly shutdownTimeoutMs: number;
  readonly auth: {
    /** Trusted OIDC issuers (ARBITER_OIDC_CONFIG); absent → local API tokens only. */
    readonly oidc: OidcSettings | undefined;
    /** Failed authentications per client address within the window before 429; 0 → no limit. */
    readonly failureLimit: { readonly maxFailures: number; readonly windowMs: number };
  };
  /** Largest artifact (model, dataset) an upload may carry, in bytes. */
  readonly artifactMaxBytes: number;
  /** Where policies come from; absent → Arbiter's own `policies/` at its checkout's HEAD. */
  readonly policySource: {
    readonly repository: string | undefined;
    readonly branch: string | undefined;
    readonly path: string | undefined;
    readonly pollIntervalMs: number;
  };
  /** Threads that evaluate policies, each with its own Wasm instance. */
  readonly policyWorkers: number;
  /** The longest one policy evaluation may run before its thread is replaced and the evaluation fails. */
  readonly policyEvalTimeoutMs: number;
  /** Policy evaluations waiting or running per policy thread; past it a decision is refused at once (503). */
  readonly policyQueuePerWorker: number;
  readonly reports: {
    /** Whether this process runs the regions' report schedules (any number may; each report is made once). */
    readonly scheduler: boolean;
    readonly pollIntervalMs: number;
  };
  readonly evaluations: {
    /** Whether this process takes evaluation jobs (scale workers out as separate processes). */
    readonly worker: boolean;
    readonly maxRows: number;
    readonly timeoutMs: number;
    /** The JavaScript heap of one evaluation thread, in MiB. */
    readonly maxHeapMb: number;
  };
  readonly ledger: {
    /** How soon after an append a new signed checkpoint appears. */
    readonly checkpointIntervalMs: number;
    /** Signing keys given by the deployment; absent → created in the data dir on first start. */
    readonly keys: { readonly ed25519Seed: string; readonly secp256k1PrivateKey: string } | undefined;
    /** EVM anchoring; absent → checkpoints are signed and stored, and nothing claims to be anchored. */
    readonly anchor:
      | {
          readonly rpcUrl: string;
          /** The chain the anchors must be on; nothing is anchored through an endpoint on another. */
          readonly chainId: number;
          readonly privateKey: string;
          readonly everyN: number;
          readonly confirmations: number;
          readonly timeoutMs: number;
          /** Most an anchor transaction offers per gas, in wei (ARBITER_ANCHOR_MAX_FEE_GWEI). */
          readonly maxFeePerGas: bigint;
        }
      | undefined;
  };
}

/** The environment variables Arbiter reads, with what each accepts. The README's reference is this table. */
export const CONFIG_VARIABLES = {
  ARBITER_HOST: 'interface to listen on (default 127.0.0.1)',
  ARBITER_PORT: 'TCP port, an integer 0–65535 (default 8080; 0 picks a free port)',
  ARBITER_DATA_DIR: 'folder for the embedded database, keys and tokens (default ./.arbiter)',
  DATABASE_URL: 'postgres:// or postgresql:// connection string; unset → embedded PGlite in the data dir',
  ARBITER_DB_PREPARED_STATEMENTS:
    'on | off: run frequent statements as prepared statements (default on; off behind a connection pooler in transaction mode that cannot keep them, such as PgBouncer before 1.21)',
  ARBITER_LOG_LEVEL: 'fatal | error | warn | info | debug | trace | silent (default info)',
  ARBITER_BODY_LIMIT: 'largest request body in bytes, an integer 1024–1073741824 (default 1048576)',
  ARBITER_TRUST_PROXY:
    'comma-separated addresses or CIDR ranges (or loopback, linklocal, uniquelocal) of the reverse proxies in front, whose X-Forwarded-For names the client; unset → the connecting address is the client',
  ARBITER_SHUTDOWN_TIMEOUT_MS:
    'on SIGTERM/SIGINT, how long requests in flight may take to finish, 0–600000 ms (default 10000; 0: none), after which their connections are closed unanswered; the rest of the shutdown (ledger appends, job queue, scratch folder, database) always runs to its end',
  ARBITER_ARTIFACT_MAX_BYTES:
    'largest artifact upload in bytes, 1–17179869184 (default 268435456 = 256 MiB; at most 16 GiB)',
  ARBITER_POLICY_REPO:
    "Git repository holding the policies: a path on this machine, or a URL to clone and fetch (https://, ssh://, git@host:path, file://; Git's credential helpers and SSH keys authenticate); unset → Arbiter's own policies/",
  ARBITER_POLICY_BRANCH: 'branch of ARBITER_POLICY_REPO to follow (default main)',
  ARBITER_POLICY_PATH:
    'folder inside ARBITER_POLICY_REPO that holds the policy bundle (default: the repository root)',
  ARBITER_POLICY_POLL_MS: 'how often to look for a new policy commit, 1000–86400000 ms (default 30000)',
  ARBITER_POLICY_WORKERS:
    'threads that evaluate policies, 1–1024 (default: one fewer than the cores, at least 1)',
  ARBITER_POLICY_EVAL_TIMEOUT_MS:
    'longest one policy evaluation may run before it fails and its thread is replaced, 100–600000 ms (default 10000)',
  ARBITER_POLICY_QUEUE_PER_WORKER:
    'policy evaluations waiting or running per policy thread before a decision is refused with 503, 1–100000 (default 1000)',
  ARBITER_REPORT_SCHEDULER: "on | off: whether this process runs the regions' report schedules (default on)",
  ARBITER_REPORT_POLL_MS:
    'how often the report scheduler looks for due reports, 1000–3600000 ms (default 60000)',
  ARBITER_EVAL_WORKER: 'on | off: whether this process runs evaluation jobs (default on)',
  ARBITER_EVAL_MAX_ROWS: 'most rows an evaluation may read, 1–1000000000 (default 10000000)',
  ARBITER_EVAL_TIMEOUT_MS: 'longest an evaluation may run, 1000–86400000 ms (default 900000)',
  ARBITER_EVAL_MAX_HEAP_MB: 'JavaScript heap of one evaluation thread, 64–65536 MiB (default 4096)',
  ARBITER_CHECKPOINT_INTERVAL_MS:
    'how soon after an append a signed checkpoint appears, 10–60000 ms (default 500)',
  ARBITER_LEDGER_ED25519_SEED:
    'checkpoint signing key: 32-byte Ed25519 seed, hex (with ARBITER_LEDGER_SECP256K1_KEY; default: created in the data dir)',
  ARBITER_LEDGER_SECP256K1_KEY:
    'EIP-191 checkpoint signer: secp256k1 private key, 0x hex (with ARBITER_LEDGER_ED25519_SEED)',
  ARBITER_ANCHOR_RPC_URL:
    'EVM JSON-RPC endpoint (http:// or https://) to anchor checkpoints on; unset → no anchoring',
  ARBITER_ANCHOR_PRIVATE_KEY:
    'funded account that sends anchor transactions, 0x hex (with ARBITER_ANCHOR_RPC_URL)',
  ARBITER_ANCHOR_CHAIN_ID:
    'EIP-155 chain id the anchors must be on, e.g. 1 (Ethereum), 11155111 (Sepolia); required with ARBITER_ANCHOR_RPC_URL, whose eth_chainId must match it',
  ARBITER_ANCHOR_EVERY_N: 'anchor every Nth checkpoint, 1–100000 (default 1)',
  ARBITER_ANCHOR_CONFIRMATIONS:
    'blocks that must hold an anchor transaction before it is recorded, 1–1000 (default 1; more on a chain that reorganises)',
  ARBITER_ANCHOR_TIMEOUT_MS:
    'longest wait for each JSON-RPC answer, and for an anchor transaction to be mined, 1000–3600000 ms (default 120000)',
  ARBITER_ANCHOR_MAX_FEE_GWEI:
    'most an anchor transaction offers per gas (its max fee or gas price, and the priority fee within it), in gwei with up to 9 decimals, 0.000000001–1000000 (default 200); never exceeded: anchors wait while the network asks more',
  ARBITER_OIDC_CONFIG:
    'YAML or JSON file listing the trusted OIDC issuers and their claims → role rules; unset → local API tokens only',
  ARBITER_AUTH_FAILURE_LIMIT:
    'failed authentications per client address within the window before 429, 0–100000 (default 20; 0 = no limit)',
  ARBITER_AUTH_FAILURE_WINDOW_S: 'window of ARBITER_AUTH_FAILURE_LIMIT in seconds, 1–86400 (default 60)',
  ARBITER_CONFIG: 'optional YAML or JSON file holding any of these variables by name',
} as const;

type VariableName = keyof typeof CONFIG_VARIABLES;

/**
 * Variables whose values are secrets (a password in a connection string, signing and account keys, an RPC URL
 * that carries an API key): a message about a wrong one names the variable, never its value.
 */
const SECRET_VARIABLES: ReadonlySet<VariableName> = new Set([
  'DATABASE_URL',
  'ARBITER_LEDGER_ED25519_SEED',
  'ARBITER_LEDGER_SECP256K1_KEY',
  'ARBITER_ANCHOR_RPC_URL',
  'ARBITER_ANCHOR_PRIVATE_KEY',
]);

/** True when `value` is a URL that Node's parser (and so node-postgres) can read. */
/** Whether node-postgres can read the URL (its own parser, which takes a Unix socket as `?host=/path`). */
function isConnectionString(value: string): boolean {
  try {
    parseConnectionString(value);
    return true;
  } catch {
    return false;
  }
}

/** The names proxy-addr (fastify's trustProxy) gives to reserved address ranges. */
const PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** An IP address, a CIDR range of one, or a reserved range's name. */
function isProxyAddress(entry: string): boolean {
  if (PROXY_RANGES.has(entry)) return true;
  const [address = '', bits, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}

/**
 * The most ARBITER_ARTIFACT_MAX_BYTES may allow: an upload lands twice on the data folder's disk (its scratch
 * copy, then the database) before it is known to be wanted, and an evaluation reads it through once more.
 */
const MAX_ARTIFACT_BYTES = 16 * 1024 ** 3;

const intInRange = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, { message: 'not an integer' })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { message: 'out of range' });

/** RFC 1123 host names: checked here, so that a port or a scheme in ARBITER_HOST fails before start-up. */
const HOSTNAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** The highest ARBITER_ANCHOR_MAX_FEE_GWEI: far above any fee paid on a public chain, so a typo stands out. */
const MAX_ANCHOR_FEE_GWEI = 1_000_000;

/** Every variable's parser; CONFIG_VARIABLES documents each (a test keeps the two the same). */
export const configSchema = z.object({
  ARBITER_HOST: z
    .string()
    .trim()
    .refine((v) => isIP(v) !== 0 || HOSTNAME.test(v), { message: 'not an IP address or a host name' })
    .default('127.0.0.1'),
  ARBITER_PORT: intInRange(0, 65535).default(8080),
  ARBITER_DATA_DIR: z.string().trim().min(1).default('./.arbiter'),
  DATABASE_URL: z
    .string()
    .trim()
    .refine((v) => /^postgres(ql)?:\/\/\S+$/.test(v) && isConnectionString(v), {
      message: 'not a postgres:// URL',
    })
    .optional(),
  ARBITER_DB_PREPARED_STATEMENTS: z.enum(['on', 'off']).default('on'),
  ARBITER_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ARBITER_BODY_LIMIT: intInRange(1024, 1024 ** 3).default(1024 * 1024),
  ARBITER_TRUST_PROXY: z
    .string()
    .trim()
    .min(1)
    .transform((list) => list.split(',').map((entry) => entry.trim()))
    .refine((entries) => entries.every(isProxyAddress), {
      message: 'not a list of addresses, CIDR ranges, loopback, linklocal or uniquelocal',
    })
    .optional(),
  ARBITER_SHUTDOWN_TIMEOUT_MS: intInRange(0, 600_000).default(10_000),
  ARBITER_OIDC_CONFIG: z.string().trim().min(1).optional(),
  ARBITER_AUTH_FAILURE_LIMIT: intInRange(0, 100_000).default(20),
  ARBITER_AUTH_FAILURE_WINDOW_S: intInRange(1, 86_400).default(60),
  ARBITER_ARTIFACT_MAX_BYTES: intInRange(1, MAX_ARTIFACT_BYTES).default(256 * 1024 ** 2),
  // A mistyped path would otherwise leave the service serving the last policy it activated, with no new
  // commit ever picked up.
  ARBITER_POLICY_REPO: z
    .string()
    .trim()
    .min(1)
    .refine((repo) => isRepositoryUrl(repo) || statSync(repo, { throwIfNoEntry: false })?.isDirectory(), {
      message: 'no such folder on this machine (and not a repository URL)',
    })
    .optional(),
  ARBITER_POLICY_BRANCH: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9._/-]+$/, { message: 'not a branch name' })
    // Followed as refs/heads/<branch>: a full ref name would be looked up as refs/heads/refs/heads/….
    .refine((v) => !v.startsWith('refs/'), { message: 'a branch name such as main, not a full ref name' })
    .optional(),
  ARBITER_POLICY_PATH: z.string().trim().min(1).optional(),
  ARBITER_POLICY_POLL_MS: intInRange(1_000, 86_400_000).default(30_000),
  // The event loop (HTTP, validation, hashing, the database) does about as much per decision as a policy
  // worker: with a worker per core it waits for a core behind them. On 2 cores at 1,000 decisions/s, in five
  // runs of each, side by side, p99 was 100–228 ms with 2 workers and 36–86 ms with 1, and p50 11–16 ms
  // against 6–10 (bench/policies/profile-serve.ts).
  ARBITER_POLICY_WORKERS: intInRange(1, 1_024).default(Math.max(1, os.availableParallelism() - 1)),
  ARBITER_POLICY_EVAL_TIMEOUT_MS: intInRange(100, 600_000).default(10_000),
  ARBITER_POLICY_QUEUE_PER_WORKER: intInRange(1, 100_000).default(1_000),
  ARBITER_REPORT_SCHEDULER: z.enum(['on', 'off']).default('on'),
  ARBITER_REPORT_POLL_MS: intInRange(1_000, 3_600_000).default(60_000),
  ARBITER_EVAL_WORKER: z.enum(['on', 'off']).default('on'),
  ARBITER_EVAL_MAX_ROWS: intInRange(1, 1_000_000_000).default(10_000_000),
  ARBITER_EVAL_TIMEOUT_MS: intInRange(1_000, 86_400_000).default(900_000),
  ARBITER_EVAL_MAX_HEAP_MB: intInRange(64, 65_536).default(4_096),
  ARBITER_CHECKPOINT_INTERVAL_MS: intInRange(10, 60_000).default(500),
  ARBITER_LEDGER_ED25519_SEED: z
    .string()
    .trim()
    .regex(/^(0x)?[0-9a-fA-F]{64}$/, { message: 'not 32 bytes of hex' })
    .optional(),
  ARBITER_LEDGER_SECP256K1_KEY: z
    .string()
    .trim()
    .regex(/^0x[0-9a-fA-F]{64}$/, { message: 'not a 0x-prefixed 32-byte hex key' })
    .optional(),
  ARBITER_ANCHOR_RPC_URL: z
    .string()
    .trim()
    .regex(/^https?:\/\/\S+$/, { message: 'not an http(s) URL' })
    .optional(),
  ARBITER_ANCHOR_PRIVATE_KEY: z
    .string()
    .trim()
    .regex(/^0x[0-9a-fA-F]{64}$/, { message: 'not a 0x-prefixed 32-byte hex key' })
    .optional(),
  ARBITER_ANCHOR_CHAIN_ID: intInRange(1, Number.MAX_SAFE_INTEGER).optional(),
  ARBITER_ANCHOR_EVERY_N: intInRange(1, 100_000).default(1),
  ARBITER_ANCHOR_CONFIRMATIONS: intInRange(1, 1000).default(DEFAULT_ANCHOR_CONFIRMATIONS),
  ARBITER_ANCHOR_TIMEOUT_MS: intInRange(1000, 3_600_000).default(DEFAULT_ANCHOR_TIMEOUT_MS),
  ARBITER_ANCHOR_MAX_FEE_GWEI: z
    .string()
    .trim()
    .regex(/^\d+(\.\d{1,9})?$/, { message: 'not a number of gwei with at most 9 decimals' })
    .transform((gwei) => parseUnits(gwei, 'gwei'))
    .refine((wei) => wei >= 1n && wei <= parseUnits(String(MAX_ANCHOR_FEE_GWEI), 'gwei'), {
      message: 'out of range',
    })
    .default(DEFAULT_ANCHOR_MAX_FEE_PER_GAS),
});

/** Reads ARBITER_CONFIG (YAML or JSON) into variables; its values sit below the environment's. */
function readConfigFile(file: string): Record<string, string> {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    // The parser's first line says where; the lines after it quote the file, whose values may be secrets.
    const where = (err as Error).message.split('\n', 1)[0];
    throw new ServerError('CONFIG_INVALID', `ARBITER_CONFIG: cannot read ${file}: ${where}`);
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
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]) as VariableName;
      const shown = SECRET_VARIABLES.has(name)
        ? `${name} (value hidden)`
        : `${name}=${JSON.stringify(raw[name])}`;
      return `${shown}: ${issue.message}; allowed: ${CONFIG_VARIABLES[name]}`;
    });
    throw new ServerError('CONFIG_INVALID', `invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const v = parsed.data;
  const pairs: [VariableName, VariableName][] = [
    ['ARBITER_LEDGER_ED25519_SEED', 'ARBITER_LEDGER_SECP256K1_KEY'],
    ['ARBITER_ANCHOR_RPC_URL', 'ARBITER_ANCHOR_PRIVATE_KEY'],
  ];
  for (const [a, b] of pairs) {
    if ((raw[a] === undefined) !== (raw[b] === undefined)) {
      throw new ServerError('CONFIG_INVALID', `invalid configuration:\n  ${a} and ${b} must be set together`);
    }
  }
  if (v.ARBITER_ANCHOR_RPC_URL && v.ARBITER_ANCHOR_CHAIN_ID === undefined)
    throw new ServerError(
      'CONFIG_INVALID',
      'invalid configuration:\n  ARBITER_ANCHOR_CHAIN_ID must be set with ARBITER_ANCHOR_RPC_URL: the chain the ' +
        'anchors must be on (1 for Ethereum, 11155111 for Sepolia, ...); nothing is anchored through an ' +
        'endpoint on another',
    );
  return Object.freeze({
    host: v.ARBITER_HOST,
    port: v.ARBITER_PORT,
    dataDir: path.resolve(v.ARBITER_DATA_DIR),
    databaseUrl: v.DATABASE_URL,
    preparedStatements: v.ARBITER_DB_PREPARED_STATEMENTS === 'on',
    logLevel: v.ARBITER_LOG_LEVEL,
    bodyLimit: v.ARBITER_BODY_LIMIT,
    trustProxy: v.ARBITER_TRUST_PROXY && Object.freeze(v.ARBITER_TRUST_PROXY),
    shutdownTimeoutMs: v.ARBITER_SHUTDOWN_TIMEOUT_MS,
    auth: Object.freeze({
      oidc: v.ARBITER_OIDC_CONFIG ? loadOidcSettings(v.ARBITER_OIDC_CONFIG) : undefined,
      failureLimit: {
        maxFailures: v.ARBITER_AUTH_FAILURE_LIMIT,
        windowMs: v.ARBITER_AUTH_FAILURE_WINDOW_S * 1000,
      },
    }),
    artifactMaxBytes: v.ARBITER_ARTIFACT_MAX_BYTES,
    policySource: Object.freeze({
      // A URL stays as it is (the service clones it); a path is made absolute.
      repository: v.ARBITER_POLICY_REPO
        ? isRepositoryUrl(v.ARBITER_POLICY_REPO)
          ? v.ARBITER_POLICY_REPO
          : path.resolve(v.ARBITER_POLICY_REPO)
        : undefined,
      branch: v.ARBITER_POLICY_BRANCH,
      path: v.ARBITER_POLICY_PATH,
      pollIntervalMs: v.ARBITER_POLICY_POLL_MS,
    }),
    policyWorkers: v.ARBITER_POLICY_WORKERS,
    policyEvalTimeoutMs: v.ARBITER_POLICY_EVAL_TIMEOUT_MS,
    policyQueuePerWorker: v.ARBITER_POLICY_QUEUE_PER_WORKER,
    reports: Object.freeze({
      scheduler: v.ARBITER_REPORT_SCHEDULER === 'on',
      pollIntervalMs: v.ARBITER_REPORT_POLL_MS,
    }),
    evaluations: Object.freeze({
      worker: v.ARBITER_EVAL_WORKER === 'on',
      maxRows: v.ARBITER_EVAL_MAX_ROWS,
      timeoutMs: v.ARBITER_EVAL_TIMEOUT_MS,
      maxHeapMb: v.ARBITER_EVAL_MAX_HEAP_MB,
    }),
    ledger: Object.freeze({
      checkpointIntervalMs: v.ARBITER_CHECKPOINT_INTERVAL_MS,
      keys:
        v.ARBITER_LEDGER_ED25519_SEED && v.ARBITER_LEDGER_SECP256K1_KEY
          ? {
              ed25519Seed: v.ARBITER_LEDGER_ED25519_SEED,
              secp256k1PrivateKey: v.ARBITER_LEDGER_SECP256K1_KEY,
            }
          : undefined,
      anchor:
        v.ARBITER_ANCHOR_RPC_URL && v.ARBITER_ANCHOR_PRIVATE_KEY && v.ARBITER_ANCHOR_CHAIN_ID !== undefined
          ? {
              rpcUrl: v.ARBITER_ANCHOR_RPC_URL,
              chainId: v.ARBITER_ANCHOR_CHAIN_ID,
              privateKey: v.ARBITER_ANCHOR_PRIVATE_KEY,
              everyN: v.ARBITER_ANCHOR_EVERY_N,
              confirmations: v.ARBITER_ANCHOR_CONFIRMATIONS,
              timeoutMs: v.ARBITER_ANCHOR_TIMEOUT_MS,
              maxFeePerGas: v.ARBITER_ANCHOR_MAX_FEE_GWEI,
            }
          : undefined,
    }),
  });
}

/** A Git URL (scheme://… or scp-like user@host:path) rather than a path on this machine. */
export function isRepositoryUrl(repository: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(repository) || /^[^/\s@]+@[^/\s:]+:/.test(repository);
}
