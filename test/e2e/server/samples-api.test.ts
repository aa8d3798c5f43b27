import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSamples, SAMPLE_CLOCK } from '../../integration/policies/support.ts';
import { startTestService, type TestService } from '../../support/service.ts';

// Each policy sample is a complete POST /v1/decisions body (policies/README.md): the engine tests run them
// through the policies alone, which would not notice a sample the service refuses before any policy sees it.
const samples = await loadSamples();

describe('the policy samples as POST /v1/decisions bodies', () => {
  let service: TestService;
  let ci: string;

  beforeAll(async () => {
    service = await startTestService({}, { clock: () => SAMPLE_CLOCK });
    ci = (await service.tokens.create({ role: 'ci', name: 'pipeline', createdBy: 'test' })).token;
  });
  afterAll(() => service?.close());

  it.each(samples.map((s) => [s.name, s] as const))('%s', async (_name, sample) => {
    const answer = await service.app.inject({
      method: 'POST',
      url: '/v1/decisions',
      headers: { authorization: `Bearer ${ci}` },
      payload: sample.body,
    });
    expect(answer.statusCode, answer.body).toBe(201);
    expect(answer.json().allow).toBe(sample.expected === 'allowed');
  });
});
