import PgBoss from 'pg-boss';
import type { DatabaseHandle } from '../db/database.ts';

/**
 * The Postgres-backed job queue (pg-boss) on Arbiter's own database: jobs are rows, so they survive a restart
 * and any replica's worker can take them. On PostgreSQL it keeps a small pool of its own; on the embedded
 * database it runs its statements through kysely's connection lock, so they never interleave with a
 * transaction on PGlite's single connection.
 */
export async function startJobQueue(database: DatabaseHandle): Promise<PgBoss> {
  const common = { schema: 'pgboss', supervise: true, schedule: false } as const;
  let boss: PgBoss;
  if (database.url) {
    boss = new PgBoss({ ...common, connectionString: database.url, max: 4 });
  } else if (database.pglite) {
    const pglite = database.pglite;
    const db: PgBoss.Db = {
      executeSql: (text, values) =>
        database.db.connection().execute(async () => {
          // pg-boss sends its schema as one multi-statement script without parameters: that needs exec().
          if (!values || values.length === 0) {
            const results = await pglite.exec(text);
            return { rows: results.at(-1)?.rows ?? [] };
          }
          return { rows: (await pglite.query(text, values)).rows };
        }),
    };
    boss = new PgBoss({ ...common, db });
  } else {
    throw new TypeError('database handle has neither a URL nor an embedded database');
  }
  boss.on('error', (err) => process.emitWarning(`job queue: ${err.message}`));
  await boss.start();
  return boss;
}
