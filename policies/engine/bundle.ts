import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PolicyError } from '../errors.ts';
import type { RejectedEvent } from './git-source.ts';
import { resolveOpaBinary, runOpa } from './opa-cli.ts';
import { ENTRYPOINTS } from './stages.ts';
import { untar } from './tar.ts';

/** A compiled policy bundle: what `opa build -t wasm` wrote, read back and identified by its sha256. */
export interface PolicyBundle {
  /** sha256 (hex) of the bundle file's bytes: what the ledger records next to the revision. */
  readonly sha256: string;
  /** The `.manifest` revision: the Git commit the policies were built from. */
  readonly revision: string;
  readonly entrypoints: readonly string[];
  /** The Wasm module at `/policy.wasm`. */
  readonly wasm: Uint8Array;
  /** `/data.json`: every data document opa merged into the bundle, the regions' thresholds included. */
  readonly data: Readonly<Record<string, unknown>>;
  /** The `.tar.gz` itself. */
  readonly bytes: Uint8Array;
  /**
   * The ids (METADATA `custom.id`) of the rules the policies declare, so that a waiver can be checked to
   * name one. Unknown for a bundle read from bytes alone.
   */
  readonly rules?: readonly string[];
  /** Of `rules`, those whose METADATA says `custom.waivable: false`: no waiver may lift them. */
  readonly nonWaivableRules?: readonly string[];
}

export interface BuildBundleOptions {
  /** The policy folder (a bundle root with `.manifest`), e.g. `policies/`. */
  readonly sourceDir: string;
  /** Recorded in `.manifest`: the Git commit of sourceDir. */
  readonly revision: string;
  /** Where to write the `.tar.gz`. */
  readonly out: string;
  /**
   * Extra data documents added under their top-level keys, e.g. `{regions: {eu: {...}}}` from
   * `policyDataDocument(regions)`. Built into the bundle so that its sha256 covers every threshold.
   */
  readonly data?: Readonly<Record<string, unknown>>;
  /** Capabilities file; defaults to Arbiter's own (WASM_CAPABILITIES). */
  readonly capabilities?: string;
  readonly opa?: string;
}

/**
 * The builtins the Wasm runtime this Arbiter runs can provide. It belongs to Arbiter, not to the policies: a
 * commit under review could otherwise drop or widen its own copy and build a bundle that fails at decision
 * time.
 */
export const WASM_CAPABILITIES = path.join(import.meta.dirname, '..', 'capabilities.json');

/**
 * Compiles the stage entrypoints to Wasm with `opa build -t wasm`. A builtin outside the capabilities
 * file, a parse or a type error fails here with PolicyError POLICY_BUILD_FAILED, never at decision time.
 */
export async function buildBundle(options: BuildBundleOptions): Promise<PolicyBundle> {
  const opa = resolveOpaBinary(options.opa);
  const capabilities = options.capabilities ?? WASM_CAPABILITIES;
  const dataRoot = await mkdtemp(path.join(os.tmpdir(), 'arbiter-bundle-data-'));
  try {
    const roots = Object.keys(options.data ?? {});
    const out = path.resolve(options.out);
    // Every file testPolicies loaded, *_test.rego included: a rule the policies use must not pass the tests
    // and then be left out of what serves. --prune-unused keeps the tests themselves out of the Wasm: without
    // it opa makes every rule that refers to an entrypoint (each decision test) an entrypoint of its own.
    const args = ['build', '-t', 'wasm', '-r', options.revision, '-o', out, '--prune-unused'];
    for (const entrypoint of ENTRYPOINTS) args.push('-e', entrypoint);
    args.push('--capabilities', path.resolve(capabilities));
    // Relative to sourceDir, so file paths inside the bundle (and so its sha256) do not depend on where the
    // checkout lives.
    args.push('-b', '.');
    if (roots.length > 0) {
      // A second bundle root that owns only the extra data, so opa merges it into /data.json.
      await writeFile(path.join(dataRoot, '.manifest'), JSON.stringify({ roots }));
      await writeFile(path.join(dataRoot, 'data.json'), JSON.stringify(options.data));
      args.push(dataRoot);
    }
    await mkdir(path.dirname(path.resolve(options.out)), { recursive: true });
    await runOpa(opa, args, 'POLICY_BUILD_FAILED', { cwd: options.sourceDir });
  } finally {
    await rm(dataRoot, { recursive: true, force: true });
  }
  const bundle = await readBundle(await readFile(path.resolve(options.out)));
  return { ...bundle, ...(await rulesOf(options.sourceDir, opa)) };
}

