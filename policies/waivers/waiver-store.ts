import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { z } from 'zod';
import type { Actor } from '../actor.ts';
import type { WaiverInput } from '../engine/input-document.ts';
import { PolicyError } from '../errors.ts';
import { violatesConstraint, type PolicyTables, type PolicyWaiverTable } from '../tables.ts';

export type Waiver = Selectable<PolicyWaiverTable>;

export type WaiverEntryType =
  'waiver.requested' | 'waiver.approved' | 'waiver.rejected' | 'waiver.expired' | 'waiver.revoked';

/** The ledger entry of a waiver state change, in the waiver region's log. */
export interface WaiverLedgerEntry {
  readonly type: WaiverEntryType;
  readonly waiver_id: string;
  readonly rule: string;
  readonly model: string;
  /** Only for a waiver of one model version; absent: every version. */
  readonly version?: string;
  readonly region: string;
  readonly reason: string;
  readonly expires_at: string;
  readonly status: Waiver['status'];
  readonly note: string | null;
  readonly actor: Actor | null;
  readonly at: string;
}

export interface WaiverChange {
  readonly waiver: Waiver;
  readonly entry: WaiverLedgerEntry;
  readonly ledger: { readonly region: string; readonly seq: number; readonly leafHash: string };
}

/** A row written in the same transaction as its ledger entry; `seqColumn` receives the entry's number. */
export interface WaiverRecord {
  readonly table: 'policy_waiver' | 'policy_waiver_change';
  readonly values: Readonly<Record<string, unknown>>;
  readonly seqColumn: 'ledger_seq';
}

/**
 * Appends `entry` to `region`'s log together with `record`: both commit or neither does (the ledger's
 * companion row). Fails when the record's insert fails, e.g. when its trigger refuses the change.
 */
export type AppendWaiverEntry = (
  region: string,
  entry: WaiverLedgerEntry,
  record: WaiverRecord,
) => Promise<{ readonly seq: number; readonly leafHash: string }>;

export interface WaiverRequest {
  readonly rule: string;
  readonly model: string;
  /** The model version the exception is for; absent: every version of the model. */
  readonly version?: string;
  readonly region: string;
  readonly reason: string;
  /** RFC 3339 or a Date. */
  readonly expires_at: string | Date;
}

/** What a waiver is checked against, from the active policies' METADATA. */
export interface WaiverRules {
  /** Every rule id (`custom.id`): a waiver naming any other (a typo, a rule since removed) could never apply. */
  readonly ids: ReadonlySet<string>;
  /**
   * The rules marked `custom: {waivable: false}` (a prohibited practice, the input checks): lib/decision never
   * lets a waiver lift them.
   */
  readonly nonWaivable: ReadonlySet<string>;
}

export interface WaiverStoreOptions {
  /** How every request and status change reaches the ledger, with its row. */
  readonly append: AppendWaiverEntry;
  /** The regions a waiver may name (those with a log); any other is refused. */
  readonly regions: ReadonlySet<string>;
  /**
   * The rules of the active policies; undefined while none are active. Waivers are requested and approved
   * only against them: without them, a waiver for a typo or for a rule no waiver may lift would be recorded
   * as though it could apply. Unset: never known, so this store records reads and rejections only.
   */
  readonly rules?: () => WaiverRules | undefined;
  readonly clock?: () => Date;
  readonly newId?: () => string;
  /**
   * How long `activeFor` may serve approved waivers from memory before reading them again (default 1000 ms):
   * the bound on how late an approval made by another process is honoured here.
   */
  readonly refreshMs?: number;
}

type ActiveWaiver = Pick<Waiver, 'id' | 'rule' | 'model' | 'version' | 'region' | 'expires_at'>;

interface ActiveSnapshot {
  readonly readAt: number;
  /** Approved waivers by model and region, in id order. */
  readonly byScope: ReadonlyMap<string, readonly ActiveWaiver[]>;
}

const scopeKey = (model: string, region: string) => JSON.stringify([model, region]);

/** Only compliance officers approve or reject; the requester never approves their own (four-eyes). */
export const WAIVER_APPROVER_ROLE = 'compliance_officer';

/**
 * The constraint (migration 2026_11_23_0400) that the database names when it refuses a waiver decided by its
 * requester; a trigger of the server's names it too when one's local token was minted by the other,
 * directly or through tokens it minted (migration 2026_12_05_0003_server_waiver_token_lineage).
 */
