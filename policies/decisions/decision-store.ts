import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import { PolicyError } from '../errors.ts';
import type { PolicyDecisionTable, PolicyTables } from '../tables.ts';

export type DecisionRow = Selectable<PolicyDecisionTable>;

/**
 * A decision row as the ledger commits it with the decision's entry (see AppendToLedger): the ledger writes
 * the entry's sequence number into ledger_seq.
 */
export interface DecisionRecord {
  readonly table: 'policy_decision';
  readonly values: Omit<Insertable<PolicyDecisionTable>, 'ledger_seq'>;
  readonly seqColumn: 'ledger_seq';
}

/** The row recording a decision, given the leaf hash of its ledger entry. */
export function decisionRecord(
  decision: Omit<DecisionRow, 'created_at' | 'ledger_seq' | 'leaf_hash'>,
  appended: { readonly leafHash: string },
): DecisionRecord {
  return {
    table: 'policy_decision',
    values: { ...decision, leaf_hash: appended.leafHash },
    seqColumn: 'ledger_seq',
  };
}

export interface DecisionFilter {
  readonly model?: string;
  readonly region?: string;
  /** Only decisions whose model matches one of these SQL LIKE patterns (a caller's scope); none: no match. */
  readonly modelLike?: readonly string[];
  /** Only decisions whose region matches one of these SQL LIKE patterns; none: no match. */
  readonly regionLike?: readonly string[];
  readonly since?: Date;
  /** Only decisions made before this instant. */
  readonly before?: Date;
  /**
   * Only decisions that follow this one in the list's (decided_at, decision_id) order, newer ones oldest first
   * and older ones newest first: the next page.
   */
  readonly after?: { readonly decided_at: Date; readonly decision_id: string };
  readonly limit?: number;
  /** Newest first, so that a limit keeps the latest; oldest first otherwise. */
  readonly newestFirst?: boolean;
}

/** Recorded decisions with their exact input documents (for replay and simulation). */
export class DecisionStore {
  constructor(private readonly db: Kysely<PolicyTables>) {}

  async get(decisionId: string): Promise<DecisionRow> {
    const row = await this.db
      .selectFrom('policy_decision')
      .selectAll()
      .where('decision_id', '=', decisionId)
      .executeTakeFirst();
    if (!row) throw new PolicyError('DECISION_NOT_FOUND', `no decision ${decisionId}`);
    return row;
  }

  /**
   * The decision that holds `key` for this caller (the actor's issuer and subject) at `now`, with the hash of
   * the request it was made on; undefined when none does, or its key has expired.
   */
  async heldKey(
    caller: { readonly issuer?: string; readonly subject: string },
    key: string,
    now: Date,
  ): Promise<{ decision_id: string; request_sha256: string } | undefined> {
    return this.db
      .selectFrom('policy_decision_idempotency')
      .select(['decision_id', 'request_sha256'])
      .where('issuer', '=', caller.issuer ?? '')
      .where('subject', '=', caller.subject)
      .where('key', '=', key)
      .where('expires_at', '>', now)
      .executeTakeFirst();
  }

  /** Recorded decisions, oldest first unless `newestFirst`. */
  list(filter: DecisionFilter = {}): Promise<DecisionRow[]> {
    let query = this.db.selectFrom('policy_decision').selectAll();
    if (filter.model) query = query.where('model', '=', filter.model);
    if (filter.region) query = query.where('region', '=', filter.region);
    if (filter.modelLike) query = query.where(sql<boolean>`model like any(${filter.modelLike}::text[])`);
    if (filter.regionLike) query = query.where(sql<boolean>`region like any(${filter.regionLike}::text[])`);
    if (filter.since) query = query.where('decided_at', '>=', filter.since);
    if (filter.before) query = query.where('decided_at', '<', filter.before);
    const { after } = filter;
    const beyond = filter.newestFirst ? '<' : '>';
    if (after)
      query = query.where((eb) =>
        eb.or([
          eb('decided_at', beyond, after.decided_at),
          eb.and([eb('decided_at', '=', after.decided_at), eb('decision_id', beyond, after.decision_id)]),
        ]),
      );
    const direction = filter.newestFirst ? 'desc' : 'asc';
    query = query.orderBy('decided_at', direction).orderBy('decision_id', direction);
    if (filter.limit) query = query.limit(filter.limit);
    return query.execute();
  }
}
