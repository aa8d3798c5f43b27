import { describe, expect, it } from 'vitest';
import { firstMatchingRule, matchesGlob, type ClaimRule } from '../../../../server/auth/claim-rules.ts';

const rules: ClaimRule[] = [
  { claims: { groups: ['arbiter-admins'] }, role: 'admin' },
  {
    claims: { repository: ['acme/fraud-model'], ref: ['refs/heads/main', 'refs/tags/v*'] },
    role: 'ci',
    scope: { models: ['fraud-*'], regions: ['eu'] },
  },
  { claims: { 'realm_access.roles': ['auditor'] }, role: 'auditor' },
];

describe('claims → role rules', () => {
  it('matches a value inside a list claim', () => {
    expect(firstMatchingRule({ groups: ['staff', 'arbiter-admins'] }, rules)?.role).toBe('admin');
    expect(firstMatchingRule({ groups: 'arbiter-admins' }, rules)?.role).toBe('admin');
  });

  it('needs every named claim of a CI rule, and keeps its scope', () => {
    const job = { repository: 'acme/fraud-model', ref: 'refs/tags/v1.2.0', workflow: 'gate' };
    expect(firstMatchingRule(job, rules)).toMatchObject({ role: 'ci', scope: { models: ['fraud-*'] } });
    expect(firstMatchingRule({ ...job, ref: 'refs/heads/feature' }, rules)).toBeUndefined();
    expect(firstMatchingRule({ ref: 'refs/heads/main' }, rules)).toBeUndefined();
    expect(firstMatchingRule({ ...job, repository: 'acme/fraud-model-fork' }, rules)).toBeUndefined();
  });

  it('reaches into nested claims with a dotted name', () => {
    expect(firstMatchingRule({ realm_access: { roles: ['auditor'] } }, rules)?.role).toBe('auditor');
  });

  it('ignores objects, nulls and missing claims', () => {
    expect(firstMatchingRule({ groups: [{ name: 'arbiter-admins' }, null] }, rules)).toBeUndefined();
    expect(firstMatchingRule({}, rules)).toBeUndefined();
  });

  it('treats glob metacharacters other than * literally', () => {
    expect(matchesGlob('refs/tags/v*', 'refs/tags/v1')).toBe(true);
    expect(matchesGlob('a.b', 'axb')).toBe(false);
    expect(matchesGlob('a+(b)', 'a+(b)')).toBe(true);
    expect(matchesGlob('*', '')).toBe(true);
    expect(matchesGlob('fraud-*', 'fraud-\nx')).toBe(true);
  });
});
