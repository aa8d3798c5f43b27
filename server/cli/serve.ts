import type { Command } from 'commander';
import { configFrom, withDatabaseOptions } from './options.ts';

export function registerServeCommand(program: Command): void {
  withDatabaseOptions(
    program
      .command('serve')
      .description('start the Arbiter service (embedded PGlite unless DATABASE_URL is set)')
      .option('-p, --port <port>', 'TCP port (ARBITER_PORT, default 8080)')
      .option('--host <host>', 'interface to listen on (ARBITER_HOST, default 127.0.0.1)'),
  ).action(async (flags: { port?: string; host?: string; dataDir?: string; databaseUrl?: string }) => {
    // Commands load what they need when they run, so `arbiter --help` and `version` start fast.
    const { serve } = await import('../serve.ts');
    await serve(configFrom(flags));
  });
}
