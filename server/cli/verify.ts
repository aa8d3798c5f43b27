import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { AuditBundle, VerificationReport } from '../../ledger/index.ts';
import type { EntryAudit } from '../../policies/index.ts';
import { callApi, requireServerTarget } from './client.ts';
import { CliFailure } from './output.ts';

interface Flags {
  report?: string;
  server?: string;
  token?: string;
  trustedCheckpoint?: string;
  trustedVkey?: string;
  trustedEip191Address?: string;
  trustedAnchorAddress?: string;
  rpc?: string;
  chainId?: string;
  minConfirmations?: string;
  json?: boolean;
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new CliFailure(`cannot read ${what} ${file}: ${(err as Error).message}`);
  }
}

async function readBundle(file: string): Promise<AuditBundle> {
  const text = await readText(file, 'bundle');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new CliFailure(`${file} is not JSON: ${(err as Error).message}`);
  }
  // What is inside the object is the verifier's to judge; what is no object at all is no bundle to verify.
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new CliFailure(
      `${file} is not an audit bundle: its JSON is ${parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : `a ${typeof parsed}`}, not an object`,
    );
  return parsed as AuditBundle;
}

interface EntryAudits {
  readonly waivers: EntryAudit;
  readonly policies: EntryAudit;
}

/** The chain the anchors were checked against, and where that comes from. */
function chainLine(report: VerificationReport, pinned: boolean): string {
  if (report.chainIdFrom === 'endpoint')
    return (
      `  anchors' chain: ${report.chainId} (the RPC endpoint's` +
      (pinned ? ', as --chain-id requires)' : '; not pinned: give --chain-id)')
    );
  const lookedUp = report.anchorsCheckedOnChain ? 'the RPC endpoint did not answer' : 'no --rpc';
  return report.chainIdFrom === 'trusted'
    ? `  anchors' chain: ${report.chainId} (from --chain-id; not looked up: ${lookedUp})`
    : `  anchors' chain: not checked (${lookedUp}, no --chain-id)`;
}

function printReport(
  report: VerificationReport,
  audits: EntryAudits,
  source: string,
  pinnedChain: boolean,
): void {
  const { waivers, policies } = audits;
  const { checked } = report;
  console.log(`${source}: log ${report.origin}`);
  console.log(
    `  checked ${checked.entries} entries` +
      (checked.citedEntries > 0 ? ` (and ${checked.citedEntries} earlier entries they cite)` : '') +
      `, ${checked.checkpoints} checkpoints, ` +
      `${checked.consistencyProofs} consistency proofs, ${checked.anchors} anchors` +
      (report.anchorsCheckedOnChain ? ' (on chain)' : checked.anchors > 0 ? ' (not on chain: no --rpc)' : ''),
  );
  if (report.anchors.length > 0) {
    console.log(chainLine(report, pinnedChain));
    for (const a of report.anchors)
      console.log(
        `  anchor ${a.txHash ?? '(no tx_hash)'} (checkpoint size ${a.size ?? '?'}, chain ${a.chainId ?? '?'}, ` +
          `block ${a.blockNumber ?? '?'}): ` +
          (a.confirmations === null
            ? 'confirmations not counted'
            : `${a.confirmations} confirmation${a.confirmations === 1 ? '' : 's'}`) +
          (a.ok ? '' : ', FAILED'),
      );
  }
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
  console.log(`  checked ${waivers.checked} waived findings against the waivers' own entries`);
  for (const f of waivers.failures) console.log(`  FAIL waiver (seq ${f.seq}): ${f.message}`);
  console.log(`  checked ${policies.checked} decisions against the policy activations before them`);
  for (const f of policies.failures) console.log(`  FAIL policy (seq ${f.seq}): ${f.message}`);
  for (const field of [...report.unverified, ...waivers.unverified, ...policies.unverified])
    console.log(`  not verified: ${field}`);
  const failed = report.failures.length + waivers.failures.length + policies.failures.length;
  console.log(failed === 0 ? '  OK: every check holds' : `  FAILED: ${failed} checks failed`);
}

