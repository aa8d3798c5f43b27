import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logisticOnnx } from '../../../evaluators/fixtures/models.ts';
import { startTestService, type TestService } from '../../support/service.ts';

/** A small, hand-checkable dataset: predictions already made, two groups with different selection rates. */
function csv(): Buffer {
  const lines = ['sex,label,y_pred'];
  for (let i = 0; i < 100; i++) lines.push(`Female,${i % 2},${i < 30 ? 1 : 0}`);
  for (let i = 0; i < 100; i++) lines.push(`Male,${i % 2},${i < 60 ? 1 : 0}`);
  return Buffer.from(lines.join('\n') + '\n');
}

describe('evaluations as background jobs', () => {
  let service: TestService;
  let ci: string;
  const auth = () => ({ authorization: `Bearer ${ci}` });

  beforeAll(async () => {
    service = await startTestService();
    ci = (await service.tokens.create({ role: 'ci', createdBy: 'test' })).token;
  });
  afterAll(() => service?.close());

  async function upload(bytes: Buffer, filename: string): Promise<string> {
    const r = await service.app.inject({
      method: 'POST',
      url: `/v1/artifacts?filename=${filename}`,
      headers: { ...auth(), 'content-type': 'application/octet-stream' },
      payload: bytes,
    });
    expect(r.statusCode).toBeLessThan(300);
    return r.json().sha256;
  }

  async function waitFor(id: string, done: (status: string) => boolean) {
    for (let i = 0; i < 600; i++) {
      const e = (await service.app.inject({ url: `/v1/evaluations/${id}`, headers: auth() })).json();
      if (done(e.status)) return e;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`evaluation ${id} did not finish`);
  }

  it('runs an evaluation and serves its evidence', async () => {
    const data = await upload(csv(), 'predictions.csv');
    const spec = {
      label: { column: 'label', positive: 1 },
      prediction: { column: 'y_pred', positive: 1 },
      sensitive: ['sex'],
      min_group_size: 30,
    };
    const created = await service.app.inject({
      method: 'POST',
      url: '/v1/evaluations',
      headers: auth(),
      payload: { data_sha256: data, spec },
    });
    expect(created.statusCode).toBe(202);
    expect(created.json()).toMatchObject({ status: 'queued', data_sha256: data });
    const finished = await waitFor(created.json().id, (s) => s !== 'queued' && s !== 'running');
    expect(finished.error).toBeNull();
    expect(finished.status).toBe('succeeded');
    expect(finished.progress.rows).toBe(200);
    expect(finished.evidence_sha256).toMatch(/^[0-9a-f]{64}$/);
    const sex = finished.evidence.fairness.sex;
    expect(sex.groups.Female.selection_rate).toBeCloseTo(0.3, 10);
    expect(sex.groups.Male.selection_rate).toBeCloseTo(0.6, 10);
    expect(sex.groups.Female.impact_ratio).toBeCloseTo(0.5, 10);
    expect(sex.demographic_parity_difference).toBeCloseTo(0.3, 10);
  });

  it('refuses a bad spec and a missing artifact before queueing', async () => {
    const data = await upload(csv(), 'predictions.csv');
    const badSpec = await service.app.inject({
      method: 'POST',
      url: '/v1/evaluations',
      headers: auth(),
      payload: { data_sha256: data, spec: { sensitive: 'sex' } },
    });
    expect(badSpec.json()).toMatchObject({
      statusCode: 400,
      code: 'EVAL_SPEC_INVALID',
      field: 'spec.sensitive',
    });
    // Valid on its own, but with no model it names no predictions: it could never run.
    const noPredictions = await service.app.inject({
      method: 'POST',
      url: '/v1/evaluations',
      headers: auth(),
      payload: { data_sha256: data, spec: { sensitive: ['sex'] } },
    });
    expect(noPredictions.json()).toMatchObject({ statusCode: 400, field: 'spec.prediction.column' });
    const missing = await service.app.inject({
      method: 'POST',
      url: '/v1/evaluations',
      headers: auth(),
      payload: {
        data_sha256: 'f'.repeat(64),
        spec: { prediction: { column: 'y_pred', positive: 1 }, sensitive: ['sex'] },
      },
    });
    expect(missing.json()).toMatchObject({ statusCode: 400, field: 'data_sha256' });
    // Bytes whose upload named no format: the reader could not tell CSV from JSON Lines or Parquet.
    const unnamed = await upload(Buffer.from('sex,y_pred\nFemale,1\nMale,0\n'), 'scores.bin');
    const spec = { prediction: { column: 'y_pred', positive: 1 }, sensitive: ['sex'] };
    const untold = await service.app.inject({
      method: 'POST',
      url: '/v1/evaluations',
      headers: auth(),
      payload: { data_sha256: unnamed, spec },
    });
    expect(untold.json()).toMatchObject({
      statusCode: 400,
      field: 'data_sha256',
      message: expect.stringMatching(/was uploaded as scores\.bin, .*; set spec\.data\.format$/),
    });
    // The reference is read as spec.reference_data says, not spec.data.
    const untoldReference = await service.app.inject({
      method: 'POST',
      url: '/v1/evaluations',
      headers: auth(),
      payload: {
        data_sha256: unnamed,
        reference_sha256: unnamed,
        spec: { ...spec, data: { format: 'csv' }, drift: { features: ['sex'] } },
      },
    });
    expect(untoldReference.json()).toMatchObject({
      statusCode: 400,
      field: 'reference_sha256',
      message: expect.stringMatching(/set spec\.reference_data\.format$/),
    });
    const told = await service.app.inject({
      method: 'POST',
      url: '/v1/evaluations',
      headers: auth(),
      payload: { data_sha256: unnamed, spec: { ...spec, data: { format: 'csv' } } },
    });
    expect(told.statusCode, told.body).toBe(202);
    await waitFor(told.json().id, (s) => s !== 'queued' && s !== 'running');
  });

  it("refuses a CI identity another's artifact, which the ledger's hashes would otherwise open", async () => {
    // Bytes of their own, first uploaded under a name that tells no format.
    const bytes = Buffer.concat([csv(), Buffer.from('Male,1,1\n')]);
    const data = await upload(bytes, 'export.bin');
    const stranger = (await service.tokens.create({ role: 'ci', createdBy: 'test' })).token;
    const submit = (token: string) =>
      service.app.inject({
        method: 'POST',
        url: '/v1/evaluations',
        headers: { authorization: `Bearer ${token}` },
        payload: {
          data_sha256: data,
          spec: { prediction: { column: 'y_pred', positive: 1 }, sensitive: ['sex'] },
        },
      });
    const refused = await submit(stranger);
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ code: 'BAD_REQUEST', field: 'data_sha256' });
    expect(refused.json().message).toContain(`no artifact ${data}`);
    // Once it uploads the same bytes itself, under its own name, it may: the data is read by that name.
    const own = await service.app.inject({
      method: 'POST',
      url: '/v1/artifacts?filename=mine.csv',
      headers: { authorization: `Bearer ${stranger}`, 'content-type': 'application/octet-stream' },
      payload: bytes,
    });
    expect(own.statusCode).toBe(201);
    const queued = await submit(stranger);
    expect(queued.statusCode, queued.body).toBe(202);
    let status = 'queued';
    for (let i = 0; i < 300 && (status === 'queued' || status === 'running'); i++) {
      await new Promise((r) => setTimeout(r, 200));
      status = (
        await service.app.inject({
          url: `/v1/evaluations/${queued.json().id}`,
          headers: { authorization: `Bearer ${stranger}` },
        })
      ).json().status;
    }
    expect(status).toBe('succeeded');
    // An admin may name any artifact; it uploaded none, so the first name given is the one it goes by.
    const admin = (await service.tokens.create({ role: 'admin', createdBy: 'test' })).token;
    const unnamed = await submit(admin);
    expect(unnamed.statusCode).toBe(400);
    expect(unnamed.json().message).toContain(`was uploaded as export.bin`);
  });

  it('reports a failing evaluation with its reason', async () => {
    // Bytes that claim to be Parquet but are not.
    const data = await upload(Buffer.from('sex,label,y_pred\nFemale,1,1\n'), 'broken.parquet');
    const created = await service.app.inject({
      method: 'POST',
      url: '/v1/evaluations',
      headers: auth(),
      payload: {
        data_sha256: data,
        spec: {
          label: { column: 'label', positive: 1 },
          prediction: { column: 'y_pred', positive: 1 },
          sensitive: ['sex'],
        },
      },
    });
    const finished = await waitFor(created.json().id, (s) => s === 'failed' || s === 'succeeded');
    expect(finished.status).toBe('failed');
    expect(finished.error.code).toMatch(/^EVAL_/);
    expect(finished.error.message.toLowerCase()).toContain('parquet');
    // The file is named as the caller knows it, not by where the worker put it.
    expect(finished.error.message).toContain(`data artifact ${data}`);
    expect(finished.error.message).not.toMatch(/scratch\/eval-|\/tmp\//);
  });

  it('gates decisions on the model it evaluated, and on no other', async () => {
    // p(positive) = sigmoid(4x − 2): a one-feature logistic regression.
    const model = logisticOnnx({ w: Float32Array.of(-2, 2), b: Float32Array.of(1, -1), in: 1, out: 2 });
    const modelSha = createHash('sha256').update(model).digest('hex');
    expect(await upload(Buffer.from(model), 'model.onnx')).toBe(modelSha);
    const lines = ['sex,label,x'];
    for (let i = 0; i < 200; i++)
      lines.push(`${i % 2 ? 'Female' : 'Male'},${i % 3 ? 1 : 0},${(i % 10) / 10}`);
    const data = await upload(Buffer.from(lines.join('\n') + '\n'), 'scored.csv');
    const created = await service.app.inject({
      method: 'POST',
      url: '/v1/evaluations',
      headers: auth(),
      payload: {
        model_sha256: modelSha,
        data_sha256: data,
        spec: { label: { column: 'label', positive: 1 }, features: ['x'], sensitive: ['sex'] },
      },
    });
    expect(created.statusCode, created.body).toBe(202);
    const evaluation = await waitFor(created.json().id, (s) => s !== 'queued' && s !== 'running');
    expect(evaluation.status, JSON.stringify(evaluation.error)).toBe('succeeded');
    const decide = (subject: Record<string, unknown>, evaluationId = evaluation.id) =>
      service.app.inject({
        method: 'POST',
        url: '/v1/decisions',
        headers: auth(),
        payload: { region: 'us', stage: 'training', subject, evaluation_id: evaluationId },
      });

    const other = await decide({ model: 'credit', version: '1', model_sha256: 'a'.repeat(64) });
    expect(other.statusCode).toBe(400);
    expect(other.json()).toMatchObject({
      field: 'evaluation_id',
      message: expect.stringContaining(modelSha),
    });
    const unknown = await decide({ model: 'credit', version: '1' }, 'eval_0123456789abcdef');
    expect(unknown.json()).toMatchObject({ statusCode: 400, field: 'evaluation_id' });

    // No model_sha256 given: the decision is recorded as being about the evaluated model.
    const decided = await decide({ model: 'credit', version: '1' });
    expect(decided.statusCode, decided.body).toBe(201);
    const recorded = await service.app.inject({
      url: `/v1/decisions/${decided.json().decision_id}`,
      headers: auth(),
    });
    expect(recorded.json().subject).toEqual({ model: 'credit', version: '1', model_sha256: modelSha });

    // Another pipeline may neither read this pipeline's evaluation nor vouch for a model with it.
    const otherCi = (await service.tokens.create({ role: 'ci', createdBy: 'test' })).token;
    const asOther = { authorization: `Bearer ${otherCi}` };
    const read = await service.app.inject({ url: `/v1/evaluations/${evaluation.id}`, headers: asOther });
    expect(read.json()).toMatchObject({
      statusCode: 403,
      message: expect.stringContaining('another identity'),
    });
    const borrowed = await service.app.inject({
      method: 'POST',
      url: '/v1/decisions',
      headers: asOther,
      payload: {
        region: 'us',
        stage: 'training',
        subject: { model: 'credit', version: '2' },
        evaluation_id: evaluation.id,
      },
    });
    expect(borrowed.statusCode).toBe(403);
    // An auditor reads every evaluation.
    const auditor = (await service.tokens.create({ role: 'auditor', createdBy: 'test' })).token;
    const audited = await service.app.inject({
      url: `/v1/evaluations/${evaluation.id}`,
      headers: { authorization: `Bearer ${auditor}` },
    });
    expect(audited.json()).toMatchObject({ id: evaluation.id, evidence_sha256: evaluation.evidence_sha256 });
  });

  it('keeps the adverse-action reasons the evidence vouches for, for whoever may read the evaluation', async () => {
    // p(positive) = sigmoid(2 − 4x), with a second feature y that moves nothing.
    const model = logisticOnnx({
      w: Float32Array.of(-2, 2, 0, 0),
      b: Float32Array.of(1, -1),
      in: 2,
      out: 2,
    });
    const modelSha = await upload(Buffer.from(model), 'reasons-model.onnx');
    const lines = ['sex,label,x,y'];
    for (let i = 0; i < 120; i++)
      lines.push(`${i % 2 ? 'Female' : 'Male'},${i % 3 ? 1 : 0},${(i % 10) / 10},1`);
    const data = await upload(Buffer.from(lines.join('\n') + '\n'), 'reasons.csv');
    const created = await service.app.inject({
      method: 'POST',
      url: '/v1/evaluations',
      headers: auth(),
      payload: {
        model_sha256: modelSha,
        data_sha256: data,
        spec: {
          label: { column: 'label', positive: 1 },
          features: ['x', 'y'],
          sensitive: ['sex'],
          min_group_size: 1,
          explainability: { top_reasons: 2, adverse_decision: 'positive' },
        },
      },
    });
    expect(created.statusCode, created.body).toBe(202);
    expect(created.json().adverse_reasons).toBeNull();
    const evaluation = await waitFor(created.json().id, (s) => s !== 'queued' && s !== 'running');
    expect(evaluation.status, JSON.stringify(evaluation.error)).toBe('succeeded');
    const recorded = evaluation.evidence.explainability.reasons.adverse;
    // x at 0.5 and below scores 0.5 or more: 6 rows in 10 get the positive (adverse) decision.
    expect(recorded).toMatchObject({ decision: 'positive', rows: 72 });
    expect(evaluation.adverse_reasons).toEqual({ sha256: recorded.sha256, rows: 72, decision: 'positive' });

    const download = (token: string) =>
      service.app.inject({
        url: `/v1/artifacts/${evaluation.adverse_reasons.sha256}/content`,
        headers: { authorization: `Bearer ${token}` },
      });
    const got = await download(ci);
    expect(got.statusCode, got.body).toBe(200);
    expect(got.headers['content-type']).toBe('application/octet-stream');
    expect(got.headers['content-disposition']).toBe(
      `attachment; filename="${evaluation.id}-adverse-reasons.jsonl"`,
    );
    // The bytes are the lines the evidence hashed: one a row given the adverse decision, in data order.
    expect(createHash('sha256').update(got.rawPayload).digest('hex')).toBe(recorded.sha256);
    const reasons = got.body
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { row: number; reasons: { feature: string }[] });
    expect(reasons).toHaveLength(72);
    expect(reasons.slice(5, 8).map((r) => r.row)).toEqual([5, 10, 11]);
    expect(reasons[0]!.reasons.map((reason) => reason.feature)).toEqual(['x']);
    // Its metadata too, as the submitter's own artifact; an auditor reads every evaluation, and so its reasons.
    const info = await service.app.inject({
      url: `/v1/artifacts/${recorded.sha256}`,
      headers: auth(),
    });
    expect(info.json()).toMatchObject({
      size: got.rawPayload.length,
      filename: `${evaluation.id}-adverse-reasons.jsonl`,
    });
    const auditor = (await service.tokens.create({ role: 'auditor', createdBy: 'test' })).token;
    expect((await download(auditor)).rawPayload.equals(got.rawPayload)).toBe(true);
    // Another pipeline may read neither the evaluation nor its reasons.
    const otherCi = (await service.tokens.create({ role: 'ci', createdBy: 'test' })).token;
    expect((await download(otherCi)).statusCode).toBe(404);
  });
});