const FOUR_EYES_CONSTRAINT = 'policy_waiver_four_eyes';

/**
 * Whether two subjects may be one person, for four-eyes. A subject claim an operator maps from a name or an
 * e-mail address (`subject_claim`) can differ in case, width or surrounding spaces for the same person, so
 * they are compared folded; two people whose subjects differ only so are refused, never one person let through.
 */
export function mayBeSamePerson(a: string, b: string): boolean {
  const fold = (subject: string) => subject.normalize('NFKC').trim().toLowerCase();
  return fold(a) === fold(b);
}

/** A waiver is an exception for a while, not a standing rule change: at most this long from its request. */
export const MAX_WAIVER_DAYS = 366;

// PostgreSQL text holds no NUL character; refused here rather than by the database, as a 500.
const text = () => z.string().refine((s) => !s.includes('\u0000'), 'must not contain a NUL character');

const requestSchema = z.object({
  rule: z.string().regex(/^[A-Z0-9]+(-[A-Z0-9]+)*$/, 'a rule id such as FAIR-IMPACT-RATIO'),
  model: text().min(1),
  version: text().min(1).optional(),
  region: text().min(1),
  reason: text().trim().min(10, 'explain the exception in at least 10 characters'),
  expires_at: z.union([z.date(), z.iso.datetime({ offset: true })]).transform((v) => new Date(v)),
});

const revocationNote = text().trim().min(10, 'explain the revocation in at least 10 characters');

/**
 * Waivers: exceptions to one rule for one model (or one version of it) in one region, until an expiry. Requested by anyone,
 * approved or rejected by a different compliance officer, and revocable by any compliance officer until it
 * expires; an expired or revoked waiver never reaches a policy. A request and every status change commit with
 * their ledger entry, or not at all.
 */
export class WaiverStore {
  private readonly append: AppendWaiverEntry;
  private readonly regions: ReadonlySet<string>;
  private readonly rules: () => WaiverRules | undefined;
  private readonly clock: () => Date;
  private readonly newId: () => string;
  private readonly refreshMs: number;
  private snapshot: Promise<ActiveSnapshot> | undefined;

  constructor(
    private readonly db: Kysely<PolicyTables>,
    options: WaiverStoreOptions,
  ) {
    this.append = options.append;
    this.regions = options.regions;
    this.rules = options.rules ?? (() => undefined);
    this.clock = options.clock ?? (() => new Date());
    this.newId = options.newId ?? randomUUID;
    this.refreshMs = options.refreshMs ?? 1000;
  }

