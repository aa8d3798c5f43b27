import type { Command } from 'commander';
import { loadConfig, type Config } from '../config.ts';
import { CliFailure } from './output.ts';

/**
 * The commands that may start a data folder: the service, and `token create`, which makes the first admin token
 * before the service has ever run (README, Identity and access). Every other command that works on the embedded
 * database directly refuses a folder that holds none: opening one would create an empty database there, and the
 * command then fail on a missing table, or answer from nothing, as if the folder were right.
 */
const STARTS_DATA_FOLDER = new Set(['arbiter serve', 'arbiter token create']);

/** `arbiter token create`, as the user types it. */
const commandPath = (command: Command): string =>
  command.parent ? `${commandPath(command.parent)} ${command.name()}` : command.name();

/**
 * Adds the options every command that opens the database shares, and, unless the command is one that starts a
 * data folder, the refusal of a data folder that holds no embedded database when it is to be used directly (no
 * --server, no DATABASE_URL): exit 2, naming the folder, before anything is created in it.
 */
export function withDatabaseOptions(command: Command): Command {
  return command
    .option('--data-dir <dir>', 'data folder for the embedded database, keys and tokens (ARBITER_DATA_DIR)')
    .option('--database-url <url>', 'PostgreSQL connection string (DATABASE_URL); unset → embedded PGlite')
    .hook('preAction', async (_command, action) => {
      if (STARTS_DATA_FOLDER.has(commandPath(action))) return;
      const flags = action.opts<{ server?: string; dataDir?: string; databaseUrl?: string }>();
      // Through a service (the flag or ARBITER_SERVER, as serverTarget reads them), nothing is opened here.
      if (flags.server ?? process.env.ARBITER_SERVER) return;
      const config = configFrom(flags);
      if (config.databaseUrl) return;
      const { holdsEmbeddedDatabase } = await import('../db/database.ts');
      if (await holdsEmbeddedDatabase(config.dataDir)) return;
      throw new CliFailure(
        `no Arbiter database in ${config.dataDir}: name the data folder of one with --data-dir ` +
          `(ARBITER_DATA_DIR), use a running service with --server, or start one with 'arbiter serve'`,
      );
    });
}

/** The configuration: environment and ARBITER_CONFIG, with command-line flags on top. */
export function configFrom(flags: {
  dataDir?: string;
  databaseUrl?: string;
  port?: string;
  host?: string;
}): Config {
  return loadConfig(process.env, {
    ARBITER_DATA_DIR: flags.dataDir,
    DATABASE_URL: flags.databaseUrl,
    ARBITER_PORT: flags.port,
    ARBITER_HOST: flags.host,
  });
}
