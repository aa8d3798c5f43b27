import { describe, expect, it } from 'vitest';
import { ASYMMETRIC_ALGORITHMS, parseOidcSettings } from '../../../../server/auth/oidc-config.ts';

const issuer = (over: Record<string, unknown> = {}) => ({
  issuer: 'https://idp.example.com',
  audience: 'arbiter',
  rules: [{ claims: { groups: 'arbiter-admins' }, role: 'admin' }],
  ...over,
});
const problems = (doc: unknown) => {
  try {
    parseOidcSettings(doc);
  } catch (err) {
    return (err as Error & { code: string }).code + ' ' + (err as Error).message;
  }
  throw new Error('expected the configuration to be refused');
};

describe('the OIDC configuration', () => {
  it('fills in defaults: asymmetric algorithms, sub, 30 s leeway', () => {
    const settings = parseOidcSettings({ issuers: [issuer()] });
    expect(settings.clockToleranceSeconds).toBe(30);
    expect(settings.jwksCooldownSeconds).toBe(30);
    expect(settings.issuers[0]).toMatchObject({
      audience: ['arbiter'],
      algorithms: [...ASYMMETRIC_ALGORITHMS],
      subjectClaim: 'sub',
      introspection: undefined,
      rules: [{ claims: { groups: ['arbiter-admins'] }, role: 'admin' }],
    });
  });

  it('keeps a CI rule’s models and regions as its scope', () => {
    const ci = issuer({
      issuer: 'https://token.actions.githubusercontent.com',
      introspection: { client_id: 'arbiter', client_secret: 's' },
      rules: [{ claims: { repository: 'acme/m', ref: ['refs/heads/main'] }, role: 'ci', models: ['m-*'] }],
    });
    const [settings] = parseOidcSettings({ issuers: [ci] }).issuers;
    expect(settings!.rules[0]).toEqual({
      claims: { repository: ['acme/m'], ref: ['refs/heads/main'] },
      role: 'ci',
      scope: { models: ['m-*'], regions: undefined },
    });
    expect(settings!.introspection).toEqual({ clientId: 'arbiter', clientSecret: 's' });
  });

  it.each([
    ['alg none', { issuers: [issuer({ algorithms: ['none'] })] }, 'issuers.0.algorithms.0'],
    ['HS256', { issuers: [issuer({ algorithms: ['RS256', 'HS256'] })] }, 'issuers.0.algorithms.1'],
    ['plain http off loopback', { issuers: [issuer({ issuer: 'http://idp.example.com' })] }, 'https://'],
    ['an unknown role', { issuers: [issuer({ rules: [{ claims: { g: 'x' }, role: 'root' }] })] }, 'role'],
    [
      'a rule naming no claim',
      { issuers: [issuer({ rules: [{ claims: {}, role: 'admin' }] })] },
      'at least one claim',
    ],
    ['no issuers', { issuers: [] }, 'issuers'],
    ['a misspelt key', { issuers: [issuer({ audiences: 'x' })] }, 'audiences'],
    ['a duplicate issuer', { issuers: [issuer(), issuer()] }, 'only once'],
    ['a huge leeway', { clock_tolerance_seconds: 3600, issuers: [issuer()] }, 'clock_tolerance_seconds'],
  ])('refuses %s, naming where', (_name, doc, where) => {
    const message = problems(doc);
    expect(message).toMatch(/^CONFIG_INVALID ARBITER_OIDC_CONFIG: invalid OIDC configuration/);
    expect(message).toContain(where);
  });

  it('allows plain http on loopback (a sidecar or test IdP)', () => {
    expect(
      parseOidcSettings({ issuers: [issuer({ issuer: 'http://127.0.0.1:9000' })] }).issuers,
    ).toHaveLength(1);
  });
});
