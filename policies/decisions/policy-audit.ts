import { inSequence, isObject, type EntryAudit, type RecordedEntry } from '../entry-audit.ts';

const policyKey = (commit: unknown, bundle: unknown): string => JSON.stringify([commit, bundle]);

/**
 * The earlier entries an audit bundle of `entries` should cite, so that auditPolicies can check its decisions
 * without the whole log: for each policy (commit and bundle) a decision was made under with no activation among
 * the entries before it, the latest of `activations` (the log's policy.activated entries before the range)
 * that activated it. Their seqs, ascending.
 */
export function activationsToCite(
  entries: readonly RecordedEntry[],
  activations: readonly RecordedEntry[],
): number[] {
  const activatedHere = new Set<string>();
  const wanted = new Set<string>();
  for (const { entry } of inSequence(entries)) {
    if (entry.type === 'policy.activated') activatedHere.add(policyKey(entry.commit, entry.bundle_sha256));
    else if (entry.type === 'decision' && isObject(entry.policy)) {
      const key = policyKey(entry.policy.revision, entry.policy.bundle_sha256);
      if (!activatedHere.has(key)) wanted.add(key);
    }
  }
  const latest = new Map<string, number>();
  for (const { seq, entry } of inSequence(activations)) {
    const key = policyKey(entry.commit, entry.bundle_sha256);
    if (entry.type === 'policy.activated' && wanted.has(key)) latest.set(key, seq);
  }
  return [...latest.values()].sort((a, b) => a - b);
}

/**
 * What an auditor can check offline of the policies behind a region's decisions, from its ledger entries in
 * sequence order: each decision was made under a bundle (commit and bundle hash) whose policy.activated entry
 * comes before it in the log, since the service records an activation before the bundle serves. A decision
 * under a refused commit, or under a bundle no one recorded activating, fails. `fromStart`: the entries begin
 * at sequence number 0; otherwise the activation may lie before them, and the decision is left unverified
 * unless `cited` holds it: entries from before them (proven as they are), of which only policy activations
 * are read.
 */
export function auditPolicies(
  entries: readonly RecordedEntry[],
  { fromStart, cited = [] }: { fromStart: boolean; cited?: readonly RecordedEntry[] },
): EntryAudit {
  const failures: { seq: number; message: string }[] = [];
  const activated = new Set<string>();
  const refused = new Map<string, number>();
  let checked = 0;
  let activatedBefore = 0;
  const isActivation = (entry: Record<string, unknown>): boolean => entry.type === 'policy.activated';
  for (const { entry } of inSequence(cited))
    if (isActivation(entry)) activated.add(policyKey(entry.commit, entry.bundle_sha256));
  for (const { seq, entry } of inSequence(entries)) {
    if (isActivation(entry)) activated.add(policyKey(entry.commit, entry.bundle_sha256));
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
    if (activated.has(policyKey(revision, bundle))) continue;
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
          `${activatedBefore} decisions cite policy bundles activated before these entries, and the bundle cites no such activation: verify a bundle from seq 0 to check them`,
        ]
      : [];
  return { checked, failures, unverified };
}
