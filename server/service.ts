import { mkdir } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { buildApp } from './app.ts';
import { LocalTokens } from './auth/local-tokens.ts';
import type { Config } from './config.ts';
import { isReachable, openDatabase, type DatabaseHandle } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import type { ServerTables } from './db/schema.ts';
import { ModelInventory } from './inventory/models.ts';
import { inventoryHandlers } from './routes/inventory.ts';
import { tokenHandlers } from './routes/tokens.ts';
import { VERSION } from './version.ts';

/** A composed Arbiter: the database, every module, and the HTTP app on top. */
export interface Service {
  readonly app: FastifyInstance;
  readonly database: DatabaseHandle;
  readonly tokens: LocalTokens;
  /** Where the first start wrote the initial admin token, if it did. */
  readonly adminTokenFile: string | undefined;
  close(): Promise<void>;
}

/**
 * The composition root: opens the database, migrates it, wires the modules and builds the app. It does not
 * listen; `serve` does.
 */
export async function createService(config: Config): Promise<Service> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrateToLatest(database.db);
    // Each store sees only its own tables; they all live in the one database.
    const serverDb = database.db as Kysely<ServerTables>;
    const tokens = new LocalTokens(serverDb);
    const adminTokenFile = await tokens.ensureAdminToken(config.dataDir);
    const app = await buildApp(
      {
        authenticator: tokens,
        readiness: { database: () => isReachable(database.db) },
        handlers: { ...inventoryHandlers(new ModelInventory(serverDb)), ...tokenHandlers(tokens) },
      },
      {
        logLevel: config.logLevel,
        bodyLimit: config.bodyLimit,
        version: VERSION,
        databaseKind: database.kind,
      },
    );
    app.log.info({ database: database.kind, location: database.location }, 'database ready');
    if (adminTokenFile)
      app.log.info({ file: adminTokenFile }, 'created the initial admin token; it is in this file');
    let closing: Promise<void> | undefined;
    return {
      app,
      database,
      tokens,
      adminTokenFile,
      // Idempotent: the demo closes the service, then the signal handler may try again at exit.
      close: () =>
        (closing ??= (async () => {
          await app.close();
          await database.close();
        })()),
    };
  } catch (err) {
    await database.close();
    throw err;
  }
}
