import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { CliFailure } from './output.ts';

interface Flags {
  model?: string;
  predictionColumn?: string;
  data: string;
  reference?: string;
  spec: string;
  out: string;
  provider: 'auto' | 'cuda' | 'cpu';
  progress: boolean;
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
    .option('--provider <provider>', 'execution provider: auto | cuda | cpu', 'auto')
    .option('--no-progress', 'no progress bar')
    .action(async (flags: Flags) => {
      if (!flags.model === !flags.predictionColumn)
        throw new CliFailure('give exactly one of --model or --prediction-column');
      if (!['auto', 'cuda', 'cpu'].includes(flags.provider))
        throw new CliFailure('--provider: use auto, cuda or cpu');
      const [{ evaluate, loadSpec }, { readFile }, { SingleBar, Presets }] = await Promise.all([
        import('../../evaluators/index.ts'),
        import('node:fs/promises'),
        import('cli-progress'),
      ]);
      let spec = loadSpec(await readFile(flags.spec, 'utf8'));
      if (flags.predictionColumn) {
        spec = {
          ...spec,
          prediction: { ...(spec.prediction ?? {}), column: flags.predictionColumn },
        } as typeof spec;
      }
      const bar = new SingleBar(
        { format: ' {phase} |{bar}| {value} rows', stream: process.stderr },
        Presets.shades_classic,
      );
      if (flags.progress) bar.start(0, 0, { phase: 'scan'.padEnd(9) });
      try {
        const result = await evaluate({
          model: flags.model,
          data: flags.data,
          reference: flags.reference,
          spec,
          executionProvider: flags.provider,
          generatedAt: new Date(),
          onProgress: (p) => {
            if (!flags.progress) return;
            bar.setTotal(Math.max(p.rows, 1));
            bar.update(p.rows, { phase: p.phase.padEnd(9) });
          },
        });
        if (flags.progress) bar.stop();
        await writeFile(path.resolve(flags.out), result.json);
        const e = result.evidence;
        console.log(`wrote ${flags.out}: ${e.rows} rows, sha256 ${result.sha256}`);
        console.log(
          `  runtime: ${e.runtime ? `${e.runtime.engine} ${e.runtime.version} on ${e.runtime.execution_provider}` : 'predictions from the data'}`,
        );
        if (e.skipped.length > 0)
          console.log(`  skipped: ${e.skipped.map((s) => `${s.metric} (${s.reason})`).join('; ')}`);
      } catch (err) {
        if (flags.progress) bar.stop();
        throw err;
      }
    });
}
