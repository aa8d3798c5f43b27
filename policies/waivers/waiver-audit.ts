import { inSequence, isObject, type EntryAudit, type RecordedEntry } from '../entry-audit.ts';
import { mayBeSamePerson, WAIVER_APPROVER_ROLE } from './waiver-store.ts';

interface WaiverHistory {
  rule?: unknown;
  model?: unknown;
  /** Absent: the waiver covers every version of its model. */
  version?: unknown;
  region?: unknown;
  expiresAt?: unknown;
  requestedBy?: string;
  approvedAt?: number;
  ended?: { readonly seq: number; readonly type: string };
}

const subjectOf = (actor: unknown) => (isObject(actor) ? actor.subject : undefined);
/** `credit-scoring`, or `credit-scoring 2.0.0` for one version. */
const scopeOf = (model: unknown, version: unknown) =>
  version === undefined ? String(model) : `${String(model)} ${String(version)}`;
/** `revoked` of `waiver.revoked`. */
const stateOf = (type: string) => type.slice('waiver.'.length);

/**
 * The waivers whose entries an audit bundle of `entries` should cite, so that auditWaivers can check its
 * waived findings without the whole log: those a decision's waived finding names whose request is not among
 * the entries (a waiver's history starts with its request, so all of it then lies before them, or partly so).
 */
export function waiversToCite(entries: readonly RecordedEntry[]): string[] {
  const requested = new Set<string>();
  const named = new Set<string>();
  for (const { entry } of inSequence(entries)) {
    if (entry.type === 'waiver.requested') requested.add(String(entry.waiver_id));
    else if (entry.type === 'decision' && isObject(entry.result) && Array.isArray(entry.result.waived))
      for (const finding of entry.result.waived)
        if (isObject(finding) && typeof finding.waiver_id === 'string') named.add(finding.waiver_id);
  }
  return [...named].filter((id) => !requested.has(id)).sort();
}

/**
 * What an auditor can check offline of the waivers behind a region's decisions, from its ledger entries in
 * sequence order: each approval was made by a compliance officer other than the requester (four eyes), and
 * each waived finding of a decision cites a waiver for its rule, model (and version) and region that was approved earlier
 * in the log, was not rejected, expired or revoked before the decision, and had not reached its expiry at the
 * decision's time. `fromStart`: the entries begin at sequence number 0, so a waiver with no approval among
 * them never had one; otherwise its approval may lie before them, and the finding is left unverified unless
 * `cited` holds that waiver's entries: entries from before them (proven as they are), of which only waiver
 * entries are read.
 */
export function auditWaivers(
  entries: readonly RecordedEntry[],
  { fromStart, cited = [] }: { fromStart: boolean; cited?: readonly RecordedEntry[] },
): EntryAudit {
  const failures: { seq: number; message: string }[] = [];
  const waivers = new Map<string, WaiverHistory>();
  let checked = 0;
  let approvedBefore = 0;
  let approvedInCited = 0;
  let byHashOnly = 0;
  const citedWaivers = new Set<string>();
  const earlier = inSequence(cited).filter(({ entry }) => String(entry.type).startsWith('waiver.'));
  for (const { entry } of earlier) citedWaivers.add(String(entry.waiver_id));
  for (const { seq, entry } of [...earlier, ...inSequence(entries)]) {
    const fail = (message: string) => failures.push({ seq, message });
    const type = String(entry.type);
    if (type.startsWith('waiver.')) {
      const id = String(entry.waiver_id);
      let history = waivers.get(id);
      if (!history) waivers.set(id, (history = {}));
      Object.assign(history, {
        rule: entry.rule,
        model: entry.model,
        version: entry.version,
        region: entry.region,
        expiresAt: entry.expires_at,
      });
      const by = subjectOf(entry.actor);
      if (type === 'waiver.requested') history.requestedBy = String(by);
      else if (type === 'waiver.approved') {
        if (history.requestedBy !== undefined && mayBeSamePerson(String(by), history.requestedBy))
          fail(`waiver ${id} was approved by ${String(by)}, who requested it (four eyes)`);
        const role = isObject(entry.actor) ? String(entry.actor.role) : 'no one';
        if (role !== WAIVER_APPROVER_ROLE)
          fail(`waiver ${id} was approved by a ${role}, not a ${WAIVER_APPROVER_ROLE}`);
        if (history.ended)
          fail(
            `waiver ${id} was approved after it was ${stateOf(history.ended.type)} at seq ${history.ended.seq}`,
          );
        history.approvedAt = seq;
      } else history.ended ??= { seq, type };
      continue;
    }
    if (type !== 'decision') continue;
    if (!isObject(entry.result)) {
      const summary = entry.result_summary;
      if (isObject(summary) && isObject(summary.waived) && Object.keys(summary.waived).length > 0)
        byHashOnly++;
      continue;
    }
    const waived = Array.isArray(entry.result.waived) ? entry.result.waived : [];
    const model = isObject(entry.subject) ? entry.subject.model : undefined;
    const version = isObject(entry.subject) ? entry.subject.version : undefined;
    for (const finding of waived) {
      checked++;
      const id = isObject(finding) ? String(finding.waiver_id) : 'undefined';
      const history = waivers.get(id);
      if (history?.approvedAt === undefined) {
        if (fromStart || history !== undefined)
          fail(`decision relies on waiver ${id}, never approved before it`);
        else approvedBefore++;
        continue;
      }
      if (citedWaivers.has(id)) approvedInCited++;
      if (history.ended && history.ended.seq < seq)
        fail(`decision relies on waiver ${id}, ${stateOf(history.ended.type)} at seq ${history.ended.seq}`);
      if (Date.parse(String(entry.at)) >= Date.parse(String(history.expiresAt)))
        fail(
          `decision at ${String(entry.at)} relies on waiver ${id}, which expired at ${String(history.expiresAt)}`,
        );
      const rule = isObject(finding) ? finding.rule : undefined;
      // A waiver entry without a version covers every version of its model.
      if (
        history.rule !== rule ||
        history.model !== model ||
        (history.version !== undefined && history.version !== version) ||
        history.region !== entry.region
      )
        fail(
          `decision waives ${String(rule)} for ${scopeOf(model, version)} in ${String(entry.region)} under ` +
            `waiver ${id}, which covers ${String(history.rule)} for ${scopeOf(history.model, history.version)} ` +
            `in ${String(history.region)}`,
        );
    }
  }
  const unverified: string[] = [];
  if (approvedBefore > 0)
    unverified.push(
      `${approvedBefore} waived findings cite waivers approved before these entries, and the bundle cites none of their entries: verify a bundle from seq 0 to check them`,
    );
  if (approvedInCited > 0)
    unverified.push(
      `${approvedInCited} waived findings were checked against waiver entries the bundle cites from before its range: only a bundle from seq 0 shows that it cites all of them`,
    );
  if (byHashOnly > 0)
    unverified.push(
      `waived findings of ${byHashOnly} decisions recorded by hash (result_sha256): the entries do not list them`,
    );
  return { checked, failures, unverified };
}
