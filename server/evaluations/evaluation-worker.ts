// One evaluation, in a thread of its own (see evaluation-thread.ts): its data passes and metric loops hold
// this thread's event loop for as long as they take, never the service's.
import { open } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { evaluate, EvaluatorError } from '../../evaluators/index.ts';
import type { AdverseReasonsSummary, ThreadMessage, ThreadRequest } from './evaluation-thread.ts';

const { reasonsFile, generatedAt, ...request } = workerData as ThreadRequest;
const send = (message: ThreadMessage) => parentPort!.postMessage(message);
// The adverse-action reasons go to the file as they come, a batch at a time; the service stores it once the
// evidence, which records their sha256, is complete.
const reasons = reasonsFile === undefined ? null : await open(reasonsFile, 'w', 0o600);
try {
  const result = await evaluate({
    ...request,
    generatedAt: new Date(generatedAt),
    onProgress: (progress) => send({ kind: 'progress', progress }),
    ...(reasons ? { onAdverseReasons: async (lines) => void (await reasons.appendFile(lines)) } : {}),
  });
  await reasons?.close();
  const explainability = result.evidence.explainability as
    { reasons?: { adverse?: AdverseReasonsSummary } } | undefined;
  const adverse = explainability?.reasons?.adverse;
  send({
    kind: 'result',
    json: result.json,
    sha256: result.sha256,
    rows: result.evidence.rows,
    adverseReasons: adverse ? { rows: adverse.rows, sha256: adverse.sha256 } : null,
  });
} catch (err) {
  await reasons?.close().catch(() => {});
  send(
    err instanceof EvaluatorError
      ? { kind: 'failed', code: err.code, message: err.message, field: err.field }
      : { kind: 'crashed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) },
  );
}
