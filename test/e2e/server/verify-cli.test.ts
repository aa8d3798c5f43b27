import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, verifyBundleFile } from '../../support/cli.ts';
import { startTestService, type TestService } from '../../support/service.ts';

describe('arbiter verify and arbiter ledger fsck', () => {
  let service: TestService;
  let bundleFile: string;
  let bundle: { entries: { seq: number; entry: Record<string, unknown>; entry_b64: string }[] };
  let size: number;
  let pinned: string[];

  beforeAll(async () => {
    service = await startTestService();
    for (let i = 0; i < 5; i++) {
      await service.ledger.append('us', { type: 'attestation', statement: `sign-off ${i}` });
    }
    // Five attestations after the policy activation the service recorded when it started.
    size = (await service.ledger.integrate('us')).size;
    bundle = (await service.ledger.reader.bundle('us', 0, size)) as unknown as typeof bundle;
    bundleFile = path.join(service.dataDir, 'bundle.json');
    await writeFile(bundleFile, JSON.stringify(bundle));
    const keys = await service.ledger.reader.keys('us');
    pinned = ['--trusted-vkey', keys.ed25519_vkey, '--trusted-eip191-address', keys.eip191_address];
  });
  afterAll(() => service?.close());

  /** `arbiter verify` of the region's whole log, exported as an audit bundle, with its published keys pinned. */
  const verifyWholeLog = async (region: string) => {
    const size = (await service.ledger.integrate(region)).size;
    return verifyBundleFile(
      await service.ledger.reader.bundle(region, 0, size),
      path.join(service.dataDir, `${region}-bundle.json`),
      await service.ledger.reader.keys(region),
    );
  };

  /** The commit and bundle the service recorded activating in the region's log when it started. */
  const activePolicy = async (region: string) => {
    const size = (await service.ledger.integrate(region)).size;
    const [activation] = await service.ledger.reader.entries(region, {
      from: 0,
      to: size,
      type: 'policy.activated',
    });
    const { commit, bundle_sha256 } = activation!.entry as { commit: string; bundle_sha256: string };
    return { revision: commit, bundle_sha256 };
  };

  it('exits 0 on an intact bundle with the published keys pinned', async () => {
    const { code, stdout } = await runCli(['verify', bundleFile, ...pinned]);
    expect(stdout).toContain(`checked ${size} entries`);
    expect(stdout).toContain('not verified: checkpoints[].created_at');
    expect(stdout).toContain('OK: every check holds');
    expect(code).toBe(0);
  });

  it('exits 1 without --trusted-vkey, saying where the key is published', async () => {
    const { code, stdout } = await runCli(['verify', bundleFile]);
    expect(stdout).toMatch(
      /FAIL key: the log's key is not pinned.*--trusted-vkey.*GET \/v1\/ledger\/us\/keys/,
    );
    expect(code).toBe(1);
  });

  it('fails cleanly with --report on a bundle whose entry lacks its JSON', async () => {
    const broken = structuredClone(bundle) as { entries: Partial<(typeof bundle.entries)[number]>[] };
    delete broken.entries[1]!.entry;
    const file = path.join(service.dataDir, 'no-entry.json');
    await writeFile(file, JSON.stringify(broken));
    const pdf = path.join(service.dataDir, 'some.pdf');
    await writeFile(pdf, '%PDF-1.7\n');
    const { code, stdout, stderr } = await runCli(['verify', file, '--report', pdf, ...pinned]);
    expect(stderr).not.toContain('TypeError');
    expect(stdout).toContain('FAIL entry (seq 1)');
    expect(stdout).toContain('no report.generated entry');
    expect(code).toBe(1);
  });

  it('prints one JSON document with --json, whose ok says whether the ledger recorded the PDF', async () => {
    const pdf = async (name: string, text: string) => {
      const file = path.join(service.dataDir, name);
      await writeFile(file, text);
      return { file, sha256: createHash('sha256').update(text).digest('hex') };
    };
    const recordedPdf = await pdf('recorded.pdf', '%PDF-1.7\n% recorded\n');
    const { seq } = await service.ledger.append('ca', {
      type: 'report.generated',
      region: 'ca',
      template: 'ca/quarterly',
      period: '2026-Q4',
      pdf_sha256: recordedPdf.sha256,
    });
    const size = (await service.ledger.integrate('ca')).size;
    const file = path.join(service.dataDir, 'ca-bundle.json');
    const bundle = await service.ledger.reader.bundle('ca', 0, size);
    const keys = await service.ledger.reader.keys('ca');
    const verify = (report: string) => verifyBundleFile(bundle, file, keys, ['--json', '--report', report]);
    const recorded = await verify(recordedPdf.file);
    expect(JSON.parse(recorded.stdout)).toMatchObject({
      ok: true,
      failures: [],
      pdf: { file: recordedPdf.file, sha256: recordedPdf.sha256, recordedSeq: seq },
    });
    expect(recorded.code).toBe(0);
    // An intact bundle that does not record this PDF: the verdict is the PDF's, not only the bundle's.
    const other = await pdf('never-recorded.pdf', '%PDF-1.7\n% never recorded\n');
    const unrecorded = await verify(other.file);
    expect(JSON.parse(unrecorded.stdout)).toMatchObject({
      ok: false,
      failures: [],
      pdf: { file: other.file, sha256: other.sha256, recordedSeq: null },
    });
    expect(unrecorded.code).toBe(1);
  });

  it('exits 1 on a tampered copy and names the entry', async () => {
    const tampered = structuredClone(bundle);
    const entry = { ...tampered.entries[3]!.entry, statement: 'nothing to see here' };
    tampered.entries[3]!.entry = entry;
    tampered.entries[3]!.entry_b64 = Buffer.from(JSON.stringify(entry)).toString('base64');
    const file = path.join(service.dataDir, 'tampered.json');
    await writeFile(file, JSON.stringify(tampered));
    const { code, stdout } = await runCli(['verify', file, ...pinned]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/FAIL \w+ \(seq 3/);
  });

  it('exits 1 on a correctly signed log that records a decision relying on a revoked waiver', async () => {
    // Entries a faulty or dishonest operator could append and sign: the service itself refuses such a
    // decision (the policy_decision trigger), so they are written to the ledger directly.
    const waiver = (type: string, subject: string) => ({
      type,
      waiver_id: 'w-1',
      rule: 'SEC-FINDING',
      model: 'credit-scoring',
      region: 'eu',
      reason: 'scanner false positive',
      expires_at: '2027-06-30T00:00:00.000Z',
      status: type.slice('waiver.'.length),
      note: null,
      actor: { subject, role: 'compliance_officer' },
      at: '2026-11-23T12:00:00.000Z',
    });
    const decision = async (id: string) => ({
      type: 'decision',
      decision_id: id,
      region: 'eu',
      stage: 'deployment',
      subject: { model: 'credit-scoring', version: '1.0.0' },
      policy: await activePolicy('eu'),
      at: '2026-11-24T00:00:00.000Z',
      result: {
        allow: true,
        deny: [],
        warn: [],
        obligations: [],
        waived: [{ rule: 'SEC-FINDING', waiver_id: 'w-1' }],
      },
    });
    const entries = [
      waiver('waiver.requested', 'alice'),
      waiver('waiver.approved', 'bob'),
      await decision('d-1'),
      waiver('waiver.revoked', 'alice'),
      await decision('d-2'),
    ];
    const seqs: number[] = [];
    for (const entry of entries) seqs.push((await service.ledger.append('eu', entry)).seq);
    const { code, stdout } = await verifyWholeLog('eu');
    expect(stdout).toContain('checked 2 waived findings');
    expect(stdout).toContain(
      `FAIL waiver (seq ${seqs[4]}): decision relies on waiver w-1, revoked at seq ${seqs[3]}`,
    );
    expect(stdout).not.toMatch(/FAIL (?!waiver)/);
    expect(stdout).toContain('FAILED: 1 checks failed');
    expect(code).toBe(1);
  });

  it('exits 1 on a correctly signed log that records a decision under a policy bundle never activated', async () => {
    const activation = await activePolicy('uk');
    const unannounced = { revision: activation.revision, bundle_sha256: 'e'.repeat(64) };
    const decision = (id: string, policy: object) => ({
      type: 'decision',
      decision_id: id,
      region: 'uk',
      stage: 'deployment',
      subject: { model: 'credit-scoring', version: '1.0.0' },
      policy,
      at: '2026-11-24T00:00:00.000Z',
      result: { allow: true, deny: [], warn: [], obligations: [], waived: [] },
    });
    await service.ledger.append('uk', decision('d-announced', activation));
    const { seq } = await service.ledger.append('uk', decision('d-unannounced', unannounced));
    const { code, stdout } = await verifyWholeLog('uk');
    expect(stdout).toContain('checked 2 decisions against the policy activations before them');
    expect(stdout).toContain(
      `FAIL policy (seq ${seq}): decision d-unannounced was made under commit ${activation.revision} ` +
        `(bundle ${'e'.repeat(64)}), whose activation is not recorded before it`,
    );
    expect(stdout).not.toMatch(/FAIL (?!policy)/);
    expect(stdout).toContain('FAILED: 1 checks failed');
    expect(code).toBe(1);
  });

  it("verifies a later bundle's decisions against the earlier activations the service cites for them", async () => {
    const activation = await activePolicy('sg');
    for (let i = 0; i < 3; i++)
      await service.ledger.append('sg', { type: 'attestation', statement: `sign-off ${i}` });
    const decision = (id: string) => ({
      type: 'decision',
      decision_id: id,
      region: 'sg',
      stage: 'deployment',
      subject: { model: 'credit-scoring', version: '1.0.0' },
      policy: activation,
      at: '2026-11-24T00:00:00.000Z',
      result: { allow: true, deny: [], warn: [], obligations: [], waived: [] },
    });
    const { seq: from } = await service.ledger.append('sg', decision('d-1'));
    await service.ledger.append('sg', decision('d-2'));
    await service.ledger.integrate('sg');
    const response = await service.app.inject({
      url: `/v1/ledger/sg/bundle?from=${from}`,
      headers: { authorization: `Bearer ${service.adminToken}` },
    });
    expect(response.statusCode).toBe(200);
    const later = response.json();
    expect(later.cited.map((e: { entry: { type: string } }) => e.entry.type)).toEqual(['policy.activated']);
    const keys = await service.ledger.reader.keys('sg');
    const verify = (b: object) => verifyBundleFile(b, path.join(service.dataDir, 'sg-later.json'), keys);
    const cited = await verify(later);
    expect(cited.stdout).toContain('checked 2 entries (and 1 earlier entries they cite)');
    expect(cited.stdout).toContain('checked 2 decisions against the policy activations before them');
    expect(cited.stdout).not.toContain('decisions cite policy bundles');
    expect(cited.code).toBe(0);
    // Without the citation, the same decisions are left unverified, not failed.
    const bare = {
      ...later,
      cited: [],
      inclusion_proofs: later.inclusion_proofs.filter((p: { seq: number }) => p.seq >= from),
    };
    const uncited = await verify(bare);
    expect(uncited.stdout).toContain(
      'not verified: 2 decisions cite policy bundles activated before these entries',
    );
    expect(uncited.code).toBe(0);
  });

  it('exits 2 when the bundle cannot be read or is no JSON object', async () => {
    const { code, stderr } = await runCli(['verify', path.join(service.dataDir, 'missing.json')]);
    expect(code).toBe(2);
    expect(stderr).toContain('cannot read bundle');
    for (const [json, kind] of [
      ['null', 'null'],
      ['[]', 'an array'],
      ['"bundle"', 'a string'],
    ]) {
      const file = path.join(service.dataDir, 'not-a-bundle.json');
      await writeFile(file, json);
      const run = await runCli(['verify', file]);
      expect(run.code, json).toBe(2);
      expect(run.stderr).toContain(`${file} is not an audit bundle: its JSON is ${kind}, not an object`);
    }
  });

  it('exits 2 on a malformed pinned key or address, naming the option', async () => {
    const vkey = pinned[1]!;
    const address = pinned[3]!;
    for (const [option, value, problem] of [
      ['--trusted-vkey', vkey.slice(0, -4), '--trusted-vkey is not a verifier key'],
      [
        '--trusted-eip191-address',
        address.slice(0, -1),
        '--trusted-eip191-address is not an Ethereum address',
      ],
      ['--trusted-anchor-address', 'anchor', '--trusted-anchor-address is not an Ethereum address'],
    ]) {
      const args = { '--trusted-vkey': vkey, '--trusted-eip191-address': address, [option!]: value };
      const { code, stdout, stderr } = await runCli(['verify', bundleFile, ...Object.entries(args).flat()]);
      expect(stderr, `${option} ${value}`).toContain(problem);
      expect(stdout).toBe('');
      expect(code).toBe(2);
    }
  }, 120_000);

  it('fsck finds the stored tree consistent', async () => {
    await service.stop();
    const { code, stdout } = await runCli([
      'ledger',
      'fsck',
      '--region',
      'us',
      '--data-dir',
      service.dataDir,
    ]);
    expect(stdout).toContain(`arbiter.example/us: ${size} entries`);
    expect(stdout).toContain('OK');
    expect(code).toBe(0);
  }, 60_000);
});
