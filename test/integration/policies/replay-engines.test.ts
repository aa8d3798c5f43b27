import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplayEngines, type InputDocument, type PolicyBundle } from '../../../policies/index.ts';
import { buildRepositoryBundle, deploymentInput } from './support.ts';

let a: PolicyBundle;
let b: PolicyBundle;
let input: InputDocument;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  for (const revision of ['rev-a', 'rev-b']) {
    const built = await buildRepositoryBundle(revision);
    cleanups.push(built.cleanup);
    if (revision === 'rev-a') a = built.bundle;
    else b = built.bundle;
  }
  input = await deploymentInput('allowed/eu-credit-scoring-high-risk');
});

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

describe('ReplayEngines', () => {
  it('keeps one engine per bundle for the next replays, least recently used out first', async () => {
    const engines = new ReplayEngines({ maxBundles: 1, idleMs: 60_000 });
    try {
      expect(a.sha256).not.toBe(b.sha256);
      const first = await engines.evaluate(a, 'deployment', input);
      expect(first.allow).toBe(true);
      expect(engines.bundles).toEqual([a.sha256]);
      expect(await engines.evaluate(a, 'deployment', input)).toEqual(first);
      expect(engines.bundles).toEqual([a.sha256]);
      expect(await engines.evaluate(b, 'deployment', input)).toEqual(first);
      expect(engines.bundles).toEqual([b.sha256]);
    } finally {
      await engines.close();
    }
    expect(engines.bundles).toEqual([]);
  });

  describe('when every kept engine is in use', () => {
    it('refuses a replay of another bundle with POLICY_ENGINE_BUSY rather than start one more', async () => {
      const engines = new ReplayEngines({ maxBundles: 1, idleMs: 60_000 });
      try {
        const running = engines.evaluate(a, 'deployment', input);
        await expect(engines.evaluate(b, 'deployment', input)).rejects.toMatchObject({
          code: 'POLICY_ENGINE_BUSY',
        });
        await running;
        expect(engines.bundles).toEqual([a.sha256]);
      } finally {
        await engines.close();
      }
    });
  });

  describe('when as many replays as it takes are running or waiting', () => {
    it('refuses one more at once with POLICY_ENGINE_BUSY, and takes it once one ends', async () => {
      const engines = new ReplayEngines({ maxReplays: 2 });
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const taken = [engines.admit(() => held), engines.admit(() => held)];
      let ran = false;
      await expect(engines.admit(async () => (ran = true))).rejects.toMatchObject({
        code: 'POLICY_ENGINE_BUSY',
      });
      expect(ran).toBe(false);
      release();
      await Promise.all(taken);
      expect(await engines.admit(async () => 'replayed')).toBe('replayed');
      await engines.close();
    });
  });

  it('stops an engine no replay has used for idleMs', async () => {
    const engines = new ReplayEngines({ idleMs: 50 });
    await engines.evaluate(a, 'deployment', input);
    expect(engines.bundles).toEqual([a.sha256]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(engines.bundles).toEqual([]);
    await engines.close();
  });
});
