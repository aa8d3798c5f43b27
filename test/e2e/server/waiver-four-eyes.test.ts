import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../../support/service.ts';

// The policy samples are written for this instant (their evidence ages are counted from it).
const NOW = new Date('2026-11-23T12:00:00Z');
const FOUR_FIFTHS = JSON.parse(
  readFileSync(
    new URL(
      '../../../policies/deployment/samples/denied/us-impact-ratio-below-four-fifths.json',
      import.meta.url,
    ),
    'utf8',
  ),
);

describe('four-eyes on waivers through the API, with local tokens', () => {
  let service: TestService;
  let ci: string;
  const call = (method: 'GET' | 'POST', url: string, token: string, payload?: object) =>
    service.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, payload });
  const requestWaiver = async (token: string) => {
    const r = await call('POST', '/v1/waivers', token, {
      rule: 'FAIR-IMPACT-RATIO',
      model: FOUR_FIFTHS.subject.model,
      region: 'us',
      reason: 'Interim human review of every adverse outcome until the retrained model ships.',
      expires_at: '2027-01-31T00:00:00Z',
    });
    expect(r.statusCode, r.body).toBe(201);
    return r.json<{ id: string; requested_by: string }>();
  };
  const mint = async (admin: string, role: 'admin' | 'compliance_officer') => {
    const r = await call('POST', '/v1/tokens', admin, { role, name: `${role} token` });
    expect(r.statusCode, r.body).toBe(201);
    return r.json<{ id: string; token: string }>();
  };

  beforeAll(async () => {
    service = await startTestService({}, { clock: () => NOW });
    ci = (await service.tokens.create({ role: 'ci', createdBy: 'test' })).token;
  });
  afterAll(() => service?.close());

  it('refuses an approval with a compliance_officer token the requesting admin minted for itself', async () => {
    const waiver = await requestWaiver(service.adminToken);
    const own = await mint(service.adminToken, 'compliance_officer');
    const refused = await call('POST', `/v1/waivers/${waiver.id}/approve`, own.token, { note: 'self' });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({
      code: 'WAIVER_FOUR_EYES',
      message: expect.stringContaining(`requested by ${waiver.requested_by}`),
    });
    // Through a deputy admin it minted, too.
    const deputy = await mint(service.adminToken, 'admin');
    const deputysOfficer = await mint(deputy.token, 'compliance_officer');
    const again = await call('POST', `/v1/waivers/${waiver.id}/approve`, deputysOfficer.token, {});
    expect(again.statusCode).toBe(403);
    expect(again.json().code).toBe('WAIVER_FOUR_EYES');

    const listed = (await call('GET', '/v1/waivers', ci)).json<{
      waivers: { id: string; status: string }[];
    }>();
    expect(listed.waivers.find((w) => w.id === waiver.id)?.status).toBe('requested');
    const decision = (await call('POST', '/v1/decisions', ci, FOUR_FIFTHS)).json();
    expect(decision.allow).toBe(false);
    expect(decision.waived ?? []).toEqual([]);
  });
});
