import { matchesGlob } from './claim-rules.ts';
import { AuthError } from './errors.ts';
import type { Identity } from './identity.ts';

/**
 * Throws AuthError FORBIDDEN when the identity's scope does not cover the model or the region it is about to
 * act on. A target field left out is not checked; an identity without a scope passes.
 */
export function assertInScope(identity: Identity, target: { model?: string; region?: string }): void {
  const { scope } = identity;
  if (!scope) return;
  const checks = [
    ['model', target.model, scope.models],
    ['region', target.region, scope.regions],
  ] as const;
  for (const [kind, value, allowed] of checks) {
    if (value === undefined || allowed === undefined) continue;
    if (!allowed.some((pattern) => matchesGlob(pattern, value))) {
      throw new AuthError(
        'FORBIDDEN',
        `this identity may not act on ${kind} ${value}`,
        `${identity.issuer}/${identity.subject} (${identity.role}) is limited to ${kind}s ${allowed.join(', ') || '(none)'}, not ${value}`,
      );
    }
  }
}