  async request(request: WaiverRequest, actor: Actor): Promise<WaiverChange> {
    const parsed = requestSchema.safeParse(request);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.join('.');
      throw new PolicyError('WAIVER_INVALID', `${field}: ${issue.message}`, { field, cause: parsed.error });
    }
    if (!this.regions.has(parsed.data.region)) {
      throw new PolicyError(
        'WAIVER_INVALID',
        `region: ${parsed.data.region} is not a region of this service (${[...this.regions].join(', ')})`,
        { field: 'region' },
      );
    }
    refuseUnwaivable(this.activeRules(), parsed.data.rule);
    const now = this.clock();
    if (parsed.data.expires_at <= now) {
      throw new PolicyError('WAIVER_INVALID', 'expires_at: must lie in the future', { field: 'expires_at' });
    }
    if (parsed.data.expires_at.getTime() > now.getTime() + MAX_WAIVER_DAYS * 86_400_000) {
      throw new PolicyError(
        'WAIVER_INVALID',
        `expires_at: at most ${MAX_WAIVER_DAYS} days ahead; a longer exception is a change to the policy`,
        { field: 'expires_at' },
      );
    }
    const values = {
      id: this.newId(),
      ...parsed.data,
      version: parsed.data.version ?? null,
      status: 'requested' as const,
      requested_by: actor.subject,
      requested_at: now,
      decided_by: null,
      decided_at: null,
      decision_note: null,
      revoked_by: null,
      revoked_at: null,
      revocation_note: null,
    };
    const entry = entryOf('waiver.requested', { ...values, ledger_seq: null }, actor, now);
    const ledger = await this.append(values.region, entry, {
      table: 'policy_waiver',
      values,
      seqColumn: 'ledger_seq',
    });
    return { waiver: await this.get(values.id), entry, ledger: { region: values.region, ...ledger } };
  }

  approve(id: string, actor: Actor, note?: string): Promise<WaiverChange> {
    return this.decide(id, actor, 'approved', note);
  }

  reject(id: string, actor: Actor, note?: string): Promise<WaiverChange> {
    return this.decide(id, actor, 'rejected', note);
  }

  /**
   * Ends an approved waiver before its expiry, with the reason in `note`. Any compliance officer may: the
   * exception narrows, so it needs no second pair of eyes. From the moment the revocation is recorded no
   * decision is recorded that relies on the waiver, in this process or another (see the policy_decision
   * trigger); a decision evaluated with it meanwhile is evaluated again (decide).
   */
  async revoke(id: string, actor: Actor, note: string): Promise<WaiverChange> {
    const parsed = revocationNote.safeParse(note);
    if (!parsed.success) {
      throw new PolicyError('WAIVER_INVALID', `note: ${parsed.error.issues[0]!.message}`, {
        field: 'note',
        cause: parsed.error,
      });
    }
    const now = this.clock();
    const current = await this.read(id, now);
    if (actor.role !== WAIVER_APPROVER_ROLE) {
      throw new PolicyError('WAIVER_FOUR_EYES', `only a ${WAIVER_APPROVER_ROLE} may revoke a waiver`);
    }
    if (current.status !== 'approved') throw wrongState(current, 'approved');
    try {
      return await this.change(current, 'revoked', actor, parsed.data, now);
    } catch (err) {
      // Expired, or revoked by another officer, since it was read: the trigger refused the change.
      const after = await this.read(id, this.clock());
      if (after.status !== 'approved') throw wrongState(after, 'approved', err);
      throw err;
    }
  }

  /**
   * Marks approved waivers and pending requests whose expiry has passed as expired, returning one
   * `waiver.expired` entry each. Run it on a schedule; `activeFor`, `get` and `list` treat them as expired
   * whether or not this has run.
   */
  async expireDue(): Promise<WaiverChange[]> {
    const now = this.clock();
    const due = await this.db
      .selectFrom('policy_waiver')
      .selectAll()
      .where('status', 'in', ['approved', 'requested'])
      .where('expires_at', '<=', now)
      .orderBy('id')
      .execute();
    const changes: WaiverChange[] = [];
    for (const waiver of due) {
      try {
        changes.push(await this.change(waiver, 'expired', null, null, now));
      } catch (err) {
        // Another instance expired it first; anything else is for the caller.
        const stored = await this.db
          .selectFrom('policy_waiver')
          .select('status')
          .where('id', '=', waiver.id)
          .executeTakeFirst();
        if (stored?.status !== 'expired') throw err;
      }
    }
    return changes;
  }

  /**
   * Approved, unexpired waivers for a model in a region, as the policies take them. Every decision asks, so
   * they come from a snapshot of all approved waivers, read again after `refreshMs` and at once after an
   * approval or revocation through this store; `fresh` reads them now. Staleness delays an approval made
   * elsewhere, which keeps a denial in place a moment longer, and a revocation made elsewhere, which the
   * database then enforces when the decision is recorded (see revoke). Expiry is checked against the clock on
   * every call.
   */
  async activeFor(model: string, region: string, { fresh = false } = {}): Promise<WaiverInput[]> {
    const now = this.clock();
    const { byScope } = await (fresh ? this.readActive() : this.activeSnapshot());
    return (byScope.get(scopeKey(model, region)) ?? [])
      .filter((w) => w.expires_at > now)
      .map(({ version, ...w }) => ({
        ...w,
        ...(version === null ? {} : { version }),
        expires_at: w.expires_at.toISOString(),
      }));
  }

  private activeSnapshot(): Promise<ActiveSnapshot> {
    const current = this.snapshot;
    if (current) {
      // A snapshot still loading or fresh enough is shared, and so is the read that replaces a stale one.
      return current.then((s) => {
        if (performance.now() - s.readAt < this.refreshMs) return s;
        return this.snapshot && this.snapshot !== current ? this.snapshot : this.readActive();
      });
    }
    return this.readActive();
  }

  private readActive(): Promise<ActiveSnapshot> {
    const readAt = performance.now();
    const loading = this.db
      .selectFrom('policy_waiver')
      .select(['id', 'rule', 'model', 'version', 'region', 'expires_at'])
      .where('status', '=', 'approved')
      .where('expires_at', '>', this.clock())
      .orderBy('id')
      .execute()
      .then((rows) => {
        const byScope = new Map<string, ActiveWaiver[]>();
        for (const row of rows) {
          const key = scopeKey(row.model, row.region);
          const scoped = byScope.get(key);
          if (scoped) scoped.push(row);
          else byScope.set(key, [row]);
        }
        return { readAt, byScope };
      });
    this.snapshot = loading;
    // A failed read is not kept: the next call reads again.
    loading.catch(() => {
      if (this.snapshot === loading) this.snapshot = undefined;
    });
    return loading;
  }

  /**
   * A waiver as it stands now: an approval or a request past its expiry reads as expired, whether or not
   * expireDue has recorded it yet.
   */
  get(id: string): Promise<Waiver> {
    return this.read(id, this.clock());
  }

  private async read(id: string, now: Date): Promise<Waiver> {
    const row = await this.db.selectFrom('policy_waiver').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new PolicyError('WAIVER_NOT_FOUND', `no waiver ${id}`);
    return asOf(row, now);
  }

  /**
   * The sequence numbers of the entries recorded for these waivers (request and every status change) in
   * `region`'s log below `before`, ascending: what an audit bundle starting at `before` cites for them.
   */
  async entrySeqs(region: string, ids: readonly string[], before: number): Promise<number[]> {
    if (ids.length === 0) return [];
    const requests = this.db
      .selectFrom('policy_waiver')
      .select('ledger_seq')
      .where('region', '=', region)
      .where('id', 'in', ids)
      .where('ledger_seq', '<', before);
    const changes = this.db
      .selectFrom('policy_waiver_change')
      .innerJoin('policy_waiver', 'policy_waiver.id', 'policy_waiver_change.waiver_id')
      .select('policy_waiver_change.ledger_seq')
      .where('policy_waiver.region', '=', region)
      .where('policy_waiver_change.waiver_id', 'in', ids)
      .where('policy_waiver_change.ledger_seq', '<', before);
    const rows = await requests.unionAll(changes).execute();
    return rows.map((r) => r.ledger_seq!).sort((a, b) => a - b);
  }

  /** Waivers as they stand now (see get), filtered by that status. */
  async list(filter: { model?: string; region?: string; status?: Waiver['status'] } = {}): Promise<Waiver[]> {
    const now = this.clock();
    let query = this.db.selectFrom('policy_waiver').selectAll();
    if (filter.model) query = query.where('model', '=', filter.model);
    if (filter.region) query = query.where('region', '=', filter.region);
    const rows = await query.orderBy('requested_at').orderBy('id').execute();
    const waivers = rows.map((row) => asOf(row, now));
    return filter.status ? waivers.filter((w) => w.status === filter.status) : waivers;
  }

  private async decide(
    id: string,
    actor: Actor,
    status: 'approved' | 'rejected',
    note: string | undefined,
  ): Promise<WaiverChange> {
    if (note?.includes('\u0000'))
      throw new PolicyError('WAIVER_INVALID', 'note: must not contain a NUL character', { field: 'note' });
    const now = this.clock();
    const current = await this.read(id, now);
    if (actor.role !== WAIVER_APPROVER_ROLE) {
      throw new PolicyError(
        'WAIVER_FOUR_EYES',
        `only a ${WAIVER_APPROVER_ROLE} may approve or reject a waiver`,
      );
    }
    if (mayBeSamePerson(actor.subject, current.requested_by)) {
      throw new PolicyError(
        'WAIVER_FOUR_EYES',
        `${actor.subject} requested waiver ${id} and cannot also decide it`,
      );
    }
    // A request whose expiry passed while it waited reads as expired: there is nothing left to decide.
    if (current.status !== 'requested') throw wrongState(current, 'requested');
    // A request recorded before its rule was removed from the active policies, or marked non-waivable, is not
    // approved either: the approval would lift nothing, or what no waiver may lift.
    if (status === 'approved') refuseUnwaivable(this.activeRules(), current.rule);
    try {
      return await this.change(current, status, actor, note ?? null, now);
    } catch (err) {
      // The database holds the two to be one person: for local tokens, one was minted by the other, directly
      // or through tokens it minted, which the subjects alone do not show.
      if (violatesConstraint(err, FOUR_EYES_CONSTRAINT)) {
        throw new PolicyError(
          'WAIVER_FOUR_EYES',
          `${actor.subject} cannot decide waiver ${id}, requested by ${current.requested_by}: one's token was minted by the other, directly or through tokens it minted`,
          { cause: err },
        );
      }
      // The trigger applies a change only to a waiver still requested (and an approval only before its
      // expiry): of two officers deciding at once, one wins, and the other's entry is not appended either.
      const after = await this.read(id, this.clock());
      if (after.status !== 'requested') throw wrongState(after, 'requested', err);
      throw err;
    }
  }

  /** The active policies' rules; refused while they are unknown, since a waiver is checked against them. */
  private activeRules(): WaiverRules {
    const rules = this.rules();
    if (!rules)
      throw new PolicyError(
        'POLICIES_UNAVAILABLE',
        'no policy bundle with known rules is active, so waivers cannot be checked against its rules; see GET /v1/policies/status',
      );
    return rules;
  }

  /** Appends the change's entry with its policy_waiver_change row, whose trigger applies it to the waiver. */
  private async change(
    waiver: Waiver,
    status: 'approved' | 'rejected' | 'expired' | 'revoked',
    actor: Actor | null,
    note: string | null,
    at: Date,
  ): Promise<WaiverChange> {
    const changed: Waiver =
      status === 'expired'
        ? { ...waiver, status }
        : status === 'revoked'
          ? { ...waiver, status, revoked_by: actor!.subject, revoked_at: at, revocation_note: note }
          : { ...waiver, status, decided_by: actor!.subject, decided_at: at, decision_note: note };
    const entry = entryOf(`waiver.${status}`, changed, actor, at);
    const ledger = await this.append(waiver.region, entry, {
      table: 'policy_waiver_change',
      values: { waiver_id: waiver.id, status, changed_by: actor?.subject ?? null, changed_at: at, note },
      seqColumn: 'ledger_seq',
    });
    this.snapshot = undefined;
    return { waiver: await this.get(waiver.id), entry, ledger: { region: waiver.region, ...ledger } };
  }
}

