import { rmSync } from 'node:fs';
import { open, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { Command } from 'commander';
import type { EvaluationProgress, EvaluationSpec, Evidence } from '../../evaluators/index.ts';
import { assertWritable, CliFailure, fileErrorReason as reason } from './output.ts';
import { readSpecFile } from './spec-file.ts';

interface Flags {
  model?: string;
  predictionColumn?: string;
  data: string;
  reference?: string;
  spec: string;
  out: string;
  reasons?: string;
  provider: 'auto' | 'cuda' | 'cpu';
  progress: boolean;
  generatedAt?: string;
}

// RFC 3339 with the calendar checked: a day the month lacks (February 30) is refused, where Date would roll it
// over into the next month and date the evidence to a day nobody gave.
const isRfc3339 = addFormats
  .default(new Ajv(), ['date-time'])
  .compile({ type: 'string', format: 'date-time' });

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * Where the predictions come from, with the flags merged into the parsed spec (before it is validated):
 * --prediction-column fills in spec.prediction.column, which must not name another column; with --model,
 * spec.prediction may only say how to read the model's output. Without either flag, a spec that names
 * spec.prediction.column is enough.
 */
function mergePredictionSource(raw: unknown, flags: Flags): { spec: unknown; source: PredictionSource } {
  if (flags.model && flags.predictionColumn) {
    throw new CliFailure(
      '--model and --prediction-column are exclusive: run a model, or read predictions from a column',
    );
  }
  // Not a mapping: leave it to the validator to say so.
  if (!isObject(raw)) {
    if (flags.model) return { spec: raw, source: { model: flags.model } };
    if (flags.predictionColumn) return { spec: raw, source: { column: flags.predictionColumn } };
    throw new CliFailure('give --model M.onnx, or --prediction-column C for predictions already in the data');
  }
  const prediction = raw.prediction;
  const fields = isObject(prediction) ? prediction : {};
  const named = typeof fields.column === 'string' ? fields.column : undefined;

  if (flags.model) {
    if (fields.column !== undefined) {
      throw new CliFailure(
        `spec.prediction.column (${String(fields.column)}) reads predictions from the data, but --model runs ` +
          'a model: remove one (with a model, spec.prediction takes output and threshold)',
      );
    }
    for (const key of ['positive', 'score'] as const) {
      if (fields[key] !== undefined) {
        throw new CliFailure(
          `spec.prediction.${key} goes with predictions from a data column, not with --model ` +
            '(with a model, spec.prediction takes output and threshold)',
        );
      }
    }
    return { spec: raw, source: { model: flags.model } };
  }

  const column = flags.predictionColumn ?? named;
  if (column === undefined && typeof fields.score === 'string' && fields.threshold !== undefined)
    return { spec: raw, source: { score: fields.score, threshold: Number(fields.threshold) } };
  if (column === undefined) {
    throw new CliFailure(
      'give --model M.onnx, or --prediction-column C for predictions already in the data ' +
        '(or name it in spec.prediction.column, or give spec.prediction.score with a threshold)',
    );
  }
  if (!flags.predictionColumn) return { spec: raw, source: { column } };
  if (fields.column !== undefined && fields.column !== column) {
    throw new CliFailure(
      `--prediction-column ${column} disagrees with spec.prediction.column (${String(fields.column)}): ` +
        'remove one or make them name the same column',
    );
  }
  for (const key of ['output', 'threshold'] as const) {
    if (fields[key] !== undefined) {
      throw new CliFailure(
        `spec.prediction.${key} goes with a model output, not with --prediction-column ` +
          '(with a column, spec.prediction takes positive and score)',
      );
    }
  }
  // A spec.prediction that is not a mapping is left as it is, for the validator to name.
  if (prediction !== undefined && !isObject(prediction)) return { spec: raw, source: { column } };
  return { spec: { ...raw, prediction: { ...fields, column } }, source: { column } };
}

type PredictionSource = { model: string } | { column: string } | { score: string; threshold: number };

const PHASES: Record<EvaluationProgress['phase'], string> = {
  scan: 'scanning the model',
  data: 'reading data',
  reference: 'reading reference data',
  metrics: 'computing metrics',
  reasons: 'adverse-action reasons',
  done: 'done',
};

interface Progress {
  update(p: EvaluationProgress): void;
  stop(): void;
}

const NO_PROGRESS: Progress = { update: () => {}, stop: () => {} };

/**
 * Progress on stderr, only when stderr is a terminal. The evaluator reports rows read, not bytes, and the
 * number of rows is not known until the end, so it shows rows done and the time taken: no total, no bar.
 */
async function progressOf(enabled: boolean): Promise<Progress> {
  if (!enabled || !process.stderr.isTTY) return NO_PROGRESS;
  const { SingleBar } = await import('cli-progress');
  const bar = new SingleBar({
    format: ' {status}  {duration_formatted}',
    stream: process.stderr,
    clearOnComplete: true,
  });
  const status = ({ phase, rows }: EvaluationProgress): string => {
    const n = `${rows.toLocaleString('en-US')} rows`;
    if (phase === 'scan') return PHASES.scan;
    return phase === 'metrics' ? `${PHASES.metrics} on ${n}` : `${PHASES[phase]}: ${n} read`;
  };
  bar.start(0, 0, { status: 'starting' });
  return {
    update: (p) => bar.update(p.rows, { status: status(p) }),
    stop: () => bar.stop(),
  };
}

function runtimeLine(evidence: Evidence, source: PredictionSource): string {
  const r = evidence.runtime;
  if ('column' in source) return `  predictions: from data column ${source.column} (no model run)`;
  if ('score' in source)
    return `  predictions: data column ${source.score} at or above ${source.threshold} (no model run)`;
  const provider = r.execution_provider ? `, execution provider ${r.execution_provider}` : '';
  const device = r.device ? `, device ${r.device}` : '';
  return `  runtime: ${r.engine}${r.version ? ` ${r.version}` : ''}${provider}${device}`;
}

/** `arbiter evaluate`: run the evaluator locally (no service) and write the evidence document. */
export function registerEvaluateCommand(program: Command): void {
  program
    .command('evaluate')
    .description(
      'evaluate a model (or predictions already made) on data, locally, and write the evidence document',
    )
    .option('--model <file>', 'ONNX model to run')
    .option('--prediction-column <column>', 'use predictions already in this data column instead of a model')
    .requiredOption('--data <file>', 'evaluation data: CSV, JSON Lines or Parquet')
    .option('--reference <file>', 'reference data for drift')
    .requiredOption('--spec <file>', 'evaluation spec (YAML or JSON)')
    .requiredOption('--out <file>', 'where to write the evidence (canonical JSON)')
    .option(
      '--reasons <file>',
      'also write adverse-action reasons, as JSON Lines: every row given spec.explainability.adverse_decision, with its top reasons (needs --model)',
    )
    .option('--provider <provider>', 'execution provider: auto | cuda | cpu', 'auto')
    .option(
      '--generated-at <time>',
      'when the evidence was gathered, RFC 3339 (default: now); policies judge freshness by it, and the same inputs with the same time give the same bytes',
    )
    .option('--no-progress', 'no progress bar')
    .action(async (flags: Flags) => {
      if (!['auto', 'cuda', 'cpu'].includes(flags.provider))
        throw new CliFailure('--provider: use auto, cuda or cpu');
      const generatedAt = flags.generatedAt === undefined ? new Date() : new Date(flags.generatedAt);
      if (
        Number.isNaN(generatedAt.getTime()) ||
        (flags.generatedAt !== undefined && !isRfc3339(flags.generatedAt))
      )
        throw new CliFailure(
          `--generated-at: ${flags.generatedAt} is not an RFC 3339 time such as 2026-12-01T09:00:00Z`,
        );
      // Parsed, not yet validated: the flags are merged in first.
      const { spec: merged, source } = mergePredictionSource(await readSpecFile(flags.spec), flags);
      const { evaluate, loadSpec, EvaluatorError } = await import('../../evaluators/index.ts');
      let spec: EvaluationSpec;
      try {
        spec = loadSpec(merged as object);
      } catch (err) {
        throw new CliFailure(`spec file ${flags.spec}: ${(err as Error).message}`);
      }
      if (flags.reasons !== undefined) {
        if (!('model' in source))
          throw new CliFailure('--reasons needs --model: the reasons come from running the model again');
        if (!spec.explainability?.adverse_decision)
          throw new CliFailure(
            `--reasons needs spec.explainability.adverse_decision in ${flags.spec}: positive or negative, the decision that is adverse to the person scored`,
          );
      }
      const out = path.resolve(flags.out);
      // Before minutes of work, not after: the evidence must have somewhere to go.
      await assertWritable('--out', flags.out);
      if (flags.reasons !== undefined) await assertWritable('--reasons', flags.reasons);
      // The reasons go to a file beside the target, renamed into place only once the evidence is complete.
      const reasonsFile = flags.reasons === undefined ? null : path.resolve(flags.reasons);
      const reasonsPartial = reasonsFile && `${reasonsFile}.partial`;
      // Ctrl-C stops the evaluation through its signal, rather than Node ending the process where it stands: the
      // bar then restores the terminal (it turned line wrapping off) and the .partial file goes. The evaluation
      // checks the signal before each batch it scores; a second Ctrl-C does not wait even for that: it ends the
      // process at once, with the same clean-up and exit code.
      const interrupted = new AbortController();
      let progress = NO_PROGRESS;
      const onInterrupt = (): void => {
        if (!interrupted.signal.aborted) {
          interrupted.abort();
          return;
        }
        progress.stop();
        if (reasonsPartial) rmSync(reasonsPartial, { force: true });
        process.stderr.write('arbiter: interrupted\n');
        process.exit(130);
      };
      process.on('SIGINT', onInterrupt);
      const reasonsOut = reasonsPartial ? await open(reasonsPartial, 'w') : null;

      progress = await progressOf(flags.progress);
      let result;
      try {
        result = await evaluate({
          model: 'model' in source ? source.model : undefined,
          data: flags.data,
          reference: flags.reference,
          spec,
          executionProvider: flags.provider,
          generatedAt,
          signal: interrupted.signal,
          onProgress: (p) => progress.update(p),
          ...(reasonsOut
            ? { onAdverseReasons: async (lines) => void (await reasonsOut.appendFile(lines)) }
            : {}),
        });
        await reasonsOut?.close();
        // Ctrl-C as the evaluation ended: the user no longer waits for its files.
        interrupted.signal.throwIfAborted();
      } catch (err) {
        await reasonsOut?.close().catch(() => {});
        if (reasonsPartial) await rm(reasonsPartial, { force: true });
        if (interrupted.signal.aborted) throw new CliFailure('interrupted', 130);
        // The evaluator's errors are written for the user; anything else is reported as one line too.
        const message = ((err as Error).message ?? String(err)).replace(/\s*\n\s*/g, ' ');
        throw new CliFailure(err instanceof EvaluatorError ? message : `evaluation failed: ${message}`);
      } finally {
        process.removeListener('SIGINT', onInterrupt);
        progress.stop();
      }
      try {
        await writeFile(out, result.json);
        if (reasonsFile && reasonsPartial) await rename(reasonsPartial, reasonsFile);
      } catch (err) {
        if (reasonsPartial) await rm(reasonsPartial, { force: true });
        throw new CliFailure(`cannot write --out ${flags.out}: ${reason(err)}`);
      }
      const e = result.evidence;
      console.log(`wrote ${flags.out}: ${e.rows} rows, sha256 ${result.sha256}`);
      if (reasonsFile) {
        const { adverse } = (
          e.explainability as { reasons: { adverse: { decision: string; rows: number; sha256: string } } }
        ).reasons;
        console.log(
          `wrote ${flags.reasons}: reasons for the ${adverse.rows} rows given the ${adverse.decision} decision, sha256 ${adverse.sha256}`,
        );
      }
      console.log(runtimeLine(e, source));
      if (e.skipped.length > 0)
        console.log(`  skipped: ${e.skipped.map((s) => `${s.metric} (${s.reason})`).join('; ')}`);
      for (const warning of e.warnings ?? []) console.error(`warning: ${warning}`);
    });
}
