import { execFile } from 'node:child_process';
import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

// Commits carry a fixed demo identity, so the demo needs no Git configuration on the machine.
const AUTHOR = {
  GIT_AUTHOR_NAME: 'Policy Author (demo)',
  GIT_AUTHOR_EMAIL: 'policy-author@example.com',
  GIT_COMMITTER_NAME: 'Policy Author (demo)',
  GIT_COMMITTER_EMAIL: 'policy-author@example.com',
};

/** The folder inside the repository that holds the Rego (ARBITER_POLICY_PATH). */
export const POLICY_FOLDER = 'policies';

/** A policies repository the demo owns: a copy of Arbiter's own Rego, committed on `main`. */
export class PolicyRepo {
  private constructor(readonly dir: string) {}

  static async create(dir: string, source: string): Promise<PolicyRepo> {
    await cp(source, path.join(dir, POLICY_FOLDER), {
      recursive: true,
      // Only the policy language travels; the TypeScript beside it is Arbiter's, not the policy author's.
      filter: (file) => !/\.(ts|mjs)$/.test(file),
    });
    const repo = new PolicyRepo(dir);
    await repo.git('init', '-q', '-b', 'main');
    await repo.commitAll('Import the Arbiter policy set');
    return repo;
  }

  async git(...args: string[]): Promise<string> {
    const { stdout } = await run('git', ['-C', this.dir, ...args], { env: { ...process.env, ...AUTHOR } });
    return stdout.trim();
  }

  async commitAll(message: string): Promise<string> {
    await this.git('add', '-A');
    await this.git('commit', '-q', '-m', message);
    return this.git('rev-parse', 'HEAD');
  }

  /** Rewrites one file of the policy folder; throws if `from` is not in it (the change must be real). */
  async edit(file: string, from: string, to: string): Promise<void> {
    const target = path.join(this.dir, POLICY_FOLDER, file);
    const text = await readFile(target, 'utf8');
    if (!text.includes(from)) throw new Error(`${file} no longer contains ${JSON.stringify(from)}`);
    await writeFile(target, text.replace(from, to));
  }
}
