import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { periodContaining } from '../../../reports/index.ts';
import { ARBITER_BIN, runCli, startServer, type CliResult, type RunningServer } from '../../support/cli.ts';

// Characters XML 1.0 cannot carry (its Char production, with tab, LF and CR allowed).
const NOT_XML_1_0 = /[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;

/** An error as the CLI must report it: one line on stderr, exit code 2, no stack trace. */
function expectOneLineError(result: CliResult, message: string): void {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr).toBe(`arbiter: ${message}\n`);
}

/** A policy sample's request, with its evidence made fresh (the service runs on the real clock). */
async function freshSample(file: string) {
  const body = JSON.parse(await readFile(new URL(`../../../policies/${file}`, import.meta.url), 'utf8'));
  body.evidence.generated_at = new Date().toISOString();
  return body;
}

/** A new API token with this role, made with the admin token the server's first start wrote in its data dir. */
async function tokenFor(server: RunningServer, dataDir: string, role: string): Promise<string> {
  const admin = (await readFile(path.join(dataDir, 'admin-token'), 'utf8')).trim();
  const created = await runCli(['token', 'create', '--role', role, '--server', server.url, '--token', admin]);
  return created.stdout.trim();
}

describe('arbiter check, the CI gate', () => {
  let dir: string;
  let server: RunningServer;
  let ciToken: string;
  let officerToken: string;
  let auditorToken: string;
  /** The model both samples' evidence is about: the gate names it with --model-sha256. */
  let modelSha256: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-check-'));
    server = await startServer(['--data-dir', path.join(dir, 'data')]);
    ciToken = await tokenFor(server, path.join(dir, 'data'), 'ci');
    officerToken = await tokenFor(server, path.join(dir, 'data'), 'compliance_officer');
    auditorToken = await tokenFor(server, path.join(dir, 'data'), 'auditor');
    for (const [name, file] of [
      ['allowed', 'deployment/samples/allowed/eu-credit-scoring-high-risk.json'],
      ['denied', 'deployment/samples/denied/us-impact-ratio-below-four-fifths.json'],
    ]) {
      const body = await freshSample(file!);
      modelSha256 = body.subject.model_sha256;
      await writeFile(path.join(dir, `${name}-evidence.json`), JSON.stringify(body.evidence));
      await writeFile(path.join(dir, `${name}-card.json`), JSON.stringify(body.model_card ?? {}));
    }
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const check = (
    region: string,
    name: string,
    extra: string[] = [],
    model = ['--model-sha256', modelSha256],
  ) =>
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
      ...model,
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

  it('denies evidence of another model, or of no model named, and refuses a malformed --model-sha256', async () => {
    const other = await check('eu', 'allowed', [], ['--model-sha256', '0'.repeat(64)]);
    expect(other.stdout).toMatch(/deny\s+EVIDENCE-MODEL-MISMATCH/);
    expect(other.code).toBe(1);
    const unnamed = await check('eu', 'allowed', [], []);
    expect(unnamed.stdout).toMatch(/deny\s+EVIDENCE-MODEL-UNBOUND/);
    expect(unnamed.code).toBe(1);
    expectOneLineError(
      await check('eu', 'allowed', [], ['--model-sha256', 'ABC']),
      '--model-sha256 ABC: give a sha256 in lower-case hex',
    );
  });

  it('exits 2 when the decision cannot be made', async () => {
    const { code, stderr } = await check('atlantis', 'allowed');
    expect(code).toBe(2);
    expect(stderr).toContain('region');
  });

  it('with --idempotency-key, gets the first decision back on a rerun and refuses the key with other evidence', async () => {
    const value = `pipeline 42 / gate ${Date.now()}`;
    const key = ['--idempotency-key', value];
    const first = await check('us', 'denied', key);
    expect(first.code, first.stderr).toBe(1);
    const id = /^DENY {2}decision ([0-9a-f-]{36})/.exec(first.stdout)?.[1];
    expect(id, first.stdout).toBeDefined();
    const recorded = async () => {
      const listed = await fetch(`${server.url}/v1/decisions?model=credit-scoring&region=us&limit=1000`, {
        headers: { authorization: `Bearer ${auditorToken}` },
      });
      return ((await listed.json()) as { decisions: unknown[] }).decisions.length;
    };
    const before = await recorded();
    const rerun = await check('us', 'denied', [...key, '--json']);
    expect(rerun.code, rerun.stderr).toBe(1);
    expect(JSON.parse(rerun.stdout).decision_id).toBe(id);
    expect(await recorded()).toBe(before);

    expectOneLineError(
      await check('us', 'allowed', key),
      `POST /v1/decisions failed (422) IDEMPOTENCY_KEY_REUSED: Idempotency-Key "${value}" was sent with ` +
        `another request in the last 24 hours (decision ${id}); a retry sends the same body, a new request a new key`,
    );
    expectOneLineError(
      await check('us', 'denied', ['--idempotency-key', 'clé']),
      '--idempotency-key clé: give 1 to 255 printable ASCII characters',
    );
  });

  it('shows control characters from the evidence escaped, and writes well-formed JUnit', async () => {
    // A fairness attribute name is quoted verbatim in FAIR-IMPACT-RATIO's message.
    const evidence = JSON.parse(await readFile(path.join(dir, 'denied-evidence.json'), 'utf8'));
    const { sex, ...others } = evidence.fairness;
    evidence.fairness = { ...others, 'se\u0001x\u001b[31m\u0085\ufffe': sex };
    await writeFile(path.join(dir, 'hostile-evidence.json'), JSON.stringify(evidence));
    await writeFile(path.join(dir, 'hostile-card.json'), await readFile(path.join(dir, 'denied-card.json')));
    const junit = path.join(dir, 'hostile.xml');
    const { code, stdout, stderr } = await check('us', 'hostile', ['--junit', junit]);
    expect(code, stderr).toBe(1);
    // U+FFFE is no control character: the terminal shows it as it is.
    expect(stdout).toContain('impact ratio of se\\u0001x\\u001b[31m\\u0085\ufffe group');
    for (const control of ['\u0001', '\u001b', '\u0085']) expect(stdout).not.toContain(control);
    const xml = await readFile(junit, 'utf8');
    expect(xml).not.toMatch(NOT_XML_1_0);
    expect(xml).toContain('message="impact ratio of se\\u0001x\\u001b[31m\u0085\\ufffe group');
  });

  it('refuses --evidence with the flags of an evaluation in the service', async () => {
    for (const flag of ['--model', '--reference']) {
      const result = await check('eu', 'allowed', [flag, path.join(dir, 'model.onnx')]);
      expectOneLineError(
        result,
        `--evidence cannot go with ${flag}: give evidence already gathered, or have the service evaluate the model`,
      );
    }
  });

  it('refuses a --junit file it cannot write before asking for a decision', async () => {
    const junit = path.join(dir, 'no-such-folder', 'report.xml');
    const result = await check('us', 'denied', ['--junit', junit]);
    expectOneLineError(result, `cannot write --junit ${junit}: no such file or directory`);
    expect(result.stdout).toBe('');
  });

  it('names the recorded decision when the --junit file fails to be written after it', async () => {
    // /dev/full passes every check beforehand and fails the write itself.
    const { code, stdout, stderr } = await check('us', 'denied', ['--junit', '/dev/full']);
    expect(code).toBe(2);
    const id = /^DENY {2}decision ([0-9a-f-]{36})/.exec(stdout)?.[1];
    expect(id, stdout).toBeDefined();
    expect(stderr).toBe(
      `arbiter: decision ${id} was recorded (DENY), but --junit /dev/full could not be written: no space left on device\n`,
    );
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
    // The log's key, as its operator publishes it: the verifier trusts no key the bundle brings along.
    const { ed25519_vkey: vkey } = (await (
      await fetch(`${server.url}/v1/ledger/us/keys`, { headers: { authorization: `Bearer ${auditorToken}` } })
    ).json()) as { ed25519_vkey: string };
    const ok = await runCli([
      'verify',
      '--trusted-vkey',
      vkey,
      '--report',
      pdf,
      '--server',
      server.url,
      '--token',
      auditorToken,
    ]);
    expect(ok.stdout).toMatch(/recorded at seq \d+ as us us\/adverse-impact-quarterly/);
    expect(ok.code).toBe(0);

    const tampered = path.join(dir, 'tampered.pdf');
    await writeFile(tampered, Buffer.concat([await readFile(pdf), Buffer.from('\n% edited\n')]));
    const bad = await runCli([
      'verify',
      '--trusted-vkey',
      vkey,
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

  it('simulates the checked-out policies over the decisions above, and says where a limit stopped it', async () => {
    const simulate = (...extra: string[]) =>
      runCli([
        'policy',
        'simulate',
        '--ref',
        'HEAD',
        '--server',
        server.url,
        '--token',
        officerToken,
        ...extra,
      ]);
    // The service's policies are this checkout's: HEAD decides as they did, so nothing flips.
    const all = await simulate('--json');
    expect(all.code, all.stderr).toBe(0);
    const result = JSON.parse(all.stdout) as { evaluated: number; flips: unknown[]; complete: boolean };
    expect(result.evaluated).toBeGreaterThan(1);
    expect(result).toMatchObject({ flips: [], complete: true });
    const limited = await simulate('--limit', '1');
    expect(limited.code, limited.stderr).toBe(0);
    expect(limited.stdout).toMatch(/: 1 recorded decisions re-evaluated, 0 would flip/);
    const after = /for the rest, run again with --after (\S+)$/m.exec(limited.stdout)?.[1];
    expect(after, limited.stdout).toBeDefined();
    const rest = await simulate('--after', after!, '--json');
    expect(rest.code, rest.stderr).toBe(0);
    expect(JSON.parse(rest.stdout)).toMatchObject({ evaluated: result.evaluated - 1, complete: true });
    const badLimit = await simulate('--limit', '0');
    expect(badLimit.code).toBe(2);
    expect(badLimit.stderr).toBe('arbiter: --limit 0: give a whole number from 1 to 100000\n');
  }, 120_000);

  it('lets the gate pass under waivers decided with the waiver commands, and deny again once one is revoked', async () => {
    const secondOfficer = await tokenFor(server, path.join(dir, 'data'), 'compliance_officer');
    const waiver = (token: string, args: string[]) =>
      runCli(['waiver', ...args, '--server', server.url, '--token', token]);
    const ids: string[] = [];
    for (const rule of ['FAIR-IMPACT-RATIO', 'PERF-ACCURACY-MIN']) {
      const requested = await waiver(officerToken, [
        'request',
        '--rule',
        rule,
        '--model',
        'credit-scoring',
        '--region',
        'us',
        '--reason',
        'The retrained model ships next sprint; every adverse outcome gets human review meanwhile.',
        '--expires',
        '30d',
      ]);
      expect(requested.code, requested.stderr).toBe(0);
      const id = /^waiver (\S+): requested \(/.exec(requested.stdout)?.[1];
      expect(id, requested.stdout).toBeDefined();
      ids.push(id!);
      const own = await waiver(officerToken, ['approve', id!]);
      expect(own.code).toBe(2);
      expect(own.stderr).toMatch(/cannot also decide it/);
      const approved = await waiver(secondOfficer, ['approve', id!, '--note', 'four eyes']);
      expect(approved.stdout).toMatch(
        new RegExp(
          `^waiver ${id}: approved \\(${rule} for credit-scoring in us, expires [^)]+\\); ledger us#\\d+`,
        ),
      );
    }
    const waived = await check('us', 'denied');
    expect(waived.stdout).toMatch(/^ALLOW/);
    expect(waived.code).toBe(0);

    const noNote = await waiver(secondOfficer, ['revoke', ids[1]!]);
    expect(noNote.code).not.toBe(0);
    expect(noNote.stderr).toContain("required option '--note <text>' not specified");
    const revoked = await waiver(secondOfficer, [
      'revoke',
      ids[1]!,
      '--note',
      'Accuracy fell further in production.',
    ]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(new RegExp(`^waiver ${ids[1]}: revoked `));
    const listed = await waiver(auditorToken, ['list', '--status', 'revoked']);
    expect(listed.stdout).toMatch(new RegExp(`^${ids[1]}  revoked .*revoked by tok_`, 'm'));
    const all = JSON.parse(
      (await waiver(auditorToken, ['list', '--model', 'credit-scoring', '--json'])).stdout,
    );
    expect(all.map((w: { id: string; status: string }) => [w.id, w.status])).toEqual([
      [ids[0], 'approved'],
      [ids[1], 'revoked'],
    ]);
    const denied = await check('us', 'denied');
    expect(denied.stdout).toMatch(/deny\s+PERF-ACCURACY-MIN/);
    expect(denied.stdout).not.toMatch(/deny\s+FAIR-IMPACT-RATIO/);
    expect(denied.code).toBe(1);
    expectOneLineError(
      await waiver(auditorToken, ['list', '--status', 'bogus']),
      '--status bogus: use one of requested, approved, rejected, expired, revoked',
    );

    const oneVersion = await waiver(officerToken, [
      'request',
      '--rule',
      'PERF-ACCURACY-MIN',
      '--model',
      'credit-scoring',
      '--model-version',
      '9.9.9',
      '--region',
      'us',
      '--reason',
      'Version 9.9.9 is a shadow deployment that serves no applicant.',
      '--expires',
      '30d',
      '--json',
    ]);
    expect(oneVersion.code, oneVersion.stderr).toBe(0);
    expect(JSON.parse(oneVersion.stdout)).toMatchObject({ model: 'credit-scoring', version: '9.9.9' });
    const pending = await waiver(auditorToken, ['list', '--status', 'requested']);
    expect(pending.stdout).toContain(' requested  PERF-ACCURACY-MIN     credit-scoring 9.9.9  us  ');
  }, 120_000);
});

describe('arbiter check with an evaluation in the service', () => {
  let dir: string;
  let server: RunningServer;
  let ciToken: string;
  let spec: string;
  let data: string;

  // A service that queues evaluations but runs none: the evaluation never starts.
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-check-eval-'));
    server = await startServer(['--data-dir', path.join(dir, 'data')], { ARBITER_EVAL_WORKER: 'off' });
    ciToken = await tokenFor(server, path.join(dir, 'data'), 'ci');
    spec = path.join(dir, 'spec.yaml');
    await writeFile(
      spec,
      'label: { column: label, positive: 1 }\nprediction: { column: y_pred, positive: 1 }\nsensitive: [sex]\n',
    );
    data = path.join(dir, 'data.csv');
    await writeFile(data, 'sex,label,y_pred\nFemale,1,1\nMale,0,1\n');
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const args = (serverUrl: string, extra: string[]) => [
    'check',
    '--server',
    serverUrl,
    '--token',
    ciToken,
    '--region',
    'eu',
    '--stage',
    'deployment',
    '--name',
    'credit-scoring',
    '--version',
    '2.0.0',
    ...extra,
  ];
  const evaluationStatus = async (id: string) =>
    (
      (await (
        await fetch(`${server.url}/v1/evaluations/${id}`, { headers: { authorization: `Bearer ${ciToken}` } })
      ).json()) as { status: string }
    ).status;

  it('gives up after --timeout and cancels the evaluation', async () => {
    const { code, stderr } = await runCli(
      args(server.url, ['--data', data, '--spec', spec, '--timeout', '2']),
    );
    expect(code, stderr).toBe(2);
    const lastLine = stderr.trimEnd().split('\n').at(-1)!;
    const id =
      /^arbiter: evaluation (eval_[0-9a-f]+) did not finish within 2s \(still queued\); it was cancelled$/.exec(
        lastLine,
      )?.[1];
    expect(id, stderr).toBeDefined();
    expect(await evaluationStatus(id!)).toBe('cancelled');
  });

  it('cancels the evaluation on Ctrl-C', async () => {
    const child = spawn(
      process.execPath,
      [ARBITER_BIN, ...args(server.url, ['--data', data, '--spec', spec])],
      {
        env: { ...process.env, ARBITER_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.stderr.on('data', (d) => {
      stderr += d;
      // Once only: a second Ctrl-C is Node's own, which ends the process at once.
      if (stderr.includes('evaluating eval_') && !child.killed) child.kill('SIGINT');
    });
    expect(await exited, stderr).toBe(2);
    const id = /arbiter: evaluation (eval_[0-9a-f]+) was interrupted; it was cancelled\n$/.exec(stderr)?.[1];
    expect(id, stderr).toBeDefined();
    expect(await evaluationStatus(id!)).toBe('cancelled');
  });

  it('refuses a --timeout that is not a positive number of seconds', async () => {
    const result = await runCli(args(server.url, ['--data', data, '--spec', spec, '--timeout', 'soon']));
    expectOneLineError(result, '--timeout soon: give a number of seconds greater than 0');
  });

  it('refuses --idempotency-key without --evidence, since a rerun would decide on a new evaluation', async () => {
    const result = await runCli(
      args(server.url, ['--data', data, '--spec', spec, '--idempotency-key', 'job-7/gate']),
    );
    expectOneLineError(
      result,
      '--idempotency-key goes with --evidence: a rerun of an evaluation in the service decides on a new ' +
        'evaluation, which the service refuses under the same key',
    );
  });

  it('says in one line, naming the file, that the spec is not YAML, before any network call', async () => {
    const bad = path.join(dir, 'bad-spec.yaml');
    await writeFile(bad, 'label: { column: label\nsensitive: [sex\n');
    const result = await runCli(args('http://127.0.0.1:9', ['--data', data, '--spec', bad]));
    expectOneLineError(
      result,
      `spec file ${bad} is neither valid YAML nor JSON: Flow map in block collection must be sufficiently ` +
        'indented and end with a } at line 2, column 1',
    );
  });

  it('names a missing local file before any network call', async () => {
    const missing = path.join(dir, 'nonexistent');
    for (const [flag, others] of [
      ['--data', ['--spec', spec]],
      ['--spec', ['--data', data]],
      ['--model', ['--data', data, '--spec', spec]],
    ] as const) {
      // Nothing listens on the discard port: a network call would fail as "cannot reach".
      const result = await runCli(args('http://127.0.0.1:9', [flag, missing, ...others]));
      expectOneLineError(result, `cannot read ${flag} ${missing}: no such file or directory`);
    }
  });

  it('waits on through a service that goes away, to its deadline, rather than give up at the first poll', async () => {
    // Last of this block: it stops the service.
    const child = spawn(
      process.execPath,
      [ARBITER_BIN, ...args(server.url, ['--data', data, '--spec', spec, '--timeout', '8'])],
      { env: { ...process.env, ARBITER_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    let stopping: Promise<unknown> | undefined;
    child.stderr.on('data', (d) => {
      stderr += d;
      if (stderr.includes('evaluating eval_') && !stopping) stopping = server.stop();
    });
    expect(await exited, stderr).toBe(2);
    await stopping;
    const lines = stderr.trimEnd().split('\n');
    expect(
      lines.some((l) => /^evaluating eval_[0-9a-f]+: cannot reach .*; retrying$/.test(l)),
      stderr,
    ).toBe(true);
    expect(lines.at(-1)).toMatch(
      /^arbiter: evaluation eval_[0-9a-f]+ did not finish within 8s \(still queued\); cancelling it failed: cannot reach /,
    );
  });
});
