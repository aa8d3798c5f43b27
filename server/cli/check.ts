import { open, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import {
  callApi,
  DEFAULT_REQUEST_TIMEOUT_S,
  describeRequestTimeout,
  requireServerTarget,
  uploadArtifact,
  type RequestOptions,
  type ServerTarget,
} from './client.ts';
// The key's form alone, not policies/index.ts, which would load the policy engine into every CLI command.
import { IDEMPOTENCY_KEY_PATTERN } from '../../policies/decisions/idempotency-key.ts';
import { assertWritable, CliFailure, escapeCodePoint, fileErrorReason, printable } from './output.ts';
import { readSpecFile } from './spec-file.ts';

const POLL_INTERVAL_MS = 500;
const DEFAULT_TIMEOUT_SECONDS = 600;
/**
 * The longest one poll of the evaluation waits for its answer: one that gets none is retried, as while the
 * service cannot be reached, until the deadline.
 */
const POLL_TIMEOUT_MS = 30_000;
/**
 * The longest the request that cancels an evaluation may take. It is sent once the deadline has passed, so it
 * has a bound of its own.
 */
const CANCEL_TIMEOUT_MS = 10_000;

/** When the command gives up: --timeout seconds after it started. */
type Deadline = NonNullable<RequestOptions['deadline']>;

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
  /** The contract leaves their fields open: `type` and `rule` as policies write them, not promised. */
  obligations: { type?: unknown; rule?: unknown }[];
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
  modelSha256?: string;
  model?: string;
  data?: string;
  reference?: string;
  spec?: string;
  modelCard?: string;
  json?: boolean;
  junit?: string;
  timeout: string;
  idempotencyKey?: string;
}

interface Evaluation {
  id: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  progress: { rows: number };
  error: { message: string } | null;
}

/** Refuses a local input that cannot be read, before anything is sent: the server is not to blame for it. */
async function assertReadable(flag: string, file: string): Promise<void> {
  let isDirectory: boolean;
  try {
    const handle = await open(file);
    isDirectory = (await handle.stat()).isDirectory();
    await handle.close();
  } catch (err) {
    throw new CliFailure(`cannot read ${flag} ${file}: ${fileErrorReason(err)}`);
  }
  if (isDirectory) throw new CliFailure(`cannot read ${flag} ${file}: is a directory`);
}

async function readJson(file: string, what: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new CliFailure(`${what} ${file}: ${(err as Error).message}`);
  }
}

/** Asks the service to stop an evaluation this command no longer waits for, and says how that went. */
async function cancelEvaluation(target: ServerTarget, id: string): Promise<string> {
  try {
    const { status } = await callApi<Evaluation>(target, 'POST', `/v1/evaluations/${id}/cancel`, undefined, {
      timeoutMs: CANCEL_TIMEOUT_MS,
      schema: 'Evaluation',
    });
    if (status === 'cancelled') return 'it was cancelled';
    // A running evaluation stops when its worker next looks, within a second.
    if (status === 'running') return 'its cancellation was requested';
    return `it had ${status} meanwhile`;
  } catch (err) {
    // The service refuses to cancel what has ended: it ended between the last poll and this.
    if (err instanceof CliFailure && typeof err.service === 'object' && err.service.status === 409)
      return 'it had ended meanwhile';
    return `cancelling it failed: ${(err as Error).message}`;
  }
}

/**
 * Polls the evaluation until it ends, showing progress. Past the deadline, or on Ctrl-C, it cancels the
 * evaluation rather than leave it queued: no one would use its result.
 */
/** What the wait shows while the service cannot be reached, in place of a status. */
const UNREACHABLE = 'unreachable';

