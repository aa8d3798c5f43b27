import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLedger, type Ledger, type LedgerTables } from '../../../ledger/index.ts';
import { DecisionStore, type PolicyTables, WaiverStore } from '../../../policies/index.ts';
import { loadRegions, type Region } from '../../../regions/index.ts';
import type { ReportTables } from '../../../reports/index.ts';
import type { ServerTables } from '../../../server/db/schema.ts';
import { toHttpError } from '../../../server/http-errors.ts';
import { ModelInventory } from '../../../server/inventory/models.ts';
import { Reports } from '../../../server/reports/reports.ts';
import { TEST_KEYS } from '../ledger/ledger-harness.ts';
import { openTestDatabase, type TestDatabase } from '../../support/database.ts';
import { killableChromium, type KillableChromium } from './killable-chromium.ts';

const ADMIN = { subject: 'auditor', issuer: 'arbiter', role: 'admin' } as const;
// 2026-Q3 in New York ended 2026-10-01T04:00Z; 2026-Q4 is under way; 2027-Q1 has not begun.
const NOW = new Date('2026-11-15T12:00:00Z');

let tdb: TestDatabase;
let nyc: Region;
let ledger: Ledger;
let reports: Reports;

/** A service's Reports; each starts its own Chromium on first use. */
function newReports(): Reports {
  return new Reports({
    db: tdb.db as unknown as Kysely<ServerTables>,
    schedulerDb: tdb.db as unknown as Kysely<ReportTables>,
    ledger,
    regions: new Map([[nyc.id, nyc]]),
    inventory: new ModelInventory(tdb.db as unknown as Kysely<ServerTables>),
    decisions: new DecisionStore(tdb.db as unknown as Kysely<PolicyTables>),
    waivers: new WaiverStore(tdb.db as unknown as Kysely<PolicyTables>, {
      regions: new Set([nyc.id]),
      clock: () => NOW,
      append: (region, entry, record) => ledger.append(region, { ...entry }, { companion: () => record }),
    }),
    clock: () => NOW,
    log: pino({ level: 'silent' }),
  });
}

beforeAll(async () => {
  tdb = await openTestDatabase();
  nyc = (await loadRegions()).get('us-nyc')!;
  ledger = await createLedger({
    db: tdb.db as unknown as Kysely<LedgerTables>,
    logs: [{ region: nyc.id, origin: nyc.ledger.origin }],
    keys: TEST_KEYS,
  });
  reports = newReports();
});
afterAll(async () => {
  await reports?.close();
  await ledger?.stop();
  await tdb?.close();
});

const size = async () => (await ledger.integrate('us-nyc')).size;
const request = (period: string) => ({ region: 'us-nyc', template: 'governance-quarterly', period });

