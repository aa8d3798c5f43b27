import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';

/** A command that failed with a message for the user and an exit code (2: error; commands document theirs). */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
    /**
     * How the service failed the call: the HTTP status it answered, unreachable, or no answer within the
     * request's bound (timeout). Unset: no call failed.
     */
    readonly service?: { readonly status: number } | 'unreachable' | 'timeout',
  ) {
    super(message);
  }

  /**
   * The service could not be reached, did not answer in time, or was briefly unavailable (502–504): asking
   * again may succeed.
   */
  get retryable(): boolean {
    const { service } = this;
    if (service === 'unreachable' || service === 'timeout') return true;
    return service !== undefined && service.status >= 502 && service.status <= 504;
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

/** Refuses an output file that cannot be written, before the work whose result it would hold. */
export async function assertWritable(flag: string, file: string): Promise<void> {
  const target = path.resolve(file);
  const existing = await stat(target).catch(() => undefined);
  if (existing?.isDirectory()) throw new CliFailure(`cannot write ${flag} ${file}: is a directory`);
  try {
    await access(existing ? target : path.dirname(target), constants.W_OK);
  } catch (err) {
    throw new CliFailure(`cannot write ${flag} ${file}: ${fileErrorReason(err)}`);
  }
}

/** A character as the JSON escape that names it (\u001b). */
export const escapeCodePoint = (c: string) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}`;

/**
 * Text from the service that quotes someone else's input (evidence, an identity's subject): C0 and C1
 * controls (and DEL) are shown escaped, so that they cannot move the cursor, recolour or retitle the terminal
 * of whoever reads it.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const printable = (s: string) => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, escapeCodePoint);