async function waitForEvaluation(
  target: ServerTarget,
  evaluation: Evaluation,
  deadline: Deadline,
  timeoutSeconds: number,
): Promise<Evaluation> {
  const interrupted = new AbortController();
  const onInterrupt = () => interrupted.abort();
  const abandon = async (why: string) =>
    new CliFailure(`evaluation ${evaluation.id} ${why}; ${await cancelEvaluation(target, evaluation.id)}`);
  // A terminal gets one line rewritten in place; a CI log gets a line per change of status, not a `\r` each poll.
  const terminal = process.stderr.isTTY;
  let shown: string | undefined;
  process.once('SIGINT', onInterrupt);
  try {
    for (;;) {
      // Checked first: Ctrl-C stops the command even when the evaluation ended meanwhile.
      if (interrupted.signal.aborted) throw await abandon('was interrupted');
      if (evaluation.status !== 'queued' && evaluation.status !== 'running') return evaluation;
      if (terminal)
        process.stderr.write(
          `\revaluating ${evaluation.id}: ${evaluation.status}, ${evaluation.progress.rows} rows`,
        );
      else if (shown !== evaluation.status)
        process.stderr.write(`evaluating ${evaluation.id}: ${evaluation.status}\n`);
      shown = evaluation.status;
      const remaining = deadline.at - Date.now();
      if (remaining <= 0)
        throw await abandon(`did not finish within ${timeoutSeconds}s (still ${evaluation.status})`);
      // Ctrl-C ends the wait early.
      await sleep(Math.min(POLL_INTERVAL_MS, remaining), undefined, { signal: interrupted.signal }).catch(
        () => {},
      );
      if (interrupted.signal.aborted) continue;
      try {
        // Each poll is bounded, by POLL_TIMEOUT_MS and the deadline, and Ctrl-C aborts it.
        evaluation = await callApi<Evaluation>(target, 'GET', `/v1/evaluations/${evaluation.id}`, undefined, {
          deadline,
          timeoutMs: POLL_TIMEOUT_MS,
          signal: interrupted.signal,
          schema: 'Evaluation',
        });
      } catch (err) {
        if (interrupted.signal.aborted) continue;
        // The service keeps its evaluations across a restart: while it is down, or a poll gets no answer, the
        // wait goes on to the deadline.
        if (!(err instanceof CliFailure && err.retryable)) throw err;
        if (shown !== UNREACHABLE)
          process.stderr.write(
            `${terminal ? '\n' : ''}evaluating ${evaluation.id}: ${err.message}; retrying\n`,
          );
        shown = UNREACHABLE;
      }
    }
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    // Whatever comes next, a result or an error, starts on a line of its own.
    if (terminal && shown !== undefined) process.stderr.write('\n');
  }
}

/** Uploads model and data, runs an evaluation in the service and waits for it. */
async function evaluateRemotely(
  target: ServerTarget,
  flags: Flags,
  deadline: Deadline,
  timeoutSeconds: number,
): Promise<string> {
  const spec = await readSpecFile(flags.spec!);
  // An upload takes as long as its file is large: only the deadline bounds it.
  const upload = (file: string) => uploadArtifact(target, file, { deadline, timeoutMs: Infinity });
  const model = flags.model ? await upload(flags.model) : undefined;
  const data = await upload(flags.data!);
  const reference = flags.reference ? await upload(flags.reference) : undefined;
  const queued = await callApi<Evaluation>(
    target,
    'POST',
    '/v1/evaluations',
    { model_sha256: model, data_sha256: data, reference_sha256: reference, spec },
    { deadline, schema: 'Evaluation' },
  );
  const evaluation = await waitForEvaluation(target, queued, deadline, timeoutSeconds);
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
  for (const [kind, v] of rows) {
    console.log(
      `  ${kind.padEnd(6)}  ${printable(v.rule).padEnd(26)} ${printable(v.severity).padEnd(8)} ${printable(v.message)}`,
    );
  }
  for (const o of receipt.obligations)
    console.log(`  oblig.  ${printable(String(o.rule ?? '')).padEnd(26)} ${printable(String(o.type ?? ''))}`);
  console.log(`  policy ${receipt.policy.revision} (bundle ${receipt.policy.bundle_sha256.slice(0, 12)}…)`);
  console.log(
    `  ledger ${receipt.ledger.region} seq ${receipt.ledger.seq}, leaf ${receipt.ledger.leaf_hash}`,
  );
}

