import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../../../support/service.ts';

describe('repeated authentication failures', () => {
  let service: TestService;
  const get = (token: string, remoteAddress = '127.0.0.1') =>
    service.app.inject({ url: '/v1/tokens', headers: { authorization: `Bearer ${token}` }, remoteAddress });

  beforeAll(async () => {
    service = await startTestService({
      ARBITER_AUTH_FAILURE_LIMIT: '5',
      ARBITER_AUTH_FAILURE_WINDOW_S: '60',
    });
  });
  afterAll(() => service?.close());

  it('answer 429 with Retry-After once a client reached the limit, for that client only', async () => {
    for (let i = 0; i < 5; i++) expect((await get(`arb_guess${i}`, '192.0.2.7')).statusCode).toBe(401);
    const blocked = await get(service.adminToken, '192.0.2.7');
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json()).toMatchObject({ statusCode: 429, code: 'TOO_MANY_AUTH_FAILURES' });
    const retryAfter = Number(blocked.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Probes without credentials still pass; other clients are untouched.
    expect((await service.app.inject({ url: '/healthz', remoteAddress: '192.0.2.7' })).statusCode).toBe(200);
    expect((await get(service.adminToken, '192.0.2.8')).statusCode).toBe(200);
  });

  it('refuses a burst of guesses sent at once past the limit, before checking them', async () => {
    const burst = await Promise.all(
      Array.from({ length: 40 }, (_, i) => get(`arb_burst${String(i).padStart(48, '0')}`, '192.0.2.30')),
    );
    const statuses = burst.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(35);
    expect((await get(service.adminToken, '192.0.2.30')).statusCode).toBe(429);
  });

  it('lets a client’s parallel requests with one good token through, however many', async () => {
    const parallel = await Promise.all(
      Array.from({ length: 30 }, () => get(service.adminToken, '192.0.2.31')),
    );
    expect(parallel.map((r) => r.statusCode)).toEqual(Array(30).fill(200));
  });

  it('answers the routes that need no credentials whatever the client’s failures', async () => {
    for (let i = 0; i < 5; i++) expect((await get(`arb_guess${i}`, '192.0.2.32')).statusCode).toBe(401);
    expect((await get(service.adminToken, '192.0.2.32')).statusCode).toBe(429);
    for (const url of ['/healthz', '/v1/version']) {
      const r = await service.app.inject({
        url,
        headers: { authorization: 'Bearer arb_anything' },
        remoteAddress: '192.0.2.32',
      });
      expect(r.statusCode, url).toBe(200);
    }
  });

  it('counts credentials that failed, not requests that carried none', async () => {
    for (let i = 0; i < 8; i++)
      expect((await service.app.inject({ url: '/v1/tokens', remoteAddress: '192.0.2.10' })).statusCode).toBe(
        401,
      );
    expect((await get(service.adminToken, '192.0.2.10')).statusCode).toBe(200);
  });

  it('counts refusals (401), not wrong roles (403)', async () => {
    const auditor = (await service.tokens.create({ role: 'auditor', createdBy: 'test' })).token;
    for (let i = 0; i < 8; i++) expect((await get(auditor, '192.0.2.9')).statusCode).toBe(403);
    expect((await get(service.adminToken, '192.0.2.9')).statusCode).toBe(200);
  });
});

describe('repeated authentication failures behind a reverse proxy', () => {
  let service: TestService;
  // From the proxy on loopback, for the client it names; or straight from a client that names another.
  const get = (token: string, forwardedFor: string, remoteAddress = '127.0.0.1') =>
    service.app.inject({
      url: '/v1/tokens',
      headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': forwardedFor },
      remoteAddress,
    });

  beforeAll(async () => {
    service = await startTestService({
      ARBITER_AUTH_FAILURE_LIMIT: '5',
      ARBITER_AUTH_FAILURE_WINDOW_S: '60',
      ARBITER_TRUST_PROXY: 'loopback, 10.0.0.0/8',
    });
  });
  afterAll(() => service?.close());

  it('counts the client the trusted proxy names, not the proxy', async () => {
    for (let i = 0; i < 5; i++) expect((await get(`arb_guess${i}`, '198.51.100.1')).statusCode).toBe(401);
    expect((await get(service.adminToken, '198.51.100.1')).statusCode).toBe(429);
    // Another client behind the same proxy is untouched.
    expect((await get(service.adminToken, '198.51.100.2')).statusCode).toBe(200);
  });

  it('ignores X-Forwarded-For from an address that is not a trusted proxy', async () => {
    // A client cannot shift its failures onto someone else by naming them.
    for (let i = 0; i < 5; i++)
      expect((await get(`arb_guess${i}`, '198.51.100.3', '192.0.2.20')).statusCode).toBe(401);
    expect((await get(service.adminToken, '198.51.100.4', '192.0.2.20')).statusCode).toBe(429);
    expect((await get(service.adminToken, '198.51.100.3')).statusCode).toBe(200);
  });
});
