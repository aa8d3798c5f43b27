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

/**
 * Throws AuthError FORBIDDEN unless the identity may act on the whole of `region`: what covers every model
 * in it (a report, an attestation) is out of reach of an identity limited to some models.
 */
export function assertCoversRegion(identity: Identity, region: string): void {
  assertInScope(identity, { region });
  const models = identity.scope?.models;
  if (!coversEveryModel(identity)) {
    throw new AuthError(
      'FORBIDDEN',
      `this identity may not act on all of region ${region}`,
      `${identity.issuer}/${identity.subject} (${identity.role}) is limited to models ${models!.join(', ') || '(none)'}; region ${region} covers every model`,
    );
  }
}

/** Whether the identity may see the whole of `region`: what a scoped caller may see of a list of reports. */
export function coversRegion(identity: Identity, region: string): boolean {
  return isInScope(identity, { region }) && coversEveryModel(identity);
}

function coversEveryModel(identity: Identity): boolean {
  const models = identity.scope?.models;
  return !models || models.includes('*');
}

/**
 * Throws AuthError FORBIDDEN when the identity is limited to some models or regions and is about to `act`
 * on what no scope bounds: local tokens carry no scope, so one that such an identity minted would act on every
 * model and region, and listing or revoking them reaches every other identity's.
 */
export function assertUnlimited(identity: Identity, act: string): void {
  const limits = limitsOf(identity);
  if (limits.length === 0) return;
  throw new AuthError(
    'FORBIDDEN',
    `this identity is limited to some models or regions, so it may not ${act}, which no such limit bounds`,
    `${identity.issuer}/${identity.subject} (${identity.role}) is limited to ${limits.join(' and ')}; refused: ${act}`,
  );
}

/** Whether no limit to some models or regions bounds the identity. */
export function isUnlimited(identity: Identity): boolean {
  return limitsOf(identity).length === 0;
}

function limitsOf(identity: Identity): string[] {
  const { models, regions } = identity.scope ?? {};
  return [
    ...(models && !models.includes('*') ? [`models ${models.join(', ') || '(none)'}`] : []),
    ...(regions && !regions.includes('*') ? [`regions ${regions.join(', ') || '(none)'}`] : []),
  ];
}

/**
 * The identity's scope as SQL LIKE patterns (`*` as `%`, the rest literal), so that a list can be filtered,
 * and paged, in the database; an absent list places no limit.
 */
export function scopeAsLikePatterns(identity: Identity): { models?: string[]; regions?: string[] } {
  const like = (globs: readonly string[]) =>
    globs.map((glob) =>
      glob
        .split('*')
        .map((part) => part.replace(/[\\%_]/g, '\\$&'))
        .join('%'),
    );
  const { scope } = identity;
  return {
    models: scope?.models && like(scope.models),
    regions: scope?.regions && like(scope.regions),
  };
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