/**
 * Refuses a malformed pinned key or address before any bundle is read: the verifier would report it as a
 * failed check, and exit 1 would say the bundle failed when the command could not run (exit 2).
 */
async function checkPins(flags: Flags): Promise<void> {
  if (flags.trustedVkey !== undefined) {
    const { parseVerifierKey } = await import('../../ledger/index.ts');
    try {
      parseVerifierKey(flags.trustedVkey);
    } catch (err) {
      throw new CliFailure(`--trusted-vkey is not a verifier key: ${(err as Error).message}`);
    }
  }
  const { isAddress } = await import('ethers');
  for (const [option, address] of [
    ['--trusted-eip191-address', flags.trustedEip191Address],
    ['--trusted-anchor-address', flags.trustedAnchorAddress],
  ] as const)
    if (address !== undefined && !isAddress(address))
      throw new CliFailure(`${option} is not an Ethereum address: ${JSON.stringify(address)}`);
  for (const [option, value] of [
    ['--chain-id', flags.chainId],
    ['--min-confirmations', flags.minConfirmations],
  ] as const)
    if (value !== undefined && positiveInteger(value) === undefined)
      throw new CliFailure(`${option} is not a positive integer: ${JSON.stringify(value)}`);
  if (flags.minConfirmations !== undefined && flags.rpc === undefined)
    throw new CliFailure('--min-confirmations needs --rpc: confirmations are counted on chain');
}

