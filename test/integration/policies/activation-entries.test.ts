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
import { loadRegions, type Region } from '../../../regions/index.ts';
import { startPolicies, type PolicySubsystem } from '../../../server/policies/policy-subsystem.ts';
import { openTestDatabase, type TestDatabase } from '../../support/database.ts';
import { TEST_KEYS } from '../ledger/ledger-harness.ts';
import { POLICIES_DIR } from './support.ts';

const run = promisify(execFile);

let handle: TestDatabase;
let scratch: string;
let repo: string;
let regions: ReadonlyMap<string, Region>;
// Two processes' ledgers over the one database, as two replicas have.
const ledgers: Ledger[] = [];
const running: PolicySubsystem[] = [];

const git = async (...args: string[]) =>
  (
    await run('git', ['-C', repo, '-c', 'user.name=Carol', '-c', 'user.email=carol@example.org', ...args])
  ).stdout.trim();

const openLedger = async () => {
  const ledger = await createLedger({
    db: handle.db as unknown as Kysely<LedgerTables>,
    logs: [...regions.values()].map((r) => ({ region: r.id, origin: r.ledger.origin })),
    keys: TEST_KEYS,
  });
  ledgers.push(ledger);
  return ledger;
};

/** A process following the repository's main branch, with its own data folder (its own bundle store). */
const startProcess = async (ledger: Ledger, dataDir: string) => {
  const policies = await startPolicies({
    db: handle.db as unknown as Kysely<PolicyTables>,
    ledger,
    regions,
    source: { repository: repo, branch: 'main', path: 'policies', pollIntervalMs: 60_000 },
    workers: 1,
    evaluationTimeoutMs: 10_000,
    maxPendingPerWorker: 1_000,
    dataDir: path.join(scratch, dataDir),
    clock: () => new Date(),
    log: pino({ level: 'silent' }),
  });
  running.push(policies);
  return policies;
};

/** The commit of every policy.activated entry, region by region. */
const activations = async () => {
  const found: Record<string, string[]> = {};
  for (const region of regions.keys()) {
    const { size } = await ledgers[0]!.integrate(region);
    const entries = await ledgers[0]!.reader.entries(region, { from: 0, to: size, type: 'policy.activated' });
    found[region] = entries.map((e) => (e.entry as { commit: string }).commit);
  }
  return found;
};
const everyRegion = (commits: string[]) => Object.fromEntries([...regions.keys()].map((r) => [r, commits]));

beforeAll(async () => {
  handle = await openTestDatabase();
  scratch = await mkdtemp(path.join(os.tmpdir(), 'arbiter-activation-entries-'));
  regions = await loadRegions();
  repo = path.join(scratch, 'repo');
  await cp(POLICIES_DIR, path.join(repo, 'policies'), {
    recursive: true,
    filter: (src) => !src.endsWith('.ts') && !src.includes(`${path.sep}engine`),
  });
  await git('init', '-q', '-b', 'main');
  await git('add', '-A');
  await git('commit', '-q', '-m', 'the policies');
}, 60_000);

afterAll(async () => {
  for (const policies of running) await policies.close();
  for (const ledger of ledgers) await ledger.stop();
  await handle?.close();
  await rm(scratch, { recursive: true, force: true });
});

describe('policy.activated entries', () => {
  it('are appended once per change of the active bundle in a region, not per process that activates it', async () => {
    const first = await git('rev-parse', 'HEAD');
    const ledger = await openLedger();
    await (await startProcess(ledger, 'a')).close();
    expect(await activations()).toEqual(everyRegion([first]));

    // A restart onto the same head, and a second replica: nothing changed in any region.
    await (await startProcess(ledger, 'a')).close();
    await (await startProcess(ledger, 'b')).close();
    expect(await activations()).toEqual(everyRegion([first]));

    // A new commit, activated by two replicas at once, each with a ledger of its own: one entry per region.
    await appendFile(path.join(repo, 'policies', 'checks', 'drift', 'policy.rego'), '\n# a reviewed note\n');
    await git('commit', '-q', '-am', 'a reviewed note');
    const second = await git('rev-parse', 'HEAD');
    const other = await openLedger();
    const [c, d] = await Promise.all([startProcess(ledger, 'c'), startProcess(other, 'd')]);
    expect(c.source.status().active?.commit).toBe(second);
    expect(d.source.status().active?.commit).toBe(second);
    expect(await activations()).toEqual(everyRegion([first, second]));

    // Back to the first commit: a change again, though the region activated that commit before.
    await git('reset', '-q', '--hard', first);
    await c.source.poll();
    await d.source.poll();
    expect(await activations()).toEqual(everyRegion([first, second, first]));

    // A restart onto a head that is refused: the bundle restored is the one every region names already.
    await appendFile(
      path.join(repo, 'policies', 'checks', 'drift', 'policy.rego'),
      '\ndeny contains x if {\n',
    );
    await git('commit', '-q', '-am', 'a policy that does not parse');
    await c.source.poll();
    await c.close();
    const restarted = await startProcess(ledger, 'c');
    expect(restarted.source.status()).toMatchObject({ active: { commit: first }, last_error: null });
    expect(await activations()).toEqual(everyRegion([first, second, first]));
  }, 180_000);
});
