import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { startTestService, type TestService } from '../../../support/service.ts';
import { JWT_AUDIENCE, startTestIssuer, type TestIssuer } from './support/oidc-issuer.ts';

const FAILURE_LIMIT = 3;

describe('an identity provider that does not answer', () => {
  let early: TestIssuer; // closed before the service ever reached it
  let late: TestIssuer; // reached once, then closed
  let service: TestService;
  let oidcFile: string;

  const tokenOf = async (issuer: string, key: Parameters<SignJWT['sign']>[0], kid: string) =>
    new SignJWT({ groups: ['arbiter-admins'] })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
      .setIssuer(issuer)
      .setAudience(JWT_AUDIENCE)
      .setSubject('alice-admin')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key);
  const issuedBy = async (idp: TestIssuer) =>
    tokenOf(idp.issuer, await importJWK(idp.signingKey as JWK, 'ES256'), idp.signingKey.kid);
  const call = (token: string) =>
    service.app.inject({ url: '/v1/tokens', headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    early = await startTestIssuer([]);
    late = await startTestIssuer([]);
    oidcFile = path.join(os.tmpdir(), `arbiter-oidc-down-${process.pid}.yaml`);
    const rules = [{ claims: { groups: 'arbiter-admins' }, role: 'admin' }];
    await writeFile(
      oidcFile,
      toYaml({
        jwks_cooldown_seconds: 0,
        issuers: [early, late].map(({ issuer }) => ({ issuer, audience: JWT_AUDIENCE, rules })),
      }),
    );
    service = await startTestService({
      ARBITER_OIDC_CONFIG: oidcFile,
      ARBITER_AUTH_FAILURE_LIMIT: String(FAILURE_LIMIT),
      ARBITER_AUTH_FAILURE_WINDOW_S: '60',
    });
  });
  afterAll(async () => {
    await service?.close();
    await early?.close();
    await late?.close();
    await rm(oidcFile, { force: true });
  });

  it('answers 503 with Retry-After when the issuer cannot be discovered, and counts no failure', async () => {
    const token = await issuedBy(early);
    await early.close();
    for (let i = 0; i < FAILURE_LIMIT + 2; i++) {
      const r = await call(token);
      expect(r.statusCode, r.body).toBe(503);
      expect(r.json()).toEqual({
        statusCode: 503,
        code: 'IDENTITY_PROVIDER_UNAVAILABLE',
        message: 'the identity provider is unavailable; retry shortly',
      });
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    }
    // Not locked out: the other callers behind the same address still get in.
    expect((await call(service.adminToken)).statusCode).toBe(200);
  });

  it('keeps accepting tokens whose key it holds, and answers 503 for one whose key it must fetch', async () => {
    const held = await issuedBy(late);
    expect((await call(held)).statusCode).toBe(200);
    await late.close();
    expect((await call(held)).statusCode).toBe(200);

    const { privateKey } = await generateKeyPair('ES256');
    const rotated = await tokenOf(late.issuer, privateKey, 'k-not-yet-fetched');
    for (let i = 0; i < FAILURE_LIMIT + 2; i++) {
      const r = await call(rotated);
      expect(r.statusCode, r.body).toBe(503);
      expect(r.json()).toMatchObject({ code: 'IDENTITY_PROVIDER_UNAVAILABLE' });
    }
    expect((await call(service.adminToken)).statusCode).toBe(200);
  });
});
