import type { ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANVIL_CHAIN_ID, fundedKey, startAnvil } from '../../support/anvil.ts';
import { startTestService, type TestService } from '../../support/service.ts';

// The service's anchoring health on GET /metrics, fed by the ledger's anchor observer: against a real chain
// (anvil), and against an endpoint that refuses every call.

/** Polls GET /metrics until `ready` holds for its text; returns that text. */
async function metricsWhen(service: TestService, ready: (text: string) => boolean): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const text = (await service.app.inject({ method: 'GET', url: '/metrics' })).body;
    if (ready(text)) return text;
    if (Date.now() > deadline) throw new Error(`metrics never got there:\n${text.slice(-2_000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The value of one sample, e.g. `arbiter_anchor_consecutive_failures{region="eu"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('anchoring metrics', () => {
  let anvil: { node: ChildProcess; url: string };
  beforeAll(async () => {
    anvil = await startAnvil();
  }, 60_000);
  afterAll(() => {
    anvil?.node.kill();
  });

  it('show when each region was last anchored, with nothing failing or waiting', async () => {
    const service = await startTestService({
      ARBITER_ANCHOR_RPC_URL: anvil.url,
      ARBITER_ANCHOR_PRIVATE_KEY: await fundedKey(anvil.url),
      ARBITER_ANCHOR_CHAIN_ID: String(ANVIL_CHAIN_ID),
      ARBITER_CHECKPOINT_INTERVAL_MS: '100',
    });
    try {
      const started = Date.now() / 1000;
      const anchored = (text: string) =>
        [...service.regions.keys()].every(
          (region) =>
            sample(text, `arbiter_anchor_last_success_timestamp_seconds{region="${region}"}`) !== undefined,
        );
      const text = await metricsWhen(service, anchored);
      for (const region of service.regions.keys()) {
        const at = sample(text, `arbiter_anchor_last_success_timestamp_seconds{region="${region}"}`)!;
        expect(at).toBeGreaterThan(started - 60);
        expect(at).toBeLessThanOrEqual(Date.now() / 1000);
        expect(sample(text, `arbiter_anchor_consecutive_failures{region="${region}"}`)).toBe(0);
      }
      // Once every checkpoint so far is anchored, none waits.
      await metricsWhen(service, (t) =>
        [...service.regions.keys()].every(
          (region) => sample(t, `arbiter_anchor_checkpoints_awaiting{region="${region}"}`) === 0,
        ),
      );
    } finally {
      await service.close();
    }
  }, 120_000);

  describe('with an endpoint that refuses every call', () => {
    let refusing: Server;
    let url: string;
    beforeAll(async () => {
      refusing = createServer((_, res) => res.writeHead(401).end());
      await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(refusing.address() as { port: number }).port}/v3/KEY`;
    });
    afterAll(() => {
      refusing?.close();
    });

    it('show failures in a row and checkpoints awaiting, and no anchor time', async () => {
      const service = await startTestService({
        ARBITER_ANCHOR_RPC_URL: url,
        ARBITER_ANCHOR_PRIVATE_KEY: await fundedKey(anvil.url),
        ARBITER_ANCHOR_CHAIN_ID: String(ANVIL_CHAIN_ID),
        ARBITER_CHECKPOINT_INTERVAL_MS: '100',
      });
      try {
        const region = [...service.regions.keys()][0]!;
        const text = await metricsWhen(
          service,
          (t) => (sample(t, `arbiter_anchor_consecutive_failures{region="${region}"}`) ?? 0) >= 2,
        );
        expect(
          sample(text, `arbiter_anchor_checkpoints_awaiting{region="${region}"}`),
        ).toBeGreaterThanOrEqual(1);
        expect(text).not.toContain(`arbiter_anchor_last_success_timestamp_seconds{region="${region}"}`);
        expect(text).toContain('# TYPE arbiter_anchor_last_success_timestamp_seconds gauge');
      } finally {
        await service.close();
      }
    }, 120_000);
  });
});
