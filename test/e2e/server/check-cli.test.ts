import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { periodContaining } from '../../../reports/index.ts';
import { runCli, startServer, type RunningServer } from '../../support/cli.ts';

/** A policy sample's request, with its evidence made fresh (the service runs on the real clock). */
async function freshSample(file: string) {
  const body = JSON.parse(await readFile(new URL(`../../../policies/${file}`, import.meta.url), 'utf8'));
  body.evidence.generated_at = new Date().toISOString();
  return body;
}

describe('arbiter check, the CI gate', () => {
  let dir: string;
  let server: RunningServer;
  let ciToken: string;
  let officerToken: string;
  let auditorToken: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-check-'));
    server = await startServer(['--data-dir', path.join(dir, 'data')]);
    const admin = (await readFile(path.join(dir, 'data', 'admin-token'), 'utf8')).trim();
    const created = await runCli([
      'token',
      'create',
      '--role',
      'ci',
      '--server',
      server.url,
      '--token',
      admin,
    ]);
    ciToken = created.stdout.trim();
    const token = async (role: string) =>
      (
        await runCli(['token', 'create', '--role', role, '--server', server.url, '--token', admin])
      ).stdout.trim();
    officerToken = await token('compliance_officer');
    auditorToken = await token('auditor');
    for (const [name, file] of [
      ['allowed', 'deployment/samples/allowed/eu-credit-scoring-high-risk.json'],
      ['denied', 'deployment/samples/denied/us-impact-ratio-below-four-fifths.json'],
    ]) {
      const body = await freshSample(file!);
      await writeFile(path.join(dir, `${name}-evidence.json`), JSON.stringify(body.evidence));
      await writeFile(path.join(dir, `${name}-card.json`), JSON.stringify(body.model_card ?? {}));
    }
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const check = (region: string, name: string, extra: string[] = []) =>
    runCli([
      'check',
      '--server',
      server.url,
      '--token',
      ciToken,
      '--region',
      region,
      '--stage',
      'deployment',
      '--name',
      'credit-scoring',
      '--version',
      '2.0.0',
      '--evidence',
      path.join(dir, `${name}-evidence.json`),
      '--model-card',
      path.join(dir, `${name}-card.json`),
      ...extra,
    ]);

  it('exits 0 when the decision allows', async () => {
    const { code, stdout } = await check('eu', 'allowed');
    expect(stdout).toMatch(/^ALLOW {2}decision [0-9a-f-]{36}/);
    expect(stdout).toContain('ledger eu seq');
    expect(code).toBe(0);
  });

  it('exits 1 with readable reasons and a JUnit report when it denies', async () => {
    const junit = path.join(dir, 'report.xml');
    const { code, stdout } = await check('us', 'denied', ['--junit', junit]);
    expect(stdout).toMatch(/^DENY/);
    expect(stdout).toMatch(/deny\s+FAIR-IMPACT-RATIO/);
    expect(code).toBe(1);
    const xml = await readFile(junit, 'utf8');
    expect(xml).toMatch(/<testcase classname="arbiter\.us\.deployment" name="FAIR-IMPACT-RATIO">\s*<failure/);
  });

  it('exits 2 when the decision cannot be made', async () => {
    const { code, stderr } = await check('atlantis', 'allowed');
    expect(code).toBe(2);
    expect(stderr).toContain('region');
  });

  it('generates a report, and verify --report confirms the ledger recorded exactly that PDF', async () => {
    const pdf = path.join(dir, 'us-q.pdf');
    const period = periodContaining(new Date(), 'America/New_York').id;
    const generated = await runCli([
      'report',
      'generate',
      '--server',
      server.url,
      '--token',
      officerToken,
      '--region',
      'us',
      '--template',
      'us/adverse-impact-quarterly',
      '--period',
      period,
      '--out',
      pdf,
    ]);
    expect(generated.stderr).toBe('');
    expect(generated.code).toBe(0);
    expect((await readFile(pdf)).subarray(0, 5).toString()).toBe('%PDF-');
    // The report.generated entry must be in a signed checkpoint before a proof exists for it.
    const seq = Number(/ledger us seq (\d+)/.exec(generated.stdout)![1]);
    for (let covered = false; !covered;) {
      const note = await (
        await fetch(`${server.url}/v1/ledger/us/checkpoint`, {
          headers: { authorization: `Bearer ${auditorToken}` },
        })
      ).text();
      covered = Number(note.split('\n')[1]) > seq;
      if (!covered) await new Promise((r) => setTimeout(r, 200));
    }
    const ok = await runCli(['verify', '--report', pdf, '--server', server.url, '--token', auditorToken]);
    expect(ok.stdout).toMatch(/recorded at seq \d+ as us us\/adverse-impact-quarterly/);
    expect(ok.code).toBe(0);

    const tampered = path.join(dir, 'tampered.pdf');
    await writeFile(tampered, Buffer.concat([await readFile(pdf), Buffer.from('\n% edited\n')]));
    const bad = await runCli([
      'verify',
      '--report',
      tampered,
      '--server',
      server.url,
      '--token',
      auditorToken,
    ]);
    expect(bad.stdout).toContain('the ledger records no report with sha256');
    expect(bad.code).toBe(1);
  }, 180_000);

  it('lists templates and renders a report offline from evidence files', async () => {
    const templates = await runCli(['report', 'templates']);
    for (const id of ['eu/ai-act-pmm-quarterly', 'us-nyc/ll144-bias-audit', 'governance-quarterly']) {
      expect(templates.stdout).toContain(id);
    }
    const out = path.join(dir, 'offline.pdf');
    const rendered = await runCli([
      'report',
      'render',
      '--template',
      'us/adverse-impact-quarterly',
      '--evidence',
      path.join(dir, 'denied-evidence.json'),
      '--out',
      out,
    ]);
    expect(rendered.code).toBe(0);
    expect(rendered.stdout).toContain('not recorded in a ledger');
    expect((await readFile(out)).subarray(0, 5).toString()).toBe('%PDF-');
  }, 120_000);
});
