import { inSequence, isObject, type EntryAudit, type RecordedEntry } from '../entry-audit.ts';
import { WAIVER_APPROVER_ROLE } from './waiver-store.ts';

interface WaiverHistory {
  rule?: unknown;
  model?: unknown;
  region?: unknown;
  expiresAt?: unknown;
  requestedBy?: string;
  approvedAt?: number;
  ended?: { readonly seq: number; readonly type: string };
}

const subjectOf = (actor: unknown) => (isObject(actor) ? actor.subject : undefined);
/** `revoked` of `waiver.revoked`. */
const stateOf = (type: string) => type.slice('waiver.'.length);

/**
 * What an auditor can check offline of the waivers behind a region's decisions, from its ledger entries in
 * sequence order: each approval was made by a compliance officer other than the requester (four eyes), and
 * each waived finding of a decision cites a waiver for its rule, model and region that was approved earlier
 * in the log, was not rejected, expired or revoked before the decision, and had not reached its expiry at the
 * decision's time. `fromStart`: the entries begin at sequence number 0, so a waiver with no approval among
 * them never had one; otherwise its approval may lie before them, and the finding is left unverified.
 */
export function auditWaivers(
  entries: readonly RecordedEntry[],
  { fromStart }: { fromStart: boolean },
): EntryAudit {
  const failures: { seq: number; message: string }[] = [];
  const waivers = new Map<string, WaiverHistory>();
  let checked = 0;
  let approvedBefore = 0;
  let byHashOnly = 0;
  for (const { seq, entry } of inSequence(entries)) {
    const fail = (message: string) => failures.push({ seq, message });
    const type = String(entry.type);
    if (type.startsWith('waiver.')) {
      const id = String(entry.waiver_id);
      let history = waivers.get(id);
      if (!history) waivers.set(id, (history = {}));
      Object.assign(history, {
        rule: entry.rule,
        model: entry.model,
        region: entry.region,
        expiresAt: entry.expires_at,
      });
      const by = subjectOf(entry.actor);
      if (type === 'waiver.requested') history.requestedBy = String(by);
      else if (type === 'waiver.approved') {
        if (history.requestedBy !== undefined && by === history.requestedBy)
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
      if (history.ended && history.ended.seq < seq)
        fail(`decision relies on waiver ${id}, ${stateOf(history.ended.type)} at seq ${history.ended.seq}`);
      if (Date.parse(String(entry.at)) >= Date.parse(String(history.expiresAt)))
        fail(
          `decision at ${String(entry.at)} relies on waiver ${id}, which expired at ${String(history.expiresAt)}`,
        );
      const rule = isObject(finding) ? finding.rule : undefined;
      if (history.rule !== rule || history.model !== model || history.region !== entry.region)
        fail(
          `decision waives ${String(rule)} for ${String(model)} in ${String(entry.region)} under waiver ${id}, ` +
            `which covers ${String(history.rule)} for ${String(history.model)} in ${String(history.region)}`,
        );
    }
  }
  const unverified: string[] = [];
  if (approvedBefore > 0)
    unverified.push(
      `${approvedBefore} waived findings cite waivers approved before these entries: verify a bundle from seq 0 to check them`,
    );
  if (byHashOnly > 0)
    unverified.push(
      `waived findings of ${byHashOnly} decisions recorded by hash (result_sha256): the entries do not list them`,
    );
  return { checked, failures, unverified };
}
