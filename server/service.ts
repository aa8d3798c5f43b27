import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { formatUnits } from 'ethers';
import type { FastifyInstance } from 'fastify';
import type PgBoss from 'pg-boss';
import { pino } from 'pino';
import { createLedger, type Ledger, type LedgerTables } from '../ledger/index.ts';
import { ReplayEngines, type PolicyTables } from '../policies/index.ts';
import { loadRegions, type Region } from '../regions/index.ts';
import type { ReportTables } from '../reports/index.ts';
import { buildApp } from './app.ts';
import { ArtifactStore, prepareScratchDir } from './artifacts/store.ts';
import { AuthFailureLimiter, compositeAuthenticator, OidcAuthenticator } from './auth/index.ts';
import { LocalTokens } from './auth/local-tokens.ts';
import type { Config } from './config.ts';
import { isReachable, openDatabase, tablesOf, type DatabaseHandle } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import type { ServerTables } from './db/schema.ts';
import { Evaluations } from './evaluations/evaluations.ts';
import { ModelInventory } from './inventory/models.ts';
import { AnchorMetrics, metricsRegistryOf } from './metrics.ts';
import { startJobQueue } from './jobs/queue.ts';
import { startPolicies, type PolicySubsystem } from './policies/policy-subsystem.ts';
import { Reports } from './reports/reports.ts';
import { artifactHandlers } from './routes/artifacts.ts';
import { decisionHandlers } from './routes/decisions.ts';
import { evaluationHandlers } from './routes/evaluations.ts';
import { inventoryHandlers } from './routes/inventory.ts';
import { ledgerHandlers } from './routes/ledger.ts';
import { reportHandlers } from './routes/reports.ts';
import { tokenHandlers } from './routes/tokens.ts';
import { waiverHandlers } from './routes/waivers.ts';
import { VERSION } from './version.ts';

/** A composed Arbiter: the database, every module, and the HTTP app on top. */
export interface Service {
  readonly app: FastifyInstance;
  readonly database: DatabaseHandle;
  readonly tokens: LocalTokens;
  readonly ledger: Ledger;
  readonly regions: ReadonlyMap<string, Region>;
  readonly reports: Reports;
  /** Where the first start wrote the initial admin token, if it did. */
  readonly adminTokenFile: string | undefined;
  close(): Promise<void>;
}

export interface ServiceOptions {
  /** The clock policies, the ledger and reports see (tests pin it; production uses the system clock). */
  readonly clock?: () => Date;
}

/**
 * The composition root: opens the database, migrates it, wires the modules and builds the app. It does not
 * listen; `serve` does.
 */
