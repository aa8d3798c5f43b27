import { execFile } from 'node:child_process';
import { appendFile, cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Kysely } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedger, type Ledger, type LedgerTables } from '../../../ledger/index.ts';
import type { PolicyTables } from '../../../policies/index.ts';
import { loadRegions } from '../../../regions/index.ts';
import { startPolicies, type PolicySubsystem } from '../../../server/policies/policy-subsystem.ts';
import { TEST_KEYS } from '../ledger/ledger-harness.ts';
import { POLICIES_DIR } from '../policies/support.ts';
import { openTestDatabase, type TestDatabase } from '../../support/database.ts';

const run = promisify(execFile);

let handle: TestDatabase;
let ledger: Ledger;
let scratch: string;
let policies: PolicySubsystem | undefined;

beforeAll(async () => {
  handle = await openTestDatabase();
  scratch = await mkdtemp(path.join(os.tmpdir(), 'arbiter-policy-subsystem-'));
}, 60_000);

afterAll(async () => {
  await policies?.close();
  await ledger?.stop();
  await handle?.close();
  await rm(scratch, { recursive: true, force: true });
});

/** The ledger, but appends to the regions in `down` fail (their database unreachable, say). */
const flakyLedger = (down: ReadonlySet<string>): Ledger => ({
  ...ledger,
  append: (region, entry, options) =>
    down.has(region) ? Promise.reject(new Error(`${region} is down`)) : ledger.append(region, entry, options),
});

/** A repository whose one commit holds a policy that does not parse. */
async function brokenRepository(name: string, message: string): Promise<{ repo: string; commit: string }> {
  const repo = path.join(scratch, name);
  await cp(POLICIES_DIR, path.join(repo, 'policies'), { recursive: true });
  await appendFile(path.join(repo, 'policies', 'checks', 'drift', 'policy.rego'), '\ndeny contains x if {\n');
  const git = (...args: string[]) =>
    run('git', ['-C', repo, '-c', 'user.name=Carol', '-c', 'user.email=carol@example.org', ...args]);
  await git('init', '-q', '-b', 'main');
  await git('add', '-A');
  await git('commit', '-q', '-m', message);
  return { repo, commit: (await git('rev-parse', 'HEAD')).stdout.trim() };
}

describe('recording a policy outcome in every region', () => {
  it('writes each region once, though the ledger refused some of them at first', async () => {
    const regions = await loadRegions();
    ledger = await createLedger({
      db: handle.db as unknown as Kysely<LedgerTables>,
      logs: [...regions.values()].map((r) => ({ region: r.id, origin: r.ledger.origin })),
      keys: TEST_KEYS,
    });
    // A region whose appends fail (its database unreachable, say) until the test lets them through.
    const down = new Set(['us']);
    const flaky = flakyLedger(down);
    const { repo, commit } = await brokenRepository('repo', 'a policy that does not parse');

    policies = await startPolicies({
      db: handle.db as unknown as Kysely<PolicyTables>,
      ledger: flaky,
      regions,
      source: { repository: repo, branch: 'main', path: 'policies', pollIntervalMs: 60_000 },
      workers: 1,
      evaluationTimeoutMs: 10_000,
      maxPendingPerWorker: 1_000,
      dataDir: scratch,
      clock: () => new Date(),
      log: pino({ level: 'silent' }),
    });
    expect(policies.source.status().last_error).toMatch(/recording its activation or rejection failed/);
    down.clear();
    await policies.source.poll();
    expect(policies.source.status().last_error).toBeNull();

    for (const region of regions.keys()) {
      const { size } = await ledger.integrate(region);
      const rejected = await ledger.reader.entries(region, { from: 0, to: size, type: 'policy.rejected' });
      expect(
        rejected.map((r) => (r.entry as { commit: string }).commit),
        region,
      ).toEqual([commit]);
    }
  }, 120_000);

  it('a refusal left part-recorded by a process that stopped: the next one completes it, once per region', async () => {
    const regions = await loadRegions();
    const order = [...regions.keys()];
    // Appends reach the regions in this order: those after `us` are not reached while it is down.
    const down = new Set(['us']);
    const flaky = flakyLedger(down);
    const { repo, commit } = await brokenRepository('repo-restart', 'another policy that does not parse');
    const dataDir = path.join(scratch, 'restart-data');
    const start = () =>
      startPolicies({
        db: handle.db as unknown as Kysely<PolicyTables>,
        ledger: flaky,
        regions,
        source: { repository: repo, branch: 'main', path: 'policies', pollIntervalMs: 60_000 },
        workers: 1,
        evaluationTimeoutMs: 10_000,
        maxPendingPerWorker: 1_000,
        dataDir,
        clock: () => new Date(),
        log: pino({ level: 'silent' }),
      });
    const recorded = async (region: string) => {
      const { size } = await ledger.integrate(region);
      const entries = await ledger.reader.entries(region, { from: 0, to: size, type: 'policy.rejected' });
      return entries.filter((r) => (r.entry as { commit: string }).commit === commit).length;
    };

    await policies?.close();
    const first = await start();
    expect(first.source.status().last_error).toMatch(/recording its activation or rejection failed/);
    // The regions before `us` hold the entry; this process then stops.
    const reached = order.slice(0, order.indexOf('us'));
    expect(reached.length).toBeGreaterThan(0);
    for (const region of order) expect(await recorded(region), region).toBe(reached.includes(region) ? 1 : 0);
    await first.close();

    down.clear();
    policies = await start();
    expect(policies.source.status()).toMatchObject({ last_error: null, last_rejected: { commit } });
    for (const region of order) expect(await recorded(region), region).toBe(1);
    const rows = await handle.db
      .selectFrom('policy_rejection_entry')
      .selectAll()
      .where('commit', '=', commit)
      .execute();
    expect(rows).toHaveLength(order.length);
  }, 120_000);
});
