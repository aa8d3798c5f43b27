import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { DemoApi } from './demo/api.ts';
import { PolicyRepo, POLICY_FOLDER } from './demo/policy-repo.ts';
import { STEPS, type DemoContext, type DemoState } from './demo/steps.ts';
import { CliFailure } from './output.ts';

const POLICIES = path.resolve(import.meta.dirname, '../../policies');

/**
 * `arbiter demo`: Arbiter's whole job on its embedded defaults, start to finish, in a fresh data folder —
 * tokens, trained models, evaluations, gated lifecycle events with a waiver, drift monitoring, a policy change
 * through Git, quarterly PDFs, and audit bundles verified offline. Each step prints what it showed; the first
 * failed step stops the demo and the command exits non-zero (later steps build on earlier ones).
 */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description("run Arbiter's whole job on the embedded defaults in a fresh data folder and show it")
    .option(
      '--data-dir <dir>',
      'data folder for the demo (emptied first; refused while a service holds it)',
      '.arbiter/demo',
    )
    .option('-p, --port <port>', 'TCP port (0 picks a free one)', '0')
    .option('--keep-running', 'leave the service up afterwards (Ctrl-C stops it)')
    .action(async (flags: { dataDir: string; port: string; keepRunning?: boolean }) => {
      const started = new Date();
      const dataDir = path.resolve(flags.dataDir);
      const outDir = path.join(dataDir, 'out');
      // A demo left running (--keep-running) or a service on this folder would lose its database under it.
      const { assertDataDirUnlocked } = await import('../db/database.ts');
      await assertDataDirUnlocked(dataDir);
      await rm(dataDir, { recursive: true, force: true });
      await mkdir(outDir, { recursive: true });
      console.log(`Arbiter demo — data folder ${dataDir}\n`);

      console.log('[setup] policies repository and service');
      const repo = await PolicyRepo.create(path.join(dataDir, 'policies-repo'), POLICIES);
      const config = loadConfig(
        {
          ...process.env,
          DATABASE_URL: undefined,
          ARBITER_LOG_LEVEL: process.env.ARBITER_LOG_LEVEL ?? 'error',
        },
        {
          ARBITER_DATA_DIR: dataDir,
          ARBITER_PORT: flags.port,
          ARBITER_POLICY_REPO: repo.dir,
          ARBITER_POLICY_BRANCH: 'main',
          ARBITER_POLICY_PATH: POLICY_FOLDER,
          ARBITER_POLICY_POLL_MS: '1000',
          ARBITER_REPORT_SCHEDULER: 'off',
          ARBITER_EVAL_WORKER: 'on',
        },
      );
      const { serve } = await import('../serve.ts');
      const serving = await serve(config);
      if (!serving) throw new CliFailure('stopped by a signal while the service was starting');
      const { service, url } = serving;
      const adminToken = (await readFile(path.join(dataDir, 'admin-token'), 'utf8')).trim();
      const api = new DemoApi(url, adminToken);
      const status = await api.json<{ active: { revision: string } | null }>('GET', '/v1/policies/status');
      console.log(`      service ${url} on embedded PostgreSQL (PGlite) in ${dataDir}`);
      console.log(
        `      policies from ${repo.dir} (branch main, folder ${POLICY_FOLDER}); active commit ${status.active?.revision ?? 'NONE'}`,
      );

      const ctx: DemoContext = {
        api,
        dataDir,
        outDir,
        repo,
        started,
        // Filled step by step; a step reads only what an earlier one wrote.
        state: {
          reports: [],
          bundles: [],
          evidenceFiles: [],
          deniedRules: [],
          waivers: {},
        } as unknown as DemoState,
      };
      let failure: string | undefined;
      for (const [i, step] of STEPS.entries()) {
        console.log(`\n[${i + 1}/${STEPS.length}] ${step.title}`);
        try {
          await step.run(ctx, (line) => console.log(`      ${line}`));
        } catch (err) {
          failure = `step ${i + 1} (${step.title}): ${(err as Error).message}`;
          console.log(`      FAILED: ${(err as Error).message}`);
          break;
        }
      }

      const seconds = ((Date.now() - started.getTime()) / 1000).toFixed(1);
      console.log(`\nArbiter ${failure ? 'demo FAILED' : 'demo finished'} in ${seconds} s`);
      console.log(`  service:        ${url}  (API docs: ${url}/docs, contract: ${url}/openapi.json)`);
      console.log(`  data folder:    ${dataDir} (embedded PostgreSQL: PGlite)`);
      console.log(
        `  tokens:         ${path.join(dataDir, 'admin-token')}, ${path.join(dataDir, 'demo-tokens.json')}`,
      );
      console.log(`  policies repo:  ${repo.dir} (commit to main; the service activates it within seconds)`);
      for (const file of ctx.state.reports) console.log(`  report PDF:     ${file}`);
      for (const file of ctx.state.bundles)
        console.log(`  audit bundle:   ${file}  (node bin/arbiter.js verify ${file})`);
      if (ctx.state.evidenceFiles.length > 0)
        console.log(`  evidence:       ${path.dirname(ctx.state.evidenceFiles[0]!)}/`);
      if (flags.keepRunning && !failure) {
        console.log('  --keep-running: the service stays up; Ctrl-C stops it.');
        return;
      }
      console.log('  to explore:     node bin/arbiter.js demo --keep-running, then use the tokens above');
      await service.close();
      if (failure) throw new CliFailure(`demo failed at ${failure}`, 1);
    });
}
