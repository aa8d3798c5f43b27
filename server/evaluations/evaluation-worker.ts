// One evaluation, in a thread of its own (see evaluation-thread.ts): its data passes and metric loops hold
// this thread's event loop for as long as they take, never the service's.
import { parentPort, workerData } from 'node:worker_threads';
import { evaluate, EvaluatorError } from '../../evaluators/index.ts';
import type { ThreadMessage, ThreadRequest } from './evaluation-thread.ts';

const request = workerData as ThreadRequest;
const send = (message: ThreadMessage) => parentPort!.postMessage(message);
try {
  const result = await evaluate({
    ...request,
    generatedAt: new Date(request.generatedAt),
    onProgress: (progress) => send({ kind: 'progress', progress }),
  });
  send({ kind: 'result', json: result.json, sha256: result.sha256, rows: result.evidence.rows });
} catch (err) {
  send(
    err instanceof EvaluatorError
      ? { kind: 'failed', code: err.code, message: err.message, field: err.field }
      : { kind: 'crashed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) },
  );
}
