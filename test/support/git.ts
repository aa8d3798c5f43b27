import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Who authors or commits a test's commits. */
export interface GitIdentity {
  readonly name: string;
  readonly email: string;
}

/** Runs git in `repo` as `author` and `committer`, whoever runs the tests; its output, trimmed. */
export async function gitIn(
  repo: string,
  args: readonly string[],
  author: GitIdentity,
  committer: GitIdentity = author,
): Promise<string> {
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: author.name,
    GIT_AUTHOR_EMAIL: author.email,
    GIT_COMMITTER_NAME: committer.name,
    GIT_COMMITTER_EMAIL: committer.email,
  };
  return (await run('git', ['-C', repo, ...args], { env })).stdout.trim();
}

/** Commits all of `repo`'s work tree; the new commit's sha. */
export async function commitAll(
  repo: string,
  message: string,
  author: GitIdentity,
  committer: GitIdentity = author,
): Promise<string> {
  await gitIn(repo, ['add', '-A'], author, committer);
  await gitIn(repo, ['commit', '-q', '-m', message], author, committer);
  return gitIn(repo, ['rev-parse', 'HEAD'], author, committer);
}
