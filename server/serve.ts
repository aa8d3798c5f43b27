import closeWithGrace from 'close-with-grace';
import type { Config } from './config.ts';
import { createService, type Service } from './service.ts';

/**
 * Starts the service and listens. SIGINT/SIGTERM close it gracefully: the server stops accepting, in-flight
 * requests finish (up to the configured grace period), then the database closes.
 */
export async function serve(config: Config): Promise<{ service: Service; url: string }> {
  const service = await createService(config);
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
