import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { PolicyError } from '../errors.ts';
import { sha256Hex, type PolicyBundle } from './bundle.ts';
import { normalizeDecision, type Decision } from './decision.ts';
import type { InputDocument } from './input-document.ts';
import { canonicalJson } from './canonical-json.ts';
import { ENTRYPOINTS, entrypointOf, type Stage } from './stages.ts';
import type { EvaluateRequest, MemoryDescriptor, WorkerInit, WorkerMessage } from './worker.ts';

// The WebAssembly global's types live in the DOM lib, which tsconfig leaves out; this is all we use of it.
const { Module: WasmModule } = (
  globalThis as unknown as { WebAssembly: { Module: new (bytes: Uint8Array) => object } }
).WebAssembly;

export interface PolicyEngineOptions {
  /** The bundle to serve first. */
  readonly bundle: PolicyBundle;
  /** Worker threads, each with its own policy instance. Default: the cores available. */
  readonly poolSize?: number;
  /** Wasm memory per instance, in 64 KiB pages. Default: 16 initial, 8192 (512 MiB) maximum. */
  readonly memory?: MemoryDescriptor;
}

/** One evaluation: the normalized decision and what produced it, for the ledger. */
export interface Evaluation {
  readonly decision: Decision;
  readonly revision: string;
  readonly bundleSha256: string;
  /** The exact input document evaluated, as RFC 8785 canonical JSON. */
  readonly inputJson: string;
  /** sha256 of inputJson. */
  readonly inputSha256: string;
}

export interface PolicyEngine {
  /** Evaluates the stage's entrypoint on the bundle active when the call is made. */
  evaluate(stage: Stage, input: InputDocument): Promise<Evaluation>;
  /**
   * Makes `bundle` active once its workers are up and `beforeSwitch` (recording the activation, say) has
   * resolved. Evaluations already running finish on the old bundle; those started afterwards use the new one.
   * If the new workers fail to start, or `beforeSwitch` throws, the old bundle stays.
   */
  activate(bundle: PolicyBundle, beforeSwitch?: () => Promise<void>): Promise<void>;
  /** The bundle that new evaluations use. */
  readonly bundle: PolicyBundle;
  readonly poolSize: number;
  close(): Promise<void>;
}

const DEFAULT_MEMORY: MemoryDescriptor = { initial: 16, maximum: 8192 };
// Workers are TypeScript: worker-entry.mjs registers tsx in the worker, then loads worker.ts. This works both
// under vitest and under the tsx-run CLI (see the entry for why execArgv does not).
const WORKER_URL = new URL('./worker-entry.mjs', import.meta.url);

/**
 * Starts a pool of worker threads that evaluate a Wasm policy bundle.
 *
 * @example
 * const engine = await createPolicyEngine({ bundle: await buildBundle({ sourceDir: 'policies', revision, out }) });
 * const { decision } = await engine.evaluate('deployment', buildInputDocument({ ... }));
 */
export async function createPolicyEngine(options: PolicyEngineOptions): Promise<PolicyEngine> {
  const poolSize = options.poolSize ?? os.availableParallelism();
  if (!Number.isInteger(poolSize) || poolSize < 1) throw new TypeError(`poolSize must be a positive integer`);
  const memory = options.memory ?? DEFAULT_MEMORY;
  let current = await Generation.start(options.bundle, poolSize, memory);
  const retiring = new Set<Promise<void>>();
  let closed = false;

  return {
    get bundle() {
      return current.bundle;
    },
    poolSize,
    async evaluate(stage, input) {
      if (closed) throw new PolicyError('POLICY_ENGINE_CLOSED', 'the policy engine is closed');
      // Captured synchronously: an activate() that lands while this evaluation runs does not affect it.
      const generation = current;
      // The canonical form is what is stored and hashed, and it is JSON the policy reads as well.
      const json = canonicalJson(input);
      const evaluating = generation.run(entrypointOf(stage), json);
      const inputSha256 = sha256Hex(json);
      const resultSet = await evaluating;
      let decision: Decision;
      try {
        decision = normalizeDecision(Array.isArray(resultSet) ? resultSet[0]?.result : undefined);
      } catch (err) {
        throw new PolicyError(
          'POLICY_EVAL_FAILED',
          `${entrypointOf(stage)} at revision ${generation.bundle.revision}: ${(err as Error).message}`,
          { cause: err },
        );
      }
      return {
        decision,
        revision: generation.bundle.revision,
        bundleSha256: generation.bundle.sha256,
        inputJson: json,
        inputSha256,
      };
    },
    async activate(bundle, beforeSwitch) {
      if (closed) throw new PolicyError('POLICY_ENGINE_CLOSED', 'the policy engine is closed');
      const next = await Generation.start(bundle, poolSize, memory);
      try {
        await beforeSwitch?.();
        if (closed) throw new PolicyError('POLICY_ENGINE_CLOSED', 'the policy engine is closed');
      } catch (err) {
        await next.retire();
        throw err;
      }
      const previous = current;
      current = next;
      const done = previous.retire();
      retiring.add(done);
      void done.finally(() => retiring.delete(done));
    },
    async close() {
      closed = true;
      await Promise.all([current.retire(), ...retiring]);
    },
  };
}

