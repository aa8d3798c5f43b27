import closeWithGrace from 'close-with-grace';
import type { Config } from './config.ts';
import { createService, type Service } from './service.ts';

/**
 * How long the close may take past the grace period for requests: the ledger's queued appends, the job queue,
 * the scratch folder and the database. Past it the process exits 1 rather than hang on a stuck close.
 */
const CLOSE_AFTER_GRACE_MS = 60_000;

/**
 * Starts the service and listens. SIGINT/SIGTERM close it gracefully: the server stops accepting, in-flight
 * requests finish (up to the configured grace period; then their connections are closed), then everything else
 * closes, and the process exits 0. A signal during start-up lets the start finish, then closes what it opened,
 * and serve() answers undefined.
 */
export async function serve(config: Config): Promise<{ service: Service; url: string } | undefined> {
  // Without a handler, a signal during start-up (migrations, cloning and building the policies) ends the
  // process at once, with the embedded database open and its migrations possibly half done.
  let stopped: NodeJS.Signals | undefined;
  const hold = (signal: NodeJS.Signals) => {
    stopped ??= signal;
  };
  process.on('SIGINT', hold).on('SIGTERM', hold);
  let service: Service;
  try {
    service = await createService(config);
  } finally {
    process.off('SIGINT', hold).off('SIGTERM', hold);
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
