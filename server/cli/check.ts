import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { callApi, requireServerTarget, uploadArtifact, type ServerTarget } from './client.ts';
import { CliFailure } from './output.ts';

interface Violation {
  rule: string;
  message: string;
  severity: string;
  title?: string;
}

interface Receipt {
  decision_id: string;
  allow: boolean;
  deny: Violation[];
  warn: Violation[];
  waived: Violation[];
  obligations: { type: string; rule: string }[];
  policy: { revision: string; bundle_sha256: string };
  ledger: { region: string; seq: number; leaf_hash: string };
}

interface Flags {
  server?: string;
  token?: string;
  region: string;
  stage: string;
  name: string;
  version: string;
  evidence?: string;
  model?: string;
  data?: string;
  reference?: string;
  spec?: string;
  modelCard?: string;
  json?: boolean;
  junit?: string;
}

async function readJson(file: string, what: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new CliFailure(`${what} ${file}: ${(err as Error).message}`);
  }
}

/** Uploads model and data, runs an evaluation in the service and waits for it, showing progress. */
async function evaluateRemotely(target: ServerTarget, flags: Flags): Promise<string> {
  const { parse } = await import('yaml');
  const spec = parse(await readFile(flags.spec!, 'utf8')) as Record<string, unknown>;
  const model = flags.model ? await uploadArtifact(target, flags.model) : undefined;
  const data = await uploadArtifact(target, flags.data!);
  const reference = flags.reference ? await uploadArtifact(target, flags.reference) : undefined;
  let evaluation = await callApi<{
    id: string;
    status: string;
    progress: { rows: number };
    error: { message: string } | null;
  }>(target, 'POST', '/v1/evaluations', {
    model_sha256: model,
    data_sha256: data,
    reference_sha256: reference,
    spec,
  });
  while (evaluation.status === 'queued' || evaluation.status === 'running') {
    process.stderr.write(
      `\revaluating ${evaluation.id}: ${evaluation.status}, ${evaluation.progress.rows} rows`,
    );
    await new Promise((r) => setTimeout(r, 500));
    evaluation = await callApi(target, 'GET', `/v1/evaluations/${evaluation.id}`);
  }
  process.stderr.write('\n');
  if (evaluation.status !== 'succeeded') {
    throw new CliFailure(
      `evaluation ${evaluation.id} ${evaluation.status}: ${evaluation.error?.message ?? ''}`,
    );
  }
  return evaluation.id;
}

function printTable(receipt: Receipt): void {
  console.log(`${receipt.allow ? 'ALLOW' : 'DENY'}  decision ${receipt.decision_id}`);
  const rows = [
    ...receipt.deny.map((v) => ['deny', v]),
    ...receipt.waived.map((v) => ['waived', v]),
    ...receipt.warn.map((v) => ['warn', v]),
  ] as [string, Violation][];
  for (const [kind, v] of rows)
    console.log(`  ${kind.padEnd(6)}  ${v.rule.padEnd(26)} ${v.severity.padEnd(8)} ${v.message}`);
  for (const o of receipt.obligations) console.log(`  oblig.  ${o.rule.padEnd(26)} ${o.type}`);
  console.log(`  policy ${receipt.policy.revision} (bundle ${receipt.policy.bundle_sha256.slice(0, 12)}…)`);
  console.log(
    `  ledger ${receipt.ledger.region} seq ${receipt.ledger.seq}, leaf ${receipt.ledger.leaf_hash}`,
  );
}

const xml = (s: string) =>
  s.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!,
  );

/** One JUnit test case per finding, so CI systems show each denied rule as a failed test. */
function junit(receipt: Receipt, flags: Flags): string {
  const cases = [
    ...receipt.deny.map(
      (v) =>
        `    <testcase classname="arbiter.${xml(flags.region)}.${xml(flags.stage)}" name="${xml(v.rule)}">\n` +
        `      <failure type="${xml(v.severity)}" message="${xml(v.message)}"/>\n    </testcase>`,
    ),
    ...[...receipt.warn, ...receipt.waived].map(
      (v) =>
        `    <testcase classname="arbiter.${xml(flags.region)}.${xml(flags.stage)}" name="${xml(v.rule)}">\n` +
        `      <system-out>${xml(v.message)}</system-out>\n    </testcase>`,
    ),
  ];
  if (cases.length === 0) {
    cases.push(`    <testcase classname="arbiter.${xml(flags.region)}.${xml(flags.stage)}" name="policy"/>`);
  }
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n` +
    `  <testsuite name="arbiter ${xml(flags.stage)} ${xml(flags.name)}@${xml(flags.version)}" tests="${cases.length}" failures="${receipt.deny.length}">\n` +
    `${cases.join('\n')}\n  </testsuite>\n</testsuites>\n`
  );
}

/**
 * `arbiter check`: the CI gate. Exit 0 when the decision allows, 1 when it denies, 2 when it could not be made.
 */
export function registerCheckCommand(program: Command): void {
  program
    .command('check')
    .description('ask Arbiter for a decision as a CI gate: exit 0 allow, 1 deny, 2 error')
    .option('--server <url>', 'the Arbiter service (ARBITER_SERVER)')
    .option('--token <token>', 'API token (ARBITER_TOKEN)')
    .requiredOption('--region <region>', 'region whose policies decide (eu, us, us-nyc, …)')
    .requiredOption('--stage <stage>', 'training | deployment | monitoring')
    .requiredOption('--name <model>', 'model name in the inventory')
    .requiredOption('--version <version>', 'model version')
    .option('--evidence <file>', 'an evidence document (arbiter.evidence/v1)')
    .option('--model <file>', 'ONNX model to evaluate in the service (with --data and --spec)')
    .option('--data <file>', 'evaluation data: CSV, JSON Lines or Parquet')
    .option('--reference <file>', 'reference data for drift')
    .option('--spec <file>', 'evaluation spec (YAML or JSON)')
    .option('--model-card <file>', 'model card (JSON): owner, intended_purpose, risk_tier, …')
    .option('--json', 'print the decision as JSON')
    .option('--junit <file>', 'also write the findings as a JUnit XML report')
    .action(async (flags: Flags) => {
      if (!flags.evidence === !(flags.data && flags.spec)) {
        throw new CliFailure(
          'give either --evidence FILE, or --data FILE --spec FILE (and --model FILE to score in the service)',
        );
      }
      const target = requireServerTarget(flags);
      const body: Record<string, unknown> = {
        region: flags.region,
        stage: flags.stage,
        subject: { model: flags.name, version: flags.version },
      };
      if (flags.modelCard) body.model_card = await readJson(flags.modelCard, 'model card');
      if (flags.evidence) body.evidence = await readJson(flags.evidence, 'evidence');
      else body.evaluation_id = await evaluateRemotely(target, flags);
      const receipt = await callApi<Receipt>(target, 'POST', '/v1/decisions', body);
      if (flags.json) console.log(JSON.stringify(receipt, null, 2));
      else printTable(receipt);
      if (flags.junit) await writeFile(path.resolve(flags.junit), junit(receipt, flags));
      process.exitCode = receipt.allow ? 0 : 1;
    });
}
