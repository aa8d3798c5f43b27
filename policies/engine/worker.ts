// One policy instance per worker thread: evaluate() is synchronous and blocks its thread, so the pool gives
// each core its own instance (OPA.md §3, Concurrency). Started with `--import tsx` by policy-engine.ts.
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import type * as OpaWasm from '@open-policy-agent/opa-wasm';

// The SDK's ESM entry exports only loadPolicy; loadPolicySync (needed here: no top-level async init) comes
// from its CommonJS entry.
const { loadPolicySync } = createRequire(import.meta.url)('@open-policy-agent/opa-wasm') as typeof OpaWasm;

/** Wasm memory limits in 64 KiB pages (the WebAssembly.MemoryDescriptor shape; tsconfig's lib lacks DOM). */
export interface MemoryDescriptor {
  readonly initial: number;
  readonly maximum?: number;
}

export interface WorkerInit {
  /** A compiled WebAssembly.Module, shared by every worker of the pool. */
  readonly module: object;
  /** data.json as text: handed to the SDK as an ArrayBuffer so it is parsed once, inside Wasm. */
  readonly data: string;
  readonly memory: MemoryDescriptor;
}

export interface EvaluateRequest {
  readonly id: number;
  readonly entrypoint: string;
  /** The input document as JSON text. */
  readonly input: string;
}

export type WorkerMessage =
  | { readonly kind: 'ready' }
  | { readonly kind: 'result'; readonly id: number; readonly resultSet: unknown }
  | { readonly kind: 'error'; readonly id: number; readonly message: string };

const encoder = new TextEncoder();

// The SDK treats only a real ArrayBuffer as raw JSON; a Buffer or Uint8Array would be JSON.stringify'd as an
// object (OPA.md gotcha b).
function jsonBuffer(text: string): ArrayBuffer {
  const bytes = encoder.encode(text);
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

const port = parentPort;
if (!port) throw new TypeError('policies/engine/worker.ts must run as a worker thread');
const init = workerData as WorkerInit;
const policy = loadPolicySync(init.module as Parameters<typeof loadPolicySync>[0], init.memory);
policy.setData(jsonBuffer(init.data));

port.on('message', (request: EvaluateRequest) => {
  let reply: WorkerMessage;
  try {
    reply = {
      kind: 'result',
      id: request.id,
      resultSet: policy.evaluate(jsonBuffer(request.input), request.entrypoint),
    };
  } catch (err) {
    // The SDK throws strings, not Errors (OPA.md gotcha c).
    reply = { kind: 'error', id: request.id, message: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});
port.postMessage({ kind: 'ready' } satisfies WorkerMessage);