/**
 * The `custom.id` of every rule's METADATA in a policy folder (`opa inspect -a`), sorted, and those marked
 * `custom.waivable: false`.
 */
async function rulesOf(
  sourceDir: string,
  opa: string,
): Promise<{ rules: string[]; nonWaivableRules: string[] }> {
  const { stdout } = await runOpa(opa, ['inspect', '-a', '--format', 'json', '.'], 'POLICY_BUILD_FAILED', {
    cwd: sourceDir,
  });
  const { annotations = [] } = JSON.parse(stdout) as {
    annotations?: { annotations?: { custom?: { id?: unknown; waivable?: unknown } } }[];
  };
  const ids = (keep: (custom: { waivable?: unknown }) => boolean) => {
    const found = annotations
      .map((a) => a.annotations?.custom)
      .filter((c) => c !== undefined && typeof c.id === 'string' && keep(c))
      .map((c) => c!.id as string);
    return [...new Set(found)].sort();
  };
  return { rules: ids(() => true), nonWaivableRules: ids((c) => c.waivable === false) };
}

/**
 * Runs the Rego unit tests (`opa test`) of a policy folder; failures become POLICY_TEST_FAILED with opa's
 * report. A folder without tests fails too: deleting the tests must not be a way past them. The tests get the
 * builtins the Wasm runtime has, no more: a commit's tests are code its author chose, run on this server, and
 * with opa's full set they could read its environment (`opa.runtime`), reach the network (`http.send`) or
 * print what they found into the reason of the commit's refusal, which every region's ledger records for good.
 */
export async function testPolicies(sourceDir: string, options: { opa?: string } = {}): Promise<string> {
  const { stdout } = await runOpa(
    resolveOpaBinary(options.opa),
    ['test', '-b', '.', '--fail-on-empty', '--capabilities', WASM_CAPABILITIES],
    'POLICY_TEST_FAILED',
    { cwd: sourceDir },
  );
  return stdout.trim();
}

