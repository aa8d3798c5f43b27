import { describe, expect, it } from 'vitest';
import { auditWaivers, waiversToCite, type RecordedEntry } from '../../../policies/index.ts';

const alice = { subject: 'alice', role: 'compliance_officer' };
const bob = { subject: 'bob', role: 'compliance_officer' };

const waiver = (type: string, actor: object | null, overrides: object = {}) => ({
  type,
  waiver_id: 'w-1',
  rule: 'SEC-FINDING',
  model: 'credit-scoring',
  region: 'eu',
  reason: 'scanner false positive',
  expires_at: '2026-12-31T00:00:00.000Z',
  status: type.slice('waiver.'.length),
  note: null,
  actor,
  at: '2026-11-23T12:00:00.000Z',
  ...overrides,
});

const decision = (at: string, waived: object[] = [{ rule: 'SEC-FINDING', waiver_id: 'w-1' }]) => ({
  type: 'decision',
  decision_id: `d-${at}`,
  region: 'eu',
  stage: 'deployment',
  subject: { model: 'credit-scoring', version: '1.0.0' },
  at,
  result: { allow: true, deny: [], warn: [], obligations: [], waived },
});

/** Entries numbered from `from` in the order given. */
const log = (from: number, ...entries: object[]): RecordedEntry[] =>
  entries.map((entry, i) => ({ seq: from + i, entry }));

