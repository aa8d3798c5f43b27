import { matchesGlob } from './claim-rules.ts';
import { AuthError } from './errors.ts';
import type { Identity } from './identity.ts';

/**
 * Throws AuthError FORBIDDEN when the identity's scope does not cover the model or the region it is about to
 * act on. A target field left out is not checked; an identity without a scope passes.
 */
export function assertInScope(identity: Identity, target: ScopeTarget): void {
  const outside = firstOutside(identity, target);
  if (!outside) return;
  const { kind, value, allowed } = outside;
  throw new AuthError(
    'FORBIDDEN',
    `this identity may not act on ${kind} ${value}`,
    `${identity.issuer}/${identity.subject} (${identity.role}) is limited to ${kind}s ${allowed.join(', ') || '(none)'}, not ${value}`,
  );
}

/** Whether the identity's scope covers the target: what a scoped caller may see of a list. */
export function isInScope(identity: Identity, target: ScopeTarget): boolean {
  return firstOutside(identity, target) === undefined;
}

export interface ScopeTarget {
  readonly model?: string;
  readonly region?: string;
}

function firstOutside(identity: Identity, target: ScopeTarget) {
  const { scope } = identity;
  if (!scope) return undefined;
  const checks = [
    ['model', target.model, scope.models],
    ['region', target.region, scope.regions],
  ] as const;
  for (const [kind, value, allowed] of checks) {
    if (value === undefined || allowed === undefined) continue;
    if (!allowed.some((pattern) => matchesGlob(pattern, value))) return { kind, value, allowed };
  }
  return undefined;
}
