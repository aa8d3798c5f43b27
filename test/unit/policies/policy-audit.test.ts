import { describe, expect, it } from 'vitest';
import { activationsToCite, auditPolicies, type RecordedEntry } from '../../../policies/index.ts';

const [good, next, broken] = ['a', 'b', 'c'].map((x) => x.repeat(40)) as [string, string, string];
const bundleOf = (commit: string) => commit.slice(0, 1).repeat(64);

const activated = (commit: string, bundle = bundleOf(commit)) => ({
  type: 'policy.activated',
  commit,
  bundle_sha256: bundle,
  author: 'Carol <carol@example.org>',
  committer: 'Carol <carol@example.org>',
  branch: 'main',
  at: '2026-11-23T12:00:00.000Z',
});
const rejected = (commit: string) => ({
  type: 'policy.rejected',
  commit,
  author: 'Dan <dan@example.org>',
  committer: 'Dan <dan@example.org>',
  reason: 'FAIL: 1/88',
  at: '2026-11-23T12:00:00.000Z',
});
const decision = (id: string, commit: string, bundle = bundleOf(commit)) => ({
  type: 'decision',
  decision_id: id,
  region: 'eu',
  stage: 'deployment',
  subject: { model: 'credit-scoring', version: '1.0.0' },
  policy: { revision: commit, bundle_sha256: bundle },
  at: '2026-11-23T12:30:00.000Z',
  result: { allow: true, deny: [], warn: [], obligations: [], waived: [] },
});

/** Entries numbered from `from` in the order given. */
const log = (from: number, ...entries: object[]): RecordedEntry[] =>
  entries.map((entry, i) => ({ seq: from + i, entry }));

describe('auditPolicies', () => {
  it('passes decisions made under a bundle whose activation comes before them, an earlier one included', () => {
    const audit = auditPolicies(
      log(
        0,
        activated(good),
        decision('d-1', good),
        activated(next),
        // In flight when the next bundle was activated: it finished on the one before, as the engine allows.
        decision('d-2', good),
        decision('d-3', next),
        // Recorded out of order in the bundle: the audit goes by sequence number.
      ).reverse(),
      { fromStart: true },
    );
    expect(audit).toEqual({ checked: 3, failures: [], unverified: [] });
  });

  it('fails a decision before its activation, under a refused commit, or under another bundle of its commit', () => {
    const audit = auditPolicies(
      log(
        0,
        decision('d-early', good),
        activated(good),
        rejected(broken),
        decision('d-refused', broken),
        decision('d-other-bundle', good, 'f'.repeat(64)),
        { type: 'decision', decision_id: 'd-no-policy' },
      ),
      { fromStart: true },
    );
    expect(audit.checked).toBe(4);
    expect(audit.failures).toEqual([
      {
        seq: 0,
        message: `decision d-early was made under commit ${good} (bundle ${bundleOf(good)}), whose activation is not recorded before it`,
      },
      {
        seq: 3,
        message: `decision d-refused was made under commit ${broken} (bundle ${bundleOf(broken)}), whose activation is not recorded before it; the commit was refused at seq 2`,
      },
      {
        seq: 4,
        message: `decision d-other-bundle was made under commit ${good} (bundle ${'f'.repeat(64)}), whose activation is not recorded before it`,
      },
      { seq: 5, message: 'decision d-no-policy names no policy commit and bundle' },
    ]);
  });

  it('leaves unverified, not failed, a decision whose activation may precede a bundle that starts later', () => {
    // The commit refused within the range may still have been activated before it, and serve.
    const audit = auditPolicies(
      log(100, rejected(good), decision('d-1', good), activated(next), decision('d-2', next)),
      {
        fromStart: false,
      },
    );
    expect(audit).toEqual({
      checked: 2,
      failures: [],
      unverified: [
        '1 decisions cite policy bundles activated before these entries, and the bundle cites no such activation: verify a bundle from seq 0 to check them',
      ],
    });
  });

  it("checks a later bundle's decisions against the earlier activations it cites, and reads nothing else of them", () => {
    const range = log(100, decision('d-1', good), decision('d-2', next));
    const cited = log(
      40,
      activated(good),
      // A decision among the cited entries is context, not one of the bundle's to check.
      decision('d-cited', broken),
    );
    expect(auditPolicies(range, { fromStart: false, cited })).toEqual({
      checked: 2,
      failures: [],
      unverified: [
        '1 decisions cite policy bundles activated before these entries, and the bundle cites no such activation: verify a bundle from seq 0 to check them',
      ],
    });
  });

  it('reads hostile entries without throwing', () => {
    const hostile = [null, 7, { seq: 'x', entry: {} }, { seq: 1, entry: null }, { seq: 2, entry: [] }];
    expect(auditPolicies(hostile as unknown as RecordedEntry[], { fromStart: true })).toEqual({
      checked: 0,
      failures: [],
      unverified: [],
    });
  });
});

describe('activationsToCite', () => {
  it('cites the latest earlier activation of each policy a decision relies on and the range does not activate', () => {
    const earlier = log(
      0,
      activated(good),
      activated(next),
      rejected(broken),
      // The same commit and bundle activated again (restored after a refusal): the latest one is cited.
      activated(good),
      activated(broken, 'f'.repeat(64)),
    );
    const range = log(
      10,
      decision('d-1', good),
      activated(next),
      decision('d-2', next),
      decision('d-3', broken, 'e'.repeat(64)),
      { type: 'decision', decision_id: 'd-no-policy' },
    );
    expect(activationsToCite(range, earlier)).toEqual([3]);
  });

  it("cites an activation for a decision recorded before the range's own activation of its policy", () => {
    const range = log(10, decision('d-1', next), activated(next), decision('d-2', next));
    expect(activationsToCite(range, log(0, activated(next)))).toEqual([0]);
  });

  it('cites nothing when there is nothing to cite', () => {
    expect(activationsToCite(log(10, decision('d-1', good)), [])).toEqual([]);
    expect(activationsToCite([], log(0, activated(good)))).toEqual([]);
  });
});
