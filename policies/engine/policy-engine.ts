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
  /**
   * The longest one evaluation may run on its worker, queueing before it not counted; past it the worker is
   * stopped and replaced, and the evaluation fails with POLICY_EVAL_TIMEOUT. Default: 10,000 ms.
   */
  readonly evaluationTimeoutMs?: number;
  /**
   * The most evaluations waiting or running at once, per worker; past it evaluate() fails at once with
   * POLICY_ENGINE_BUSY rather than queue without end. Default: 1,000.
   */
  readonly maxPendingPerWorker?: number;
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
// A 600 KB input of the shipped policies evaluates in about 3.5 s on this project's 2-core machine.
const DEFAULT_EVALUATION_TIMEOUT_MS = 10_000;
// At about 0.5 ms an evaluation, a second of work queued per worker.
const DEFAULT_MAX_PENDING_PER_WORKER = 1_000;
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
  const evaluationTimeoutMs = options.evaluationTimeoutMs ?? DEFAULT_EVALUATION_TIMEOUT_MS;
  if (!Number.isInteger(evaluationTimeoutMs) || evaluationTimeoutMs < 1)
    throw new TypeError(`evaluationTimeoutMs must be a positive integer`);
  const maxPendingPerWorker = options.maxPendingPerWorker ?? DEFAULT_MAX_PENDING_PER_WORKER;
  if (!Number.isInteger(maxPendingPerWorker) || maxPendingPerWorker < 1)
    throw new TypeError(`maxPendingPerWorker must be a positive integer`);
  const settings = {
    size: poolSize,
    memory: options.memory ?? DEFAULT_MEMORY,
    evaluationTimeoutMs,
    maxPending: maxPendingPerWorker * poolSize,
  };
  let current = await Generation.start(options.bundle, settings);
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
      const next = await Generation.start(bundle, settings);
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
  readonly request: EvaluateRequest;
  resolve(resultSet: unknown): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  /** In the order posted, which is the order the worker answers in: the first is the one it is running. */
  pending: Map<number, Pending>;
  /** When the worker started on the first pending evaluation (performance.now()). */
  headSince: number;
  alive: boolean;
}

interface GenerationSettings {
  readonly size: number;
  readonly memory: MemoryDescriptor;
  readonly evaluationTimeoutMs: number;
  /** Across the generation's workers. */
  readonly maxPending: number;
}

/** The workers serving one bundle. */
class Generation {
  private nextId = 0;
  private inFlight = 0;
  private drained: (() => void) | undefined;
  private retired = false;
  /** Evaluations that came while no worker was running, for the next one that starts, with when they came. */
  private waiting: { pending: Pending; since: number }[] = [];
  private readonly watchdog: NodeJS.Timeout;

  private constructor(
    readonly bundle: PolicyBundle,
    private readonly init: WorkerInit,
    private readonly slots: Slot[],
    private readonly timeoutMs: number,
    private readonly maxPending: number,
  ) {
    this.watchdog = setInterval(() => this.enforceTimeout(), Math.min(1_000, Math.ceil(timeoutMs / 4)));
    this.watchdog.unref();
  }

  static async start(bundle: PolicyBundle, settings: GenerationSettings): Promise<Generation> {
    const { size, memory } = settings;
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
    const generation = new Generation(bundle, init, slots, settings.evaluationTimeoutMs, settings.maxPending);
    for (const slot of slots) generation.watch(slot);
    return generation;
  }

  run(entrypoint: string, input: string): Promise<unknown> {
    if (this.inFlight >= this.maxPending)
      return Promise.reject(
        new PolicyError(
          'POLICY_ENGINE_BUSY',
          `${this.inFlight} policy evaluations are waiting or running, the most this service queues`,
        ),
      );
    const request: EvaluateRequest = { id: this.nextId++, entrypoint, input };
    this.inFlight++;
    return new Promise<unknown>((resolve, reject) => this.dispatch({ request, resolve, reject })).finally(
      () => {
        this.inFlight--;
        if (this.inFlight === 0) this.drained?.();
      },
    );
  }

