import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateFixtures, COMPAS_CSV, type Fixtures } from '../../../evaluators/fixtures/generate.ts';
import { logisticOnnx } from '../../../evaluators/fixtures/models.ts';
import { DOUBLE, encodeModel, FLOAT, INT64 } from '../../../evaluators/fixtures/onnx-writer.ts';
import { readModelMetadata } from '../../../evaluators/index.ts';
import { normalizeFeatures, TensorLayout } from '../../../evaluators/onnx/features.ts';
import { EvaluatorError } from '../../../evaluators/errors.ts';
import { CUDA_PROVIDER_LIBRARY, openModel, type ModelRunner } from '../../../evaluators/onnx/runner.ts';
import { readRows, type Row } from '../../../evaluators/readers/rows.ts';

let dir: string;
let fixtures: Fixtures;
const compasRows: Row[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-onnx-'));
  fixtures = await generateFixtures(dir);
  for await (const row of readRows(COMPAS_CSV)) if (compasRows.push(row) >= 300) break;
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readModelMetadata', () => {
  it('reads opset, producer, typed inputs and outputs, metadata_props, size and sha256', async () => {
    const meta = await readModelMetadata(fixtures.adultLogisticSklearn.model);
    const bytes = await readFile(fixtures.adultLogisticSklearn.model);
    expect(meta.size).toBe(bytes.length);
    expect(meta.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(meta.opset).toEqual([
      { domain: '', version: 13 },
      { domain: 'ai.onnx.ml', version: 1 },
    ]);
    expect(meta.producer.name).toBe('arbiter-fixtures');
    expect(meta.inputs).toEqual([
      { name: 'features', type: 'tensor(float)', shape: ['N', 25], elem_type: 'float' },
    ]);
    expect(meta.outputs.map((o) => o.type)).toEqual(['tensor(int64)', 'seq(map(int64,tensor(float)))']);
    expect(meta.metadata_props).toEqual({ model_type: 'logistic_regression', dataset: 'adult' });
  });
  it('refuses a truncated file with EVAL_MODEL_INVALID', async () => {
    const truncated = path.join(dir, 'truncated.onnx');
    const bytes = await readFile(fixtures.compasMlp.model);
    await (await import('node:fs/promises')).writeFile(truncated, bytes.subarray(0, bytes.length >> 1));
    await expect(readModelMetadata(truncated)).rejects.toMatchObject({ code: 'EVAL_MODEL_INVALID' });
  });
});

