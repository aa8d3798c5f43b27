/** A command that failed with a message for the user and an exit code (2: error; commands document theirs). */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

/** A file system error as a short phrase ("no such file or directory"), without Node's "ENOENT: …, open 'x'". */
export function fileErrorReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return 'no such file or directory';
  if (e.code === 'EACCES' || e.code === 'EPERM') return 'permission denied';
  if (e.code === 'EISDIR') return 'is a directory';
  if (e.code === 'ENOTDIR') return 'a parent is not a directory';
  if (e.code === 'ENOSPC') return 'no space left on device';
  return e.message ?? String(err);
}