describe('Reports.generate', () => {
  it('refuses a period that has not begun (REPORT_PERIOD_INVALID), storing and recording nothing', async () => {
    const before = await size();
    await expect(reports.generate(request('2027-Q1'), 'on_demand', ADMIN)).rejects.toMatchObject({
      code: 'REPORT_PERIOD_INVALID',
    });
    expect(await size()).toBe(before);
    expect(await reports.list('us-nyc')).toEqual([]);
  });

  it('records a report in the ledger only if it is stored, and stores it with its entry', async () => {
    await sql`create function refuse_report() returns trigger language plpgsql as $$
      begin raise exception 'report storage is down'; end $$`.execute(tdb.db);
    await sql`create trigger refuse_report before insert on report
      for each row execute function refuse_report()`.execute(tdb.db);
    const before = await size();
    await expect(reports.generate(request('2026-Q3'), 'on_demand', ADMIN)).rejects.toThrow();
    expect(await size()).toBe(before);
    await sql`drop trigger refuse_report on report`.execute(tdb.db);

    const meta = await reports.generate(request('2026-Q3'), 'on_demand', ADMIN);
    expect(await size()).toBe(before + 1);
    expect(meta).toMatchObject({ period: '2026-Q3', ledger_seq: before });
    const { entry, leaf_hash } = await ledger.reader.entry('us-nyc', meta.ledger_seq);
    expect(leaf_hash).toBe(meta.leaf_hash);
    expect(entry).toMatchObject({ type: 'report.generated', pdf_sha256: meta.pdf_sha256 });
    expect(
      createHash('sha256')
        .update(await reports.pdf(meta.id))
        .digest('hex'),
    ).toBe(meta.pdf_sha256);
  });

  describe('an annual template (LL144)', () => {
    const ll144 = (period: string) => ({ region: 'us-nyc', template: 'us-nyc/ll144-bias-audit', period });
    const refusal = async (p: Promise<unknown>) => {
      const err = await p.then(
        () => expect.unreachable('the period was accepted'),
        (e: unknown) => e,
      );
      return toHttpError(err);
    };

    it('refuses a quarter, and a quarterly template refuses a year: a 400 naming the field', async () => {
      const before = await size();
      const quarter = await refusal(reports.generate(ll144('2026-Q3'), 'on_demand', ADMIN));
      expect(quarter).toMatchObject({ statusCode: 400, code: 'REPORT_PERIOD_INVALID', field: 'period' });
      expect(quarter.message).toBe(
        'us-nyc/ll144-bias-audit reports on a calendar year: period "2026-Q3" is not a calendar year, YYYY (e.g. 2026)',
      );
      const year = await refusal(reports.generate(request('2026'), 'on_demand', ADMIN));
      expect(year).toMatchObject({ statusCode: 400, code: 'REPORT_PERIOD_INVALID', field: 'period' });
      expect(year.message).toMatch(
        /^governance-quarterly reports on a quarter: period "2026" is not a quarter/,
      );
      expect(await size()).toBe(before);
    });

    it('reports the year under way on demand, and refuses a year not yet begun', async () => {
      const next = await refusal(reports.generate(ll144('2027'), 'on_demand', ADMIN));
      expect(next).toMatchObject({ statusCode: 400, code: 'REPORT_PERIOD_INVALID', field: 'period' });
      const meta = await reports.generate(ll144('2026'), 'on_demand', ADMIN);
      expect(meta).toMatchObject({ template: 'us-nyc/ll144-bias-audit', period: '2026' });
      const { entry } = await ledger.reader.entry('us-nyc', meta.ledger_seq);
      expect(entry).toMatchObject({ type: 'report.generated', period: '2026' });
    });
  });

  it('generates a scheduled run once: a retry returns the report already stored', async () => {
    const first = await reports.generate(request('2026-Q2'), 'scheduled', ADMIN);
    const before = await size();
    const retry = await reports.generate(request('2026-Q2'), 'scheduled', ADMIN);
    expect(retry).toEqual(first);
    expect(await size()).toBe(before);
  });
});

describe('Reports when Chromium dies or cannot start', () => {
  let chromium: KillableChromium;
  let own: Reports;
  beforeEach(() => {
    chromium = killableChromium();
    vi.stubEnv('ARBITER_CHROMIUM', chromium.path);
    own = newReports();
  });
  afterEach(async () => {
    await own.close();
    vi.unstubAllEnvs();
    chromium.remove();
  });

  it('the report after Chromium died starts another Chromium, and is stored', async () => {
    await own.generate(request('2026-Q1'), 'on_demand', ADMIN);
    await chromium.kill();
    const before = await size();
    const meta = await own.generate(request('2026-Q1'), 'on_demand', ADMIN);
    expect(meta).toMatchObject({ period: '2026-Q1', ledger_seq: before });
    expect(chromium.launches()).toHaveLength(2);
  });

  it('a Chromium that failed to start is started again by the next report', async () => {
    vi.stubEnv('ARBITER_CHROMIUM', '/nonexistent/chromium');
    const before = await size();
    await expect(own.generate(request('2026-Q1'), 'on_demand', ADMIN)).rejects.toMatchObject({
      name: 'ReportError',
      code: 'REPORT_PDF_FAILED',
      message: expect.stringMatching(/^cannot start Chromium at \/nonexistent\/chromium/),
    });
    expect(await size()).toBe(before);
    vi.stubEnv('ARBITER_CHROMIUM', chromium.path);
    expect(await own.generate(request('2026-Q1'), 'on_demand', ADMIN)).toMatchObject({ ledger_seq: before });
    expect(chromium.launches()).toHaveLength(1);
  });
});
