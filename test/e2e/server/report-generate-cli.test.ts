import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { periodContaining } from '../../../reports/index.ts';
import { runCli } from '../../support/cli.ts';

// `arbiter report generate` records the report in the append-only ledger: an --out that cannot be written must
// be refused before that, and a write that fails after it must say which report was recorded.

describe('arbiter report generate --out, on the database directly', () => {
  let dir: string;
  let dataDir: string;
  const period = periodContaining(new Date(), 'America/New_York').id;

  /** How many entries the region's log holds (none before the service first started on the folder). */
  const entries = async (region: string) => {
    const fsck = await runCli(['ledger', 'fsck', '--region', region, '--json', '--data-dir', dataDir]);
    if (fsck.stderr === `arbiter: no ledger for region "${region}"\n`) return 0;
    expect(fsck.code, fsck.stderr).toBe(0);
    return (JSON.parse(fsck.stdout) as { entries: number }).entries;
  };
  const generate = (out: string) =>
    runCli([
      'report',
      'generate',
      '--region',
      'us',
      '--template',
      'us/adverse-impact-quarterly',
      '--period',
      period,
      '--out',
      out,
      '--data-dir',
      dataDir,
    ]);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-report-out-'));
    dataDir = path.join(dir, 'data');
    // The first admin token creates the data folder and its database (README: Identity and access).
    const created = await runCli(['token', 'create', '--role', 'admin', '--data-dir', dataDir]);
    expect(created.code, created.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses an --out it cannot write before generating, so nothing is recorded', async () => {
    const before = await entries('us');
    const out = path.join(dir, 'no-such-folder', 'report.pdf');
    const result = await generate(out);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toBe(`arbiter: cannot write --out ${out}: no such file or directory\n`);
    expect(await entries('us')).toBe(before);
  }, 120_000);

  it('names the recorded report and its ledger entry when the write fails after it', async () => {
    // Writable as far as access(2) can tell, but every write to it fails (ENOSPC).
    if (!existsSync('/dev/full')) return;
    const before = await entries('us');
    const result = await generate('/dev/full');
    expect(result.code, result.stderr).toBe(2);
    const match =
      /^arbiter: report (\S+) was generated and recorded \(ledger us seq (\d+), sha256 [0-9a-f]{64}\), but --out \/dev\/full could not be written: no space left on device; download it \(GET \/v1\/reports\/\1\/pdf\) rather than generate it again\n$/.exec(
        result.stderr,
      );
    expect(match, result.stderr).not.toBeNull();
    // The report's entry is in the log (after the policy activation this first start recorded).
    const after = await entries('us');
    expect(Number(match![2])).toBeGreaterThanOrEqual(before);
    expect(Number(match![2])).toBeLessThan(after);
  }, 180_000);
});
