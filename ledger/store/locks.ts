import { sql, type Transaction } from 'kysely';
import type { LedgerTables } from './tables.ts';

// Transaction-scoped advisory locks (released at commit/rollback, also when a process dies): one namespace for
// sequencing and one for integration, so appends never wait for an integration and vice versa.
// Appends take APPEND_LOCK inside the ledger_append() SQL function (see migrations.ts).
export const APPEND_LOCK = 0x4c534551; // 'LSEQ'
const INTEGRATE_LOCK = 0x4c494e54; // 'LINT'

export async function lockLogForIntegration(trx: Transaction<LedgerTables>, logId: number): Promise<void> {
  await sql`select pg_advisory_xact_lock(${INTEGRATE_LOCK}::int4, ${logId}::int4)`.execute(trx);
}
