import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARBITER_BIN } from '../support/cli.ts';

const run = promisify(execFile);

// README command 1 runs `arbiter demo`; this is that command, run as a user would, start to finish.
describe('arbiter demo', () => {
  let dataDir: string;
  let code: number;
  let output: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-demo-'));
    try {
      const { stdout, stderr } = await run(process.execPath, [ARBITER_BIN, 'demo', '--data-dir', dataDir], {
        env: { ...process.env, ARBITER_LOG_LEVEL: 'error' },
        timeout: 600_000,
        maxBuffer: 16 * 1024 * 1024,
      });
      code = 0;
      output = `${stdout}\n${stderr}`;
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      code = typeof e.code === 'number' ? e.code : 1;
      output = `${e.stdout ?? ''}\n${e.stderr ?? ''}`;
    }
  }, 660_000);
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('finishes every step and exits 0', () => {
    expect(output, output).toContain('Arbiter demo finished');
    // A failed step prints its own line starting with FAILED:.
    expect(output).not.toMatch(/^\s+FAILED: /m);
    expect(code, output).toBe(0);
  });

  it('denies the unfair deployment naming the fairness rule, allows it under approved waivers, denies it once one is revoked', () => {
    const denied = output.match(
      /deployment of compas-recidivism in eu[^\n]*\n\s+DENIED[\s\S]*?denied rule\(s\): ([^\n]+)/,
    );
    expect(denied, output).not.toBeNull();
    expect(denied![1]).toContain('FAIR-IMPACT-RATIO');
    expect(output).toMatch(
      /deny\s+FAIR-IMPACT-RATIO: impact ratio of [\w&]+ group "[^"]+" is 0\.\d+, below the minimum 0\.8/,
    );
    expect(output).toMatch(/FAIR-IMPACT-RATIO: requested by officer-alice/);
    expect(output).toMatch(/officer-alice approving her own request is refused/);
    expect(output).toMatch(/approved by officer-bob: waiver is approved/);
    expect(output).toMatch(
      /allowed under the approved waiver\n\s+ALLOWED[^\n]*\n(\s+waived [^\n]+\n)*\s+waived\s+FAIR-IMPACT-RATIO/,
    );
    // A waiver revoked before its expiry: the same deployment is denied again for its rule.
    const revoked = output.match(
      /(FAIR-[A-Z-]+): waiver \w+ is revoked[^\n]*\n\s+DENIED[^\n]*\n((\s+\w+\s+[^\n]+\n)*)/,
    );
    expect(revoked, output).not.toBeNull();
    expect(revoked![2]).toMatch(new RegExp(`deny\\s+${revoked![1]}:`));
  });

  it('warns on drift in monitoring without denying', () => {
    expect(output).toMatch(/on drifted live data[^\n]*\n(\s+drift of [^\n]+\n)+\s+ALLOWED/);
    expect(output).toMatch(/warn\s+DRIFT-KS: KS test on feature "age" has p-value/);
  });

  it('simulates the policy change, lists the flip, and activates the merged commit', async () => {
    expect(output).toMatch(/1 would flip/);
    expect(output).toMatch(
      /flip: eu monitoring of compas-recidivism[^\n]*recorded ALLOWED → would be DENIED \(DRIFT-KS\)/,
    );
    const activated = output.match(/activated commit ([0-9a-f]{40})/);
    expect(activated, output).not.toBeNull();
    const { stdout } = await run('git', ['-C', path.join(dataDir, 'policies-repo'), 'rev-parse', 'main']);
    expect(activated![1]).toBe(stdout.trim());
  });

  it('writes the three reports of the periods under way as PDFs', async () => {
    const pdfs = [...output.matchAll(/report PDF:\s+(\S+\.pdf)/g)].map((m) => m[1]!);
    expect(pdfs.map((f) => path.basename(f).replace(/-\d{4}(-Q[1-4])?\.pdf$/, ''))).toEqual([
      'us--adverse-impact-quarterly',
      'us-nyc--ll144-bias-audit',
      'eu--ai-act-pmm-quarterly',
    ]);
    for (const file of pdfs) {
      expect(path.dirname(file)).toBe(path.join(dataDir, 'out'));
      expect((await readFile(file)).subarray(0, 5).toString('latin1')).toBe('%PDF-');
    }
  });

  it('verifies each exported audit bundle, and a later range of it alone, and fails each tampered copy', () => {
    for (const region of ['us', 'us-nyc', 'eu']) {
      const block = output.match(
        new RegExp(`\\n\\s+${region}: \\d+ entries[^\\n]*\\n([^\\n]*)\\n([^\\n]*)\\n([^\\n]*)`),
      );
      expect(block, output).not.toBeNull();
      expect(block![1]).toMatch(/arbiter verify: exit 0: .*OK: every check holds/);
      expect(block![2]).toMatch(/tampered copy .*: exit 1: .*FAIL/);
      expect(block![3]).toMatch(
        /from #\d+ on: \d+ entries citing \d+ earlier ones: exit 0: .*OK: every check holds/,
      );
    }
    // eu's later half relies on waivers approved before it: the bundle cites their entries, and verify reads them.
    expect(output).toMatch(
      /from #\d+ on: \d+ entries citing [1-9]\d* earlier ones: exit 0: not verified: \d+ waived findings were checked against waiver entries the bundle cites/,
    );
  });
});