interface Pending {
  resolve(resultSet: unknown): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
  alive: boolean;
}

/** The workers serving one bundle. */
class Generation {
  private nextId = 0;
  private inFlight = 0;
  private drained: (() => void) | undefined;
  private retired = false;

  private constructor(
    readonly bundle: PolicyBundle,
    private readonly init: WorkerInit,
    private readonly slots: Slot[],
  ) {}

  static async start(bundle: PolicyBundle, size: number, memory: MemoryDescriptor): Promise<Generation> {
    const missing = ENTRYPOINTS.filter((e) => !bundle.entrypoints.includes(e));
    if (missing.length > 0) {
      throw new PolicyError(
        'POLICY_BUNDLE_INVALID',
        `bundle ${bundle.sha256} lacks entrypoints ${missing.join(', ')}`,
      );
    }
    let module: object;
    try {
      // Compiled once here; each worker instantiates the same module.
      module = new WasmModule(bundle.wasm);
    } catch (err) {
      throw new PolicyError('POLICY_BUNDLE_INVALID', `bundle ${bundle.sha256}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const init: WorkerInit = { module, data: JSON.stringify(bundle.data), memory };
    const started = await Promise.allSettled(Array.from({ length: size }, () => spawn(init)));
    const slots = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failure = started.find((s) => s.status === 'rejected');
    if (failure) {
      await Promise.all(slots.map((s) => s.worker.terminate()));
      throw new PolicyError(
        'POLICY_BUNDLE_INVALID',
        `bundle ${bundle.sha256} failed to load: ${failure.reason}`,
        {
          cause: failure.reason,
        },
      );
    }
    const generation = new Generation(bundle, init, slots);
    for (const slot of slots) generation.watch(slot);
    return generation;
  }

  run(entrypoint: string, input: string): Promise<unknown> {
    // The least busy live worker; ties go to the first, which keeps a lone caller on a warm instance.
    const live = this.slots.filter((s) => s.alive);
    if (live.length === 0) {
      return Promise.reject(new PolicyError('POLICY_EVAL_FAILED', 'no policy worker is running'));
    }
    const slot = live.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.nextId++;
    this.inFlight++;
    return new Promise<unknown>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, entrypoint, input } satisfies EvaluateRequest);
    }).finally(() => {
      this.inFlight--;
      if (this.inFlight === 0) this.drained?.();
    });
  }

  /** Waits for the evaluations in flight, then stops the workers. */
  async retire(): Promise<void> {
    this.retired = true;
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private watch(slot: Slot): void {
    slot.worker.on('message', (message: WorkerMessage) => {
      if (message.kind === 'ready') return;
      const pending = slot.pending.get(message.id);
      if (!pending) return;
      slot.pending.delete(message.id);
      if (message.kind === 'result') pending.resolve(message.resultSet);
      else
        pending.reject(new PolicyError('POLICY_EVAL_FAILED', `policy evaluation failed: ${message.message}`));
    });
    slot.worker.once('exit', (exitCode) => {
      slot.alive = false;
      // A crashed worker (e.g. Wasm memory exhausted) fails its own evaluations, retiring or not: a retiring
      // generation waits for them to settle before it stops. Only a live generation replaces the worker.
      for (const pending of slot.pending.values()) {
        pending.reject(new PolicyError('POLICY_EVAL_FAILED', `policy worker exited with code ${exitCode}`));
      }
      slot.pending.clear();
      if (!this.retired) this.respawn(slot, 0);
    });
  }

  /**
   * Starts a worker in a crashed one's place. A start that fails (memory short, say) is tried again, later each
   * time: a slot given up for good would leave a one-worker pool refusing every decision until the next commit.
   */
  private respawn(slot: Slot, attempt: number): void {
    void spawn(this.init).then(
      (fresh) => {
        if (this.retired) return void fresh.worker.terminate();
        slot.worker = fresh.worker;
        slot.alive = true;
        this.watch(slot);
      },
      () => {
        if (this.retired) return;
        const delay = Math.min(RESPAWN_MAX_DELAY_MS, RESPAWN_FIRST_DELAY_MS * 2 ** attempt);
        setTimeout(() => {
          if (!this.retired) this.respawn(slot, attempt + 1);
        }, delay).unref();
      },
    );
  }
}

/** Between failed starts of a crashed worker's replacement: doubling from the first to the most. */
const RESPAWN_FIRST_DELAY_MS = 100;
const RESPAWN_MAX_DELAY_MS = 10_000;

function spawn(init: WorkerInit): Promise<Slot> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_URL, { workerData: init });
    const onError = (err: Error) => {
      worker.off('message', onReady);
      void worker.terminate();
      reject(err);
    };
    const onReady = (message: WorkerMessage) => {
      if (message.kind !== 'ready') return;
      worker.off('message', onReady);
      worker.off('error', onError);
      // Errors after start surface as 'exit'; keep a listener so they never become uncaught exceptions.
      worker.on('error', () => undefined);
      resolve({ worker, pending: new Map(), alive: true });
    };
    worker.on('message', onReady);
    worker.once('error', onError);
  });
}
