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

  it("keeps each uploader's name for the same bytes, and shows a CI identity only its own uploads", async () => {
    const other = (await service.tokens.create({ role: 'ci', createdBy: 'test' })).token;
    const stranger = (await service.tokens.create({ role: 'ci', createdBy: 'test' })).token;
    const bytes = Buffer.from('age,sex,label\n63,Female,1\n');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const first = await upload(ciToken, bytes, 'team-a.csv');
    expect(first.statusCode).toBe(201);
    const teamA = first.json().created_by as string;
    // Another identity sending the same bytes is told nothing of the first: 201, its own name, itself.
    const second = await upload(other, bytes, 'team-b.csv');
    expect(second.statusCode).toBe(201);
    const teamB = second.json().created_by as string;
    expect(teamB).not.toBe(teamA);
    expect(second.json()).toMatchObject({ sha256, filename: 'team-b.csv' });
    expect((await upload(other, bytes, 'renamed.csv')).statusCode).toBe(200);
    const as = (token: string) =>
      service.app.inject({ url: `/v1/artifacts/${sha256}`, headers: { authorization: `Bearer ${token}` } });
    expect((await as(other)).json()).toMatchObject({ filename: 'team-b.csv', created_by: teamB });
    expect((await as(ciToken)).json()).toMatchObject({ filename: 'team-a.csv', created_by: teamA });
    // A CI identity that never uploaded it: as if it did not exist. An auditor sees the first upload.
    const hidden = await as(stranger);
    expect(hidden.statusCode).toBe(404);
    expect(hidden.json().message).toBe(`no artifact ${sha256}`);
    expect((await as(auditorToken)).json()).toMatchObject({ filename: 'team-a.csv', created_by: teamA });
  });

  it('serves the bytes to whoever may see the artifact, as an attachment never rendered', async () => {
    const bytes = Buffer.from('age,sex,label\n27,Female,0\n');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await upload(ciToken, bytes, 'download.csv');
    const download = (token: string) =>
      service.app.inject({
        url: `/v1/artifacts/${sha256}/content`,
        headers: { authorization: `Bearer ${token}` },
      });
    for (const token of [ciToken, auditorToken]) {
      const got = await download(token);
      expect(got.statusCode).toBe(200);
      expect(got.rawPayload.equals(bytes)).toBe(true);
      expect(got.headers).toMatchObject({
        'content-type': 'application/octet-stream',
        'content-length': String(bytes.length),
        'content-disposition': 'attachment; filename="download.csv"',
        'x-content-type-options': 'nosniff',
      });
    }
    // A CI identity that did not upload it: as if it did not exist.
    const stranger = (await service.tokens.create({ role: 'ci', createdBy: 'test' })).token;
    expect((await download(stranger)).json()).toMatchObject({
      statusCode: 404,
      message: `no artifact ${sha256}`,
    });
    expect((await service.app.inject({ url: `/v1/artifacts/${sha256}/content` })).statusCode).toBe(401);
  });

  it('refuses an empty file and an auditor upload', async () => {
    expect((await upload(ciToken, Buffer.alloc(0))).statusCode).toBe(400);
    expect((await upload(auditorToken, Buffer.from('x'))).statusCode).toBe(403);
  });
});