describe('openModel (onnxruntime-node)', () => {
  it('matches an independent computation of the trained logistic regression', async () => {
    // A hand-set model: logit = 0.02·age + 0.1·priors − 1 + 0.5·[race = African-American].
    const features = normalizeFeatures(fixtures.compasLogistic.spec.features!);
    const width = new TensorLayout(features).width;
    const w = new Float32Array(width);
    w[0] = 0.02;
    w[1] = 0.1;
    w[9] = 0.5; // race one-hot starts after 5 numeric + 2 charge-degree + 2 sex slots
    const bytes = logisticOnnx({ w, b: Float32Array.of(-1), in: width, out: 1 });
    const runner = await openModel(bytes, fixtures.compasLogistic.spec, 'cpu');
    const scores = await runner.predict(compasRows);
    compasRows.forEach((r, i) => {
      const logit =
        0.02 * Number(r.age) + 0.1 * Number(r.priors_count) - 1 + (r.race === 'African-American' ? 0.5 : 0);
      expect(scores[i]).toBeCloseTo(1 / (1 + Math.exp(-logit)), 5);
    });
    expect(runner.runtime).toMatchObject({
      engine: 'onnxruntime-node',
      version: '1.29.0',
      execution_provider: 'cpu',
    });
    await runner.close();
  });

  it('reads a double-precision [N, 1] score output as it reads float [N, 2] probabilities', async () => {
    const features = normalizeFeatures(fixtures.compasLogistic.spec.features!);
    const width = new TensorLayout(features).width;
    const layer = {
      w: Float32Array.from({ length: width }, (_, i) => (i % 3) / 50),
      b: Float32Array.of(-1),
      in: width,
      out: 1,
    };
    // The same logistic regression with its probability of the positive class alone, cast to double.
    const doubles = encodeModel({
      name: 'logistic_double',
      inputs: [{ name: 'features', shape: ['N', width] }],
      outputs: [{ name: 'score', elemType: DOUBLE, shape: ['N', 1] }],
      initializers: [
        { name: 'w', dims: [width, 1], data: layer.w },
        { name: 'b', dims: [1], data: layer.b },
      ],
      nodes: [
        { op: 'Gemm', inputs: ['features', 'w', 'b'], outputs: ['logit'] },
        { op: 'Sigmoid', inputs: ['logit'], outputs: ['p'] },
        { op: 'Cast', inputs: ['p'], outputs: ['score'], attributes: { to: DOUBLE } },
      ],
    });
    const floats = await openModel(logisticOnnx(layer), fixtures.compasLogistic.spec, 'cpu');
    const double = await openModel(doubles, fixtures.compasLogistic.spec, 'cpu');
    expect(double.metadata.outputs).toEqual([
      { name: 'score', type: 'tensor(double)', shape: ['N', 1], elem_type: 'double' },
    ]);
    const rows = compasRows.map((r, i) => (i === 5 ? { ...r, age: null } : r));
    const a = await floats.predict(rows);
    const b = await double.predict(rows);
    expect(Number.isNaN(b[5]!)).toBe(true);
    for (let i = 0; i < rows.length; i++) if (i !== 5) expect(b[i]).toBeCloseTo(a[i]!, 6);
    await Promise.all([floats.close(), double.close()]);
  });

  it('reads ZipMap outputs and one-input-per-column models the same as the probability tensor', async () => {
    const adultRows: Row[] = [];
    const spec = fixtures.adultLogisticSklearn.spec;
    for await (const row of readRows(path.resolve(COMPAS_CSV, '../../adult/adult.data'), {
      columns: spec.data!.columns,
      naValues: ['', '?'],
    })) {
      if (adultRows.push(row) >= 500) break;
    }
    const zip = await openModel(await readFile(fixtures.adultLogisticSklearn.model), spec, 'cpu');
    const perColumn = await openModel(
      await readFile(fixtures.adultPerColumn.model),
      fixtures.adultPerColumn.spec,
      'cpu',
    );
    const labels = await openModel(
      await readFile(fixtures.adultLogisticSklearn.model),
      { ...spec, prediction: { output: 'label' } },
      'cpu',
    );
    expect(zip.output.kind).toBe('zipmap');
    expect(perColumn.output.kind).toBe('zipmap');
    const a = await zip.predict(adultRows);
    const b = await perColumn.predict(adultRows);
    const c = await labels.predict(adultRows);
    for (let i = 0; i < adultRows.length; i++) {
      expect(b[i]).toBeCloseTo(a[i]!, 5);
      expect(c[i]).toBe(a[i]! > 0.5 ? 1 : 0);
    }
    expect(labels.probabilistic).toBe(false);
    await Promise.all([zip.close(), perColumn.close(), labels.close()]);
  });

  it('scores rows with a missing feature as NaN and batches large inputs', async () => {
    const runner = await openModel(
      await readFile(fixtures.compasMlp.model),
      { ...fixtures.compasMlp.spec, model: { batch_size: 7 } },
      'auto',
    );
    const rows = compasRows.slice(0, 20).map((r, i) => (i === 3 ? { ...r, age: null } : r));
    const scores = await runner.predict(rows);
    expect(Number.isNaN(scores[3]!)).toBe(true);
    expect(scores.filter((s) => s > 0 && s < 1)).toHaveLength(19);
    expect(['cuda', 'cpu']).toContain(runner.runtime.execution_provider);
    await runner.close();
  });

  it('refuses TF32 for the whole process, so that a CUDA provider loaded in a worker thread sees it too', async () => {
    // The process's own environment, as native code reads it, from a thread started after the import (the
    // service runs evaluations in such threads); a worker's process.env is only a copy.
    const worker = new Worker(
      `require('node:worker_threads').parentPort.postMessage(process.report.getReport().environmentVariables.NVIDIA_TF32_OVERRIDE ?? null)`,
      { eval: true, env: {} },
    );
    const [seen] = (await once(worker, 'message')) as [string | null];
    await worker.terminate();
    expect(seen).toBe('0');
  });

  it('says why CUDA is unavailable where it is, and auto then runs on the CPU', async () => {
    const bytes = await readFile(fixtures.compasMlp.model);
    const cuda = await openModel(bytes, fixtures.compasMlp.spec, 'cuda').catch((err: unknown) => err);
    if (!(cuda instanceof EvaluatorError)) {
      // A machine with a GPU and the provider installed.
      expect((cuda as ModelRunner).runtime).toMatchObject({ execution_provider: 'cuda', device: 'cuda:0' });
      return (cuda as ModelRunner).close();
    }
    expect(cuda.code).toBe('EVAL_INFERENCE_FAILED');
    expect(cuda.message).toMatch(
      existsSync(CUDA_PROVIDER_LIBRARY)
        ? /did not load .*CUDA 13 runtime.*setup\.sh --gpu/
        : /not installed.*setup\.sh --gpu installs it/,
    );
    const auto = await openModel(bytes, fixtures.compasMlp.spec, 'auto');
    expect(auto.runtime.execution_provider).toBe('cpu');
    expect((await auto.predict(compasRows.slice(0, 5))).every((s) => s > 0 && s < 1)).toBe(true);
    await auto.close();
  });

  it('rejects a feature layout that does not fit the model input', async () => {
    await expect(
      openModel(
        await readFile(fixtures.compasMlp.model),
        { ...fixtures.compasMlp.spec, features: ['age'] },
        'cpu',
      ),
    ).rejects.toMatchObject({
      code: 'EVAL_SPEC_INVALID',
      message: expect.stringContaining('encode 1 values per row but model input features takes 15'),
    });
  });
});

