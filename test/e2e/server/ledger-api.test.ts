import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  hashLeaf,
  openNote,
  parseCheckpoint,
  parseVerifierKey,
  verifyBundle,
  verifyInclusion,
} from '../../../ledger/index.ts';
import { startTestService, type TestService } from '../../support/service.ts';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

describe('the ledger through the API', () => {
  let service: TestService;
  let officer: string;
  let auditor: string;
  const get = (url: string, token = auditor) =>
    service.app.inject({ url, headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    service = await startTestService({ ARBITER_CHECKPOINT_INTERVAL_MS: '50' });
    officer = (await service.tokens.create({ role: 'compliance_officer', createdBy: 'test' })).token;
    auditor = (await service.tokens.create({ role: 'auditor', createdBy: 'test' })).token;
  });
  afterAll(() => service?.close());

  it('lists the regions with their ledger origins', async () => {
    const { regions } = (await get('/v1/regions')).json();
    expect(regions.map((r: { id: string }) => r.id)).toEqual(
      expect.arrayContaining(['eu', 'us', 'us-nyc', 'uk', 'ca', 'sg']),
    );
    expect(regions.find((r: { id: string }) => r.id === 'eu').ledger.origin).toBe('arbiter.example/eu');
  });

  it('records attestations, signs checkpoints and proves inclusion', async () => {
    const receipts = [];
    for (const statement of ['model card reviewed', 'bias audit commissioned', 'DPIA signed off']) {
      const r = await service.app.inject({
        method: 'POST',
        url: '/v1/ledger/eu/attestations',
        headers: { authorization: `Bearer ${officer}` },
        payload: {
          statement,
          subject: { model: 'credit-scoring', version: '1.2.0' },
          references: ['https://example.com/dpia'],
        },
      });
      expect(r.statusCode).toBe(201);
      receipts.push(r.json());
    }
    // The log already holds the policy activation of the service's start; the attestations follow it in order.
    const first = receipts[0].seq;
    expect(receipts.map((r) => r.seq)).toEqual([first, first + 1, first + 2]);
    await service.ledger.integrate('eu');

    const note = (await get('/v1/ledger/eu/checkpoint')).body;
    const keys = (await get('/v1/ledger/eu/keys')).json();
    const verified = openNote(note, [parseVerifierKey(keys.ed25519_vkey)]);
    const checkpoint = parseCheckpoint(verified.text);
    expect(checkpoint.origin).toBe('arbiter.example/eu');
    expect(checkpoint.size).toBe(first + 3);

    const entry = (await get(`/v1/ledger/eu/entries/${first + 1}`)).json();
    expect(entry.entry).toMatchObject({
      type: 'attestation',
      statement: 'bias audit commissioned',
      actor: { role: 'compliance_officer' },
    });
    expect(Buffer.from(hashLeaf(Buffer.from(entry.entry_b64, 'base64'))).toString('hex')).toBe(
      receipts[1].leaf_hash,
    );

    const proof = (
      await get(`/v1/ledger/eu/proof/inclusion?seq=${first + 1}&size=${checkpoint.size}`)
    ).json();
    expect(proof.leaf_hash).toBe(receipts[1].leaf_hash);
    expect(() =>
      verifyInclusion(
        first + 1,
        checkpoint.size,
        hex(proof.leaf_hash),
        proof.proof.map(hex),
        checkpoint.root,
      ),
    ).not.toThrow();
  });

  it('serves an audit bundle that verifies offline against the published keys, and tlog tiles', async () => {
    const bundle = (await get('/v1/ledger/eu/bundle')).json();
    const keys = (await get('/v1/ledger/eu/keys')).json();
    const report = await verifyBundle(bundle, {
      trustedVkey: keys.ed25519_vkey,
      trustedEip191Address: keys.eip191_address,
    });
    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(true);
    // The key the bundle carries proves nothing by itself.
    expect((await verifyBundle(bundle)).failures.map((f) => f.check)).toEqual(['key']);
    const size = bundle.entries.length;
    expect(size).toBeGreaterThanOrEqual(3);
    expect(report.checked.entries).toBe(size);

    const tile = await get(`/v1/ledger/eu/tlog/tile/0/000.p/${size}`);
    expect(tile.statusCode).toBe(200);
    expect(tile.rawPayload.length).toBe(size * 32);
    const last = size - 1;
    expect(Buffer.from(tile.rawPayload.subarray(last * 32, size * 32)).toString('hex')).toBe(
      bundle.entries[last].leaf_hash,
    );
    expect((await get('/v1/ledger/eu/tlog/tile/0/bogus')).statusCode).toBe(404);
    expect((await get(`/v1/ledger/eu/tlog/tile/0/x000/000.p/${size}`)).statusCode).toBe(404);
  });

  it('adds the consistency proof from trusted_size, for --trusted-checkpoint over HTTP', async () => {
    const trusted = (await get('/v1/ledger/eu/checkpoint')).body;
    const trustedSize = Number(trusted.split('\n')[1]);
    const r = await service.app.inject({
      method: 'POST',
      url: '/v1/ledger/eu/attestations',
      headers: { authorization: `Bearer ${officer}` },
      payload: { statement: 'after the trusted checkpoint' },
    });
    expect(r.statusCode).toBe(201);
    const { size } = await service.ledger.integrate('eu');
    const bundle = (await get(`/v1/ledger/eu/bundle?from=${trustedSize}&trusted_size=${trustedSize}`)).json();
    expect(bundle.consistency_proofs).toContainEqual(
      expect.objectContaining({ from: trustedSize, to: size }),
    );
    const { ed25519_vkey } = (await get('/v1/ledger/eu/keys')).json();
    const report = await verifyBundle(bundle, { trustedVkey: ed25519_vkey, trustedCheckpoint: trusted });
    expect(report.failures).toEqual([]);
    expect(report.checked.consistencyProofs).toBeGreaterThan(0);

    for (const bad of ['-1', '1.5', 'x', String(size + 1)]) {
      const answer = await get(`/v1/ledger/eu/bundle?trusted_size=${bad}`);
      expect(answer.statusCode).toBe(400);
      expect(answer.body).toContain('trusted_size');
    }
  });

  it('answers a bundle request without a range with as many entries as a bundle holds, from the start', async () => {
    // A log just past what one bundle holds.
    for (let start = 0; start < 10_005; start += 5_000) {
      const count = Math.min(5_000, 10_005 - start);
      await Promise.all(
        Array.from({ length: count }, (_, k) => service.ledger.append('ca', { type: 'note', n: start + k })),
      );
    }
    const { size } = await service.ledger.integrate('ca');
    const keys = (await get('/v1/ledger/ca/keys')).json();
    const first = await get('/v1/ledger/ca/bundle');
    expect(first.statusCode, first.body.slice(0, 300)).toBe(200);
    const bundle = first.json();
    expect(bundle.entries.map((e: { seq: number }) => e.seq)).toEqual(
      Array.from({ length: 10_000 }, (_, i) => i),
    );
    expect((await verifyBundle(bundle, { trustedVkey: keys.ed25519_vkey })).failures).toEqual([]);
    // The rest, from where the first ended.
    const rest = (await get('/v1/ledger/ca/bundle?from=10000')).json();
    // The log may hold entries from start-up (policy.activated) before these.
    expect(size).toBeGreaterThanOrEqual(10_005);
    expect(rest.entries.map((e: { seq: number }) => e.seq)).toEqual(
      Array.from({ length: size - 10_000 }, (_, i) => 10_000 + i),
    );
    // An explicit range past the limit is still refused, naming it.
    const tooLong = await get(`/v1/ledger/ca/bundle?from=0&to=${size}`);
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json().message).toContain('at most 10000 entries');
  }, 120_000);

  it('refuses an attestation within the field limits that does not fit one ledger entry, appending nothing', async () => {
    const attest = (payload: object) =>
      service.app.inject({
        method: 'POST',
        url: '/v1/ledger/eu/attestations',
        headers: { authorization: `Bearer ${officer}` },
        payload,
      });
    // 10,000 characters of two UTF-8 bytes each fit; with 30 references of 2,000 characters they do not.
    const first = await attest({ statement: 'é'.repeat(10_000) });
    expect(first.statusCode).toBe(201);
    const tooLarge = await attest({
      statement: 'é'.repeat(10_000),
      references: Array.from({ length: 30 }, (_, i) => `${i}`.padEnd(2000, 'r')),
    });
    expect(tooLarge.statusCode).toBe(400);
    expect(tooLarge.json()).toMatchObject({
      code: 'LEDGER_ENTRY_INVALID',
      message: expect.stringMatching(/^entry is \d+ bytes; the limit is 65535$/),
    });
    const next = await attest({ statement: 'after' });
    expect(next.json().seq).toBe(first.json().seq + 1);
  });

  it('refuses auditors writing, unknown regions and proofs beyond the tree', async () => {
    const write = await service.app.inject({
      method: 'POST',
      url: '/v1/ledger/eu/attestations',
      headers: { authorization: `Bearer ${auditor}` },
      payload: { statement: 'x' },
    });
    expect(write.statusCode).toBe(403);
    expect((await get('/v1/ledger/mars/checkpoint')).statusCode).toBe(404);
    const beyond = await get('/v1/ledger/eu/proof/inclusion?seq=5&size=3');
    expect(beyond.statusCode).toBeGreaterThanOrEqual(400);
    expect(beyond.statusCode).toBeLessThan(500);
  });
});
