import type { Role } from '../db/schema.ts';
import type { AccessScope } from './identity.ts';

/**
 * Claims → role. A rule matches when every claim it names matches one of its patterns; a claim that is a list
 * (e.g. `groups`) matches when any element does. Patterns are exact strings or `*` globs.
 */
export interface ClaimRule {
  readonly claims: Readonly<Record<string, readonly string[]>>;
  readonly role: Role;
  readonly scope?: AccessScope;
}

const globCache = new Map<string, RegExp>();

/** `*` matches any run of characters (including `/`); everything else is literal. */
export function matchesGlob(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  let re = globCache.get(pattern);
  if (!re) {
    const body = pattern
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    re = new RegExp(`^${body}$`, 's');
    globCache.set(pattern, re);
  }
  return re.test(value);
}

/** A claim by name; a dotted name reaches into objects (Keycloak's `realm_access.roles`). */
function claimAt(claims: Readonly<Record<string, unknown>>, name: string): unknown {
  if (name in claims) return claims[name];
  let at: unknown = claims;
  for (const part of name.split('.')) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

function claimMatches(value: unknown, patterns: readonly string[]): boolean {
  const values = Array.isArray(value) ? value : [value];
  return values.some(
    (v) =>
      (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') &&
      patterns.some((p) => matchesGlob(p, String(v))),
  );
}

/** The first rule, in order, that the claims satisfy; undefined when none does. */
export function firstMatchingRule(
  claims: Readonly<Record<string, unknown>>,
  rules: readonly ClaimRule[],
): ClaimRule | undefined {
  return rules.find((rule) =>
    Object.entries(rule.claims).every(([name, patterns]) => claimMatches(claimAt(claims, name), patterns)),
  );
}