describe('openModel: values a per-column integer input cannot hold', () => {
  // onnx.proto TensorProto.DataType codes the writer does not name.
  const INT32 = 6;
  const BOOL = 9;
  // score = a / 10 + b, with `a` an input of the given integer type and `b` a float.
  const model = (elemType: number) =>
    encodeModel({
      name: 'integer_input',
      inputs: [
        { name: 'a', elemType, shape: ['N', 1] },
        { name: 'b', elemType: FLOAT, shape: ['N', 1] },
      ],
      outputs: [{ name: 'score', shape: ['N', 1] }],
      initializers: [{ name: 'tenth', dims: [1], data: [0.1] }],
      nodes: [
        { op: 'Cast', inputs: ['a'], outputs: ['af'], attributes: { to: FLOAT } },
        { op: 'Mul', inputs: ['af', 'tenth'], outputs: ['as'] },
        { op: 'Add', inputs: ['as', 'b'], outputs: ['score'] },
      ],
    });
  const spec = { features: ['a', 'b'], prediction: { output: 'score', threshold: 0.5 } };
  const scoresOf = async (elemType: number, values: Row['a'][]): Promise<number[]> => {
    const runner = await openModel(model(elemType), spec, 'cpu');
    try {
      return Array.from(await runner.predict(values.map((a) => ({ a, b: '0' }))));
    } finally {
      await runner.close();
    }
  };

  it('scores int64 values that are integers and leaves the others unscorable (NaN), not fed as 0', async () => {
    // 2^53 + 2 is an integer double, but past 2^53 a number no longer tells the integers apart.
    const scores = await scoresOf(INT64, ['3', -4, '3.5', 'abc', '1e30', 2 ** 53 + 2, 2 ** 53 - 1]);
    expect(scores.slice(0, 2)).toEqual([expect.closeTo(0.3, 6), expect.closeTo(-0.4, 6)]);
    expect(scores.slice(2, 6).every(Number.isNaN)).toBe(true);
    expect(scores[6]).toBeCloseTo((2 ** 53 - 1) / 10, -10);
  });
  it('leaves int32 values outside the type, or not integers, unscorable instead of truncating them', async () => {
    const scores = await scoresOf(INT32, ['7', 2 ** 31 - 1, 3.7, 2 ** 31, -(2 ** 31) - 1]);
    expect(scores[0]).toBeCloseTo(0.7, 6);
    expect(scores[1]).toBeCloseTo((2 ** 31 - 1) / 10, -3);
    expect(scores.slice(2).every(Number.isNaN)).toBe(true);
  });
  it('leaves a float input past float32 range unscorable, as Infinity, instead of scoring ±Infinity', async () => {
    const runner = await openModel(model(INT64), spec, 'cpu');
    try {
      const bs = [1e39, '-1e39', 'Infinity', 3.4028234663852886e38, '2'];
      const scores = Array.from(await runner.predict(bs.map((b) => ({ a: '0', b }))));
      expect(scores.slice(0, 3).every(Number.isNaN)).toBe(true);
      expect(scores.slice(3)).toEqual([expect.closeTo(3.4028234663852886e38, -32), 2]);
    } finally {
      await runner.close();
    }
  });
  it('feeds a bool input 0 and 1 only: 2 or 300 would wrap or read as some other truth', async () => {
    const scores = await scoresOf(BOOL, [true, '0', 1, 2, 300, 0.5]);
    expect(scores.slice(0, 3)).toEqual([expect.closeTo(0.1, 6), 0, expect.closeTo(0.1, 6)]);
    expect(scores.slice(3).every(Number.isNaN)).toBe(true);
  });
});

