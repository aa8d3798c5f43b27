import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { AuditBundle, VerificationReport } from '../../ledger/index.ts';
import { CliFailure } from './output.ts';

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new CliFailure(`cannot read ${what} ${file}: ${(err as Error).message}`);
  }
}

function printReport(report: VerificationReport, file: string): void {
  const { checked } = report;
  console.log(`${file}: log ${report.origin}`);
  console.log(
    `  checked ${checked.entries} entries, ${checked.checkpoints} checkpoints, ` +
      `${checked.consistencyProofs} consistency proofs, ${checked.anchors} anchors` +
      (report.anchorsCheckedOnChain ? ' (on chain)' : checked.anchors > 0 ? ' (not on chain: no --rpc)' : ''),
  );
  for (const f of report.failures) {
    const where = [
      f.seq !== undefined ? `seq ${f.seq}` : undefined,
      f.size !== undefined ? `checkpoint size ${f.size}` : undefined,
      f.anchor ? `anchor ${f.anchor}` : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    console.log(`  FAIL ${f.check}${where ? ` (${where})` : ''}: ${f.message}`);
  }
  console.log(report.ok ? '  OK: every check holds' : `  FAILED: ${report.failures.length} checks failed`);
}

/**
 * `arbiter verify BUNDLE`: what an auditor runs. Offline (no database; no network unless --rpc), and built only
 * on ledger/'s pure verifier. Exit 0 when everything holds, 1 when a check fails, 2 when it cannot run.
 */
export function registerVerifyCommand(program: Command): void {
  program
    .command('verify')
    .description(
      'verify an audit bundle offline: leaf hashes, inclusion and consistency proofs, signatures, anchors',
    )
    .argument('<bundle>', 'audit bundle JSON (GET /v1/ledger/{region}/bundle)')
    .option(
      '--trusted-checkpoint <file>',
      'a signed checkpoint you already trust; the bundle must be consistent with it',
    )
    .option('--trusted-vkey <vkey>', "the log's verifier key as you know it (C2SP vkey text)")
    .option('--rpc <url>', 'EVM JSON-RPC endpoint: also check every anchor transaction on chain')
    .option('--json', 'print the report as JSON')
    .action(
      async (
        file: string,
        flags: { trustedCheckpoint?: string; trustedVkey?: string; rpc?: string; json?: boolean },
      ) => {
        let bundle: AuditBundle;
        try {
          bundle = JSON.parse(await readText(file, 'bundle')) as AuditBundle;
        } catch (err) {
          if (err instanceof CliFailure) throw err;
          throw new CliFailure(`${file} is not JSON: ${(err as Error).message}`);
        }
        const { verifyBundle } = await import('../../ledger/index.ts');
        const report = await verifyBundle(bundle, {
          trustedCheckpoint: flags.trustedCheckpoint
            ? await readText(flags.trustedCheckpoint, 'checkpoint')
            : undefined,
          trustedVkey: flags.trustedVkey,
          rpcUrl: flags.rpc,
        });
        if (flags.json) console.log(JSON.stringify(report, null, 2));
        else printReport(report, file);
        if (!report.ok) process.exitCode = 1;
      },
    );
}
