import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOpenApi, operationsOf } from '../../../server/openapi.ts';
import { verifyBundleFile } from '../../support/cli.ts';
import { startTestService, type TestService } from '../../support/service.ts';

// The policy samples are written for this instant (their evidence ages are counted from it).
const NOW = new Date('2026-11-23T12:00:00Z');
const sample = (file: string) =>
  JSON.parse(readFileSync(new URL(`../../../policies/${file}`, import.meta.url), 'utf8'));
const FOUR_FIFTHS = sample('deployment/samples/denied/us-impact-ratio-below-four-fifths.json');
const ALLOWED = sample('deployment/samples/allowed/eu-credit-scoring-high-risk.json');
const contract = operationsOf(loadOpenApi());
/** Whether the contract declares `status` among the answers of the operation. */
const declares = (operationId: string, status: number) =>
  String(status) in
  (contract.find((o) => o.operation.operationId === operationId)!.operation.responses as object);

describe('decisions through the API', () => {
  let service: TestService;
  let ci: string;
  let officerA: string;
  let officerB: string;
  let auditor: string;
  const call = (method: 'GET' | 'POST', url: string, token: string, payload?: object) =>
    service.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, payload });
  /** A waiver of `rule` for the four-fifths sample's model in us, requested by officer A. */
  const requestWaiver = async (rule: string, reason: string): Promise<{ id: string }> =>
    (
      await call('POST', '/v1/waivers', officerA, {
        rule,
        model: FOUR_FIFTHS.subject.model,
        region: 'us',
        reason,
        expires_at: '2027-01-31T00:00:00Z',
      })
    ).json();

  beforeAll(async () => {
    service = await startTestService({}, { clock: () => NOW });
    const token = async (role: 'ci' | 'compliance_officer' | 'auditor', name: string) =>
      (await service.tokens.create({ role, name, createdBy: 'test' })).token;
    ci = await token('ci', 'pipeline');
    officerA = await token('compliance_officer', 'officer a');
    officerB = await token('compliance_officer', 'officer b');
    auditor = await token('auditor', 'auditor');
  });
  afterAll(() => service?.close());

  it('activates the policies of this checkout and says so', async () => {
    const ready = (await service.app.inject('/readyz')).json();
    expect(ready.checks.policies).toBe('ok');
    const status = (await call('GET', '/v1/policies/status', auditor)).json();
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    expect(status.active.revision).toBe(head);
    expect(status.active.bundle_sha256).toMatch(/^[0-9a-f]{64}$/);
    await service.ledger.integrate('us');
    const entry = (await call('GET', '/v1/ledger/us/entries/0', auditor)).json();
    expect(entry.entry).toMatchObject({
      type: 'policy.activated',
      commit: head,
      bundle_sha256: status.active.bundle_sha256,
    });
  });

  it('allows a compliant deployment and records the decision in the ledger', async () => {
    const r = await call('POST', '/v1/decisions', ci, ALLOWED);
    expect(r.statusCode).toBe(201);
    const receipt = r.json();
    expect(receipt.allow).toBe(true);
    expect(receipt.deny).toEqual([]);
    expect(receipt.obligations.map((o: { type: string }) => o.type)).toContain('human_review');
    expect(receipt.ledger).toMatchObject({
      region: 'eu',
      leaf_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    await service.ledger.integrate('eu');
    const entry = (await call('GET', `/v1/ledger/eu/entries/${receipt.ledger.seq}`, auditor)).json();
    expect(entry.entry).toMatchObject({
      type: 'decision',
      decision_id: receipt.decision_id,
      policy: receipt.policy,
      actor: { role: 'ci' },
      input_sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const stored = await call('GET', `/v1/decisions/${receipt.decision_id}`, auditor);
    expect(stored.statusCode).toBe(200);
    expect(stored.json()).toMatchObject({
      decision_id: receipt.decision_id,
      allow: true,
      policy: receipt.policy,
      ledger: receipt.ledger,
    });
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect((await call('GET', `/v1/decisions/${unknown}`, auditor)).statusCode).toBe(404);
    const replay = (await call('POST', `/v1/decisions/${receipt.decision_id}/replay`, auditor)).json();
    expect(replay).toMatchObject({
      matches: true,
      input_sha256_matches: true,
      stored_record_matches_ledger: true,
      ledger: { region: receipt.ledger.region, seq: receipt.ledger.seq },
    });
  });

  it('denies an impact ratio below four-fifths, then allows it under an approved waiver', async () => {
    const denied = (await call('POST', '/v1/decisions', ci, FOUR_FIFTHS)).json();
    expect(denied.allow).toBe(false);
    const rule = denied.deny.find((v: { rule: string }) => v.rule === 'FAIR-IMPACT-RATIO');
    expect(rule).toMatchObject({
      severity: expect.any(String),
      message: expect.stringContaining('impact ratio'),
    });

    const typo = await call('POST', '/v1/waivers', officerA, {
      rule: 'FAIR-IMPACT-RATO',
      model: FOUR_FIFTHS.subject.model,
      region: 'us',
      reason: 'Remediated model ships next sprint; interim human review of every adverse outcome.',
      expires_at: '2027-01-31T00:00:00Z',
    });
    expect(typo.statusCode).toBe(400);
    expect(typo.json()).toMatchObject({ code: 'WAIVER_INVALID', field: 'rule' });
    const requested = await call('POST', '/v1/waivers', officerA, {
      rule: 'FAIR-IMPACT-RATIO',
      model: FOUR_FIFTHS.subject.model,
      region: 'us',
      reason: 'Remediated model ships next sprint; interim human review of every adverse outcome.',
      expires_at: '2027-01-31T00:00:00Z',
    });
    expect(requested.statusCode).toBe(201);
    const waiver = requested.json();
    expect(waiver.status).toBe('requested');
    expect((await call('POST', `/v1/waivers/${waiver.id}/approve`, officerA, {})).statusCode).toBe(403);
    const approved = await call('POST', `/v1/waivers/${waiver.id}/approve`, officerB, { note: 'four eyes' });
    expect(approved.statusCode).toBe(200);
    expect(approved.json()).toMatchObject({ status: 'approved', ledger: { region: 'us' } });

    const again = (await call('POST', '/v1/decisions', ci, FOUR_FIFTHS)).json();
    expect(again.waived.map((v: { rule: string }) => v.rule)).toContain('FAIR-IMPACT-RATIO');
    expect(again.deny.map((v: { rule: string }) => v.rule)).not.toContain('FAIR-IMPACT-RATIO');
    // The waiver covers its one rule: the sample's other denial stands, so the deployment stays denied.
    expect(denied.deny.map((v: { rule: string }) => v.rule).sort()).toEqual([
      'FAIR-IMPACT-RATIO',
      'PERF-ACCURACY-MIN',
    ]);
    expect(again.allow).toBe(false);
    expect(again.deny.map((v: { rule: string }) => v.rule)).toEqual(['PERF-ACCURACY-MIN']);
  });

  it('refuses bad input with 400 naming the field, and appends nothing', async () => {
    await service.ledger.integrate('eu');
    const before = (await service.ledger.reader.treeHead('eu')).size;
    const unknownRegion = await call('POST', '/v1/decisions', ci, { ...ALLOWED, region: 'atlantis' });
    expect(unknownRegion.statusCode).toBe(400);
    expect(unknownRegion.json()).toMatchObject({ code: 'POLICY_REGION_UNKNOWN', field: 'region' });
    const badEvidence = await call('POST', '/v1/decisions', ci, {
      ...ALLOWED,
      evidence: { ...ALLOWED.evidence, rows: 'many' },
    });
    expect(badEvidence.statusCode).toBe(400);
    expect(badEvidence.json()).toMatchObject({
      field: 'evidence.rows',
      message: expect.stringContaining('evidence.rows'),
    });
    const badStage = await call('POST', '/v1/decisions', ci, { ...ALLOWED, stage: 'bogus' });
    expect(badStage.json()).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED', field: 'stage' });
    // The region is judged before the evaluation is looked up.
    const { evidence: _evidence, ...withoutEvidence } = ALLOWED;
    const both = await call('POST', '/v1/decisions', ci, {
      ...withoutEvidence,
      region: 'atlantis',
      evaluation_id: 'eval_0123456789abcdef',
    });
    expect(both.json()).toMatchObject({ statusCode: 400, code: 'POLICY_REGION_UNKNOWN', field: 'region' });
    const unknownEvaluation = await call('POST', '/v1/decisions', ci, {
      ...withoutEvidence,
      evaluation_id: 'eval_0123456789abcdef',
    });
    expect(unknownEvaluation.json()).toMatchObject({ statusCode: 400, field: 'evaluation_id' });
    const card = { ...ALLOWED.model_card };
    delete card.owner;
    const missingCard = await call('POST', '/v1/decisions', ci, { ...ALLOWED, model_card: card });
    expect(missingCard.statusCode).toBe(400);
    expect(missingCard.json().field).toBe('model_card.owner');
    expect(missingCard.json().message).toContain('model_card.owner');
    await service.ledger.integrate('eu');
    expect((await service.ledger.reader.treeHead('eu')).size).toBe(before);
  });

  it('lists decisions for auditors, and refuses an auditor deciding', async () => {
    const listed = (await call('GET', '/v1/decisions?region=us', auditor)).json();
    expect(listed.decisions.length).toBe(2);
    // Page by page, newest first: the next page follows the last decision of the one before.
    const [newest, older] = listed.decisions as { decision_id: string }[];
    const first = (await call('GET', '/v1/decisions?region=us&limit=1', auditor)).json();
    expect(first.decisions.map((d: { decision_id: string }) => d.decision_id)).toEqual([newest!.decision_id]);
    const next = (
      await call('GET', `/v1/decisions?region=us&limit=1&after=${newest!.decision_id}`, auditor)
    ).json();
    expect(next.decisions.map((d: { decision_id: string }) => d.decision_id)).toEqual([older!.decision_id]);
    const last = await call('GET', `/v1/decisions?region=us&after=${older!.decision_id}`, auditor);
    expect(last.json().decisions).toEqual([]);
    const unknown = await call('GET', '/v1/decisions?after=no-such-decision', auditor);
    expect(unknown.json()).toMatchObject({ statusCode: 400, field: 'after' });
    // JSON Schema's date-time admits a leap second, which no Date can hold: a 400, not a failed query.
    const leap = await call('GET', '/v1/decisions?since=2026-12-31T23:59:60Z', auditor);
    expect(leap.json()).toMatchObject({ statusCode: 400, field: 'since' });
    const simulated = await call('POST', '/v1/policies/simulate', auditor, {
      ref: 'HEAD',
      since: '2026-12-31T23:59:60Z',
    });
    expect(simulated.json()).toMatchObject({ statusCode: 400, field: 'since' });
    // Four-digit years with any offset are date-times too, but year 0 (in UTC) is not one the database holds,
    // and year 10000 has no RFC 3339 form: both a 400 naming the field, not a failed query.
    for (const since of ['0000-01-01T00:00:00Z', '0001-01-01T00:00:00+01:00', '9999-12-31T23:59:59-01:00']) {
      const listed = await call('GET', `/v1/decisions?since=${encodeURIComponent(since)}`, auditor);
      expect(listed.json()).toMatchObject({
        statusCode: 400,
        code: 'BAD_REQUEST',
        field: 'since',
        message: expect.stringContaining('outside the times this service records'),
      });
      expect(declares('listDecisions', listed.statusCode)).toBe(true);
      const simulating = await call('POST', '/v1/policies/simulate', auditor, { ref: 'HEAD', since });
      expect(simulating.json()).toMatchObject({ statusCode: 400, code: 'BAD_REQUEST', field: 'since' });
    }
    const earliest = await call('GET', '/v1/decisions?since=0001-01-01T00:00:00Z', auditor);
    expect(earliest.json().decisions.length).toBeGreaterThan(0);
    const badCursor = await call('GET', '/v1/decisions?after=zzz', auditor);
    expect(badCursor.json()).toMatchObject({ statusCode: 400, field: 'after' });
    expect(declares('listDecisions', badCursor.statusCode)).toBe(true);
    expect((await call('POST', '/v1/decisions', auditor, ALLOWED)).statusCode).toBe(403);
  });

  it('finds a decision or waiver by its id in upper case, as format: uuid admits', async () => {
    const [newest, older] = (await call('GET', '/v1/decisions?region=us', auditor)).json().decisions as {
      decision_id: string;
    }[];
    const upper = newest!.decision_id.toUpperCase();
    const stored = await call('GET', `/v1/decisions/${upper}`, auditor);
    expect(stored.statusCode).toBe(200);
    expect(stored.json().decision_id).toBe(newest!.decision_id);
    const replay = await call('POST', `/v1/decisions/${upper}/replay`, auditor);
    expect(replay.statusCode).toBe(200);
    expect(replay.json()).toMatchObject({ decision_id: newest!.decision_id, matches: true });
    const next = await call('GET', `/v1/decisions?region=us&after=${upper}`, auditor);
    expect(next.json().decisions.map((d: { decision_id: string }) => d.decision_id)).toEqual([
      older!.decision_id,
    ]);
    const notUuid = await call('GET', '/v1/decisions/not-a-uuid', auditor);
    expect(notUuid.json()).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
    expect(declares('getDecision', notUuid.statusCode)).toBe(true);

    const { id } = await requestWaiver(
      'DQ-MISSING-RATE',
      'The missing-value report is being regenerated after a pipeline fix.',
    );
    const rejected = await call('POST', `/v1/waivers/${id.toUpperCase()}/reject`, officerB, { note: 'no' });
    expect(rejected.statusCode).toBe(200);
    expect(rejected.json()).toMatchObject({ id, status: 'rejected' });
  });

  it('declares what approving or rejecting a waiver answers when the request is at fault', async () => {
    const { id } = await requestWaiver(
      'DQ-GROUP-COUNT',
      'Rebalanced training data lands with the next model version.',
    );
    const approve = (token: string, payload?: object) =>
      call('POST', `/v1/waivers/${id}/approve`, token, payload);
    const badNote = await approve(officerB, { note: 7 });
    expect(badNote.json()).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
    expect(declares('approveWaiver', badNote.statusCode)).toBe(true);
    const emptyJson = await service.app.inject({
      method: 'POST',
      url: `/v1/waivers/${id}/reject`,
      headers: { authorization: `Bearer ${officerB}`, 'content-type': 'application/json' },
    });
    expect(emptyJson.json()).toMatchObject({ statusCode: 400, code: 'MALFORMED_JSON' });
    expect(declares('rejectWaiver', emptyJson.statusCode)).toBe(true);
    expect((await approve(officerB, {})).statusCode).toBe(200);
    const again = await approve(officerB, {});
    expect(again.json()).toMatchObject({ statusCode: 409, code: 'WAIVER_NOT_PENDING' });
    expect(declares('approveWaiver', again.statusCode)).toBe(true);
  });

  it('revokes a waiver before its expiry, saying why; the next decision is denied again', async () => {
    const { id } = await requestWaiver(
      'PERF-ACCURACY-MIN',
      'The accuracy shortfall is accepted until the retrained model ships next sprint.',
    );
    const revoke = (token: string, payload?: object) =>
      call('POST', `/v1/waivers/${id}/revoke`, token, payload);
    const pending = await revoke(officerB, { note: 'nothing approved yet to revoke' });
    expect(pending.json()).toMatchObject({ statusCode: 409, code: 'WAIVER_NOT_ACTIVE' });
    expect(declares('revokeWaiver', pending.statusCode)).toBe(true);
    expect((await call('POST', `/v1/waivers/${id}/approve`, officerB, {})).statusCode).toBe(200);
    // With the earlier test's FAIR-IMPACT-RATIO waiver, both of the sample's denials are waived.
    const waived = (await call('POST', '/v1/decisions', ci, FOUR_FIFTHS)).json();
    expect(waived).toMatchObject({ allow: true, deny: [] });

    expect((await revoke(ci, { note: 'a pipeline cannot revoke' })).statusCode).toBe(403);
    const noNote = await revoke(officerA, {});
    expect(noNote.json()).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
    const shortNote = await revoke(officerA, { note: 'no' });
    expect(shortNote.json()).toMatchObject({ statusCode: 400, code: 'WAIVER_INVALID', field: 'note' });
    const revoked = await revoke(officerA, { note: 'Accuracy fell further in the latest monitoring run.' });
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json()).toMatchObject({
      id,
      status: 'revoked',
      revoked_by: expect.any(String),
      revoked_at: NOW.toISOString(),
      revocation_note: 'Accuracy fell further in the latest monitoring run.',
      ledger: { region: 'us' },
    });
    await service.ledger.integrate('us');
    const entry = (await call('GET', `/v1/ledger/us/entries/${revoked.json().ledger.seq}`, auditor)).json();
    expect(entry.entry).toMatchObject({ type: 'waiver.revoked', waiver_id: id, status: 'revoked' });
    const listed = (await call('GET', '/v1/waivers?region=us&status=revoked', auditor)).json().waivers;
    expect(listed.map((w: { id: string }) => w.id)).toEqual([id]);
    expect((await revoke(officerA, { note: 'and once more for luck' })).statusCode).toBe(409);

    const denied = (await call('POST', '/v1/decisions', ci, FOUR_FIFTHS)).json();
    expect(denied.allow).toBe(false);
    expect(denied.deny.map((v: { rule: string }) => v.rule)).toEqual(['PERF-ACCURACY-MIN']);
    expect(denied.waived.map((v: { rule: string }) => v.rule)).toEqual(['FAIR-IMPACT-RATIO']);
  });

  it('serves a bundle of a later range that cites the policy activation and waiver entries its decision relies on', async () => {
    const decision = (await call('POST', '/v1/decisions', ci, FOUR_FIFTHS)).json();
    expect(decision.waived.map((v: { rule: string }) => v.rule)).toEqual(['FAIR-IMPACT-RATIO']);
    const from = decision.ledger.seq;
    await service.ledger.integrate('us');
    const bundle = (await call('GET', `/v1/ledger/us/bundle?from=${from}`, auditor)).json();
    const waiverId = decision.waived[0].waiver_id;
    expect(bundle.cited.map((e: { entry: { type: string; waiver_id?: string } }) => e.entry)).toEqual([
      expect.objectContaining({ type: 'policy.activated', commit: decision.policy.revision }),
      expect.objectContaining({ type: 'waiver.requested', waiver_id: waiverId }),
      expect.objectContaining({ type: 'waiver.approved', waiver_id: waiverId }),
    ]);
    const keys = (await call('GET', '/v1/ledger/us/keys', auditor)).json();
    const verify = (b: object) => verifyBundleFile(b, path.join(service.dataDir, 'later-bundle.json'), keys);
    const { code, stdout } = await verify(bundle);
    expect(stdout).toContain(`checked ${bundle.entries.length} entries (and 3 earlier entries they cite)`);
    expect(stdout).toContain('checked 1 decisions against the policy activations before them');
    expect(stdout).toContain('checked 1 waived findings');
    expect(stdout).toContain('1 waived findings were checked against waiver entries the bundle cites');
    expect(stdout).not.toMatch(/activated before these entries|approved before these entries/);
    expect(code).toBe(0);

    // An operator citing the request but not the approval: the decision relies on a waiver never approved.
    const approval = bundle.cited.find(
      (e: { entry: { type: string } }) => e.entry.type === 'waiver.approved',
    );
    const partial = {
      ...bundle,
      cited: bundle.cited.filter((e: { seq: number }) => e.seq !== approval.seq),
      inclusion_proofs: bundle.inclusion_proofs.filter((p: { seq: number }) => p.seq !== approval.seq),
    };
    const withoutApproval = await verify(partial);
    expect(withoutApproval.stdout).toContain(
      `FAIL waiver (seq ${from}): decision relies on waiver ${waiverId}, never approved before it`,
    );
    expect(withoutApproval.code).toBe(1);
  });

  it("renders the region's quarterly report from those decisions and records it in the ledger", async () => {
    const officer = officerA;
    const bad = await call('POST', '/v1/reports', officer, {
      region: 'us',
      template: 'eu/ai-act-annex-iv',
      period: '2026-Q4',
    });
    expect(bad.statusCode).toBe(400);
    expect((await call('GET', '/v1/reports?region=us', auditor)).json().reports).toEqual([]);

    const created = await call('POST', '/v1/reports', officer, {
      region: 'us',
      template: 'us/adverse-impact-quarterly',
      period: '2026-Q4',
    });
    expect(created.statusCode).toBe(201);
    const report = created.json();
    const pdf = await call('GET', `/v1/reports/${report.id}/pdf`, auditor);
    expect(pdf.headers['content-type']).toBe('application/pdf');
    expect(createHash('sha256').update(pdf.rawPayload).digest('hex')).toBe(report.pdf_sha256);
    await service.ledger.integrate('us');
    const entry = (await call('GET', `/v1/ledger/us/entries/${report.ledger_seq}`, auditor)).json();
    expect(entry.entry).toMatchObject({
      type: 'report.generated',
      pdf_sha256: report.pdf_sha256,
      data_sha256: report.data_sha256,
      actor: { role: 'compliance_officer', issuer: 'arbiter-local' },
    });
    const file = path.join(service.dataDir, 'report.pdf');
    writeFileSync(file, pdf.rawPayload);
    const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
    expect(text).toContain(FOUR_FIFTHS.subject.model);
    expect(text).toMatch(/four-fifths|4\/5|80%/i);
    // The waiver revoked above is listed with the day its revocation ended it.
    expect(text).toMatch(/PERF-ACCURACY-MIN[\s\S]*revoked/);
  }, 120_000);
});