describe('openModel: positive_class of a probability tensor', () => {
  // probabilities = [1 − sigmoid(x), sigmoid(x)]: at x = 2, class 0 has 1 / (1 + e^2) = 0.11920292.
  const bytes = encodeModel({
    name: 'two_classes',
    inputs: [{ name: 'x', shape: ['N', 1] }],
    outputs: [{ name: 'probabilities', shape: ['N', 2] }],
    initializers: [{ name: 'one', dims: [1], data: [1] }],
    nodes: [
      { op: 'Sigmoid', inputs: ['x'], outputs: ['p1'] },
      { op: 'Sub', inputs: ['one', 'p1'], outputs: ['p0'] },
      { op: 'Concat', inputs: ['p0', 'p1'], outputs: ['probabilities'], attributes: { axis: 1 } },
    ],
  });
  const specWith = (positive_class: string | number | boolean) => ({
    features: ['x'],
    prediction: { output: 'probabilities', positive_class },
  });

  it('reads a numeric string as the column index, as it reads the number', async () => {
    for (const positive of [0, '0']) {
      const runner = await openModel(bytes, specWith(positive), 'cpu');
      expect(runner.output.positive_index).toBe(0);
      expect((await runner.predict([{ x: 2 }]))[0]).toBeCloseTo(1 / (1 + Math.exp(2)), 6);
      await runner.close();
    }
  });
  it('refuses text that is no column index, naming the field, instead of reading column 1', async () => {
    for (const positive of ['>50K', '-1', '1.5', 1.5, -1, true]) {
      await expect(openModel(bytes, specWith(positive), 'cpu')).rejects.toMatchObject({
        name: 'EvaluatorError',
        code: 'EVAL_SPEC_INVALID',
        field: 'spec.prediction.positive_class',
        message: expect.stringContaining('is not a column index of output probabilities'),
      });
    }
  });
});