function positiveInteger(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** The bundle of the one ledger entry that records a report with this PDF's hash, fetched from a service. */
async function bundleForReport(flags: Flags, pdfSha256: string): Promise<AuditBundle | undefined> {
  const target = requireServerTarget(flags);
  const { reports } = await callApi<{
    reports: { region: string; pdf_sha256: string; ledger_seq: number }[];
  }>(target, 'GET', '/v1/reports');
  const report = reports.find((r) => r.pdf_sha256 === pdfSha256);
  if (!report) return undefined;
  return callApi<AuditBundle>(
    target,
    'GET',
    `/v1/ledger/${encodeURIComponent(report.region)}/bundle?from=${report.ledger_seq}&to=${report.ledger_seq + 1}`,
  );
}

/**
 * `arbiter verify`: what an auditor runs. A bundle is checked offline (no database; no network unless --rpc),
 * with ledger/'s pure verifier, and its entries with policies/' waiver and policy audits. With --report, it
 * also confirms that the ledger recorded that very PDF.
 * Exit 0 when everything holds, 1 when a check fails, 2 when it cannot run.
 */
export function registerVerifyCommand(program: Command): void {
  program
    .command('verify')
    .description('verify an audit bundle (offline) or a report PDF against the ledger that recorded it')
    .argument('[bundle]', 'audit bundle JSON (GET /v1/ledger/{region}/bundle)')
    .option(
      '--report <pdf>',
      'a report PDF: confirm the ledger recorded exactly this file (with a bundle or --server)',
    )
    .option(
      '--server <url>',
      'with --report and no bundle: fetch the proof from this service (ARBITER_SERVER)',
    )
    .option('--token <token>', 'API token for --server (ARBITER_TOKEN)')
    .option(
      '--trusted-checkpoint <file>',
      'a signed checkpoint you already trust; the bundle must be consistent with it',
    )
    .option(
      '--trusted-vkey <vkey>',
      "the log's verifier key as the operator publishes it (ed25519_vkey of GET /v1/ledger/{region}/keys); " +
        'without it verification fails, since a bundle can carry any key',
    )
    .option(
      '--trusted-eip191-address <address>',
      "the checkpoints' EIP-191 signer as the operator publishes it (eip191_address of the same route)",
    )
    .option('--trusted-anchor-address <address>', 'the account that sends the anchor transactions')
    .option('--rpc <url>', 'EVM JSON-RPC endpoint: also check every anchor transaction on chain')
    .option(
      '--chain-id <id>',
      'the chain the anchors must be on (EIP-155 id: 1 Ethereum, 11155111 Sepolia, ...) as the operator ' +
        'publishes it; with --rpc, the endpoint must be on it too',
    )
    .option(
      '--min-confirmations <n>',
      'with --rpc: blocks that must hold each anchor transaction, its own included',
    )
    .option(
      '--json',
      'print the report as one JSON document (with --report, its `pdf` holds the sha256 and the seq that ' +
        'records it, or null)',
    )
    .action(async (file: string | undefined, flags: Flags) => {
      if (!file && !flags.report) throw new CliFailure('give a bundle file, or --report FILE.pdf');
      await checkPins(flags);
      const pdfSha256 = flags.report
        ? createHash('sha256')
            .update(
              await readFile(flags.report).catch((err: Error) =>
                Promise.reject(new CliFailure(`cannot read report ${flags.report}: ${err.message}`)),
              ),
            )
            .digest('hex')
        : undefined;
      const bundle = file ? await readBundle(file) : await bundleForReport(flags, pdfSha256!);
      if (!bundle) {
        if (flags.json)
          console.log(
            JSON.stringify(
              { ok: false, pdf: { file: flags.report, sha256: pdfSha256, recordedSeq: null } },
              null,
              2,
            ),
          );
        else console.log(`${flags.report}: FAILED: the ledger records no report with sha256 ${pdfSha256}`);
        process.exitCode = 1;
        return;
      }
      const { verifyBundle } = await import('../../ledger/index.ts');
      const report = await verifyBundle(bundle, {
        trustedCheckpoint: flags.trustedCheckpoint
          ? await readText(flags.trustedCheckpoint, 'checkpoint')
          : undefined,
        trustedVkey: flags.trustedVkey,
        trustedEip191Address: flags.trustedEip191Address,
        trustedAnchorAddress: flags.trustedAnchorAddress,
        rpcUrl: flags.rpc,
        trustedChainId: positiveInteger(flags.chainId),
        minConfirmations: positiveInteger(flags.minConfirmations),
      });
      // What the entries say of the waivers behind each waived denial, and of the policies behind each
      // decision: checked only as far as the entries themselves are (a bundle that fails the ledger checks
      // fails as a whole).
      const { auditPolicies, auditWaivers } = await import('../../policies/index.ts');
      const entries = Array.isArray(bundle.entries) ? bundle.entries : [];
      const cited = Array.isArray(bundle.cited) ? bundle.cited : [];
      const audits = {
        waivers: auditWaivers(entries, { fromStart: bundle.from === 0, cited }),
        policies: auditPolicies(entries, { fromStart: bundle.from === 0, cited }),
      };
      // Before anything is printed: the PDF's check decides `ok` as much as the bundle's, and --json prints
      // one document. The bundle is untrusted input, and may be malformed even where the verifier has
      // reported it.
      const recorded =
        pdfSha256 === undefined
          ? undefined
          : entries.find((e) => e?.entry?.type === 'report.generated' && e.entry.pdf_sha256 === pdfSha256);
      const ok =
        report.ok &&
        audits.waivers.failures.length === 0 &&
        audits.policies.failures.length === 0 &&
        (pdfSha256 === undefined || recorded !== undefined);
      if (flags.json) {
        const pdf =
          pdfSha256 === undefined
            ? {}
            : { pdf: { file: flags.report, sha256: pdfSha256, recordedSeq: recorded?.seq ?? null } };
        console.log(JSON.stringify({ ...report, ok, ...audits, ...pdf }, null, 2));
      } else {
        printReport(
          report,
          audits,
          file ?? `${bundle.origin} (from ${flags.server ?? process.env.ARBITER_SERVER})`,
          flags.chainId !== undefined,
        );
        if (recorded) {
          const { region, template, period } = recorded.entry as Record<string, string>;
          console.log(
            `${flags.report}: recorded at seq ${recorded.seq} as ${region} ${template} ${period} (sha256 ${pdfSha256})`,
          );
        } else if (pdfSha256 !== undefined)
          console.log(
            `${flags.report}: FAILED: no report.generated entry in the bundle has sha256 ${pdfSha256}`,
          );
      }
      if (!ok) process.exitCode = 1;
    });
}
