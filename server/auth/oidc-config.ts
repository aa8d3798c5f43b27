import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ServerError } from '../errors.ts';
import type { ClaimRule } from './claim-rules.ts';

/** Asymmetric JWS algorithms only: `none` and the HS* family (whose key would be a public key) are refused. */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

export type AsymmetricAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];

export interface IssuerSettings {
  /** Exactly as the issuer writes it in `iss` and its discovery document. */
  readonly issuer: string;
  /** Accepted `aud` values: a token must name at least one. */
  readonly audience: readonly string[];
  readonly algorithms: readonly AsymmetricAlgorithm[];
  /** The claim that names the caller (default `sub`). */
  readonly subjectClaim: string;
  /** RFC 7662 introspection of opaque tokens, with the client Arbiter authenticates as. */
  readonly introspection: { readonly clientId: string; readonly clientSecret: string } | undefined;
  readonly rules: readonly ClaimRule[];
}

export interface OidcSettings {
  readonly issuers: readonly IssuerSettings[];
  /** Leeway for exp / nbf / iat against our clock. */
  readonly clockToleranceSeconds: number;
  /** Least time between two JWKS refetches forced by an unknown `kid` (key rotation). */
  readonly jwksCooldownSeconds: number;
}

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** https, or http on loopback only (a test or sidecar IdP): tokens and secrets never cross a network in clear. */
export function isAllowedIssuerUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname));
}

const oneOrMany = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);
const toList = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

const ruleSchema = z
  .object({
    claims: z
      .record(z.string().min(1), z.union([oneOrMany, z.number(), z.boolean()]))
      .refine((c) => Object.keys(c).length > 0, { message: 'a rule must name at least one claim' }),
    role: z.enum(['admin', 'ci', 'compliance_officer', 'auditor']),
    models: z.array(z.string().min(1)).optional(),
    regions: z.array(z.string().min(1)).optional(),
  })
  .strict();

const issuerSchema = z
  .object({
    issuer: z
      .string()
      .refine(isAllowedIssuerUrl, { message: 'must be an https:// URL (http:// only on loopback)' }),
    audience: oneOrMany,
    algorithms: z.array(z.enum(ASYMMETRIC_ALGORITHMS)).min(1).optional(),
    subject_claim: z.string().min(1).default('sub'),
    introspection: z
      .object({ client_id: z.string().min(1), client_secret: z.string().min(1) })
      .strict()
      .optional(),
    rules: z.array(ruleSchema).min(1),
  })
  .strict();

const fileSchema = z
  .object({
    clock_tolerance_seconds: z.number().int().min(0).max(300).default(30),
    jwks_cooldown_seconds: z.number().int().min(0).max(3600).default(30),
    issuers: z.array(issuerSchema).min(1),
  })
  .strict()
  .refine((f) => new Set(f.issuers.map((i) => i.issuer)).size === f.issuers.length, {
    message: 'each issuer may appear only once',
    path: ['issuers'],
  });

/** Validates an OIDC configuration document (the parsed YAML/JSON); throws ServerError CONFIG_INVALID. */
export function parseOidcSettings(doc: unknown, source = 'ARBITER_OIDC_CONFIG'): OidcSettings {
  const parsed = fileSchema.safeParse(doc);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new ServerError(
      'CONFIG_INVALID',
      `${source}: invalid OIDC configuration:\n  ${problems.join('\n  ')}`,
    );
  }
  const f = parsed.data;
  return Object.freeze({
    clockToleranceSeconds: f.clock_tolerance_seconds,
    jwksCooldownSeconds: f.jwks_cooldown_seconds,
    issuers: f.issuers.map((i) =>
      Object.freeze({
        issuer: i.issuer,
        audience: toList(i.audience),
        algorithms: i.algorithms ?? [...ASYMMETRIC_ALGORITHMS],
        subjectClaim: i.subject_claim,
        introspection: i.introspection && {
          clientId: i.introspection.client_id,
          clientSecret: i.introspection.client_secret,
        },
        rules: i.rules.map((r) => ({
          claims: Object.fromEntries(
            Object.entries(r.claims).map(([k, v]) => [
              k,
              typeof v === 'string' || Array.isArray(v) ? toList(v) : [String(v)],
            ]),
          ),
          role: r.role,
          ...(r.models || r.regions ? { scope: { models: r.models, regions: r.regions } } : {}),
        })),
      }),
    ),
  });
}

/** Reads and validates the OIDC configuration file (YAML or JSON) that ARBITER_OIDC_CONFIG names. */
export function loadOidcSettings(file: string): OidcSettings {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ServerError(
      'CONFIG_INVALID',
      `ARBITER_OIDC_CONFIG: cannot read ${file}: ${(err as Error).message}`,
    );
  }
  return parseOidcSettings(doc, `ARBITER_OIDC_CONFIG (${file})`);
}
