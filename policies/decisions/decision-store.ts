import type { Kysely, Selectable } from 'kysely';
import { PolicyError } from '../errors.ts';
import type { PolicyDecisionTable, PolicyTables } from '../tables.ts';

export type DecisionRow = Selectable<PolicyDecisionTable>;

export interface DecisionFilter {
  readonly model?: string;
  readonly region?: string;
  readonly since?: Date;
  readonly limit?: number;
}

/** Recorded decisions with their exact input documents (for replay and simulation). */
export class DecisionStore {
  constructor(private readonly db: Kysely<PolicyTables>) {}

  async insert(row: Omit<DecisionRow, 'created_at' | 'ledger_seq' | 'leaf_hash'>): Promise<void> {
    await this.db
      .insertInto('policy_decision')
      .values({ ...row, ledger_seq: null, leaf_hash: null })
      .execute();
  }

  async recordReceipt(decisionId: string, seq: number, leafHash: string): Promise<void> {
    await this.db
      .updateTable('policy_decision')
      .set({ ledger_seq: seq, leaf_hash: leafHash })
      .where('decision_id', '=', decisionId)
      .execute();
  }

  /** Removes a decision whose ledger append failed: nothing unrecorded may look decided. */
  async discard(decisionId: string): Promise<void> {
    await this.db
      .deleteFrom('policy_decision')
      .where('decision_id', '=', decisionId)
      .where('ledger_seq', 'is', null)
      .execute();
  }

  async get(decisionId: string): Promise<DecisionRow> {
    const row = await this.db
      .selectFrom('policy_decision')
      .selectAll()
      .where('decision_id', '=', decisionId)
      .executeTakeFirst();
    if (!row) throw new PolicyError('DECISION_NOT_FOUND', `no decision ${decisionId}`);
    return row;
  }

  /** Recorded decisions (with a ledger receipt), oldest first. */
  list(filter: DecisionFilter = {}): Promise<DecisionRow[]> {
    let query = this.db.selectFrom('policy_decision').selectAll().where('ledger_seq', 'is not', null);
    if (filter.model) query = query.where('model', '=', filter.model);
    if (filter.region) query = query.where('region', '=', filter.region);
    if (filter.since) query = query.where('decided_at', '>=', filter.since);
    query = query.orderBy('decided_at').orderBy('decision_id');
    if (filter.limit) query = query.limit(filter.limit);
    return query.execute();
  }
}
