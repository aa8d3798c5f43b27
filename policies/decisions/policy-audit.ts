import { inSequence, isObject, type EntryAudit, type RecordedEntry } from '../entry-audit.ts';

/**
 * What an auditor can check offline of the policies behind a region's decisions, from its ledger entries in
 * sequence order: each decision was made under a bundle (commit and bundle hash) whose policy.activated entry
 * comes before it in the log, since the service records an activation before the bundle serves. A decision
 * under a refused commit, or under a bundle no one recorded activating, fails. `fromStart`: the entries begin
 * at sequence number 0; otherwise the activation may lie before them, and the decision is left unverified.
 */
export function auditPolicies(
  entries: readonly RecordedEntry[],
  { fromStart }: { fromStart: boolean },
): EntryAudit {
  const failures: { seq: number; message: string }[] = [];
  const activated = new Set<string>();
  const refused = new Map<string, number>();
  let checked = 0;
  let activatedBefore = 0;
  const key = (commit: unknown, bundle: unknown) => JSON.stringify([commit, bundle]);
  for (const { seq, entry } of inSequence(entries)) {
    if (entry.type === 'policy.activated') activated.add(key(entry.commit, entry.bundle_sha256));
    else if (entry.type === 'policy.rejected') refused.set(String(entry.commit), seq);
    if (entry.type !== 'decision') continue;
    checked++;
    const policy = isObject(entry.policy) ? entry.policy : {};
    const { revision, bundle_sha256: bundle } = policy;
    if (typeof revision !== 'string' || typeof bundle !== 'string') {
      failures.push({
        seq,
        message: `decision ${String(entry.decision_id)} names no policy commit and bundle`,
      });
      continue;
    }
    if (activated.has(key(revision, bundle))) continue;
    // Even a commit refused among these entries may have been activated before them, and still serve.
    if (!fromStart) {
      activatedBefore++;
      continue;
    }
    const refusal = refused.get(revision);
    failures.push({
      seq,
      message:
        `decision ${String(entry.decision_id)} was made under commit ${revision} (bundle ${bundle}), ` +
        'whose activation is not recorded before it' +
        (refusal === undefined ? '' : `; the commit was refused at seq ${refusal}`),
    });
  }
  const unverified =
    activatedBefore > 0
      ? [
          `${activatedBefore} decisions cite policy bundles activated before these entries: verify a bundle from seq 0 to check them`,
        ]
      : [];
  return { checked, failures, unverified };
}
