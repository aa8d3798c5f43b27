import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSpec } from '../../../evaluators/index.ts';
import { evaluateInThread } from '../../../server/evaluations/evaluation-thread.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-thread-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('evaluateInThread', () => {
  it('fails an evaluation that outgrows its heap with EVAL_LIMIT_MEMORY, and the process goes on', async () => {
    // 2,500 groups of two rows resampled 2,600 times: within the bootstrap's budget of rates
    // (19.5 million), yet about 150 MiB of them, more than the 64 MiB heap this thread is given.
    const data = path.join(dir, 'groups.csv');
    const lines = ['g,y,p'];
    for (let i = 0; i < 5_000; i++) lines.push(`g${i >> 1},${i % 2},${(i >> 2) % 2}`);
    await writeFile(data, lines.join('\n') + '\n');
    const spec = loadSpec({
      label: { column: 'y', positive: 1 },
      prediction: { column: 'p', positive: 1 },
      sensitive: ['g'],
      min_group_size: 1,
      metrics: ['fairness'],
      bootstrap: { resamples: 2_600, seed: 1 },
    });
    const run = evaluateInThread(
      { data, spec, executionProvider: 'cpu', limits: {}, generatedAt: new Date(0).toISOString() },
      { signal: new AbortController().signal, onProgress: () => {}, maxHeapMb: 64 },
    );
    await expect(run).rejects.toMatchObject({
      code: 'EVAL_LIMIT_MEMORY',
      message: expect.stringContaining('64 MiB'),
    });
  }, 120_000);
});