export async function createService(config: Config, options: ServiceOptions = {}): Promise<Service> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const log = pino({
    level: config.logLevel,
    redact: { paths: ['req.headers.authorization', 'token'], censor: '[redacted]' },
  });
  log.info({ dataDir: config.dataDir, database: config.databaseUrl ? 'postgres' : 'pglite' }, 'starting');
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    preparedStatements: config.preparedStatements,
    onIdleConnectionError: (err) => log.warn({ err }, 'an idle database connection failed; it was replaced'),
  });
  let queue: PgBoss | undefined;
  let policies: PolicySubsystem | undefined;
  let reports: Reports | undefined;
  try {
    await migrateToLatest(database.db);
    // Each store sees only its own tables; they all live in the one database.
    const serverDb = tablesOf<ServerTables>(database.db);
    const tokens = new LocalTokens(serverDb);
    const adminTokenFile = await tokens.ensureAdminToken(config.dataDir);
    const regions = await loadRegions();
    const clock = options.clock ?? (() => new Date());
    const anchorMetrics = config.ledger.anchor ? new AnchorMetrics() : undefined;
    if (config.ledger.anchor) {
      // Never the endpoint: its URL is a secret (it often holds an API key).
      const { chainId, everyN, confirmations, maxFeePerGas } = config.ledger.anchor;
      log.info(
        { chainId, everyN, confirmations, maxFeeGwei: formatUnits(maxFeePerGas, 'gwei') },
        `anchoring checkpoints on EVM chain ${chainId}`,
      );
    }
    const ledger = await createLedger({
      db: tablesOf<LedgerTables>(database.db),
      logs: [...regions.values()].map((r) => ({ region: r.id, origin: r.ledger.origin })),
      keys: config.ledger.keys ?? { dataDir: config.dataDir },
      checkpointIntervalMs: config.ledger.checkpointIntervalMs,
      anchor: config.ledger.anchor && { ...config.ledger.anchor, observer: anchorMetrics },
      clock,
      onError: (err) => log.error({ err }, 'ledger background work failed'),
    });
    queue = await startJobQueue(database);
    const scratchDir = await prepareScratchDir(path.join(config.dataDir, 'scratch'));
    const artifacts = new ArtifactStore(serverDb, config.artifactMaxBytes, scratchDir);
    const evaluations = new Evaluations(
      serverDb,
      artifacts,
      queue,
      { ...config.evaluations, maxBytes: config.artifactMaxBytes },
      log,
      clock,
    );
    if (config.evaluations.worker) await evaluations.startWorker();
    policies = await startPolicies({
      db: tablesOf<PolicyTables>(database.db),
      ledger,
      regions,
      source: config.policySource,
      workers: config.policyWorkers,
      evaluationTimeoutMs: config.policyEvalTimeoutMs,
      maxPendingPerWorker: config.policyQueuePerWorker,
      dataDir: config.dataDir,
      clock,
      log,
    });
    const inventory = new ModelInventory(serverDb);
    const replays = new ReplayEngines({ evaluationTimeoutMs: config.policyEvalTimeoutMs });
    reports = new Reports({
      db: serverDb,
      schedulerDb: tablesOf<ReportTables>(database.db),
      ledger,
      regions,
      inventory,
      decisions: policies.decisions,
      waivers: policies.waivers,
      clock,
      log,
    });
    if (config.reports.scheduler) reports.startScheduler(config.reports.pollIntervalMs);
    const app = await buildApp(
      {
        authenticator: compositeAuthenticator(
          tokens,
          config.auth.oidc && new OidcAuthenticator(config.auth.oidc),
        ),
        authFailureLimit: new AuthFailureLimiter(config.auth.failureLimit),
        readiness: { database: () => isReachable(database.db), policies: async () => policies!.ready() },
        handlers: {
          ...inventoryHandlers(inventory),
          ...tokenHandlers(tokens),
          ...artifactHandlers(artifacts),
          ...evaluationHandlers(evaluations),
          ...ledgerHandlers(ledger, policies.waivers, regions, clock),
          ...decisionHandlers({ policies, ledger, evaluations, replays, clock }),
          ...waiverHandlers(policies.waivers),
          ...reportHandlers(reports),
        },
      },
      {
        logger: log,
        bodyLimit: config.bodyLimit,
        trustProxy: config.trustProxy,
        version: VERSION,
        databaseKind: database.kind,
      },
    );
    if (anchorMetrics) anchorMetrics.register(metricsRegistryOf(app));
    ledger.start();
    app.log.info({ database: database.kind, location: database.location }, 'database ready');
    if (adminTokenFile)
      app.log.info({ file: adminTokenFile }, 'created the initial admin token; it is in this file');
    let closing: Promise<void> | undefined;
    return {
      app,
      database,
      tokens,
      ledger,
      regions,
      reports,
      adminTokenFile,
      // Idempotent: the demo closes the service, then the signal handler may try again at exit.
      close: () =>
        (closing ??= (async () => {
          await drainRequests(app, config.shutdownTimeoutMs);
          await reports!.close();
          await replays.close();
          await policies!.close();
          // Running evaluations go back to the queue, so the job queue's graceful stop has nothing to wait for.
          evaluations.stopSweeping();
          await evaluations.stop();
          await queue!.stop({ graceful: true, wait: true });
          await rm(scratchDir, { recursive: true, force: true });
          await ledger.stop();
          await database.close();
        })()),
    };
  } catch (err) {
    await reports?.close();
    await policies?.close();
    await queue?.stop({ graceful: false, wait: true });
    await database.close();
    throw err;
  }
}

/**
 * Stops taking requests and lets those in flight finish for up to `graceMs` (ARBITER_SHUTDOWN_TIMEOUT_MS),
 * then closes the connections still open, their requests unanswered. The grace period bounds this part of the
 * close only: what follows (the ledger's queued appends, the job queue, the scratch folder, the database)
 * always runs to its end.
 */
async function drainRequests(app: FastifyInstance, graceMs: number): Promise<void> {
  const timer = setTimeout(() => {
    app.log.warn({ graceMs }, 'requests still in flight at the end of the grace period: closing them');
    app.server.closeAllConnections();
  }, graceMs);
  try {
    await app.close();
  } finally {
    clearTimeout(timer);
  }
}