describe('auditWaivers', () => {
  it('passes decisions that rely on a waiver approved by a second officer and still in force', () => {
    const audit = auditWaivers(
      log(
        0,
        waiver('waiver.requested', alice),
        decision('2026-11-23T12:30:00.000Z', []),
        waiver('waiver.approved', bob),
        decision('2026-11-24T00:00:00.000Z'),
        // Recorded out of order in the bundle: the audit goes by sequence number.
      ).reverse(),
      { fromStart: true },
    );
    expect(audit).toEqual({ checked: 1, failures: [], unverified: [] });
  });

  it('fails a decision recorded after the revocation, expiry or before the approval of its waiver', () => {
    const audit = auditWaivers(
      log(
        0,
        waiver('waiver.requested', alice),
        decision('2026-11-23T13:00:00.000Z'),
        waiver('waiver.approved', bob),
        decision('2026-11-24T00:00:00.000Z'),
        waiver('waiver.revoked', alice),
        decision('2026-11-25T00:00:00.000Z'),
        decision('2027-01-02T00:00:00.000Z'),
      ),
      { fromStart: true },
    );
    expect(audit.checked).toBe(4);
    expect(audit.failures).toEqual([
      { seq: 1, message: 'decision relies on waiver w-1, never approved before it' },
      { seq: 5, message: 'decision relies on waiver w-1, revoked at seq 4' },
      { seq: 6, message: 'decision relies on waiver w-1, revoked at seq 4' },
      {
        seq: 6,
        message:
          'decision at 2027-01-02T00:00:00.000Z relies on waiver w-1, which expired at 2026-12-31T00:00:00.000Z',
      },
    ]);
  });

  it('fails an approval by the requester or by another role, and a waiver stretched to another rule', () => {
    const audit = auditWaivers(
      log(
        10,
        waiver('waiver.requested', alice),
        waiver('waiver.approved', alice),
        waiver('waiver.requested', alice, { waiver_id: 'w-2' }),
        waiver('waiver.approved', { subject: 'pipeline', role: 'ci' }, { waiver_id: 'w-2' }),
        decision('2026-11-24T00:00:00.000Z', [{ rule: 'FAIR-IMPACT-RATIO', waiver_id: 'w-1' }]),
      ),
      { fromStart: false },
    );
    expect(audit.failures.map((f) => [f.seq, f.message])).toEqual([
      [11, 'waiver w-1 was approved by alice, who requested it (four eyes)'],
      [13, 'waiver w-2 was approved by a ci, not a compliance_officer'],
      [
        14,
        'decision waives FAIR-IMPACT-RATIO for credit-scoring 1.0.0 in eu under waiver w-1, which covers SEC-FINDING for credit-scoring in eu',
      ],
    ]);
  });

  it('holds a waiver for one model version to that version', () => {
    const oneVersion = { version: '1.0.0' };
    const audit = auditWaivers(
      log(
        0,
        waiver('waiver.requested', alice, oneVersion),
        waiver('waiver.approved', bob, oneVersion),
        decision('2026-11-24T00:00:00.000Z'),
        { ...decision('2026-11-25T00:00:00.000Z'), subject: { model: 'credit-scoring', version: '2.0.0' } },
      ),
      { fromStart: true },
    );
    expect(audit.checked).toBe(2);
    expect(audit.failures).toEqual([
      {
        seq: 3,
        message:
          'decision waives SEC-FINDING for credit-scoring 2.0.0 in eu under waiver w-1, which covers SEC-FINDING for credit-scoring 1.0.0 in eu',
      },
    ]);
  });

  it('leaves unverified what the entries cannot show, rather than passing or failing it', () => {
    const byHash = {
      ...decision('2026-11-24T00:00:00.000Z'),
      result: undefined,
      result_sha256: 'a'.repeat(64),
      result_summary: { allow: true, deny: {}, warn: {}, obligations: {}, waived: { 'SEC-FINDING': 1 } },
    };
    // The range starts after the waiver's approval: it may well have had one.
    const audit = auditWaivers(log(40, decision('2026-11-24T00:00:00.000Z'), byHash), { fromStart: false });
    expect(audit.failures).toEqual([]);
    expect(audit.unverified).toEqual([
      '1 waived findings cite waivers approved before these entries, and the bundle cites none of their entries: verify a bundle from seq 0 to check them',
      'waived findings of 1 decisions recorded by hash (result_sha256): the entries do not list them',
    ]);
    // From the log's first entry, a waiver never approved in it was never approved.
    expect(auditWaivers(log(0, decision('2026-11-24T00:00:00.000Z')), { fromStart: true }).failures).toEqual([
      { seq: 0, message: 'decision relies on waiver w-1, never approved before it' },
    ]);
  });

  it('checks findings against the waiver entries a later bundle cites, saying what only seq 0 shows', () => {
    const cited = log(3, waiver('waiver.requested', alice), waiver('waiver.approved', bob));
    const audit = auditWaivers(log(40, decision('2026-11-24T00:00:00.000Z')), { fromStart: false, cited });
    expect(audit).toEqual({
      checked: 1,
      failures: [],
      unverified: [
        '1 waived findings were checked against waiver entries the bundle cites from before its range: only a bundle from seq 0 shows that it cites all of them',
      ],
    });
    // Cited entries are read as the range's are: a revocation before the range, a self-approval.
    const revoked = log(
      3,
      waiver('waiver.requested', alice),
      waiver('waiver.approved', bob),
      waiver('waiver.revoked', alice),
    );
    expect(
      auditWaivers(log(40, decision('2026-11-24T00:00:00.000Z')), { fromStart: false, cited: revoked })
        .failures,
    ).toEqual([{ seq: 40, message: 'decision relies on waiver w-1, revoked at seq 5' }]);
    const selfApproved = log(3, waiver('waiver.requested', alice), waiver('waiver.approved', alice));
    expect(
      auditWaivers(log(40, decision('2026-11-24T00:00:00.000Z')), { fromStart: false, cited: selfApproved })
        .failures,
    ).toEqual([{ seq: 4, message: 'waiver w-1 was approved by alice, who requested it (four eyes)' }]);
    const approvedByAliasCase = log(
      3,
      waiver('waiver.requested', alice),
      waiver('waiver.approved', { ...alice, subject: ' Alice' }),
    );
    expect(
      auditWaivers(log(40, decision('2026-11-24T00:00:00.000Z')), {
        fromStart: false,
        cited: approvedByAliasCase,
      }).failures,
    ).toEqual([{ seq: 4, message: 'waiver w-1 was approved by  Alice, who requested it (four eyes)' }]);
    // A request cited without its approval: the waiver was never approved, as far as the bundle shows.
    expect(
      auditWaivers(log(40, decision('2026-11-24T00:00:00.000Z')), {
        fromStart: false,
        cited: log(3, waiver('waiver.requested', alice)),
      }).failures,
    ).toEqual([{ seq: 40, message: 'decision relies on waiver w-1, never approved before it' }]);
    // A decision among the cited entries is context, not one of the bundle's to check.
    expect(
      auditWaivers([], { fromStart: false, cited: log(3, decision('2026-11-24T00:00:00.000Z')) }).checked,
    ).toBe(0);
  });
});

describe('waiversToCite', () => {
  it('names the waivers findings rely on whose request is not among the entries', () => {
    const entries = log(
      40,
      decision('2026-11-24T00:00:00.000Z', [
        { rule: 'SEC-FINDING', waiver_id: 'w-1' },
        { rule: 'FAIR-DP-GAP', waiver_id: 'w-3' },
      ]),
      waiver('waiver.requested', alice, { waiver_id: 'w-2' }),
      decision('2026-11-25T00:00:00.000Z', [
        { rule: 'SEC-FINDING', waiver_id: 'w-2' },
        'hostile' as unknown as object,
        { waiver_id: 7 },
      ]),
      { type: 'decision', result: null },
    );
    expect(waiversToCite(entries)).toEqual(['w-1', 'w-3']);
    expect(waiversToCite([])).toEqual([]);
  });
});
