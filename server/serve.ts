import closeWithGrace from 'close-with-grace';
import type { Config } from './config.ts';
import { createService, type Service } from './service.ts';

/**
 * Starts the service and listens. SIGINT/SIGTERM close it gracefully: the server stops accepting, in-flight
 * requests finish (up to the configured grace period), then the database closes. A signal during start-up
 * lets the start finish, then closes what it opened, and serve() answers undefined.
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
  closeWithGrace({ delay: config.shutdownTimeoutMs }, async ({ signal, err }) => {
    if (err) service.app.log.error({ err }, 'shutting down after an error');
    else service.app.log.info({ signal }, 'shutting down');
    await service.close();
  });
  return { service, url };
}
