import type { Command } from 'commander';
import { loadConfig, type Config } from '../config.ts';

/** Adds the options every command that opens the database shares. */
export function withDatabaseOptions(command: Command): Command {
  return command
    .option('--data-dir <dir>', 'data folder for the embedded database, keys and tokens (ARBITER_DATA_DIR)')
    .option('--database-url <url>', 'PostgreSQL connection string (DATABASE_URL); unset → embedded PGlite');
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
