import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../../support/service.ts';

describe('artifacts', () => {
  let service: TestService;
  let ciToken: string;
  let auditorToken: string;
  beforeAll(async () => {
    service = await startTestService({ ARBITER_ARTIFACT_MAX_BYTES: String(64 * 1024) });
    ciToken = (await service.tokens.create({ role: 'ci', createdBy: 'test' })).token;
    auditorToken = (await service.tokens.create({ role: 'auditor', createdBy: 'test' })).token;
  });
  afterAll(() => service?.close());

  const upload = (token: string, payload: Buffer, filename = 'data.csv') =>
    service.app.inject({
      method: 'POST',
      url: `/v1/artifacts?filename=${filename}`,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      payload,
    });

  it('stores a file under its sha256, once', async () => {
    const bytes = Buffer.from('age,sex,label\n39,Male,0\n50,Female,1\n');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const first = await upload(ciToken, bytes);
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({ sha256, size: bytes.length, filename: 'data.csv' });
    const again = await upload(ciToken, bytes);
    expect(again.statusCode).toBe(200);
    expect(again.json().sha256).toBe(sha256);
    const info = await service.app.inject({
      url: `/v1/artifacts/${sha256}`,
      headers: { authorization: `Bearer ${auditorToken}` },
    });
    expect(info.json()).toMatchObject({ sha256, size: bytes.length });
  });

  it('takes the name of a later upload of the same bytes when the first had none', async () => {
    const bytes = Buffer.from('age,sex,label\n41,Male,1\n');
    const unnamed = await service.app.inject({
      method: 'POST',
      url: '/v1/artifacts',
      headers: { authorization: `Bearer ${ciToken}`, 'content-type': 'application/octet-stream' },
      payload: bytes,
    });
    expect(unnamed.json().filename).toBeNull();
    expect((await upload(ciToken, bytes, 'named.csv')).json().filename).toBe('named.csv');
    // The first name given stays.
    expect((await upload(ciToken, bytes, 'other.jsonl')).json().filename).toBe('named.csv');
  });

  it('refuses a file over the limit with 413 and stores nothing', async () => {
    const big = Buffer.alloc(64 * 1024 + 1, 7);
    const r = await upload(ciToken, big, 'big.bin');
    expect(r.statusCode).toBe(413);
    expect(r.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    const sha256 = createHash('sha256').update(big).digest('hex');
    const info = await service.app.inject({
      url: `/v1/artifacts/${sha256}`,
      headers: { authorization: `Bearer ${ciToken}` },
    });
    expect(info.statusCode).toBe(404);
  });

  it('refuses a body not sent as application/octet-stream, which a parser would have re-encoded', async () => {
    for (const [type, payload] of [
      ['text/plain', 'age,sex\n39,Male\n'],
      ['application/json', '"just a string"'],
      ['application/json', '{"x":1}'],
    ]) {
      const r = await service.app.inject({
        method: 'POST',
        url: '/v1/artifacts?filename=data.csv',
        headers: { authorization: `Bearer ${ciToken}`, 'content-type': type! },
        payload,
      });
      expect(r.statusCode, `${type} ${payload}`).toBe(415);
      expect(r.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    }
  });

  it('refuses an empty file and an auditor upload', async () => {
    expect((await upload(ciToken, Buffer.alloc(0))).statusCode).toBe(400);
    expect((await upload(auditorToken, Buffer.from('x'))).statusCode).toBe(403);
  });
});