const XML_ESCAPES: Record<string, string> = {
  '<': '&lt;',
  '>': '&gt;',
  '&': '&amp;',
  '"': '&quot;',
  "'": '&apos;',
  // As references, so that attribute values keep them rather than normalise them to spaces.
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};

/**
 * Text for an XML 1.0 attribute value or element. Characters XML 1.0 cannot carry at all (other C0 controls,
 * U+FFFE, U+FFFF, lone surrogates) are written as \uXXXX text, as the table shows them: a report that is not
 * well-formed is dropped whole by CI systems.
 */
const xml = (s: string) =>
  s
    .replace(/[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, escapeCodePoint)
    .replace(/[<>&"'\t\n\r]/g, (c) => XML_ESCAPES[c]!);

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
  const command = program
    .command('check')
    .description('ask Arbiter for a decision as a CI gate: exit 0 allow, 1 deny, 2 error')
    .option('--server <url>', 'the Arbiter service (ARBITER_SERVER)')
    .option('--token <token>', 'API token (ARBITER_TOKEN)')
    .requiredOption('--region <region>', 'region whose policies decide (eu, us, us-nyc, …)')
    .requiredOption('--stage <stage>', 'training | deployment | monitoring')
    .requiredOption('--name <model>', 'model name in the inventory')
    .requiredOption('--version <version>', 'model version')
    .option('--evidence <file>', 'an evidence document (arbiter.evidence/v1)')
    .option(
      '--model-sha256 <sha256>',
      'sha256 of the model file decided; the policies deny evidence of another model, or of none named',
    )
    .option('--model <file>', 'ONNX model to evaluate in the service (with --data and --spec)')
    .option('--data <file>', 'evaluation data: CSV, JSON Lines or Parquet')
    .option('--reference <file>', 'reference data for drift')
    .option('--spec <file>', 'evaluation spec (YAML or JSON)')
    .option('--model-card <file>', 'model card (JSON): owner, intended_purpose, risk_tier, …')
    .option(
      '--idempotency-key <key>',
      'with --evidence: a rerun with the same key and files within 24 h gets the first decision back instead ' +
        'of recording a second (1 to 255 printable ASCII characters, e.g. the CI job and step)',
    )
    .option('--json', 'print the decision as JSON')
    .option('--junit <file>', 'also write the findings as a JUnit XML report')
    .option(
      '--timeout <seconds>',
      'how long the command may take, uploads, evaluation and decision included: past it, it stops (exit 2) ' +
        'and cancels an evaluation still unfinished in the service',
      String(DEFAULT_TIMEOUT_SECONDS),
    );
  describeRequestTimeout(
    command,
    `Each request to the service is bounded by --timeout, and also fails when it gets no answer within ` +
      `${DEFAULT_REQUEST_TIMEOUT_S} s (an upload: --timeout alone); a poll of the evaluation that gets none ` +
      `within ${POLL_TIMEOUT_MS / 1000} s is retried until --timeout.`,
  );
  command.action(async (flags: Flags) => {
    const evaluationFlags = (['model', 'data', 'reference', 'spec'] as const).filter(
      (flag) => flags[flag] !== undefined,
    );
    if (flags.evidence && evaluationFlags.length > 0) {
      throw new CliFailure(
        `--evidence cannot go with ${evaluationFlags.map((f) => `--${f}`).join(', ')}: ` +
          'give evidence already gathered, or have the service evaluate the model',
      );
    }
    if (!flags.evidence && !(flags.data && flags.spec)) {
      throw new CliFailure(
        'give either --evidence FILE, or --data FILE --spec FILE (and --model FILE to score in the service)',
      );
    }
    const key = flags.idempotencyKey;
    if (key !== undefined) {
      // Checked before sending: fetch cannot send a header outside Latin-1, and the service refuses the rest.
      if (!IDEMPOTENCY_KEY_PATTERN.test(key))
        throw new CliFailure(`--idempotency-key ${printable(key)}: give 1 to 255 printable ASCII characters`);
      // A rerun evaluates anew and sends the new evaluation's id: another request, which the key would refuse.
      if (!flags.evidence)
        throw new CliFailure(
          '--idempotency-key goes with --evidence: a rerun of an evaluation in the service decides on a new ' +
            'evaluation, which the service refuses under the same key',
        );
    }
    const timeoutSeconds = Number(flags.timeout);
    if (!(timeoutSeconds > 0) || !Number.isFinite(timeoutSeconds))
      throw new CliFailure(`--timeout ${flags.timeout}: give a number of seconds greater than 0`);
    const deadline: Deadline = { at: Date.now() + timeoutSeconds * 1000, flag: `--timeout ${flags.timeout}` };
    if (flags.modelSha256 !== undefined && !/^[0-9a-f]{64}$/.test(flags.modelSha256))
      throw new CliFailure(`--model-sha256 ${flags.modelSha256}: give a sha256 in lower-case hex`);
    const target = requireServerTarget(flags);
    for (const flag of ['evidence', 'modelCard', 'model', 'data', 'reference', 'spec'] as const) {
      const file = flags[flag];
      if (file !== undefined) await assertReadable(`--${flag === 'modelCard' ? 'model-card' : flag}`, file);
    }
    if (flags.junit) await assertWritable('--junit', flags.junit);
    const body: Record<string, unknown> = {
      region: flags.region,
      stage: flags.stage,
      subject: {
        model: flags.name,
        version: flags.version,
        // With --model the service fills it in from the evaluation, and refuses one that differs.
        ...(flags.modelSha256 !== undefined ? { model_sha256: flags.modelSha256 } : {}),
      },
    };
    if (flags.modelCard) body.model_card = await readJson(flags.modelCard, 'model card');
    if (flags.evidence) body.evidence = await readJson(flags.evidence, 'evidence');
    else body.evaluation_id = await evaluateRemotely(target, flags, deadline, timeoutSeconds);
    // Checked against the contract before any of it is shown: a proxy's `{}` or an `"allow": "false"` is no
    // decision, and only `"allow": true` passes the gate.
    const receipt = await callApi<Receipt>(target, 'POST', '/v1/decisions', body, {
      deadline,
      schema: 'DecisionResult',
      ...(key !== undefined ? { headers: { 'idempotency-key': key } } : {}),
    }).catch((err: unknown) => {
      // Sent, and then no answer: the service may have decided and recorded it all the same.
      if (err instanceof CliFailure && err.service === 'timeout' && !/not sent/.test(err.message))
        throw new CliFailure(
          `${err.message}; the decision may have been recorded all the same (` +
            (key !== undefined
              ? 'a rerun with the same --idempotency-key gets it back'
              : 'GET /v1/decisions lists it') +
            ')',
          2,
          'timeout',
        );
      throw err;
    });
    if (flags.json) console.log(JSON.stringify(receipt, null, 2));
    else printTable(receipt);
    if (flags.junit) {
      try {
        await writeFile(path.resolve(flags.junit), junit(receipt, flags));
      } catch (err) {
        // The decision stands in the ledger whatever happens here: say which, so no one retries blindly.
        throw new CliFailure(
          `decision ${receipt.decision_id} was recorded (${receipt.allow ? 'ALLOW' : 'DENY'}), ` +
            `but --junit ${flags.junit} could not be written: ${fileErrorReason(err)}`,
        );
      }
    }
    process.exitCode = receipt.allow === true ? 0 : 1;
  });
}