/** Parses a bundle `.tar.gz` (as `opa build -t wasm` writes it). Throws POLICY_BUNDLE_INVALID when it is not one. */
export async function readBundle(bytes: Uint8Array): Promise<PolicyBundle> {
  let files: Map<string, Buffer>;
  try {
    files = await untar(gunzipSync(bytes));
  } catch (err) {
    throw new PolicyError('POLICY_BUNDLE_INVALID', `not a bundle .tar.gz: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const wasm = files.get('policy.wasm');
  const manifestBytes = files.get('.manifest');
  if (!wasm || !manifestBytes) {
    throw new PolicyError(
      'POLICY_BUNDLE_INVALID',
      'bundle lacks /policy.wasm or /.manifest (build it with -t wasm)',
    );
  }
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as {
    revision?: string;
    wasm?: { entrypoint: string }[];
  };
  const dataBytes = files.get('data.json');
  return {
    sha256: sha256Hex(bytes),
    revision: manifest.revision ?? '',
    entrypoints: (manifest.wasm ?? []).map((w) => w.entrypoint),
    wasm: new Uint8Array(wasm),
    data: dataBytes ? (JSON.parse(dataBytes.toString('utf8')) as Record<string, unknown>) : {},
    bytes,
  };
}

/** The commit whose bundle is active; a bundle store keeps the latest across restarts. */
export interface ActiveCommit {
  readonly commit: string;
  readonly bundle_sha256: string;
  readonly author: string;
  readonly committer: string;
  readonly activated_at: string;
}

/**
 * Built bundles kept on disk by sha256, so a decision can be replayed with the exact bundle it was made with,
 * and which of them was last active, so a restart can fall back to it.
 */
export interface BundleStore {
  readonly dir: string;
  put(bundle: PolicyBundle): Promise<string>;
  get(sha256: string): Promise<PolicyBundle>;
  has(sha256: string): boolean;
  setActive(active: ActiveCommit): Promise<void>;
  /** The last `setActive`, or null when there was none. */
  getActive(): Promise<ActiveCommit | null>;
  /** Remembers the last commit refused and recorded as such (with what the status shows of it). */
  setRejected(rejected: RejectedCommit): Promise<void>;
  /** The last `setRejected`, or null when there was none. */
  getRejected(): Promise<RejectedCommit | null>;
  /**
   * Keeps a refusal decided but not yet recorded in the ledger (null: none), so that a process that stops
   * before it is recorded leaves it to the next one.
   */
  setOwedRejection(owed: OwedRejection | null): Promise<void>;
  getOwedRejection(): Promise<OwedRejection | null>;
}

/** A refused commit still to be recorded: what the status shows of it, and the event that records it. */
export interface OwedRejection {
  readonly shown: RejectedCommit;
  readonly event: RejectedEvent;
}

/** A refused commit as the policy source's status shows it. */
export interface RejectedCommit {
  readonly commit: string;
  readonly author: string;
  readonly committer: string;
  readonly reason: string;
  readonly reason_truncated: boolean;
  readonly reason_bytes: number;
  readonly reason_sha256: string;
  readonly rejected_at: string;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function createBundleStore(dir: string): BundleStore {
  const fileOf = (sha256: string) => {
    // The hash may come from a request (replay); it names a file, so it must be exactly a hex digest.
    if (!SHA256_HEX.test(sha256)) throw new PolicyError('POLICY_BUNDLE_MISSING', `not a sha256: ${sha256}`);
    return path.join(dir, `${sha256}.tar.gz`);
  };
  const activeFile = path.join(dir, 'active.json');
  const rejectedFile = path.join(dir, 'rejected.json');
  const owedFile = path.join(dir, 'owed-rejection.json');
  const readJson = async <T>(file: string): Promise<T | null> => {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    return JSON.parse(text) as T;
  };
  const rulesFileOf = (sha256: string) => path.join(dir, `${sha256}.rules.json`);
  return {
    dir,
    async put(bundle) {
      const file = fileOf(bundle.sha256);
      if (!existsSync(file)) await writeAtomically(file, bundle.bytes);
      if (bundle.rules) {
        const { rules, nonWaivableRules = [] } = bundle;
        await writeAtomically(rulesFileOf(bundle.sha256), JSON.stringify({ rules, nonWaivableRules }));
      }
      return file;
    },
    async get(sha256) {
      let bytes: Buffer;
      try {
        bytes = await readFile(fileOf(sha256));
      } catch (err) {
        throw new PolicyError('POLICY_BUNDLE_MISSING', `this instance holds no policy bundle ${sha256}`, {
          cause: err,
        });
      }
      const bundle = await readBundle(bytes);
      if (bundle.sha256 !== sha256) {
        throw new PolicyError('POLICY_BUNDLE_INVALID', `stored bundle ${sha256} hashes to ${bundle.sha256}`);
      }
      const rules = await readFile(rulesFileOf(sha256), 'utf8').then(
        (text) => JSON.parse(text) as { rules: string[]; nonWaivableRules: string[] } | string[],
        () => undefined,
      );
      // A bare list: stored before rules were marked waivable or not.
      return rules ? { ...bundle, ...(Array.isArray(rules) ? { rules } : rules) } : bundle;
    },
    has(sha256) {
      return SHA256_HEX.test(sha256) && existsSync(fileOf(sha256));
    },
    async setActive(active) {
      await writeAtomically(activeFile, JSON.stringify(active));
    },
    getActive() {
      return readJson<ActiveCommit>(activeFile);
    },
    async setRejected(rejected) {
      await writeAtomically(rejectedFile, JSON.stringify(rejected));
    },
    getRejected() {
      return readJson<RejectedCommit>(rejectedFile);
    },
    async setOwedRejection(owed) {
      if (owed) await writeAtomically(owedFile, JSON.stringify(owed));
      else await rm(owedFile, { force: true });
    },
    getOwedRejection() {
      return readJson<OwedRejection>(owedFile);
    },
  };
}

/** Writes through a temporary file and a rename, so a reader never sees half a file. */
async function writeAtomically(file: string, data: Uint8Array | string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  // Unique per write: two writes of one file at once (a simulation and a poll building the same commit)
  // must not share a temporary file, or the second rename finds it gone.
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}
