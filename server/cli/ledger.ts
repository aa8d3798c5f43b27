import type { Command } from 'commander';

import type { LedgerTables } from '../../ledger/index.ts';
import { openDatabase, tablesOf } from '../db/database.ts';
import { configFrom, withDatabaseOptions } from './options.ts';

export function registerLedgerCommands(program: Command): void {
  const ledger = program.command('ledger').description('inspect the ledger in the database');
  withDatabaseOptions(
    ledger
      .command('fsck')
      .description(
        "recompute a region's tree from its stored entries; report the first sequence number that disagrees",
      )
      .requiredOption('--region <region>', 'region whose log to check')
      .option('--json', 'print the report as JSON'),
  ).action(async (flags: { region: string; json?: boolean; dataDir?: string; databaseUrl?: string }) => {
    const { fsck } = await import('../../ledger/index.ts');
    const database = await openDatabase(configFrom(flags));
    try {
      const report = await fsck(tablesOf<LedgerTables>(database.db), flags.region);
      if (flags.json) {
        console.log(JSON.stringify(report, null, 2));
      } else {
        console.log(`${report.origin}: ${report.entries} entries, ${report.checkpoints} checkpoints`);
        for (const p of report.problems)
          console.log(
            `  ${p.kind} at seq ${p.seq}${p.size !== undefined ? ` (checkpoint size ${p.size})` : ''}: ${p.detail}`,
          );
        console.log(
          report.ok
            ? '  OK: the stored tree is consistent'
            : `  FAILED: first bad sequence number ${report.firstBadSeq}`,
        );
      }
      if (!report.ok) process.exitCode = 1;
    } finally {
      await database.close();
    }
  });
}
