import { setTimeout as sleep } from 'node:timers/promises';
import closeWithGrace from 'close-with-grace';
import { pino } from 'pino';
import type { Config } from './config.ts';
import { closeOpenDatabases } from './db/database.ts';
import { createService, type Service } from './service.ts';

/**
 * How long the close may take past the grace period for requests: the ledger's queued appends, the job queue,
 * the scratch folder and the database. Past it the process exits 1 rather than hang on a stuck close.
 */
const CLOSE_AFTER_GRACE_MS = 60_000;

/** How long a start-up aborted by a second signal waits for its databases to close before it exits. */
const ABORT_CLOSE_MS = 5_000;

/**
 * Starts the service and listens. SIGINT/SIGTERM close it gracefully: the server stops accepting, in-flight
 * requests finish (up to the configured grace period; then their connections are closed), then everything else
 * closes, and the process exits 0. A signal during start-up lets the start finish, then closes what it opened,
 * and serve() answers undefined. A second signal during start-up does not wait for it (a database or policy
 * repository that does not answer can hold it for minutes): it closes the databases opened so far and exits 1
 * at once, as a second signal after start-up does.
 */
export async function serve(config: Config): Promise<{ service: Service; url: string } | undefined> {
  // Without a handler, a signal during start-up (migrations, cloning and building the policies) ends the
  // process at once, with the embedded database open and its migrations possibly half done.
  const log = pino({ level: config.logLevel });
  let stopped: NodeJS.Signals | undefined;
  let aborting = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopped === undefined) {
      stopped = signal;
      log.info({ signal }, 'stopping once start-up has finished; a second signal stops at once');
      return;
    }
    void abortStartUp(signal);
  };
  const abortStartUp = async (signal: NodeJS.Signals) => {
    // A third signal ends the process the default way, at once.
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    aborting = true;
    log.warn({ signal }, 'stopped during start-up, without finishing it');
    await Promise.race([closeOpenDatabases(), sleep(ABORT_CLOSE_MS)]);
    process.exit(1);
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  const starting = createService(config);
  let service: Service;
  // Once start-up is aborted, how it ends is no news: it fails as its database closes under it, and that must
  // not end the process (exit 2, with that failure's message) before the close has had its time.
  const never = new Promise<never>(() => {});
  try {
    service = await starting.then(
      (started) => (aborting ? never : started),
      (err: unknown) => {
        if (aborting) return never;
        throw err;
      },
    );
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
  if (stopped) {
    service.app.log.info({ signal: stopped }, 'stopped during start-up');
    await service.close();
    return undefined;
  }
  let url: string;
  try {
    url = await service.app.listen({ host: config.host, port: config.port });
  } catch (err) {
    // A port already taken: close what started (the embedded database and its data folder's lock among it),
    // so the caller's exit leaves nothing half-written and a restart is not refused as a second holder.
    await service.close();
    throw err;
  }
  const delay = config.shutdownTimeoutMs + CLOSE_AFTER_GRACE_MS;
  closeWithGrace(
    {
      delay,
      onTimeout: () => service.app.log.error({ delay }, 'the close did not finish in time; exiting'),
    },
    async ({ signal, err }) => {
      if (err) service.app.log.error({ err }, 'shutting down after an error');
      else service.app.log.info({ signal }, 'shutting down');
      await service.close();
    },
  );
  return { service, url };
}
