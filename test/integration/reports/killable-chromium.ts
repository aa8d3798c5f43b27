import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_CHROMIUM_PATH } from '../../../reports/index.ts';

export interface KillableChromium {
  /** The executable to launch instead of Chromium. */
  readonly path: string;
  /** The pid of each Chromium launched through it, oldest first. */
  launches(): number[];
  /** SIGKILLs the latest one, as a crash or the OOM killer would; resolves once it is gone. */
  kill(): Promise<void>;
  remove(): void;
}

/**
 * Chromium behind a script that notes each launch's pid, so that a test kills the Chromium it started and no
 * other: other test files render with their own at the same time.
 */
export function killableChromium(): KillableChromium {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'arbiter-killable-chromium-'));
  const executable = path.join(dir, 'chromium');
  const pids = path.join(dir, 'pids');
  const real = process.env.ARBITER_CHROMIUM ?? DEFAULT_CHROMIUM_PATH;
  // exec keeps the shell's pid: the pid noted is Chromium's own.
  writeFileSync(executable, `#!/bin/sh\necho $$ >> '${pids}'\nexec '${real}' "$@"\n`);
  chmodSync(executable, 0o755);
  const launches = () => (existsSync(pids) ? readFileSync(pids, 'utf8').trim().split('\n').map(Number) : []);
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  return {
    path: executable,
    launches,
    async kill() {
      const pid = launches().at(-1);
      if (pid === undefined) throw new Error('no Chromium was launched');
      process.kill(pid, 'SIGKILL');
      // Gone once this process has reaped its child; until then it is a zombie, and kill(pid, 0) succeeds.
      while (alive(pid)) await sleep(10);
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