  /** Waits for the evaluations in flight, then stops the workers. */
  async retire(): Promise<void> {
    this.retired = true;
    // No worker of this generation will start again for them.
    for (const { pending } of this.waiting) pending.reject(this.replaced());
    this.waiting = [];
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    clearInterval(this.watchdog);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  /**
   * Posts to the least busy live worker (ties go to the first, which keeps a lone caller on a warm instance).
   * With none live, a crashed or stopped one is being replaced: the evaluation waits for it.
   */
  private dispatch(pending: Pending): void {
    const live = this.slots.filter((s) => s.alive);
    if (live.length === 0) {
      if (this.retired) pending.reject(this.replaced());
      else this.waiting.push({ pending, since: performance.now() });
      return;
    }
    const slot = live.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    if (slot.pending.size === 0) slot.headSince = performance.now();
    slot.pending.set(pending.request.id, pending);
    slot.worker.postMessage(pending.request);
  }

  /** The failure of an evaluation whose worker stopped while its bundle was being replaced. */
  private replaced(): PolicyError {
    return new PolicyError(
      'POLICY_EVAL_FAILED',
      `the policy worker exited while revision ${this.bundle.revision} was being replaced`,
    );
  }

  /**
   * A worker past the time limit on one evaluation (a policy that loops, say) cannot be interrupted: it is
   * stopped, that evaluation fails, and the ones queued behind it go to the other workers or its replacement.
   * Evaluations that waited too long for a worker to start are failed too.
   */
  private enforceTimeout(): void {
    const now = performance.now();
    for (const slot of this.slots) {
      if (!slot.alive || slot.pending.size === 0 || now - slot.headSince <= this.timeoutMs) continue;
      const [running, ...queued] = slot.pending.values();
      slot.alive = false;
      slot.pending.clear();
      void slot.worker.terminate();
      running!.reject(
        new PolicyError(
          'POLICY_EVAL_TIMEOUT',
          `policy evaluation ran past ${this.timeoutMs} ms at revision ${this.bundle.revision}; its worker was replaced`,
        ),
      );
      for (const pending of queued) this.dispatch(pending);
    }
    const overdue = this.waiting.filter((w) => now - w.since > WORKER_START_LIMIT_MS);
    if (overdue.length === 0) return;
    this.waiting = this.waiting.filter((w) => now - w.since <= WORKER_START_LIMIT_MS);
    for (const { pending } of overdue)
      pending.reject(
        new PolicyError(
          'POLICY_EVAL_FAILED',
          `no policy worker could be started in ${WORKER_START_LIMIT_MS} ms`,
        ),
      );
  }

  private watch(slot: Slot): void {
    const { worker } = slot;
    worker.on('message', (message: WorkerMessage) => {
      // A worker stopped for running too long may still have posted; its queue has gone elsewhere.
      if (message.kind === 'ready' || slot.worker !== worker || !slot.alive) return;
      const pending = slot.pending.get(message.id);
      if (!pending) return;
      slot.pending.delete(message.id);
      // The worker answers in order: it has started on the next one.
      slot.headSince = performance.now();
      if (message.kind === 'result') pending.resolve(message.resultSet);
      else
        pending.reject(new PolicyError('POLICY_EVAL_FAILED', `policy evaluation failed: ${message.message}`));
    });
    worker.once('exit', (exitCode) => {
      slot.alive = false;
      // A crashed worker (e.g. Wasm memory exhausted) fails the evaluation it was running, retiring or not: a
      // retiring generation waits for them to settle before it stops. Only a live generation replaces the
      // worker, and the evaluations queued behind the crash go to the others or to the replacement.
      const exited = () =>
        new PolicyError('POLICY_EVAL_FAILED', `policy worker exited with code ${exitCode}`);
      const [running, ...queued] = slot.pending.values();
      slot.pending.clear();
      running?.reject(exited());
      for (const pending of queued) {
        if (this.retired) pending.reject(exited());
        else this.dispatch(pending);
      }
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
        const waiting = this.waiting;
        this.waiting = [];
        for (const { pending } of waiting) this.dispatch(pending);
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

/**
 * The longest an evaluation waits for a worker to start when none is running. A start takes 0.3–1 s here;
 * failed starts are tried again after 0.1, 0.2, 0.4 … s.
 */
const WORKER_START_LIMIT_MS = 30_000;
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
      resolve({ worker, pending: new Map(), headSince: 0, alive: true });
    };
    worker.on('message', onReady);
    worker.once('error', onError);
  });
}
