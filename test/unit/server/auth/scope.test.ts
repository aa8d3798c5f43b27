import { describe, expect, it } from 'vitest';
import { AuthError } from '../../../../server/auth/errors.ts';
import type { Identity } from '../../../../server/auth/identity.ts';
import { assertInScope } from '../../../../server/auth/scope.ts';

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
