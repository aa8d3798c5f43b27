import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PolicyError, type PolicyErrorCode } from '../errors.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The opa CLI to run: an explicit path, else `ARBITER_OPA`, else the project's pinned `.tools/bin/opa`,
 * else `opa` on PATH.
 */
export function resolveOpaBinary(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return explicit;
  if (env.ARBITER_OPA) return env.ARBITER_OPA;
  const pinned = path.join(REPO_ROOT, '.tools', 'bin', 'opa');
  return existsSync(pinned) ? pinned : 'opa';
}

export interface OpaRun {
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The environment opa runs in: only what it needs to start. It runs a policy commit's own Rego (its tests), and
 * that commit's author must not get to read this server's secrets, which live in its environment, through
 * `opa.runtime().env`; the capabilities keep tests from calling that builtin, and this keeps the secrets out of
 * reach should a capabilities file ever allow it.
 */
function opaEnvironment(): NodeJS.ProcessEnv {
  const { PATH, TMPDIR } = process.env;
  return { ...(PATH === undefined ? {} : { PATH }), ...(TMPDIR === undefined ? {} : { TMPDIR }) };
}

/**
 * Runs the opa CLI; a non-zero exit becomes PolicyError with `code` and opa's own output as the message
 * (that output is the reason a rejected commit shows in the policy status).
 */
export function runOpa(
  opa: string,
  args: readonly string[],
  code: PolicyErrorCode,
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<OpaRun> {
  return new Promise((resolve, reject) => {
    execFile(
      opa,
      args,
      {
        cwd: options.cwd,
        env: opaEnvironment(),
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr });
        const output = `${stdout}\n${stderr}`.trim();
        const detail = output || (err as Error).message;
        reject(new PolicyError(code, `opa ${args[0]} failed: ${detail}`, { cause: err }));
      },
    );
  });
}
