import { stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../../support/service.ts';

describe('the HTTP service', () => {
  let service: TestService;
  let auditorToken: string;
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  beforeAll(async () => {
    service = await startTestService({ ARBITER_BODY_LIMIT: '2048' });
    // A route that fails the way a bug would, to prove nothing internal leaks.
    service.app.get('/boom', async () => {
      throw new Error('connection to 10.0.0.7 refused: password authentication failed for user "arbiter"');
    });
    auditorToken = (await service.tokens.create({ role: 'auditor', createdBy: 'test' })).token;
  });
  afterAll(() => service?.close());

  describe('operations', () => {
    it('answers /healthz and /readyz', async () => {
      expect((await service.app.inject('/healthz')).json()).toEqual({ status: 'ok' });
      const ready = await service.app.inject('/readyz');
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toEqual({ status: 'ready', checks: { database: 'ok', policies: 'ok' } });
    });

    it('serves the contract at /openapi.json and human docs at /docs', async () => {
      const spec = (await service.app.inject('/openapi.json')).json();
      expect(spec.openapi).toBe('3.1.0');
      expect(Object.keys(spec.paths)).toContain('/v1/models');
      const docs = await service.app.inject('/docs/');
      expect(docs.statusCode).toBe(200);
      expect(docs.headers['content-type']).toContain('text/html');
    });

    it('exposes Prometheus metrics', async () => {
      await service.app.inject('/healthz');
      const metrics = await service.app.inject('/metrics');
      expect(metrics.headers['content-type']).toContain('text/plain');
      expect(metrics.body).toMatch(
        /arbiter_http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\} \d+/,
      );
      expect(metrics.body).toContain('arbiter_process_cpu_user_seconds_total');
    });

    it('echoes or assigns a request id', async () => {
      expect(
        (await service.app.inject({ url: '/healthz', headers: { 'x-request-id': 'ci-run-42' } })).headers[
          'x-request-id'
        ],
      ).toBe('ci-run-42');
      expect((await service.app.inject('/healthz')).headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      // An id that is not a plain token is replaced, not echoed into headers and logs.
      const odd = await service.app.inject({
        url: '/healthz',
        headers: { 'x-request-id': `x"y ${'z'.repeat(5000)}` },
      });
      expect(odd.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  describe('errors are JSON {statusCode, code, message}', () => {
    it('malformed JSON → 400 MALFORMED_JSON', async () => {
      const r = await service.app.inject({
        method: 'POST',
        url: '/v1/models',
        headers: { ...bearer(service.adminToken), 'content-type': 'application/json' },
        payload: '{"name": "x",',
      });
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({ statusCode: 400, code: 'MALFORMED_JSON' });
    });

    it('oversized body → 413 BODY_TOO_LARGE', async () => {
      const r = await service.app.inject({
        method: 'POST',
        url: '/v1/models',
        headers: { ...bearer(service.adminToken), 'content-type': 'application/json' },
        payload: JSON.stringify({
          name: 'big',
          owner: 'o',
          intended_purpose: 'x'.repeat(4096),
          risk_tier: 'high',
        }),
      });
      expect(r.statusCode).toBe(413);
      expect(r.json()).toMatchObject({ statusCode: 413, code: 'BODY_TOO_LARGE' });
    });

    it('what the HTTP parser refuses → the same shape (400 MALFORMED_REQUEST), on a real socket', async () => {
      await service.app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = service.app.server.address() as net.AddressInfo;
      const answer = await new Promise<string>((resolve, reject) => {
        let text = '';
        const socket = net.connect(port, '127.0.0.1', () =>
          socket.write('POST /v1/artifacts HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n'),
        );
        socket.on('data', (d) => (text += d));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({
        statusCode: 400,
        code: 'MALFORMED_REQUEST',
        message: 'the request is not valid HTTP (its framing, length or headers)',
      });
    });

    it('unknown route → 404 ROUTE_NOT_FOUND', async () => {
      const r = await service.app.inject('/v1/nothing-here?x=1');
      expect(r.statusCode).toBe(404);
      expect(r.json()).toEqual({
        statusCode: 404,
        code: 'ROUTE_NOT_FOUND',
        message: 'no route GET /v1/nothing-here',
      });
    });

    it('a body that breaks the contract → 400 naming the field', async () => {
      const r = await service.app.inject({
        method: 'POST',
        url: '/v1/models',
        headers: bearer(service.adminToken),
        payload: { name: 'Bad Name!', owner: 'o', intended_purpose: 'p', risk_tier: 'high' },
      });
      expect(r.statusCode).toBe(400);
      expect(r.json().code).toBe('VALIDATION_FAILED');
      expect(r.json().message).toContain('name');
      const extra = await service.app.inject({
        method: 'POST',
        url: '/v1/models',
        headers: bearer(service.adminToken),
        payload: { name: 'ok', owner: 'o', intended_purpose: 'p', risk_tier: 'high', colour: 'red' },
      });
      expect(extra.statusCode).toBe(400);
      expect(extra.json().message).toContain('colour');
    });

    it('a body of a media type the operation does not list → 415, and nothing is written', async () => {
      const before = (await service.ledger.integrate('eu')).size;
      for (const type of ['text/plain', 'application/octet-stream', 'application/x-www-form-urlencoded']) {
        const r = await service.app.inject({
          method: 'POST',
          url: '/v1/ledger/eu/attestations',
          headers: { ...bearer(service.adminToken), 'content-type': type },
          payload: 'statement=hello',
        });
        expect(r.statusCode, type).toBe(415);
        expect(r.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
      }
      expect((await service.ledger.integrate('eu')).size).toBe(before);
    });

    it('a required body that is missing → 400, not a 500', async () => {
      for (const url of ['/v1/tokens', '/v1/models', '/v1/decisions', '/v1/waivers', '/v1/evaluations']) {
        const r = await service.app.inject({ method: 'POST', url, headers: bearer(service.adminToken) });
        expect(r.statusCode, url).toBe(400);
        expect(r.json().message, url).toMatch(/request body is required/);
      }
    });

    it('a body with the wrong JSON types → 400, not coerced', async () => {
      const r = await service.app.inject({
        method: 'POST',
        url: '/v1/models',
        headers: bearer(service.adminToken),
        payload: { name: 'coerced', owner: 123, intended_purpose: 'p', risk_tier: 'high' },
      });
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'owner' });
      // Query strings are text: their numbers are still read from it.
      const list = await service.app.inject({ url: '/v1/decisions?limit=5', headers: bearer(auditorToken) });
      expect(list.statusCode).toBe(200);
    });

    it('a NUL character, half a surrogate pair or an unrepresentable time in a body → 400 naming the field', async () => {
      const postModel = (json: string) =>
        service.app.inject({
          method: 'POST',
          url: '/v1/models',
          headers: { ...bearer(service.adminToken), 'content-type': 'application/json' },
          payload: json,
        });
      const nul = await postModel(
        '{"name":"nul","owner":"o","intended_purpose":"p","risk_tier":"high","description":"a\\u0000b"}',
      );
      expect(nul.statusCode).toBe(400);
      expect(nul.json()).toMatchObject({
        field: 'description',
        message: 'description must not contain a NUL character',
      });
      const surrogate = await postModel(
        '{"name":"half","owner":"o\\ud800","intended_purpose":"p","risk_tier":"high"}',
      );
      expect(surrogate.statusCode).toBe(400);
      expect(surrogate.json()).toMatchObject({
        field: 'owner',
        message: 'owner must not contain an unpaired surrogate (half of a UTF-16 pair)',
      });
      // A whole pair, escaped, is an ordinary character.
      const pair = await postModel(
        '{"name":"pair","owner":"o\\ud83d\\ude00","intended_purpose":"p","risk_tier":"high"}',
      );
      expect(pair.statusCode).toBe(201);
      expect(pair.json()).toMatchObject({ owner: 'o\u{1F600}' });
      const leap = await service.app.inject({
        method: 'POST',
        url: '/v1/tokens',
        headers: bearer(service.adminToken),
        payload: { role: 'auditor', expires_at: '2030-06-30T23:59:60Z' },
      });
      expect(leap.statusCode).toBe(400);
      expect(leap.json()).toMatchObject({ field: 'expires_at' });
    });

    it('a NUL character in a query or path parameter → 400 naming it, after authentication', async () => {
      for (const [url, field] of [
        ['/v1/decisions?region=%00', 'region'],
        ['/v1/decisions?model=credit&since=2026-01-01T00:00:00Z%00', 'since'],
        ['/v1/reports?region=eu%00', 'region'],
        ['/v1/waivers?region=eu%00', 'region'],
      ] as const) {
        const r = await service.app.inject({ url, headers: bearer(auditorToken) });
        expect(r.statusCode, url).toBe(400);
        expect(r.json(), url).toEqual({
          statusCode: 400,
          code: 'BAD_REQUEST',
          message: `${field} must not contain a NUL character`,
          field,
        });
      }
      expect((await service.app.inject('/v1/decisions?region=%00')).statusCode).toBe(401);
    });

    it('a long or badly encoded path parameter → the Error shape, the contract judging what it can', async () => {
      // 129 characters: past the contract's 128 but within fastify's limit, so validation names the field.
      const long = await service.app.inject({
        url: `/v1/models/${'a'.repeat(129)}`,
        headers: bearer(auditorToken),
      });
      expect(long.statusCode).toBe(400);
      expect(long.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'name' });
      const longest = await service.app.inject({
        url: `/v1/models/${'a'.repeat(128)}`,
        headers: bearer(auditorToken),
      });
      expect(longest.json()).toMatchObject({ statusCode: 404 });
      const tooLong = await service.app.inject({ url: `/v1/decisions/${'x'.repeat(300)}` });
      expect(tooLong.statusCode).toBe(414);
      expect(tooLong.json()).toEqual({
        statusCode: 414,
        code: 'URI_TOO_LONG',
        message: 'a path parameter is longer than this service accepts',
      });
      const badUtf8 = await service.app.inject({ url: '/v1/models/%E0%A4%A' });
      expect(badUtf8.statusCode).toBe(400);
      expect(badUtf8.json()).toEqual({
        statusCode: 400,
        code: 'BAD_REQUEST',
        message: 'the request path is not valid percent-encoded UTF-8',
      });
      expect(badUtf8.headers['x-request-id']).toBeTruthy();
    });

    it('an unexpected exception → 500 with no internals', async () => {
      const r = await service.app.inject('/boom');
      expect(r.statusCode).toBe(500);
      expect(r.json()).toEqual({
        statusCode: 500,
        code: 'INTERNAL',
        message: 'internal error; the request id in the logs has details',
      });
      expect(r.body).not.toMatch(/10\.0\.0\.7|password|stack|at /);
    });
  });

  describe('access', () => {
    it('refuses a request without a token, and an unknown token', async () => {
      const none = await service.app.inject({ method: 'GET', url: '/v1/models' });
      expect(none.statusCode).toBe(401);
      expect(none.json().code).toBe('UNAUTHENTICATED');
      const unknown = await service.app.inject({
        method: 'GET',
        url: '/v1/models',
        headers: bearer('arb_' + '0'.repeat(48)),
      });
      expect(unknown.statusCode).toBe(401);
    });

    it('lets an auditor read but not write', async () => {
      expect(
        (await service.app.inject({ url: '/v1/models', headers: bearer(auditorToken) })).statusCode,
      ).toBe(200);
      const write = await service.app.inject({
        method: 'POST',
        url: '/v1/models',
        headers: bearer(auditorToken),
        payload: { name: 'm', owner: 'o', intended_purpose: 'p', risk_tier: 'high' },
      });
      expect(write.statusCode).toBe(403);
      expect(write.json()).toEqual({
        statusCode: 403,
        code: 'FORBIDDEN',
        message: 'role auditor may not call this route',
      });
    });

    it('registers a model with the admin token, then refuses a duplicate', async () => {
      const payload = {
        name: 'compas-recidivism',
        owner: 'o@example.com',
        intended_purpose: 'p',
        risk_tier: 'high',
      };
      const created = await service.app.inject({
        method: 'POST',
        url: '/v1/models',
        headers: bearer(service.adminToken),
        payload,
      });
      expect(created.statusCode).toBe(201);
      expect(created.json()).toMatchObject({
        ...payload,
        description: null,
        created_by: expect.stringMatching(/^tok_/),
      });
      const again = await service.app.inject({
        method: 'POST',
        url: '/v1/models',
        headers: bearer(service.adminToken),
        payload,
      });
      expect(again.statusCode).toBe(409);
      expect(
        (
          await service.app.inject({ url: '/v1/models/compas-recidivism', headers: bearer(auditorToken) })
        ).json().name,
      ).toBe('compas-recidivism');
    });

    it('creates, lists and revokes tokens; a revoked token is refused', async () => {
      const created = await service.app.inject({
        method: 'POST',
        url: '/v1/tokens',
        headers: bearer(service.adminToken),
        payload: { role: 'ci', name: 'pipeline' },
      });
      expect(created.statusCode).toBe(201);
      const { id, token } = created.json();
      expect(token).toMatch(/^arb_[0-9a-f]{48}$/);
      const listed = (
        await service.app.inject({ url: '/v1/tokens', headers: bearer(service.adminToken) })
      ).json();
      expect(JSON.stringify(listed)).not.toContain(token);
      expect(listed.tokens.map((t: { id: string }) => t.id)).toContain(id);
      expect((await service.app.inject({ url: '/v1/models', headers: bearer(token) })).statusCode).toBe(200);
      const revoked = await service.app.inject({
        method: 'DELETE',
        url: `/v1/tokens/${id}`,
        headers: bearer(service.adminToken),
      });
      expect(revoked.statusCode).toBe(204);
      expect((await service.app.inject({ url: '/v1/models', headers: bearer(token) })).statusCode).toBe(401);
    });

    it('wrote the initial admin token with mode 0600', async () => {
      expect((await stat(path.join(service.dataDir, 'admin-token'))).mode & 0o777).toBe(0o600);
    });
  });
});
