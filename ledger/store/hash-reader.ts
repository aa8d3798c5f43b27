import { sql, type Kysely } from 'kysely';
import { LedgerError } from '../errors.ts';
import type { HashReader } from '../merkle/index.ts';
import { bytes, num, type LedgerTables } from './tables.ts';

/** Reads stored tree hashes of one log in a single query per call. */
export function databaseHashReader(db: Kysely<LedgerTables>, logId: number): HashReader {
  return {
    async readHashes(indexes) {
      if (indexes.length === 0) return [];
      // An array parameter keeps the statement's text the same for any number of indexes (one prepared plan).
      const rows = await db
        .selectFrom('ledger_hash')
        .select(['idx', 'hash'])
        .where('log_id', '=', logId)
        .where('idx', '=', sql<number>`any(${[...new Set(indexes)]}::int8[])`)
        .execute();
      const byIndex = new Map(rows.map((r) => [num(r.idx), bytes(r.hash)]));
      return indexes.map((i) => {
        const hash = byIndex.get(i);
        if (!hash) throw new LedgerError('LEDGER_CORRUPT', `tree hash ${i} of log ${logId} is missing`);
        return hash;
      });
    },
  };
}