function entryOf(type: WaiverEntryType, waiver: Waiver, actor: Actor | null, at: Date): WaiverLedgerEntry {
  return {
    type,
    waiver_id: waiver.id,
    rule: waiver.rule,
    model: waiver.model,
    ...(waiver.version === null ? {} : { version: waiver.version }),
    region: waiver.region,
    reason: waiver.reason,
    expires_at: waiver.expires_at.toISOString(),
    status: waiver.status,
    note: waiver.status === 'revoked' ? waiver.revocation_note : waiver.decision_note,
    actor,
    at: at.toISOString(),
  };
}

/**
 * Refuses, naming the field `rule`, a rule that is not one of the active policies' (a typo, a rule since
 * removed), whose waiver could never apply, or one that no waiver may lift.
 */
function refuseUnwaivable(rules: WaiverRules, rule: string): void {
  if (!rules.ids.has(rule)) {
    throw new PolicyError(
      'WAIVER_INVALID',
      `rule: ${rule} is not a rule of the active policies (${[...rules.ids].sort().join(', ')})`,
      { field: 'rule' },
    );
  }
  if (rules.nonWaivable.has(rule)) {
    throw new PolicyError('WAIVER_INVALID', `rule: ${rule} cannot be waived; the policies never lift it`, {
      field: 'rule',
    });
  }
}

/**
 * A request, too, lapses at its expiry: it could no longer be approved, so listing it as pending would ask
 * officers to decide what cannot be.
 */
function asOf(waiver: Waiver, now: Date): Waiver {
  const lapses = waiver.status === 'approved' || waiver.status === 'requested';
  return lapses && waiver.expires_at <= now ? { ...waiver, status: 'expired' } : waiver;
}

/** A waiver in another state than the change needs: pending to be decided, approved to be revoked. */
function wrongState(waiver: Waiver, wanted: 'requested' | 'approved', cause?: unknown): PolicyError {
  const when = waiver.status === 'expired' ? ` (its expiry, ${waiver.expires_at.toISOString()}, passed)` : '';
  return new PolicyError(
    wanted === 'requested' ? 'WAIVER_NOT_PENDING' : 'WAIVER_NOT_ACTIVE',
    `waiver ${waiver.id} is ${waiver.status}${when}, not ${wanted}`,
    cause === undefined ? undefined : { cause },
  );
}
