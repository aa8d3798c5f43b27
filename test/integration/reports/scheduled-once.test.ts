import type { Kysely } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedger, type Ledger, type LedgerTables } from '../../../ledger/index.ts';
import { DecisionStore, type PolicyTables, WaiverStore } from '../../../policies/index.ts';
import { loadRegions, type Region } from '../../../regions/index.ts';
import {
  createReportScheduler,
  type ReportRun,
  type ReportTables,
  type TickResult,
} from '../../../reports/index.ts';
import { openDatabase, type DatabaseHandle } from '../../../server/db/database.ts';
import type { Database, ServerTables } from '../../../server/db/schema.ts';
import { ModelInventory } from '../../../server/inventory/models.ts';
import { Reports, type ReportMeta } from '../../../server/reports/reports.ts';
import { openTestDatabase, type TestDatabase } from '../../support/database.ts';
import { TEST_KEYS } from '../ledger/ledger-harness.ts';

const SCHEDULER = { subject: 'report-scheduler', issuer: 'arbiter', role: 'admin' } as const;
const TEMPLATE = 'governance-quarterly';

/** One service process: its own pool, ledger and Reports, as a second replica would have. */
interface Service {
  readonly ledger: Ledger;
  readonly reports: Reports;
}

let tdb: TestDatabase;
let second: DatabaseHandle | undefined;
let nyc: Region;
const services: Service[] = [];

async function startService(db: Kysely<Database>, now: Date): Promise<Service> {
  const ledger = await createLedger({
    db: db as unknown as Kysely<LedgerTables>,
    logs: [{ region: nyc.id, origin: nyc.ledger.origin }],
    keys: TEST_KEYS,
  });
  const reports = new Reports({
    db: db as unknown as Kysely<ServerTables>,
    schedulerDb: db as unknown as Kysely<ReportTables>,
    ledger,
    regions: new Map([[nyc.id, nyc]]),
    inventory: new ModelInventory(db as unknown as Kysely<ServerTables>),
    decisions: new DecisionStore(db as unknown as Kysely<PolicyTables>),
    waivers: new WaiverStore(db as unknown as Kysely<PolicyTables>, {
      regions: new Set([nyc.id]),
      clock: () => now,
      append: (region, entry, record) => ledger.append(region, { ...entry }, { companion: () => record }),
    }),
    clock: () => now,
    log: pino({ level: 'silent' }),
  });
  const service = { ledger, reports };
  services.push(service);
  return service;
}

beforeAll(async () => {
  tdb = await openTestDatabase();
  // A second connection pool, as a second server process would have (PGlite is one process's database).
  if (tdb.url) second = await openDatabase({ databaseUrl: tdb.url, dataDir: tdb.dataDir, poolSize: 5 });
  nyc = (await loadRegions()).get('us-nyc')!;
});
afterAll(async () => {
  for (const s of services) {
    await s.reports.close();
    await s.ledger.stop();
  }
  await second?.close();
  await tdb?.close();
});

describe('scheduled reports across processes', () => {
  it('two schedulers that both render a run store one report and append one report.generated', async () => {
    // Process A claims the 2026-Q3 run at 00:00; B, an hour later, finds A's 15-minute claim expired (A is slow
    // or paused) and takes the run over while A is still rendering it.
    const clockA = new Date('2026-10-02T00:00:00Z');
    const clockB = new Date('2026-10-02T01:00:00Z');
    const a = await startService(tdb.db, clockA);
    const b = await startService(second?.db ?? tdb.db, clockB);
    const region = {
      id: nyc.id,
      timezone: nyc.timezone,
      reports: [{ template: TEMPLATE, schedule: '0 7 1 1,4,7,10 *' }],
    };

    // Both runs reach Reports.generate before either stores anything: the race the database must settle.
    let arrived = 0;
    let bothArrived: () => void = () => {};
    const together = new Promise<void>((resolve) => (bothArrived = resolve));
    let aArrived: () => void = () => {};
    const aInside = new Promise<void>((resolve) => (aArrived = resolve));
    const stored: ReportMeta[] = [];
    const generateIn = (service: Service, onArrival: () => void) => async (run: ReportRun) => {
      onArrival();
      if (++arrived === 2) bothArrived();
      await together;
      stored.push(await service.reports.generate(run, 'scheduled', SCHEDULER));
    };
    const schedulerA = createReportScheduler({
      db: tdb.db as unknown as Kysely<ReportTables>,
      regions: [region],
      clock: () => clockA,
      workerId: 'a',
      generate: generateIn(a, aArrived),
    });
    const schedulerB = createReportScheduler({
      db: (second?.db ?? tdb.db) as unknown as Kysely<ReportTables>,
      regions: [region],
      clock: () => clockB,
      workerId: 'b',
      generate: generateIn(b, () => {}),
    });

    const sizeBefore = (await a.ledger.integrate(nyc.id)).size;
    const tickA = schedulerA.tick();
    await aInside;
    const results: TickResult[] = await Promise.all([tickA, schedulerB.tick()]);

    // Neither process fails: the loser's report is the winner's.
    expect(results.flatMap((r) => r.failed)).toEqual([]);
    expect(results.map((r) => r.generated.map((run) => run.period))).toEqual([['2026-Q3'], ['2026-Q3']]);
    expect(stored).toHaveLength(2);
    expect(stored[1]).toEqual(stored[0]);

    const rows = await tdb.db
      .selectFrom('report')
      .select(['id', 'trigger', 'ledger_seq'])
      .where('region', '=', nyc.id)
      .where('template', '=', TEMPLATE)
      .where('period', '=', '2026-Q3')
      .execute();
    expect(rows).toEqual([{ id: stored[0]!.id, trigger: 'scheduled', ledger_seq: stored[0]!.ledger_seq }]);

    // One report.generated entry, and no gap: the loser's entry was rolled back with its row.
    const head = await a.ledger.integrate(nyc.id);
    expect(head.size).toBe(sizeBefore + 1);
    const { entry } = await a.ledger.reader.entry(nyc.id, sizeBefore);
    expect(entry).toMatchObject({ type: 'report.generated', period: '2026-Q3', trigger: 'scheduled' });
  });
});
