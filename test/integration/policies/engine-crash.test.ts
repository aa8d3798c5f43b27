import type * as WorkerThreads from 'node:worker_threads';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';

// The real Worker, only tracked, so that a test can stop one as a crash would (the engine sees its 'exit'),
// and made to fail its next starts on demand, as a thread that cannot start for want of memory does.
const workers: WorkerThreads.Worker[] = [];
const failNextStarts = { n: 0 };
vi.mock('node:worker_threads', async (importOriginal) => {
  const real = await importOriginal<typeof WorkerThreads>();
  class TrackedWorker extends real.Worker {
    constructor(
      url: ConstructorParameters<typeof real.Worker>[0],
      options?: ConstructorParameters<typeof real.Worker>[1],
    ) {
      if (failNextStarts.n > 0) {
        failNextStarts.n--;
        super('throw new Error("cannot start")', { eval: true });
      } else super(url, options);
      workers.push(this);
    }
  }
  return { ...real, default: { ...real, Worker: TrackedWorker }, Worker: TrackedWorker };
});

const { createPolicyEngine } = await import('../../../policies/index.ts');
const { buildRepositoryBundle, deploymentInput } = await import('./support.ts');

let a: Awaited<ReturnType<typeof buildRepositoryBundle>>;
let b: Awaited<ReturnType<typeof buildRepositoryBundle>>;
beforeAll(async () => {
  a = await buildRepositoryBundle('rev-a');
  b = await buildRepositoryBundle('rev-b');
}, 120_000);
afterAll(async () => {
  await a?.cleanup();
  await b?.cleanup();
});

/** A legal input that takes the policy a while: 1,000 fairness attributes, each of which it must judge. */
async function slowInput() {
  const input = await deploymentInput('allowed/eu-credit-scoring-high-risk');
  const unjudgeable = { groups: {}, demographic_parity_difference: null, equalized_odds_difference: null };
  return {
    ...input,
    evidence: {
      ...input.evidence,
      fairness: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`a${i}`, unjudgeable])),
    },
  };
}

it('fails the decisions of a worker that crashes while its bundle is being replaced, and closes', async () => {
  workers.length = 0;
  const engine = await createPolicyEngine({ bundle: a.bundle, poolSize: 1 });
  const oldWorker = workers[0]!;
  const input = await slowInput();
  const inFlight = Array.from({ length: 30 }, () => engine.evaluate('deployment', input));
  // Activation waits for the old bundle's decisions; its worker crashes meanwhile.
  const activating = engine.activate(b.bundle);
  await oldWorker.terminate();
  const outcomes = await Promise.allSettled(inFlight);
  expect(outcomes.some((o) => o.status === 'rejected')).toBe(true);
  for (const o of outcomes)
    if (o.status === 'rejected') expect(String(o.reason)).toMatch(/policy worker exited/);
  await activating;
  expect(
    (await engine.evaluate('deployment', await deploymentInput('allowed/eu-credit-scoring-high-risk')))
      .decision.allow,
  ).toBe(true);
  await engine.close();
}, 60_000);

it('fails only the evaluation a crashed worker was running; its replacement runs those queued behind it', async () => {
  workers.length = 0;
  const engine = await createPolicyEngine({ bundle: a.bundle, poolSize: 1 });
  try {
    const input = await slowInput();
    const queued = Array.from({ length: 10 }, () => engine.evaluate('deployment', input));
    await workers[0]!.terminate();
    const outcomes = await Promise.allSettled(queued);
    expect(outcomes[0]).toMatchObject({
      status: 'rejected',
      reason: { code: 'POLICY_EVAL_FAILED', message: 'policy worker exited with code 1' },
    });
    expect(outcomes.slice(1).every((o) => o.status === 'fulfilled')).toBe(true);
    expect(workers).toHaveLength(2);
  } finally {
    await engine.close();
  }
}, 60_000);

it('replaces a crashed worker even when its first replacements fail to start', async () => {
  workers.length = 0;
  const engine = await createPolicyEngine({ bundle: a.bundle, poolSize: 1 });
  try {
    const input = await deploymentInput('allowed/eu-credit-scoring-high-risk');
    expect((await engine.evaluate('deployment', input)).decision.allow).toBe(true);
    failNextStarts.n = 2;
    await workers[0]!.terminate();
    // Tried again after 100 ms, then 200 ms: the third start succeeds.
    await vi.waitFor(
      async () => expect((await engine.evaluate('deployment', input)).decision.allow).toBe(true),
      {
        timeout: 10_000,
        interval: 100,
      },
    );
    expect(workers).toHaveLength(4);
  } finally {
    await engine.close();
  }
}, 60_000);
