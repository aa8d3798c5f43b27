import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../../support/service.ts';

// The policy samples are written for this instant (their evidence ages are counted from it).
const NOW = new Date('2026-11-23T12:00:00Z');
const DAY_MS = 86_400_000;
const ALLOWED = JSON.parse(
  readFileSync(
    new URL('../../../policies/deployment/samples/allowed/eu-credit-scoring-high-risk.json', import.meta.url),
    'utf8',
  ),
);
const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

describe('decisions that outsiders can check', () => {
  let service: TestService;
  let now = NOW;
  let ci: string;
  let otherCi: string;
  let auditor: string;
  const call = (
    method: 'GET' | 'POST',
    url: string,
    token: string,
    payload?: object | string,
    headers: Record<string, string> = {},
  ) =>
    service.app.inject({
      method,
      url,
      headers: {
        authorization: `Bearer ${token}`,
        ...(typeof payload === 'string' ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      payload,
    });
  const ledgerSize = async (region: string) => (await service.ledger.integrate(region)).size;

  beforeAll(async () => {
    service = await startTestService({}, { clock: () => now });
    const token = async (role: 'ci' | 'auditor', name: string) =>
      (await service.tokens.create({ role, name, createdBy: 'test' })).token;
    ci = await token('ci', 'pipeline');
    otherCi = await token('ci', 'another pipeline');
    auditor = await token('auditor', 'auditor');
  });
  afterAll(() => service?.close());

  describe('the input document', () => {
    it('is served as the bytes whose sha256 the receipt and the ledger entry name', async () => {
      const r = await call('POST', '/v1/decisions', ci, ALLOWED);
      expect(r.statusCode).toBe(201);
      const receipt = r.json();
      expect(receipt.input_sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(receipt.decided_at).toBe(NOW.toISOString());

      const input = await call('GET', `/v1/decisions/${receipt.decision_id}/input`, auditor);
      expect(input.statusCode).toBe(200);
      expect(input.headers['content-type']).toMatch(/^application\/json/);
      expect(sha256(input.rawPayload)).toBe(receipt.input_sha256);
      expect(input.json()).toMatchObject({
        event: { stage: 'deployment', region: 'eu', now: receipt.decided_at },
        subject: ALLOWED.subject,
      });

      await service.ledger.integrate('eu');
      const entry = (await call('GET', `/v1/ledger/eu/entries/${receipt.ledger.seq}`, auditor)).json();
      expect(entry.entry).toMatchObject({
        decision_id: receipt.decision_id,
        input_sha256: receipt.input_sha256,
        at: receipt.decided_at,
      });
      const stored = (await call('GET', `/v1/decisions/${receipt.decision_id}`, auditor)).json();
      expect(stored).toMatchObject({ input_sha256: receipt.input_sha256, decided_at: receipt.decided_at });
    });

    it('is refused for no decision, and without a token', async () => {
      const none = await call('GET', '/v1/decisions/00000000-0000-4000-8000-000000000000/input', auditor);
      expect(none.statusCode).toBe(404);
      const anonymous = await service.app.inject('/v1/decisions/00000000-0000-4000-8000-000000000000/input');
      expect(anonymous.statusCode).toBe(401);
    });
  });

  describe('a retry with an Idempotency-Key', () => {
    const keyed = (key: string, token = ci, body: object | string = ALLOWED) =>
      call('POST', '/v1/decisions', token, body, { 'idempotency-key': key });

    it('gets the first receipt with 200, and records nothing again', async () => {
      const first = await keyed('job-812');
      expect(first.statusCode).toBe(201);
      expect(first.headers['idempotency-replayed']).toBeUndefined();
      const size = await ledgerSize('eu');
      now = new Date(NOW.getTime() + 60_000);
      // The same document, spaced and ordered otherwise.
      const reordered = JSON.stringify(Object.fromEntries(Object.entries(ALLOWED).reverse()), null, 2);
      for (const retry of [await keyed('job-812'), await keyed('job-812', ci, reordered)]) {
        expect(retry.statusCode).toBe(200);
        expect(retry.headers['idempotency-replayed']).toBe('true');
        expect(retry.json()).toEqual(first.json());
      }
      expect(await ledgerSize('eu')).toBe(size);
      // Another caller's key is its own.
      const other = await keyed('job-812', otherCi);
      expect(other.statusCode).toBe(201);
      expect(other.json().decision_id).not.toBe(first.json().decision_id);
      now = NOW;
    });

    it('is refused with 422 when the key came with another body', async () => {
      expect((await keyed('job-900')).statusCode).toBe(201);
      const size = await ledgerSize('eu');
      const changed = { ...ALLOWED, subject: { ...ALLOWED.subject, version: '9.9.9' } };
      const r = await keyed('job-900', ci, changed);
      expect(r.statusCode).toBe(422);
      expect(r.json()).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
      expect(r.json().message).toMatch(/job-900/);
      expect(await ledgerSize('eu')).toBe(size);
    });

    it('records one decision when tries race, and answers the others with it', async () => {
      const size = await ledgerSize('eu');
      const tries = await Promise.all(Array.from({ length: 6 }, () => keyed('job-race')));
      expect(tries.map((t) => t.statusCode).sort()).toEqual([200, 200, 200, 200, 200, 201]);
      expect(new Set(tries.map((t) => t.json().decision_id)).size).toBe(1);
      expect(await ledgerSize('eu')).toBe(size + 1);
    });

    it('is decided anew once the key has expired, 24 hours after the first decision', async () => {
      const first = (await keyed('job-old')).json();
      now = new Date(NOW.getTime() + DAY_MS - 1);
      expect((await keyed('job-old')).json().decision_id).toBe(first.decision_id);
      now = new Date(NOW.getTime() + DAY_MS);
      const later = await keyed('job-old', ci, { ...ALLOWED, context: { attempt: 2 } });
      expect(later.statusCode).toBe(201);
      expect(later.json().decision_id).not.toBe(first.decision_id);
      now = NOW;
    });

    it.each([
      ['empty', ''],
      ['too long', 'k'.repeat(256)],
      ['not ASCII', 'clé'],
      ['a control character', 'a\tb'],
    ])('refuses a key that is %s with 400', async (_, key) => {
      const r = await call('POST', '/v1/decisions', ci, ALLOWED, { 'idempotency-key': key });
      expect(r.statusCode).toBe(400);
    });
  });

  describe('replays', () => {
    it('past the limit are refused with 503 and Retry-After, none fails, and decisions go on', async () => {
      const receipt = (await call('POST', '/v1/decisions', ci, ALLOWED)).json();
      const replay = () => call('POST', `/v1/decisions/${receipt.decision_id}/replay`, auditor);
      expect((await replay()).json()).toMatchObject({ matches: true });
      const replays = Array.from({ length: 40 }, replay);
      const decided = await call('POST', '/v1/decisions', ci, ALLOWED);
      expect(decided.statusCode).toBe(201);
      const answers = await Promise.all(replays);
      const statuses = answers.map((a) => a.statusCode);
      expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
      expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
      for (const answer of answers) {
        if (answer.statusCode === 200) expect(answer.json()).toMatchObject({ matches: true });
        else {
          expect(answer.json()).toMatchObject({ code: 'POLICY_ENGINE_BUSY' });
          expect(answer.headers['retry-after']).toBe('1');
        }
      }
      // The refused ones come back later, and are answered.
      expect((await replay()).statusCode).toBe(200);
    });
  });

  describe('a body JSON.parse would misread', () => {
    const text = JSON.stringify(ALLOWED);
    it.each([
      ['a key given twice', text.replace('{', '{"region":"us",'), 'region'],
      [
        'a key given twice deep in the evidence',
        text.replace('"evidence":{', '"evidence":{"rows":1,"rows":2,'),
        'evidence.rows',
      ],
      [
        'an integer beyond 2^53',
        text.replace('"evidence":{', '"evidence":{"x_int":12345678901234567890123,'),
        'evidence.x_int',
      ],
      [
        'a number read as 0',
        text.replace('"evidence":{', '"evidence":{"x_small":1e-400,'),
        'evidence.x_small',
      ],
      ['a number beyond double range', text.replace('{', '{"context":{"a":[0,1e400]},'), 'context.a.1'],
    ])('is refused when it holds %s, naming the field, and nothing is recorded', async (_, body, field) => {
      const before = await ledgerSize('eu');
      const r = await call('POST', '/v1/decisions', ci, body);
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({ code: 'BAD_REQUEST', field });
      expect(r.json().message).toMatch(new RegExp(`^${field.replaceAll('.', '\\.')} `));
      expect(await ledgerSize('eu')).toBe(before);
    });

    it('refuses a version with control or bidirectional characters', async () => {
      const body = { ...ALLOWED, subject: { ...ALLOWED.subject, version: '1.0\u202e' } };
      const r = await call('POST', '/v1/decisions', ci, body);
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({ code: 'POLICY_INPUT_INVALID', field: 'subject.version' });
    });
  });
});
