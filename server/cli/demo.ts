import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { serve } from '../serve.ts';
import { CliFailure } from './output.ts';

interface Step {
  readonly title: string;
  run(): Promise<string>;
}

/**
 * `arbiter demo`: Arbiter's main job on its embedded defaults, start to finish, in a fresh data folder.
 * Each step prints what it showed; any failed step makes the command exit non-zero.
 */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      "run Arbiter's main job on the embedded defaults in a fresh data folder and show what it does",
    )
    .option('--data-dir <dir>', 'data folder for the demo (emptied first)', '.arbiter/demo')
    .option('-p, --port <port>', 'TCP port (0 picks a free one)', '0')
    .option('--keep-running', 'leave the service up afterwards (Ctrl-C stops it)')
    .action(async (flags: { dataDir: string; port: string; keepRunning?: boolean }) => {
      const dataDir = path.resolve(flags.dataDir);
      await rm(dataDir, { recursive: true, force: true });
      const config = loadConfig(
        {
          ...process.env,
          DATABASE_URL: undefined,
          ARBITER_LOG_LEVEL: process.env.ARBITER_LOG_LEVEL ?? 'warn',
        },
        { ARBITER_DATA_DIR: dataDir, ARBITER_PORT: flags.port },
      );
      const started = Date.now();
      const { service, url } = await serve(config);
      const adminToken = (await readFile(path.join(dataDir, 'admin-token'), 'utf8')).trim();
      const api = (p: string, init: RequestInit = {}) => fetch(`${url}${p}`, init);
      const expectStatus = async (response: Response, status: number, what: string) => {
        if (response.status !== status) {
          throw new CliFailure(
            `${what}: expected HTTP ${status}, got ${response.status}: ${await response.text()}`,
          );
        }
        return response;
      };
      const steps: Step[] = [
        {
          title: 'service is up (GET /healthz)',
          run: async () =>
            JSON.stringify(await (await expectStatus(await api('/healthz'), 200, '/healthz')).json()),
        },
        {
          title: 'database reachable (GET /readyz)',
          run: async () =>
            JSON.stringify(await (await expectStatus(await api('/readyz'), 200, '/readyz')).json()),
        },
        {
          title: 'HTTP contract served (GET /openapi.json, /docs)',
          run: async () => {
            const doc = (await (
              await expectStatus(await api('/openapi.json'), 200, '/openapi.json')
            ).json()) as {
              paths: Record<string, object>;
            };
            await expectStatus(await api('/docs/'), 200, '/docs');
            return `${Object.keys(doc.paths).length} paths; human docs at ${url}/docs`;
          },
        },
        {
          title: 'nothing is open by default (POST /v1/models without a token)',
          run: async () => {
            const r = await expectStatus(
              await api('/v1/models', { method: 'POST' }),
              401,
              'unauthenticated POST',
            );
            return `refused: ${JSON.stringify(await r.json())}`;
          },
        },
        {
          title: 'register a model with the initial admin token (POST /v1/models)',
          run: async () => {
            const r = await api('/v1/models', {
              method: 'POST',
              headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
              body: JSON.stringify({
                name: 'compas-recidivism',
                owner: 'risk-analytics@example.com',
                intended_purpose: 'pre-trial risk screening (demo)',
                risk_tier: 'high',
              }),
            });
            const model = (await (await expectStatus(r, 201, 'register model')).json()) as { name: string };
            return `registered ${model.name}`;
          },
        },
        {
          title: 'metrics recorded (GET /metrics)',
          run: async () => {
            const text = await (await expectStatus(await api('/metrics'), 200, '/metrics')).text();
            const samples = text
              .split('\n')
              .filter((l) => l.startsWith('arbiter_http_request_duration_seconds_count'));
            if (samples.length === 0) throw new CliFailure('/metrics has no request timings');
            return `${samples.length} request-timing series`;
          },
        },
      ];
      let failed = 0;
      for (const [i, step] of steps.entries()) {
        try {
          console.log(`[${i + 1}/${steps.length}] ${step.title}\n      ${await step.run()}`);
        } catch (err) {
          failed += 1;
          console.log(`[${i + 1}/${steps.length}] ${step.title}\n      FAILED: ${(err as Error).message}`);
        }
      }
      console.log(
        `\nArbiter ${failed === 0 ? 'demo finished' : `demo FAILED (${failed} steps)`} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      console.log(`  service:     ${url}  (docs: ${url}/docs)`);
      console.log(`  data folder: ${dataDir} (embedded PostgreSQL: PGlite)`);
      console.log(`  admin token: ${path.join(dataDir, 'admin-token')}`);
      if (flags.keepRunning && failed === 0) {
        console.log('  --keep-running: the service stays up; Ctrl-C stops it.');
        return;
      }
      await service.close();
      if (failed > 0) throw new CliFailure(`${failed} demo steps failed`, 1);
    });
}
