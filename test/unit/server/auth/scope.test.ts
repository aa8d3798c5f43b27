import { describe, expect, it } from 'vitest';
import { AuthError } from '../../../../server/auth/errors.ts';
import type { Identity } from '../../../../server/auth/identity.ts';
import { assertInScope, assertUnlimited } from '../../../../server/auth/scope.ts';

const job: Identity = {
  subject: 'repo:acme/fraud-model:ref:refs/heads/main',
  issuer: 'https://token.actions.githubusercontent.com',
  role: 'ci',
  scope: { models: ['fraud-*'], regions: ['eu', 'uk'] },
};

describe('assertInScope', () => {
  it('lets a CI identity act on the models and regions its rule names', () => {
    expect(() => assertInScope(job, { model: 'fraud-detector', region: 'eu' })).not.toThrow();
    expect(() => assertInScope(job, { region: 'uk' })).not.toThrow();
  });

  it('throws AuthError FORBIDDEN outside them, with a reason naming the identity', () => {
    for (const target of [{ model: 'credit-score' }, { model: 'fraud-detector', region: 'us' }]) {
      let thrown: unknown;
      try {
        assertInScope(job, target);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(AuthError);
      expect((thrown as AuthError).code).toBe('FORBIDDEN');
      expect((thrown as AuthError).reason).toContain(job.subject);
    }
  });

  it('leaves an identity without a scope unrestricted, and an empty list allows nothing', () => {
    const { scope: _scope, ...admin } = { ...job, role: 'admin' as const };
    expect(() => assertInScope(admin, { model: 'anything', region: 'us' })).not.toThrow();
    expect(() => assertInScope({ ...job, scope: { regions: [] } }, { region: 'eu' })).toThrow(AuthError);
    expect(() => assertInScope({ ...job, scope: { regions: [] } }, { model: 'x' })).not.toThrow();
  });
});

describe('assertUnlimited', () => {
  const admin: Identity = { subject: 'fred', issuer: 'https://idp', role: 'admin' };

  it('refuses an identity limited to some models or some regions, FORBIDDEN, naming the limit in its reason', () => {
    for (const scope of [{ models: ['fraud-*'] }, { regions: ['eu'] }, { models: [], regions: ['*'] }]) {
      let thrown: unknown;
      try {
        assertUnlimited({ ...admin, scope }, 'create local tokens');
      } catch (err) {
        thrown = err;
      }
      expect(thrown, JSON.stringify(scope)).toBeInstanceOf(AuthError);
      expect((thrown as AuthError).code).toBe('FORBIDDEN');
      expect((thrown as AuthError).message).toContain('may not create local tokens');
      expect((thrown as AuthError).reason).toContain('https://idp/fred (admin) is limited to');
    }
  });

  it('lets an identity without a scope, or one whose lists are `*`, through', () => {
    expect(() => assertUnlimited(admin, 'list local tokens')).not.toThrow();
    expect(() =>
      assertUnlimited({ ...admin, scope: { models: ['*'], regions: ['*'] } }, 'list local tokens'),
    ).not.toThrow();
  });
});
